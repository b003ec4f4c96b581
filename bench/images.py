#!/usr/bin/env python3
"""Image push over SSH (issue 13, Bench), against a four-host lab, in rounds.

Headless: the backend (`corral.backends.images.push_image`) as `corral images
push` runs it (the fleet's own tunnels, no stream relay), no console. lab1's
engine is the source; lab2..lab4 hold only the lab's busybox base at the start
of each part. (b) and (c) run `--rounds` times (default 3), interleaved, and
print the median with the range.

* (a) An image whose base layers the target holds: bytes on the wire (the
  target's veth, SSH included) ÷ bytes of the `layer.tar` members it lacks
  (target ≤ 1.05), next to `docker save IMAGE | ssh host docker load` of the
  same image (bytes on the wire and time).
* (b) A large missing layer (200 MB; `--large-mb 500` for the issue's size):
  push throughput ÷ raw `ssh host 'cat > /dev/null'` of the same bytes (the
  image's archive) over the same link, on an OpenSSH connection opened
  beforehand as Corral's is (target ≥ 0.8). Beside it, where the time goes:
  the engines alone (`docker save | docker load` on their own sockets, no SSH:
  the ceiling of any push here), the push's phases (the source engine's first
  byte, the streaming, the target engine's load after the last byte), CPU
  seconds per 100 MB of this process against the OpenSSH client's, the lab
  hosts' CPU during the push, and the growth of this process's RSS (target ≤
  50 MB).
  Beside Corral's push (its bulk bytes through an OpenSSH child per link,
  `backends/ssh/pump.py`), the same push with that switched off
  (`CORRAL_OPENSSH_PUMP=0`: asyncssh in this process, as before).
* (c) Three hosts missing the same image, pushed concurrently: wall time ÷ one
  host (target ≤ 1.5), with one shared read of the source (what Corral does),
  with one read per target (what it did before), and host to host through
  Corral (lab2 from lab1, then lab3 and lab4 from lab2), and one host and
  three without the OpenSSH pump; CPU of this process (with its `ssh`
  children) and of the lab hosts beside each.

By default every process shares the machine's CPUs (the lab's sshd and dockerd
too): shared-CPU rows. `--pin` puts the lab on the last CPU(s) and the bench on
the first (`pinning.py`), as if the hosts were other machines.

Usage: bench/images.py [--dir LAB_DIR] [--large-mb N] [--fanout-mb N]
[--rounds N] [--pin] [--parts abc] (brings up a four-host lab in LAB_DIR if
it is not one).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from corral.backends.images import EngineSource, push_image  # noqa: E402
from tests.support.images import MB, build_layered_image, remove_image  # noqa: E402
from tests.support.lab import Lab, LabHost  # noqa: E402
from tests.support.lab_cli import engine, running_fleet  # noqa: E402
from tests.support.workloads import ensure_lab  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from pinning import cpu_split, lab_cpus, pin_self  # noqa: E402

SOURCE = "lab1"
TARGETS = ("lab2", "lab3", "lab4")


def wire_bytes(lab: Lab, host: str) -> int:
    """Bytes the bridge has sent into `host`'s namespace (its veth's far end)."""
    hosts = json.loads((lab.dir / "lab.json").read_text())["hosts"]
    veth = next(item["veth"] for item in hosts if item["name"] == host)
    return int(Path(f"/sys/class/net/{veth}/statistics/tx_bytes").read_text())


def layer_sizes(client: docker.DockerClient, image: str) -> tuple[list[int], int]:
    """Sizes of the image's `layer.tar` members in `docker save` order, and the archive's."""
    archive = b"".join(client.api.get_image(image))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        layers = json.loads(tar.extractfile("manifest.json").read())[0]["Layers"]
        return [tar.getmember(name).size for name in layers], len(archive)


def rss() -> int:
    """This process's resident set, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def peak_rss():
    """Samples RSS every 20 ms; yields a list whose one item is the peak, filled at the end."""
    peak, done = [rss()], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def ssh(lab: Lab, host: str, *command: str) -> list[str]:
    """OpenSSH `ssh` to a lab host with the lab's key and known_hosts (as bench/tunnel.py)."""
    return lab.ssh(host, *command)


def clear(lab: Lab, hosts: tuple[str, ...] | list[str], *images: str) -> None:
    for host in hosts:
        client = engine(lab.host(host).socket)
        for image in images:
            remove_image(client, image)


def save_load(lab: Lab, image: str, target: str) -> float:
    """Seconds of `docker save IMAGE | ssh TARGET docker load` (OpenSSH), from lab1."""
    save = subprocess.Popen(["docker", "-H", lab.host(SOURCE).engine_url, "save", image],
                            stdout=subprocess.PIPE)
    started = time.monotonic()
    subprocess.run(ssh(lab, target, "docker load"), stdin=save.stdout, check=True,
                   stdout=subprocess.DEVNULL)
    save.stdout.close()
    save.wait()
    return time.monotonic() - started


def part_a(lab: Lab, fleet, source: docker.DockerClient, tag: str) -> list[str]:
    """Base layers present on the target: the wire ÷ missing layers, beside save | load."""
    base, app = f"{tag}-base:1", f"{tag}-app:1"
    build_layered_image(source, f"{tag}-base", "1", big_bytes=24 * MB)
    build_layered_image(source, f"{tag}-app", "1", big_bytes=8 * MB, base=base)
    target = TARGETS[0]
    clear(lab, [target], app, base)
    push_image(fleet.session(SOURCE), fleet.session(target), base)  # what the target holds
    sizes, whole = layer_sizes(source, app)
    held = len(source.api.inspect_image(base)["RootFS"]["Layers"])
    missing = sum(sizes[held:])

    before, started = wire_bytes(lab, target), time.monotonic()
    report = push_image(fleet.session(SOURCE), fleet.session(target), app)
    corral_s, corral_wire = time.monotonic() - started, wire_bytes(lab, target) - before
    assert report.mode == "partial", report

    clear(lab, [target], app)  # base layers stay
    before = wire_bytes(lab, target)
    plain_s = save_load(lab, app, target)
    plain_wire = wire_bytes(lab, target) - before
    clear(lab, [target], app, base)
    return [
        f"(a) {app}: {len(sizes)} layers, {held} on the target; missing layers "
        f"{missing:,} B of a {whole:,} B archive",
        f"    Corral push            {corral_wire:>13,} B on the wire  {corral_s:6.2f} s   "
        f"wire ÷ missing {corral_wire / missing:.3f} (target ≤ 1.05)",
        f"    docker save | ssh load {plain_wire:>13,} B on the wire  {plain_s:6.2f} s   "
        f"wire ÷ missing {plain_wire / missing:.3f}",
    ]


def lab_cpu(lab: Lab, hosts: tuple[str, ...]) -> float:
    """CPU seconds used so far by the processes living in `hosts`' namespaces (dockerd,
    containerd, sshd and its session children: those that are still running)."""
    names = {item["name"]: item.get("netns") for item in lab._state()["hosts"]}
    inodes = set()
    for host in hosts:
        with contextlib.suppress(OSError, TypeError):
            inodes.add(os.stat(f"/var/run/netns/{names[host]}").st_ino)
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.stat(proc / "ns" / "net").st_ino not in inodes:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextlib.contextmanager
def openssh_pump(on: bool):
    """Corral's pushes with (the default) or without OpenSSH children for the bulk bytes."""
    before = os.environ.get("CORRAL_OPENSSH_PUMP")
    os.environ["CORRAL_OPENSSH_PUMP"] = "1" if on else "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CORRAL_OPENSSH_PUMP", None)
        else:
            os.environ["CORRAL_OPENSSH_PUMP"] = before


@contextlib.contextmanager
def cpu_meter(lab: Lab, hosts: tuple[str, ...]):
    """Yields a dict filled at the end: wall `s`, this process's CPU `corral`, the
    lab hosts' `lab`, and finished children's (the OpenSSH client, or the pump's
    `ssh` children, reaped when each push ends) `children`."""
    result: dict[str, float] = {}
    own, kids = os.times(), resource.getrusage(resource.RUSAGE_CHILDREN)
    labs, started = lab_cpu(lab, hosts), time.monotonic()
    try:
        yield result
    finally:
        after, kids_after = os.times(), resource.getrusage(resource.RUSAGE_CHILDREN)
        result.update(
            s=time.monotonic() - started,
            corral=after.user + after.system - own.user - own.system,
            children=(kids_after.ru_utime + kids_after.ru_stime
                      - kids.ru_utime - kids.ru_stime),
            lab=lab_cpu(lab, hosts) - labs)


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """The median, with the range when there are several values."""
    if len(values) == 1:
        return fmt.format(values[0])
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{fmt.format(mid)} ({fmt.format(low)}–{fmt.format(high)})"


@contextlib.contextmanager
def openssh_master(lab: Lab, host: str, path: Path):
    """An OpenSSH master connection to `host`: yields the options that reuse it and a
    function giving the master's CPU seconds so far (it does the encryption)."""
    options = ["-o", f"ControlPath={path}"]
    command = ssh(lab, host)
    subprocess.run([command[0], *options, "-o", "ControlMaster=yes", "-f", "-N",
                    *command[1:]], check=True)
    answer = subprocess.run([command[0], *options, "-O", "check", *command[1:]],
                            capture_output=True, text=True)
    pid = int(answer.stderr.split("pid=", 1)[1].split(")", 1)[0])
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        yield options, cpu
    finally:
        subprocess.run([command[0], *options, "-O", "exit", *command[1:]],
                       capture_output=True)


def engines_only(lab: Lab, image: str, target: str) -> float:
    """Seconds of `docker save | docker load` on the engines' own sockets (no SSH):
    what the two engines take for the archive, the ceiling of any push here."""
    save = subprocess.Popen(["docker", "-H", lab.host(SOURCE).engine_url, "save", image],
                            stdout=subprocess.PIPE)
    started = time.monotonic()
    subprocess.run(["docker", "-H", lab.host(target).engine_url, "load"], stdin=save.stdout,
                   check=True, stdout=subprocess.DEVNULL)
    save.stdout.close()
    save.wait()
    return time.monotonic() - started


def _part_b_round(lab: Lab, fleet, large: str, target: str, archive: Path, raw_bytes: int,
                  options: list[str], master_cpu, note, growth: list[float]) -> None:
    """One round of (b): raw cat, the engines alone, Corral's push, save | ssh load."""
    with archive.open("rb") as stdin, cpu_meter(lab, (target,)) as cat:
        client = master_cpu()
        command = ssh(lab, target, "cat > /dev/null")
        subprocess.run([command[0], *options, *command[1:]], stdin=stdin, check=True)
        client = master_cpu() - client
    note("raw_rate", raw_bytes / cat["s"])
    note("raw_cpu", client + cat["children"])
    engines_s = engines_only(lab, large, target)
    note("engines_rate", raw_bytes / engines_s)
    clear(lab, [target], large)
    marks: dict[str, float] = {}

    def progress(sent: int, read: int) -> None:
        marks.setdefault("first", time.monotonic())
        marks["last"] = time.monotonic()

    before_rss = rss()
    with peak_rss() as peak, cpu_meter(lab, (SOURCE, target)) as push:
        marks["start"] = time.monotonic()
        report = push_image(fleet.session(SOURCE), fleet.session(target), large,
                            on_progress=progress)
        marks["end"] = time.monotonic()
    growth.append((peak[0] - before_rss) / MB)
    note("push_rate", report.bytes_sent / push["s"])
    note("push_cpu", push["corral"])
    note("pump_cpu", push["children"])
    note("lab_cpu", push["lab"])
    note("first_byte", marks["first"] - marks["start"])
    note("stream_rate", report.bytes_sent / max(marks["last"] - marks["first"], 1e-3))
    note("after_body", marks["end"] - marks["last"])
    clear(lab, [target], large)
    with openssh_pump(False), cpu_meter(lab, (SOURCE, target)) as bare:
        report = push_image(fleet.session(SOURCE), fleet.session(target), large)
    note("bare_rate", report.bytes_sent / bare["s"])
    note("bare_cpu", bare["corral"])
    clear(lab, [target], large)
    note("plain_rate", raw_bytes / save_load(lab, large, target))
    clear(lab, [target], large)


def part_b(lab: Lab, fleet, source: docker.DockerClient, tag: str, size_mb: int,
           rounds: int) -> list[str]:
    """A large missing layer: push throughput ÷ raw ssh cat, where the time goes, RSS."""
    large = f"{tag}-large:1"
    build_layered_image(source, f"{tag}-large", "1", big_bytes=size_mb * MB)
    target = TARGETS[0]
    clear(lab, [target], large)
    rows: dict[str, list[float]] = {}

    def note(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory(prefix="corral-bench-images-") as scratch:
        archive = Path(scratch) / "large.tar"
        with archive.open("wb") as out:
            for chunk in source.api.get_image(large, chunk_size=1 << 20):
                out.write(chunk)
        raw_bytes = archive.stat().st_size
        growth = []
        # The raw `cat` runs over an OpenSSH connection opened beforehand, as Corral's
        # is: its handshake is not counted (it would be ~0.3 s of a 200 MB run here).
        with openssh_master(lab, target, Path(scratch) / "cm") as (options, master_cpu):
            for _ in range(rounds):
                _part_b_round(lab, fleet, large, target, archive, raw_bytes, options,
                              master_cpu, note, growth)
    clear(lab, [SOURCE], large)
    ratio = [push / raw for push, raw in zip(rows["push_rate"], rows["raw_rate"], strict=True)]
    ceiling = [e / raw for e, raw in zip(rows["engines_rate"], rows["raw_rate"], strict=True)]
    of_engines = [push / e for push, e in
                  zip(rows["push_rate"], rows["engines_rate"], strict=True)]
    of_plain = [push / p for push, p in zip(rows["push_rate"], rows["plain_rate"], strict=True)]
    bare = [b / raw for b, raw in zip(rows["bare_rate"], rows["raw_rate"], strict=True)]
    bare_of_engines = [b / e for b, e in
                       zip(rows["bare_rate"], rows["engines_rate"], strict=True)]
    stream = [st / raw for st, raw in zip(rows["stream_rate"], rows["raw_rate"], strict=True)]
    mbs = "{:.1f}"
    per_100 = [cpu / (raw_bytes / (100 * MB)) for cpu in rows["push_cpu"]]
    pump_100 = [cpu / (raw_bytes / (100 * MB)) for cpu in rows["pump_cpu"]]
    bare_100 = [cpu / (raw_bytes / (100 * MB)) for cpu in rows["bare_cpu"]]
    ssh_100 = [cpu / (raw_bytes / (100 * MB)) for cpu in rows["raw_cpu"]]
    return [
        f"(b) {large}: a {size_mb} MB random layer missing on {target}, {raw_bytes:,} B "
        f"archive; {rounds} rounds, median (min–max)",
        f"    raw ssh 'cat > /dev/null'      {spread([r / MB for r in rows['raw_rate']], mbs)} "
        "MB/s",
        f"    engines alone (own sockets)   {spread([r / MB for r in rows['engines_rate']], mbs)}"
        f" MB/s   ÷ raw {spread(ceiling)}: the ceiling of any push here",
        f"    Corral push                   {spread([r / MB for r in rows['push_rate']], mbs)} "
        f"MB/s   ÷ raw {spread(ratio)} (target ≥ 0.8); ÷ engines alone {spread(of_engines)}",
        f"      source's first byte after  {spread(rows['first_byte'])} s (its engine "
        "prepares the archive)",
        f"      streaming                  {spread([r / MB for r in rows['stream_rate']], mbs)}"
        f" MB/s   ÷ raw {spread(stream)}",
        f"      target's load after body   {spread(rows['after_body'])} s",
        f"    Corral push, no OpenSSH pump  {spread([r / MB for r in rows['bare_rate']], mbs)} "
        f"MB/s   ÷ raw {spread(bare)}; ÷ engines alone {spread(bare_of_engines)}",
        f"    docker save | ssh load        {spread([r / MB for r in rows['plain_rate']], mbs)} "
        f"MB/s   Corral ÷ this {spread(of_plain)}",
        f"    CPU per 100 MB: Corral process {spread(per_100)} s + its ssh children "
        f"{spread(pump_100)} s (both links); without the pump {spread(bare_100)} s; OpenSSH "
        f"client of raw cat {spread(ssh_100)} s (one link); lab hosts during the push "
        f"{spread(rows['lab_cpu'])} s",
        f"    RSS growth {spread(growth, '{:.1f}')} MB (target ≤ 50 MB)",
    ]


class _Unshared(EngineSource):
    """An engine source whose pushes never share a read: how pushes went before `feed`."""

    feed_key = None


def part_c(lab: Lab, fleet, source: docker.DockerClient, tag: str, size_mb: int,
           rounds: int) -> list[str]:
    """Three hosts missing the same image at once ÷ one host; one shared read against
    one read per target, and against host to host through Corral."""
    image = f"{tag}-fanout:1"
    build_layered_image(source, f"{tag}-fanout", "1", big_bytes=size_mb * MB)
    clear(lab, TARGETS, image)
    rows: dict[str, list[float]] = {}

    def note(key: str, meter: dict) -> None:
        rows.setdefault(key, []).append(meter["s"])
        rows.setdefault(f"{key}_cpu", []).append(meter["corral"] + meter["children"])
        rows.setdefault(f"{key}_lab", []).append(meter["lab"])

    def push(origin, host: str) -> None:
        push_image(origin, fleet.session(host), image)

    def at_once(origin, hosts) -> None:
        with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
            list(pool.map(lambda host: push(origin, host), hosts))

    everything = (SOURCE, *TARGETS)

    def measured(key: str, *steps) -> None:
        """Run `steps` (each a callable) under one meter, note it as `key`, clear the targets."""
        with cpu_meter(lab, everything) as meter:
            for step in steps:
                step()
        note(key, meter)
        clear(lab, TARGETS, image)

    for _ in range(rounds):
        measured("one", lambda: push(fleet.session(SOURCE), TARGETS[0]))
        measured("shared", lambda: at_once(fleet.session(SOURCE), TARGETS))
        measured("apart", lambda: at_once(_Unshared(fleet.session(SOURCE)), TARGETS))
        # Host to host through Corral: the first target gets it from the source, the
        # others from that target (one shared read of it).
        measured("chain", lambda: push(fleet.session(SOURCE), TARGETS[0]),
                 lambda: at_once(fleet.session(TARGETS[0]), TARGETS[1:]))
        with openssh_pump(False):
            measured("bare_one", lambda: push(fleet.session(SOURCE), TARGETS[0]))
            measured("bare_three", lambda: at_once(fleet.session(SOURCE), TARGETS))
        # The lab's own ceiling: the same with OpenSSH (its hosts share this machine's
        # CPUs and disk, so three loads cannot run side by side as on three machines).
        rows.setdefault("plain_one", []).append(save_load(lab, image, TARGETS[0]))
        clear(lab, TARGETS, image)
        with concurrent.futures.ThreadPoolExecutor(len(TARGETS)) as pool:
            started = time.monotonic()
            list(pool.map(lambda host: save_load(lab, image, host), TARGETS))
            rows.setdefault("plain_three", []).append(time.monotonic() - started)
        clear(lab, TARGETS, image)
    clear(lab, (*TARGETS, SOURCE), image)

    def ratio(key: str, base: str = "one") -> str:
        return spread([a / b for a, b in zip(rows[key], rows[base], strict=True)])

    def line(label: str, key: str) -> str:
        return (f"    {label:34s} {spread(rows[key])} s  ÷ one host {ratio(key)}; CPU: "
                f"Corral {spread(rows[key + '_cpu'])} s, lab hosts {spread(rows[key + '_lab'])} s")

    return [
        f"(c) {image}: a {size_mb} MB layer missing on each target; {rounds} rounds, "
        "median (min–max)",
        line("Corral push, 1 host", "one"),
        line("3 hosts, one shared read", "shared") + "  (target ≤ 1.5)",
        line("3 hosts, one read per host", "apart"),
        line("host to host through Corral", "chain"),
        line("no OpenSSH pump: 1 host", "bare_one"),
        f"    {'no OpenSSH pump: 3 hosts':34s} {spread(rows['bare_three'])} s  ÷ its 1 host "
        f"{ratio('bare_three', 'bare_one')}; CPU: Corral {spread(rows['bare_three_cpu'])} s, "
        f"lab hosts {spread(rows['bare_three_lab'])} s",
        f"    docker save | ssh load: 1 host {spread(rows['plain_one'])} s, 3 hosts "
        f"{spread(rows['plain_three'])} s   ratio {ratio('plain_three', 'plain_one')} "
        "(the lab's ceiling)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/corral-lab-bench-images"))
    parser.add_argument("--large-mb", type=int, default=200,
                        help="size of (b)'s missing layer (the issue says 500)")
    parser.add_argument("--fanout-mb", type=int, default=64, help="size of (c)'s layer")
    parser.add_argument("--rounds", type=int, default=3, help="runs of (b) and (c)")
    parser.add_argument("--pin", action="store_true",
                        help="pin the lab to the last CPU(s) and the bench to the first "
                        "(see pinning.py); by default every CPU is shared")
    parser.add_argument("--parts", default="abc", help="which parts to run (default abc)")
    args = parser.parse_args()
    # Keep the operator's own configuration and audit trail out of it.
    scratch = Path(tempfile.mkdtemp(prefix="corral-bench-images-"))
    os.environ.update(XDG_CONFIG_HOME=str(scratch / "config"),
                      XDG_STATE_HOME=str(scratch / "state"))
    state = ensure_lab(args.dir, hosts=4)
    hosts = [LabHost(h["name"], h["address"], h["ssh_port"], h["ssh_port_nostream"],
                     h["socket"], h["labels"]) for h in state]
    lab = Lab(args.dir, hosts)
    split = cpu_split() if args.pin else None
    if split is not None:
        pin_self(split[0])
    lab_cpus(state, split)
    cpus = sorted(os.sched_getaffinity(0))
    where = (f"pinned: Corral on CPUs {sorted(split[0])}, the lab on {sorted(split[1])}"
             if split else "shared-CPU rows: Corral and the lab (sshd, dockerd) on every CPU")
    print(f"bench/images.py: headless (backend push, as `corral images push`, no console); "
          f"CPUs {cpus} of {os.cpu_count()}; {where}; load average "
          f"{os.getloadavg()[0]:.1f}")
    tag = f"corral-bench/img-{os.getpid()}"
    source = engine(lab.host(SOURCE).socket)
    parts = {"a": lambda: part_a(lab, fleet, source, tag),
             "b": lambda: part_b(lab, fleet, source, tag, args.large_mb, args.rounds),
             "c": lambda: part_c(lab, fleet, source, tag, args.fanout_mb, args.rounds)}
    try:
        with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
            for name in args.parts:
                for line in parts[name]():
                    print(line, flush=True)
    finally:
        if split is not None:
            lab_cpus(state, None)
    for image in (f"{tag}-base:1", f"{tag}-app:1"):
        remove_image(source, image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
