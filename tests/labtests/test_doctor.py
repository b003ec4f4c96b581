"""`corral hosts doctor` against the lab, each check seeded with the fault it detects.

One doctor run (the real command, `--json`) over an inventory holding every seed at
once keeps the file lean:

- log rotation: the lab's engines run with a daemon.json that has no `log-opts`
  (tests/lab/labkit.py `start_dockerd`), as Docker's default json-file does;
- a blocked swarm port: an iptables rule in lab2's namespace drops 7946/udp
  (tagged with the lab's comment, removed after);
- a user outside the docker group: `lab2u` is lab2 reached as `corral-doctor`, a user
  that exists only for an extra sshd of lab2 (port 2223) started in a private mount
  namespace over copies of /etc/passwd, /etc/group and /etc/shadow, so nothing of
  this machine's accounts changes; the engine's socket is root:docker 0660;
- a duplicate engine: `lab1b` is lab1's engine reached through its second sshd;
- a skewed clock: lab3's measured offset gets +7 s through the documented test hook
  CORRAL_DOCTOR_FAKE_CLOCK_OFFSET (the lab hosts share this machine's clock);
- a vanished host: `gone` points at a port where nothing listens.

The last test presses `D` in the console on the plain lab.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from corral.backends.doctor import CHECK_KEYS, HOST_KEYS
from tests.support.lab import Lab
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab

USER = "corral-doctor"
USER_PORT = 2223


def lab_state(lab: Lab) -> dict:
    return json.loads((lab.dir / "lab.json").read_text())


def host_state(lab: Lab, name: str) -> dict:
    return next(host for host in lab_state(lab)["hosts"] if host["name"] == name)


def nsenter(lab: Lab, name: str) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{host_state(lab, name)['netns']}"]


def start_user_sshd(lab: Lab, folder: Path) -> int:
    """An sshd of lab2 on port 2223 that knows one unprivileged user; returns its pid."""
    state = host_state(lab, "lab2")
    config = Path(state["sshd"][0]["config"]).read_text()
    pidfile = folder / "sshd-user.pid"
    config = "\n".join(
        f"ListenAddress {state['address']}:{USER_PORT}" if line.startswith("ListenAddress")
        else f"PidFile {pidfile}" if line.startswith("PidFile") else line
        for line in config.splitlines()) + "\n"
    (folder / "sshd-user.conf").write_text(config)
    files = {}
    extra = {"passwd": f"{USER}:x:4242:4242::/tmp:/bin/sh\n", "group": f"{USER}:x:4242:\n",
             "shadow": f"{USER}:*:19000:0:99999:7:::\n"}
    for name, line in extra.items():
        copy = folder / name
        copy.write_text(Path("/etc", name).read_text() + line)
        files[name] = copy
    mounts = " && ".join(f"mount --bind {files[name]} /etc/{name}" for name in files)
    script = (f"{mounts} && exec {' '.join(nsenter(lab, 'lab2'))} /usr/sbin/sshd "
              f"-f {folder}/sshd-user.conf -E {folder}/sshd-user.log")
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                   check=True, timeout=10)
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), "sshd to start",
               timeout=10, step=0.05)
    return int(pidfile.read_text())


def block_port(lab: Lab, name: str, add: bool) -> None:
    rule = ["INPUT", "-p", "udp", "--dport", "7946", "-m", "comment", "--comment",
            lab_state(lab)["iptables_comment"], "-j", "DROP"]
    subprocess.run([*nsenter(lab, name), "iptables", "-w", "-I" if add else "-D", *rule],
                   check=add, timeout=10)


@pytest.fixture(scope="module")
def doctor(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The doctor's JSON report (host -> report) over every seeded fault, and its timing."""
    folder = tmp_path_factory.mktemp("doctor")
    folder.chmod(0o755)  # the unprivileged user's sshd reads its config here
    lab2 = lab.host("lab2")
    known = folder / "known_hosts"
    shutil.copy(lab.known_hosts, known)
    key = next(line for line in lab.known_hosts.read_text().splitlines()
               if line.split()[0] == lab2.address).split(None, 1)[1]
    with known.open("a") as stream:
        stream.write(f"[{lab2.address}]:{USER_PORT} {key}\n")
    hosts = yaml.safe_load(lab.inventory.read_text())["hosts"]
    lab1 = lab.host("lab1")
    hosts += [
        {"name": "lab1b", "ssh": f"root@{lab1.address}:{lab1.ssh_port_nostream}",
         "identity": str(lab.key), "socket": lab1.socket},
        {"name": "lab2u", "ssh": f"{USER}@{lab2.address}:{USER_PORT}",
         "identity": str(lab.key), "socket": lab2.socket},
        {"name": "gone", "ssh": f"root@{lab.host('lab3').address}:2399",
         "identity": str(lab.key)},
    ]
    inventory = folder / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"hosts": hosts}, sort_keys=False))
    pid = start_user_sshd(lab, folder)
    block_port(lab, "lab2", add=True)
    try:
        started = time.monotonic()
        result = subprocess.run(
            [str(Path(os.sys.executable)), "-m", "corral.tui.cli.main", "hosts", "doctor",
             "--json", "--inventory", str(inventory), "--known-hosts", str(known)],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "CORRAL_DOCTOR_FAKE_CLOCK_OFFSET": "lab3=7000"})
        took = time.monotonic() - started
    finally:
        block_port(lab, "lab2", add=False)
        os.kill(pid, signal.SIGTERM)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr  # some checks fail: exit status 1
    reports = {report["host"]: report for report in json.loads(result.stdout)}
    return {"reports": reports, "took": took}


def check(doctor: dict, host: str, ident: str) -> dict:
    report = doctor["reports"][host]
    return next(item for item in report["checks"] if item["id"] == ident)


def test_json_has_the_documented_keys_and_runs_hosts_at_once(doctor: dict) -> None:
    for report in doctor["reports"].values():
        assert tuple(report) == HOST_KEYS
        for item in report["checks"]:
            assert tuple(item) == CHECK_KEYS
    # Six hosts (one dead), each step up to 15 s: only concurrency keeps it this short.
    assert doctor["took"] < 45


def test_default_json_file_driver_without_rotation_is_a_warning(doctor: dict) -> None:
    found = check(doctor, "lab1", "engine.log-rotation")
    assert found["status"] == "warn"
    assert "json-file without max-size" in found["seen"]
    assert found["fix"] == "provision:log-rotation"


def test_a_blocked_swarm_port_fails_naming_port_and_peers(doctor: dict) -> None:
    found = check(doctor, "lab2", "swarm.ports")
    assert found["status"] == "fail"
    assert "7946/udp from lab1" in found["seen"] and "7946/udp from lab3" in found["seen"]
    assert "2377/tcp" not in found["seen"]
    assert check(doctor, "lab1", "swarm.ports")["status"] == "ok"


def test_a_user_outside_the_docker_group_cannot_use_the_socket(doctor: dict) -> None:
    found = check(doctor, "lab2u", "ssh.socket-access")
    assert found["status"] == "fail"
    assert found["seen"].startswith(f"{USER} cannot use {host_socket(doctor)}")
    assert found["fix"] == "provision:docker-group"
    assert check(doctor, "lab2u", "ssh.reachable")["status"] == "ok"
    assert check(doctor, "lab2u", "engine.version")["status"] == "fail"
    assert check(doctor, "lab2", "ssh.socket-access")["status"] == "ok"


def host_socket(doctor: dict) -> str:
    seen = check(doctor, "lab2", "ssh.socket-access")["seen"]
    assert "root:docker:660" in seen
    return next(item for item in check(doctor, "lab2u", "ssh.socket-access")["seen"].split()
                if item.endswith("docker.sock"))


def test_two_entries_of_one_engine_fail_the_engine_id_check(doctor: dict) -> None:
    for host in ("lab1", "lab1b"):
        found = check(doctor, host, "fleet.engine-id")
        assert found["status"] == "fail"
        assert "lab1b is the same Docker engine as lab1" in found["seen"]
    assert check(doctor, "lab1b", "fleet.engine-id")["fix"] == "corral hosts rm lab1b"
    # One engine under two names shares its hostname: said once, by the engine-id check.
    assert check(doctor, "lab1", "fleet.hostname")["status"] == "ok"
    assert check(doctor, "lab2", "fleet.engine-id")["status"] == "ok"


def test_a_skewed_clock_is_named_alone(doctor: dict) -> None:
    found = check(doctor, "lab3", "fleet.clock")
    assert found["status"] == "fail"
    assert "from the fleet's median" in found["seen"]
    assert check(doctor, "lab1", "fleet.clock")["status"] == "ok"


def test_kernel_modules_and_registries(doctor: dict) -> None:
    assert check(doctor, "lab1", "kernel.vxlan")["status"] == "ok"
    ip_vs = check(doctor, "lab1", "kernel.ip_vs")  # the lab's kernel has no IPVS
    assert ip_vs["status"] == "warn" and "dnsrr" in ip_vs["seen"]
    assert "reaches" in check(doctor, "lab1", "registry.reach")["seen"]
    air_gapped = check(doctor, "lab3", "registry.reach")
    assert air_gapped["status"] == "ok" and "pushed over SSH" in air_gapped["seen"]


def test_a_host_that_does_not_answer_fails_in_one_line(doctor: dict) -> None:
    report = doctor["reports"]["gone"]
    assert report["status"] == "fail"
    assert report["error"] and "\n" not in report["error"]
    assert [item["id"] for item in report["checks"]] == ["ssh.reachable"]


async def test_the_console_hosts_view_runs_the_doctor_with_d(lab: Lab) -> None:
    from corral.tui.console.screens.modals import TextScreen
    from tests.support.console import SIZE, command, console, online, until, view

    app = console(lab)
    async with app.run_test(size=SIZE) as pilot:
        await online(pilot, app)
        await command(pilot, "hosts")
        hosts = view(app, "hosts")
        await until(pilot, lambda: hosts.row_count == len(lab.hosts), "the hosts")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, TextScreen), "the doctor's checks",
                    timeout=60)
        # The lab's engines rotate no logs: warn is the worst of a healthy lab host.
        assert app.screen.title_text.endswith(": warn")
        column = [str(c.label) for c in hosts.columns.values()].index("DOCTOR")
        assert {str(hosts.get_row(h.name)[column]) for h in lab.hosts} == {"warn"}
