"""Acceptance tests of the foundation against the three-host lab."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from corral.backends.engine.facts import list_containers
from corral.backends.errors import HostKeyChanged, HostKeyUnknown
from corral.backends.ssh.session import HostState
from tests.support.lab import Lab, fingerprint_of
from tests.support.lab_cli import engine, run_corral, running_fleet, write_inventory
from tests.support.waits import wait_until

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def workloads(lab: Lab):
    """A few containers on each engine, created directly on its own socket."""
    created = []
    for index, host in enumerate(lab.hosts):
        client = engine(host.socket)
        for replica in range(index + 1):
            created.append(
                client.containers.run(
                    "corral-lab/busybox:1",
                    ["sleep", "3600"],
                    name=f"t-sleep-{replica}",
                    labels={
                        "com.docker.compose.project": "shop",
                        "com.docker.compose.service": "cart",
                    },
                    detach=True,
                )
            )
        created.append(client.containers.create("corral-lab/busybox:1", ["true"], name="t-idle"))
    yield
    for container in created:
        container.remove(force=True)


def test_connects_to_every_lab_host(lab: Lab) -> None:
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        states = {status.name: status.state for status in fleet.statuses()}
        tunnels = {status.name: status.tunnel for status in fleet.statuses()}
    assert states == {host.name: HostState.ONLINE for host in lab.hosts}
    assert set(tunnels.values()) == {"forward"}


def test_hosts_command_matches_each_engine(lab: Lab, workloads: None) -> None:
    result = run_corral("hosts", "--json", *lab.corral_args())
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {host.name for host in lab.hosts}
    for host in lab.hosts:
        info = engine(host.socket).info()
        row = rows[host.name]
        assert row["state"] == "online" and row["error"] is None
        assert row["address"] == host.address
        assert row["docker_version"] == info["ServerVersion"]
        assert row["containers_running"] == info["ContainersRunning"]
        assert row["containers_total"] == info["Containers"]
        assert row["labels"] == host.labels
        assert 0 < row["latency_ms"] < 1000
        assert abs(row["clock_offset_ms"]) < 1000  # one kernel clock in the lab


def test_ps_command_matches_each_engine(lab: Lab, workloads: None) -> None:
    for flags in ([], ["--all"]):
        result = run_corral("ps", "--json", *flags, *lab.corral_args())
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        for host in lab.hosts:
            expected = {
                c.id[:12]: c for c in engine(host.socket).containers.list(all=bool(flags))
            }
            mine = {row["id"]: row for row in rows if row["host"] == host.name}
            assert set(mine) == set(expected)
            for cid, container in expected.items():
                assert mine[cid]["name"] == container.name
                assert mine[cid]["state"] == container.status
                if container.name.startswith("t-sleep"):
                    assert (mine[cid]["stack"], mine[cid]["service"]) == ("shop", "cart")


def test_ps_text_output_and_host_filter(lab: Lab, workloads: None) -> None:
    result = run_corral("ps", "--host", "lab2", *lab.corral_args())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["HOST", "NAME", "STACK", "SERVICE"]
    assert {line.split()[0] for line in lines[1:]} == {"lab2"}
    assert sum("t-sleep" in line for line in lines) == 2


def test_unknown_host_for_ps_is_a_usage_error(lab: Lab) -> None:
    result = run_corral("ps", "--host", "nope", *lab.corral_args())
    assert result.returncode == 2
    assert "no host named 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_host_key_is_refused_with_its_fingerprint(lab: Lab, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with running_fleet(lab.inventory, empty) as (_, fleet):
        errors = {status.name: status for status in fleet.statuses()}
    expected = fingerprint_of(lab, "lab1")
    assert errors["lab1"].state is HostState.OFFLINE
    assert expected in errors["lab1"].error
    assert "not in known_hosts" in errors["lab1"].error

    result = run_corral("hosts", "--inventory", str(lab.inventory), "--known-hosts", str(empty))
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_key_error_type_and_explicit_accept(lab: Lab, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    inventory = write_inventory(
        tmp_path / "inventory.yaml",
        [{"name": "lab1", "ssh": f"root@{lab.host('lab1').address}:22",
          "identity": str(lab.key), "socket": lab.host("lab1").socket}],
    )
    with running_fleet(inventory, known) as (loop, fleet), pytest.raises(HostKeyUnknown) as caught:
        loop.run(fleet.session("lab1").connect())
    fingerprint = fingerprint_of(lab, "lab1")
    assert caught.value.fingerprint == fingerprint

    wrong = run_corral("ps", "--inventory", str(inventory), "--known-hosts", str(known),
                       "--accept-fingerprint", "SHA256:" + "A" * 43)
    assert wrong.returncode == 1 and known.read_text() == ""

    right = run_corral("ps", "--inventory", str(inventory), "--known-hosts", str(known),
                       "--accept-fingerprint", fingerprint)
    assert right.returncode == 0, right.stderr
    assert known.read_text().startswith(lab.host("lab1").address + " ssh-ed25519 ")
    again = run_corral("ps", "--inventory", str(inventory), "--known-hosts", str(known))
    assert again.returncode == 0, again.stderr


def test_changed_host_key_is_a_hard_stop(lab: Lab, tmp_path: Path) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known = tmp_path / "known_hosts"
    lines = [
        line for line in lab.known_hosts.read_text().splitlines()
        if line.split()[0] != lab.host("lab1").address
    ]
    lines.append(f"{lab.host('lab1').address} {other.with_suffix('.pub').read_text().strip()}")
    known.write_text("\n".join(lines) + "\n")
    with running_fleet(lab.inventory, known) as (loop, fleet):
        with pytest.raises(HostKeyChanged) as caught:
            loop.run(fleet.session("lab1").connect())
        assert fleet.session("lab2").online
    assert caught.value.fingerprint == fingerprint_of(lab, "lab1")
    assert "man-in-the-middle" in str(caught.value)
    result = run_corral("ps", "--inventory", str(lab.inventory), "--known-hosts", str(known),
                        "--accept-fingerprint", fingerprint_of(lab, "lab1"))
    assert result.returncode == 1  # an accepted fingerprint never overrides a changed key
    assert "HOST KEY" in result.stderr or "NOT the key" in result.stderr


def _listening_tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as stream:
            next(stream)
            for line in stream:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    return inodes


def _my_socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def test_tunnel_is_a_private_unix_socket_and_no_tcp_listener(lab: Lab) -> None:
    with running_fleet(lab.inventory, lab.known_hosts) as (_, fleet):
        for session in fleet.sessions.values():
            tunnel = session.tunnel
            assert tunnel is not None
            assert stat.S_IMODE(os.stat(tunnel.directory).st_mode) == 0o700
            assert stat.S_ISSOCK(os.stat(tunnel.path).st_mode)
            assert os.stat(tunnel.path).st_uid == os.getuid()
        assert not (_my_socket_inodes() & _listening_tcp_inodes())
        directories = [s.tunnel.directory for s in fleet.sessions.values()]
    assert not any(os.path.exists(path) for path in directories)


def test_dial_stdio_fallback_when_forwarding_is_refused(lab: Lab, tmp_path: Path) -> None:
    host = lab.host("lab2")
    inventory = write_inventory(
        tmp_path / "inventory.yaml",
        [{"name": "nostream", "ssh": f"root@{host.address}:{host.ssh_port_nostream}",
          "identity": str(lab.key), "socket": host.socket}],
    )
    with running_fleet(inventory, lab.known_hosts) as (_, fleet):
        session = fleet.session("nostream")
        assert session.online, session.status.error
        assert session.status.tunnel == "dial-stdio"
        names = {row.name for row in list_containers(session, all=True)}
        assert names == {c.name for c in engine(host.socket).containers.list(all=True)}
        for _ in range(20):  # several API connections, each its own dial-stdio
            session.call(lambda client: client.api.ping())

    result = run_corral("ps", "--all", "--json", "--inventory", str(inventory),
                        "--known-hosts", str(lab.known_hosts))
    assert result.returncode == 0, result.stderr


def test_host_whose_sshd_stops_goes_offline_and_returns(lab: Lab) -> None:
    with running_fleet(lab.inventory, lab.known_hosts, keep_online=True) as (_, fleet):
        wait_until(lambda: all(s.online for s in fleet.sessions.values()), "all online", 30)
        lab2 = fleet.session("lab2")
        with lab.faulted("lab2", "sshd-stop"):
            wait_until(lambda: not lab2.online, "lab2 offline", 15)
            assert lab2.status.error
            # The others keep answering while lab2 is down.
            results = fleet.query(lambda s: list_containers(s, all=True))
            answered = {r.host for r in results if r.ok}
            assert answered == {"lab1", "lab3"}
            assert next(r for r in results if r.host == "lab2").error is not None
            cli = run_corral("ps", *lab.corral_args())
            assert cli.returncode == 1
            assert "lab2" in cli.stderr and "Traceback" not in cli.stderr
            assert {line.split()[0] for line in cli.stdout.splitlines()[1:]} <= {"lab1", "lab3"}
        wait_until(lambda: lab2.online, "lab2 back online", 30)
        assert list_containers(lab2, all=True) is not None


def test_link_down_is_noticed_by_keepalive(lab: Lab) -> None:
    with running_fleet(lab.inventory, lab.known_hosts, keep_online=True) as (_, fleet):
        wait_until(lambda: all(s.online for s in fleet.sessions.values()), "all online", 30)
        lab3 = fleet.session("lab3")
        with lab.faulted("lab3", "link-down"):
            wait_until(lambda: not lab3.online, "lab3 offline after link loss", 20)
            assert fleet.session("lab1").online
        wait_until(lambda: lab3.online, "lab3 back online", 40)


def test_ssh_config_alias_and_jump_host(lab: Lab, tmp_path: Path) -> None:
    lab1, lab3 = lab.host("lab1"), lab.host("lab3")
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host edge\n  HostName {lab3.address}\n  User root\n  Port 22\n"
        f"  IdentityFile {lab.key}\n"
    )
    inventory = write_inventory(
        tmp_path / "inventory.yaml",
        [
            {"name": "by-alias", "ssh": "edge", "socket": lab3.socket},
            {"name": "via-jump", "ssh": f"root@{lab3.address}", "identity": str(lab.key),
             "socket": lab3.socket, "jump": f"root@{lab1.address}:22"},
        ],
    )
    with running_fleet(inventory, lab.known_hosts, config=(str(config),)) as (_, fleet):
        for name in ("by-alias", "via-jump"):
            session = fleet.session(name)
            assert session.online, session.status.error
            expected = {c.name for c in engine(lab3.socket).containers.list(all=True)}
            assert {row.name for row in list_containers(session, all=True)} == expected
        assert len(fleet.session("via-jump").connection.corral_jumps) == 1


def test_local_engine_is_offered_as_host_local(lab: Lab) -> None:
    from corral.backends.inventory.load import local_inventory

    inventory = local_inventory(socket=lab.host("lab1").socket)
    assert inventory is not None and inventory.names() == ["local"]
    from corral.backends.ssh.connect import SshSettings
    from corral.backends.ssh.fleet import Fleet
    from corral.backends.ssh.loop import BackendLoop

    with BackendLoop() as loop:
        fleet = Fleet(inventory, SshSettings())
        try:
            loop.run(fleet.connect_all())
            session = fleet.session("local")
            assert session.online and session.status.tunnel == "local"
            assert session.connection is None
            expected = {c.name for c in engine(lab.host("lab1").socket).containers.list()}
            assert {row.name for row in list_containers(session)} == expected
        finally:
            loop.run(fleet.close())
