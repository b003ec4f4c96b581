"""The doctor's pure parts: its JSON against the README, the script's parsing, verdicts."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from corral.backends.doctor import CHECK_IDS, CHECK_KEYS, HOST_KEYS, Check, HostReport
from corral.backends.doctor import checks as C
from corral.backends.doctor.host_script import parse
from corral.backends.doctor.ports import parse_client, parse_listener
from corral.backends.doctor.probes import _registry_target
from corral.backends.doctor.run import fake_clock_offsets

README = Path(__file__).resolve().parents[3] / "README.md"


def doctor_section() -> str:
    text = README.read_text()
    return text[text.index("### Doctor"):text.index("### Read-only")]


def test_json_keys_are_the_documented_ones() -> None:
    section = doctor_section()
    bullets = section[section.index("`--json` prints"):]
    host_keys = re.findall(r"`(\w+)`:", bullets.split("- each check:")[0])
    check_keys = re.findall(r"`(\w+)` \(", bullets.split("- each check:")[1]) + ["status"]
    report = HostReport("lab1", error=None)
    report.add(Check("fleet.clock", "ok", "fine"))
    produced = json.loads(json.dumps(report.to_dict()))
    assert tuple(produced) == HOST_KEYS
    assert set(host_keys) == set(HOST_KEYS)
    assert tuple(produced["checks"][0]) == CHECK_KEYS
    assert set(check_keys) == set(CHECK_KEYS)


def test_every_check_id_is_in_the_readme_table() -> None:
    table = re.findall(r"^\| `([a-z_.-]+)` \|", doctor_section(), re.MULTILINE)
    assert tuple(table) == CHECK_IDS


def test_report_status_is_the_worst_and_checks_keep_their_order() -> None:
    report = HostReport("h")
    report.add(Check("kernel.vxlan", "ok", "x"))
    report.add(Check("ssh.reachable", "warn", "y"))
    assert [c.id for c in report.checks] == ["ssh.reachable", "kernel.vxlan"]
    assert report.status == "warn"
    assert HostReport("gone", error="refused").status == "fail"


def facts(**values: str):
    text = "\n".join(f"{key}={value}" for key, value in values.items())
    return parse(text + "\nend=yes\n")


def encoded(config: dict) -> str:
    return base64.b64encode(json.dumps(config).encode()).decode()


def test_log_rotation_reads_daemon_json_and_the_command_line() -> None:
    info = {"LoggingDriver": "json-file"}
    bare = C.log_rotation(facts(daemon_json="missing", daemon_json_path="/etc/docker/daemon.json"),
                          info)
    assert (bare.status, bare.fix) == ("warn", "provision:log-rotation")
    rotated = facts(daemon_json=encoded({"log-opts": {"max-size": "10m", "max-file": "3"}}))
    assert C.log_rotation(rotated, info).status == "ok"
    flags = facts(daemon_json="missing", dockerd="dockerd\x1f--log-opt\x1fmax-size=5m")
    assert C.log_rotation(flags, info).seen.startswith("json-file, max-size 5m")
    assert C.log_rotation(facts(), {"LoggingDriver": "local"}).status == "ok"


def test_socket_access_verdicts() -> None:
    sock = "/var/run/docker.sock"
    assert C.socket_access(facts(socket="present", uid="0", user="root"), sock).status == "ok"
    member = facts(socket="present", uid="1000", socket_rw="yes", groups="deploy,docker")
    assert "group docker" in C.socket_access(member, sock).seen
    sudo = C.socket_access(facts(socket="present", uid="1000", socket_rw="no", sudo="yes"), sock)
    assert (sudo.status, sudo.fix) == ("warn", "provision:docker-group")
    none = C.socket_access(facts(socket="present", uid="1000", socket_rw="no", sudo="no"), sock)
    assert (none.status, none.fix) == ("fail", "provision:docker-group")
    missing = C.socket_access(facts(socket="missing"), sock)
    assert missing.fix == "provision:install-docker"


def test_clock_names_the_skewed_host_against_the_median() -> None:
    offsets = {"a": 3.0, "b": -2.0, "c": 7000.0}
    assert C.clock("c", offsets).status == "fail"
    assert C.clock("a", offsets).status == "ok"
    assert C.clock("a", {"a": None}) is None
    assert fake_clock_offsets("lab3=7000, lab1=-5,bad") == {"lab3": 7000.0, "lab1": -5.0}


def test_live_restore_is_fine_in_swarm_mode() -> None:
    assert C.live_restore({"LiveRestoreEnabled": False}).fix == "provision:live-restore"
    swarm = {"LiveRestoreEnabled": False, "Swarm": {"LocalNodeState": "active"}}
    assert C.live_restore(swarm).status == "ok"


def test_ip_vs_missing_says_what_still_works() -> None:
    found = C.kernel_module(facts(module_ip_vs="missing"), "ip_vs")
    assert found.status == "warn" and "dnsrr" in found.seen and "host-mode" in found.seen
    assert C.kernel_module(facts(module_vxlan="missing"), "vxlan").status == "fail"


def test_probe_output_parsing_and_registry_targets() -> None:
    assert parse_listener(["bound 2377/tcp", "busy 4789/udp"]) == ({"2377/tcp"}, {"4789/udp"})
    assert parse_client("10.0.0.2:7946/udp timeout\n10.0.0.2:2377/tcp open\n") == {
        "10.0.0.2:7946/udp": "timeout", "10.0.0.2:2377/tcp": "open"}
    assert _registry_target("10.0.0.5:5000") == "10.0.0.5:5000/tcp"
    assert _registry_target("registry.example/team") == "registry.example:443/tcp"
    assert _registry_target("[fd00::1]:5000") == "fd00::1:5000/tcp"


def test_key_type_names_weak_keys(tmp_path: Path) -> None:
    import subprocess

    from corral.backends.doctor.run import _key_type
    from corral.backends.inventory.load import HostSpec, SshTarget

    key = tmp_path / "id_rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)],
                   check=True)
    found = _key_type(HostSpec("h", SshTarget("a"), identity=(str(key),)))
    assert (found.status, found.seen) == ("warn", "id_rsa: ssh-rsa 2048 bits")
    assert _key_type(HostSpec("h", SshTarget("a"))).status == "ok"


def test_a_host_that_vanishes_half_way_is_one_line_not_a_traceback(monkeypatch) -> None:
    import asyncio

    from corral.backends.doctor import run as R
    from corral.backends.inventory.load import HostSpec, Inventory, SshTarget
    from corral.backends.ssh.connect import SshSettings
    from corral.backends.ssh.fleet import Fleet

    async def examine(session, timeout):
        if session.name == "b":
            raise ConnectionResetError("Connection lost\nsecond line")
        host = R.Gathered(session.spec, HostReport(session.name))
        host.report.add(Check("ssh.reachable", "ok", "fine"))
        return host

    monkeypatch.setattr(R, "_examine", examine)
    specs = tuple(HostSpec(name, SshTarget("127.0.0.1", "root", 9)) for name in "ab")
    fleet = Fleet(Inventory(hosts=specs), SshSettings())
    reports = asyncio.run(R.run_doctor(fleet))
    asyncio.run(fleet.close())
    assert [(r.host, r.status) for r in reports] == [("a", "ok"), ("b", "fail")]
    assert reports[1].error == "Connection lost"
