"""The lab's own behaviour: `tests/lab/lab` up, status, fault and down.

Uses its own two-host lab in /tmp/corral-lab-selftest (`-gwN` under xdist worker gwN),
so that the session lab of the acceptance tests (/tmp/corral-lab-test[-gwN]) is left alone.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import yaml

from tests.support.lab import load_labkit, worker_suffix
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
LAB_SCRIPT = ROOT / "tests" / "lab" / "lab"
SELFTEST_DIR = Path(os.environ.get("CORRAL_SELFTEST_LAB_DIR", "/tmp/corral-lab-selftest")
                    + worker_suffix())
REQUIRE_LAB = os.environ.get("CORRAL_REQUIRE_LAB") == "1"


labkit = load_labkit()


def run_lab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(LAB_SCRIPT), *args, "--dir", str(SELFTEST_DIR)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def status() -> tuple[int, dict[str, dict]]:
    result = run_lab("status", "--json")
    return result.returncode, {row["name"]: row for row in json.loads(result.stdout)}


def unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root"
    for tool, package in {**labkit.REQUIRED_TOOLS, "ssh": "openssh-client"}.items():
        if labkit.tool_path(tool) is None:
            return f"the lab needs {tool} from {package} (run `make deps`)"
    return None


@dataclass(frozen=True)
class SelfTestLab:
    dir: Path
    hosts: dict[str, dict]

    def ssh(self, name: str, *command: str, port: int = 22) -> list[str]:
        """An ssh command line for a lab host, checking its key against known_hosts."""
        return [
            "ssh", "-i", str(self.dir / "id_ed25519"),
            "-o", f"UserKnownHostsFile={self.dir / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5", "-p", str(port),
            f"root@{self.hosts[name]['address']}", *command,
        ]  # fmt: skip

    def engine(self, name: str) -> docker.DockerClient:
        return docker.DockerClient(base_url=f"unix://{self.hosts[name]['socket']}", timeout=30)


@pytest.fixture(scope="module")
def selftest() -> SelfTestLab:
    reason = unavailable()
    if reason:
        if REQUIRE_LAB:
            pytest.fail(reason)
        pytest.skip(reason)
    up = run_lab("up", "--hosts", "2")
    assert up.returncode == 0, up.stderr[-3000:]
    code, hosts = status()
    assert code == 0, hosts
    yield SelfTestLab(SELFTEST_DIR, hosts)
    run_lab("down")


def tcp_connect(address: str, port: int, timeout: float) -> str:
    """'ok', 'refused', 'timeout' or 'unreachable'."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "ok"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError:
        return "unreachable"


def start_session(lab: SelfTestLab, name: str) -> subprocess.Popen:
    """An established ssh session running `sleep 30`, once it has printed 'ready'."""
    proc = subprocess.Popen(
        lab.ssh(name, "echo ready; exec sleep 30"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 10)
    assert ready and proc.stdout.readline() == b"ready\n", "ssh session did not start"
    return proc


# --------------------------------------------------------------------------
# Without root: naming, labels, images


def test_names_are_per_directory_and_fit_the_kernel_limits() -> None:
    demo = labkit.make_lab("/tmp/corral-lab", 12, 40)
    tests = labkit.make_lab("/tmp/corral-lab-test", 3, 41)
    assert demo.id != tests.id and len(demo.id) == 4
    assert demo.id == labkit.lab_id("/tmp/corral-lab/")
    for lab in (demo, tests):
        assert len(lab.bridge) <= 15
        assert all(len(h.veth) <= 15 for h in lab.hosts)
        assert all(h.netns.startswith(lab.prefix + "-") for h in lab.hosts)
    assert [h.address for h in tests.hosts] == ["10.213.41.11", "10.213.41.12", "10.213.41.13"]
    long_dir = "/tmp/" + "x" * 90
    host = labkit.make_lab(long_dir, 1, 40).hosts[0]
    assert host.socket == f"{host.exec_root}/docker.sock"
    assert len(host.socket) <= labkit.SOCKET_PATH_MAX


def test_every_third_host_is_blocked_from_the_registry_by_a_tagged_rule() -> None:
    demo = labkit.make_lab("/tmp/corral-lab", 6, 40)
    assert [h.registry for h in demo.hosts] == ["reachable", "reachable", "blocked"] * 2
    assert {h.registry_address for h in demo.hosts} == {"10.213.40.1:5000"}
    drops = [rule for rule in labkit.iptables_rules(demo) if rule[0] == "INPUT"]
    # Each blocked host loses both the lab registry and the one a test may start beside it.
    assert [(rule[rule.index("-s") + 1], rule[rule.index("--dport") + 1]) for rule in drops] == [
        ("10.213.40.13", "5000"), ("10.213.40.13", "5001"),
        ("10.213.40.16", "5000"), ("10.213.40.16", "5001")]
    for rule in drops:
        assert labkit.tagged(rule, demo.comment) and rule[-2:] == ["-j", "DROP"]


def test_labels_alternate_after_the_first_three() -> None:
    labels = [labkit.default_labels(i) for i in range(1, 7)]
    assert labels[:3] == [
        {"zone": "a", "role": "media"},
        {"zone": "b", "role": "media"},
        {"zone": "a", "role": "edge"},
    ]
    assert [label["zone"] for label in labels[3:]] == ["b", "a", "b"]
    assert [label["role"] for label in labels[3:]] == ["edge", "media", "edge"]


def test_image_rootfs_holds_busybox_applets_and_image_files() -> None:
    if not labkit.is_static_elf(labkit.BUSYBOX):
        pytest.skip("needs a static /bin/busybox (busybox-static)")
    images = {repo: (tar, changes) for repo, _tag, tar, changes in labkit.build_images()}
    assert set(images) == {"corral-lab/busybox", "corral-lab/web", "corral-lab/worker"}
    with tarfile.open(fileobj=io.BytesIO(images["corral-lab/web"][0])) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
        assert members["tmp"].mode == 0o1777
        assert tar.extractfile("www/health").read() == b"ok\n"
        assert b"root:x:0:0" in tar.extractfile("etc/passwd").read()
    with tarfile.open(fileobj=io.BytesIO(images["corral-lab/worker"][0])) as tar:
        assert tar.getmember("usr/local/bin/corral-worker").mode == 0o755
    assert "EXPOSE 80" in images["corral-lab/web"][1]
    assert not labkit.is_static_elf(sys.executable) or Path(sys.executable).is_symlink()


# --------------------------------------------------------------------------
# A real two-host lab


def test_up_brings_every_host_up(selftest: SelfTestLab) -> None:
    for name, row in selftest.hosts.items():
        assert row["state"] == "up" and row["problems"] == []
        assert (row["ssh_port"], row["ssh_port_nostream"]) == (22, 2222)
        assert row["netns"].endswith(name)
        for port in (22, 2222):
            out = subprocess.run(
                selftest.ssh(name, "hostname; docker info --format '{{.Name}}'", port=port),
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            assert out.stdout.split() == [name, name]


def test_inventory_and_known_hosts_describe_the_lab(selftest: SelfTestLab) -> None:
    inventory = yaml.safe_load((selftest.dir / "inventory.yaml").read_text())
    assert [h["name"] for h in inventory["hosts"]] == ["lab1", "lab2"]
    first = inventory["hosts"][0]
    assert first["ssh"] == f"root@{selftest.hosts['lab1']['address']}:22"
    assert first["identity"] == str(selftest.dir / "id_ed25519")
    assert first["socket"] == selftest.hosts["lab1"]["socket"]
    assert first["labels"] == {"zone": "a", "role": "media"}
    lines = (selftest.dir / "known_hosts").read_text().splitlines()
    address = selftest.hosts["lab2"]["address"]
    assert any(line.startswith(f"{address} ssh-ed25519 ") for line in lines)
    assert any(line.startswith(f"[{address}]:2222 ssh-ed25519 ") for line in lines)
    assert (selftest.dir / "id_ed25519").stat().st_mode & 0o777 == 0o600


def test_images_run_and_publish_ports_on_the_host_address(selftest: SelfTestLab) -> None:
    client = selftest.engine("lab1")
    assert client.containers.run("corral-lab/busybox:1", ["echo", "hi"], remove=True) == b"hi\n"
    web = client.containers.run("corral-lab/web:1", detach=True, ports={"80/tcp": 18080})
    worker = client.containers.run(
        "corral-lab/worker:1", detach=True, environment={"RATE": "0", "COUNT": "5"}
    )
    try:
        url = f"http://{selftest.hosts['lab1']['address']}:18080/health"

        def health() -> bytes | None:
            try:
                return urllib.request.urlopen(url, timeout=2).read()
            except OSError:
                return None

        assert wait_until(health, f"{url} to answer", timeout=10, step=0.2) == b"ok\n"

        def printed() -> list[str] | None:
            lines = worker.logs().decode().splitlines()
            return lines if len(lines) >= 5 else None

        lines = wait_until(printed, "the worker's COUNT=5 lines")
        assert [line.split()[0] for line in lines] == [f"seq={n}" for n in range(1, 6)]
        worker.reload()
        assert worker.status == "running"  # idles after COUNT lines
    finally:
        web.remove(force=True)
        worker.remove(force=True)


def test_sshd_stop_drops_sessions_and_sshd_start_restores(selftest: SelfTestLab) -> None:
    session = start_session(selftest, "lab2")
    address = selftest.hosts["lab2"]["address"]
    try:
        try:
            stop = run_lab("fault", "lab2", "sshd-stop")
            assert stop.returncode == 0, stop.stderr
            assert session.wait(timeout=5) != 0
        finally:
            session.kill()
        assert tcp_connect(address, 22, 2) == "refused"
        assert tcp_connect(address, 2222, 2) == "refused"
        code, hosts = status()
        assert code == 1 and hosts["lab2"]["state"] == "down"
        assert "sshd:22 not running" in hosts["lab2"]["problems"]
    finally:  # restored whatever failed above, so the next test finds lab2 up
        assert run_lab("fault", "lab2", "sshd-start").returncode == 0
    again = subprocess.run(selftest.ssh("lab2", "true"), timeout=30)
    assert again.returncode == 0
    assert status()[0] == 0


def test_link_down_blackholes_the_host_and_link_up_restores(selftest: SelfTestLab) -> None:
    session = start_session(selftest, "lab1")
    address = selftest.hosts["lab1"]["address"]
    try:
        assert run_lab("fault", "lab1", "link-down").returncode == 0
        assert tcp_connect(address, 22, 1.5) in ("timeout", "unreachable")
        # A duration, not a synchronisation: the session must stay up a while.
        time.sleep(1)
        assert session.poll() is None, "an established session should hang, not drop"
        code, hosts = status()
        assert code == 1 and hosts["lab1"]["problems"] == ["link down"]
    finally:
        up = run_lab("fault", "lab1", "link-up")
        session.kill()
    assert up.returncode == 0, up.stderr
    assert tcp_connect(address, 22, 3) == "ok"
    assert status()[0] == 0


def test_dockerd_restart_keeps_the_socket_answering(selftest: SelfTestLab) -> None:
    pidfile = selftest.dir / "hosts" / "lab2" / "dockerd.pid"
    before = pidfile.read_text().strip()
    restart = run_lab("fault", "lab2", "dockerd-restart")
    assert restart.returncode == 0, restart.stderr
    assert pidfile.read_text().strip() != before
    assert selftest.engine("lab2").ping()
    assert status()[0] == 0


def test_unknown_host_and_missing_lab_fail_in_one_line(selftest: SelfTestLab) -> None:
    bad = run_lab("fault", "lab9", "link-down")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "lab9" in bad.stderr
    missing = subprocess.run(
        [sys.executable, str(LAB_SCRIPT), "status", "--dir", "/tmp/corral-lab-nonexistent"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_the_registry_answers_on_the_bridge_and_every_engine_trusts_it(
    selftest: SelfTestLab,
) -> None:
    state = json.loads((selftest.dir / "lab.json").read_text())
    address = state["registry"]["address"]
    assert address == f"{state['gateway']}:5000"
    assert labkit.registry_answers(address)
    assert {row["registry"] for row in selftest.hosts.values()} == {"reachable"}
    for name in selftest.hosts:
        config = selftest.engine(name).info()["RegistryConfig"]["IndexConfigs"]
        assert config[address]["Secure"] is False, name


def test_up_recovers_from_a_crashed_lab(selftest: SelfTestLab) -> None:
    hosts_dir = selftest.dir / "hosts"
    # A registry whose pidfile was lost is still found (by its config path) and ended.
    registry_pidfile = selftest.dir / "registry" / "registry.pid"
    stale_registry = int(registry_pidfile.read_text())
    registry_pidfile.unlink()
    pidfiles = (hosts_dir / "lab1" / "dockerd.pid", hosts_dir / "lab2" / "sshd22.pid")
    killed = [int(pidfile.read_text().split()[0]) for pidfile in pidfiles]
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not any(labkit.is_alive(pid) for pid in killed), "the killed daemons to die")
    code, hosts = status()
    assert code == 1
    assert "dockerd not running" in hosts["lab1"]["problems"]
    up = run_lab("up", "--hosts", "2")
    assert up.returncode == 0, up.stderr[-3000:]
    assert status()[0] == 0
    assert not labkit.is_alive(stale_registry)
    assert int(registry_pidfile.read_text()) != stale_registry


def test_down_leaves_nothing_behind(selftest: SelfTestLab) -> None:
    down = run_lab("down")
    assert down.returncode == 0, down.stderr
    lab = labkit.discover_lab(str(SELFTEST_DIR))
    assert labkit.leftovers(lab) == []
    assert not Path(lab.run_root).exists()
    marker = str(SELFTEST_DIR) + "/hosts/"
    stray = [p for p in labkit.process_table().values()
             if marker in p.cmdline or lab.registry_config in p.cmdline]
    assert stray == []
    assert not Path(lab.registry_dir).exists()
    assert status()[0] == 1
    assert run_lab("down").returncode == 0  # idempotent
