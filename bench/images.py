#!/usr/bin/env python3
"""Image push over SSH (issue 13, Bench), against a four-host lab, ratios from one run.

Headless: the backend (`corral.backends.images.push_image`) as `corral images
push` runs it, no console. lab1's engine is the source; lab2..lab4 hold only
the lab's busybox base at the start of each part.

* (a) An image whose base layers the target holds: bytes on the wire (the
  target's veth, SSH included) ÷ bytes of the `layer.tar` members it lacks
  (target ≤ 1.05), next to `docker save IMAGE | ssh host docker load` of the
  same image (bytes on the wire and time).
* (b) A large missing layer (200 MB; `--large-mb 500` for the issue's size):
  push throughput ÷ raw `ssh host 'cat > /dev/null'` of the same bytes (the
  image's archive) over the same link (target ≥ 0.8), and the growth of this
  process's RSS during the push (target ≤ 50 MB).
* (c) Three hosts missing the same image, pushed concurrently: wall time ÷ one
  host (target ≤ 1.5).

Every process shares the machine's CPUs (the lab's sshd and dockerd too): the
rows are shared-CPU figures; the CPU set is printed in the header.

Usage: bench/images.py [--dir LAB_DIR] [--large-mb N] [--fanout-mb N]
(brings up a four-host lab in LAB_DIR if it is not one).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import os
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

from corral.backends.images import push_image  # noqa: E402
from tests.support.images import MB, build_layered_image, remove_image  # noqa: E402
from tests.support.lab import Lab, LabHost  # noqa: E402
from tests.support.lab_cli import engine, running_fleet  # noqa: E402
from tests.support.workloads import ensure_lab  # noqa: E402

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


def ssh(lab: Lab, host: str, command: str) -> list[str]:
    """OpenSSH `ssh` to a lab host with the lab's key and known_hosts (as bench/tunnel.py)."""
    return lab.ssh(host, command)


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


def part_b(lab: Lab, fleet, source: docker.DockerClient, tag: str, size_mb: int) -> list[str]:
    """A large missing layer: push throughput ÷ raw ssh cat, and RSS growth."""
    large = f"{tag}-large:1"
    build_layered_image(source, f"{tag}-large", "1", big_bytes=size_mb * MB)
    target = TARGETS[0]
    clear(lab, [target], large)
    with tempfile.TemporaryDirectory(prefix="corral-bench-images-") as scratch:
        archive = Path(scratch) / "large.tar"
        with archive.open("wb") as out:
            for chunk in source.api.get_image(large, chunk_size=1 << 20):
                out.write(chunk)
        raw_bytes = archive.stat().st_size
        with archive.open("rb") as stdin:
            started = time.monotonic()
            subprocess.run(ssh(lab, target, "cat > /dev/null"), stdin=stdin, check=True)
            raw_s = time.monotonic() - started
    before_rss = rss()
    with peak_rss() as peak:
        started = time.monotonic()
        report = push_image(fleet.session(SOURCE), fleet.session(target), large)
        push_s = time.monotonic() - started
    clear(lab, [target], large)
    plain_s = save_load(lab, large, target)  # the same work (read, send, load) with OpenSSH
    clear(lab, [target], large)
    clear(lab, [SOURCE], large)
    raw_rate, push_rate = raw_bytes / raw_s, report.bytes_sent / push_s
    return [
        f"(b) {large}: a {size_mb} MB random layer missing on {target}",
        f"    raw ssh 'cat > /dev/null' {raw_bytes:>13,} B  {raw_s:6.2f} s  "
        f"{raw_rate / MB:7.1f} MB/s",
        f"    Corral push               {report.bytes_sent:>13,} B  {push_s:6.2f} s  "
        f"{push_rate / MB:7.1f} MB/s   ratio {push_rate / raw_rate:.2f} (target ≥ 0.8)",
        f"    docker save | ssh load    {raw_bytes:>13,} B  {plain_s:6.2f} s  "
        f"{raw_bytes / plain_s / MB:7.1f} MB/s   (the engines' save and load included, "
        f"as in the push; push ÷ this {plain_s / push_s:.2f})",
        f"    RSS {before_rss / MB:.0f} MB before, peak {peak[0] / MB:.0f} MB: growth "
        f"{(peak[0] - before_rss) / MB:.1f} MB (target ≤ 50 MB)",
    ]


def part_c(lab: Lab, fleet, source: docker.DockerClient, tag: str, size_mb: int) -> list[str]:
    """Three hosts missing the same image at once ÷ one host."""
    image = f"{tag}-fanout:1"
    build_layered_image(source, f"{tag}-fanout", "1", big_bytes=size_mb * MB)
    clear(lab, TARGETS, image)

    def push(host: str) -> None:
        push_image(fleet.session(SOURCE), fleet.session(host), image)

    started = time.monotonic()
    push(TARGETS[0])
    one_s = time.monotonic() - started
    clear(lab, TARGETS, image)
    with concurrent.futures.ThreadPoolExecutor(len(TARGETS)) as pool:
        started = time.monotonic()
        list(pool.map(push, TARGETS))
        three_s = time.monotonic() - started
    clear(lab, TARGETS, image)
    # The lab's own ceiling: the same with OpenSSH (its hosts share this machine's
    # CPUs and disk, so three loads cannot run side by side as on three machines).
    plain_one = save_load(lab, image, TARGETS[0])
    clear(lab, TARGETS, image)
    with concurrent.futures.ThreadPoolExecutor(len(TARGETS)) as pool:
        started = time.monotonic()
        list(pool.map(lambda host: save_load(lab, image, host), TARGETS))
        plain_three = time.monotonic() - started
    clear(lab, (*TARGETS, SOURCE), image)
    return [
        f"(c) {image}: a {size_mb} MB layer missing on each target",
        f"    Corral push: 1 host {one_s:6.2f} s, 3 hosts {three_s:6.2f} s   "
        f"ratio {three_s / one_s:.2f} (target ≤ 1.5)",
        f"    docker save | ssh load: 1 host {plain_one:6.2f} s, 3 hosts {plain_three:6.2f} s   "
        f"ratio {plain_three / plain_one:.2f} (the lab's ceiling)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/corral-lab-bench-images"))
    parser.add_argument("--large-mb", type=int, default=200,
                        help="size of (b)'s missing layer (the issue says 500)")
    parser.add_argument("--fanout-mb", type=int, default=64, help="size of (c)'s layer")
    args = parser.parse_args()
    # Keep the operator's own configuration and audit trail out of it.
    scratch = Path(tempfile.mkdtemp(prefix="corral-bench-images-"))
    os.environ.update(XDG_CONFIG_HOME=str(scratch / "config"),
                      XDG_STATE_HOME=str(scratch / "state"))
    hosts = [LabHost(h["name"], h["address"], h["ssh_port"], h["ssh_port_nostream"],
                     h["socket"], h["labels"]) for h in ensure_lab(args.dir, hosts=4)]
    lab = Lab(args.dir, hosts)
    cpus = sorted(os.sched_getaffinity(0))
    print(f"bench/images.py: headless (backend push, no console); CPUs {cpus} of "
          f"{os.cpu_count()}, shared by Corral and the lab (sshd, dockerd): shared-CPU rows")
    tag = f"corral-bench/img-{os.getpid()}"
    source = engine(lab.host(SOURCE).socket)
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        for part in (lambda: part_a(lab, fleet, source, tag),
                     lambda: part_b(lab, fleet, source, tag, args.large_mb),
                     lambda: part_c(lab, fleet, source, tag, args.fanout_mb)):
            for line in part():
                print(line, flush=True)
    for image in (f"{tag}-base:1", f"{tag}-app:1"):
        remove_image(source, image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
