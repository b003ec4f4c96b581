"""A made-up fleet of three hosts, fixed to the byte, for pictures of the console.

Nothing here depends on the clock or on an engine: the same data gives the
same picture on every machine. `synthetic_rows` also feeds the refresh
benchmark (`bench/console.py`).
"""

from __future__ import annotations

from corral.backends.engine.facts import ContainerRow, HostFacts
from corral.backends.engine.resources import HostDetails, ImageRow, VolumeRow
from corral.backends.engine.watch import EngineEvent
from corral.tui.console.model.data import HostRecord

HOSTS = {
    "lab1": ("10.0.0.11", {"zone": "a", "role": "media"}),
    "lab2": ("10.0.0.12", {"zone": "b", "role": "media"}),
    "lab3": ("10.0.0.13", {"zone": "a", "role": "edge"}),
}
#: 2026-01-05 09:30:00 UTC: every event happens a few seconds after it.
EPOCH = 1_767_605_400
WEB_PORTS = {1: "0.0.0.0:8081->80/tcp", 2: "0.0.0.0:8082->80/tcp"}
MIB = 1024 * 1024


def container(
    host: str, number: int, name: str, image: str, status: str,
    stack: str | None = None, service: str | None = None, ports: tuple[str, ...] = (),
) -> ContainerRow:
    """One container row; its id is derived from host and number, so it is stable."""
    word = status.split()[0].lower()
    state = "running" if word == "up" else word
    labels = {"io.corral.stack": stack, "io.corral.service": service} if stack else {}
    return ContainerRow(
        host=host, id=f"{host[-1]}{number:011x}", name=name, image=image, state=state,
        status=status, ports=list(ports), stack=stack, service=service,
        created=EPOCH - 3600 * number, labels={k: v for k, v in labels.items() if v},
    )


def containers() -> dict[str, list[ContainerRow]]:
    """Every host's containers: web replicas everywhere, and one of each kind of trouble."""
    rows: dict[str, list[ContainerRow]] = {host: [] for host in HOSTS}
    for host in HOSTS:
        for replica in (1, 2):
            rows[host].append(container(
                host, replica, f"shop-web-{replica}", "corral-lab/web:1",
                "Up 3 hours (healthy)", "shop", "web", (WEB_PORTS[replica], "80/tcp")))
    rows["lab1"] += [
        container("lab1", 3, "shop-worker-1", "corral-lab/worker:1", "Up 3 hours",
                  "shop", "worker"),
        container("lab1", 4, "cron-report-1", "corral-lab/busybox:1",
                  "Exited (3) 12 minutes ago", "cron", "report"),
        container("lab1", 5, "toolbox-lab1", "corral-lab/busybox:1", "Up 2 days"),
    ]
    rows["lab2"] += [
        container("lab2", 3, "billing-db-1", "postgres:16", "Up 2 days (unhealthy)",
                  "billing", "db", ("5432/tcp",)),
        container("lab2", 4, "billing-api-1", "billing/api:2.3", "Up 8 seconds "
                  "(health: starting)", "billing", "api", ("0.0.0.0:9000->9000/tcp",)),
    ]
    rows["lab3"] += [
        container("lab3", 3, "edge-proxy-1", "corral-lab/web:1",
                  "Restarting (1) 4 seconds ago", "edge", "proxy"),
        container("lab3", 4, "backup-7d2f", "corral-lab/busybox:1",
                  "Exited (0) 5 hours ago"),
    ]
    return rows


def usage() -> dict[str, tuple[float | None, int | None]]:
    """CPU percent and memory of the running containers (`host/id` keys)."""
    figures = {}
    for host, rows in containers().items():
        for index, row in enumerate(rows):
            if row.state == "running":
                figures[f"{host}/{row.id}"] = (0.4 + index * 1.3, (6 + index * 11) * MIB)
    return figures


def host_records(offline: tuple[str, ...] = ()) -> dict[str, HostRecord]:
    """Facts and details of every host; those in `offline` are down."""
    records = {}
    for index, (name, (address, labels)) in enumerate(HOSTS.items()):
        if name in offline:
            facts = HostFacts(name, address, "offline", error="connection refused",
                              labels=labels)
            records[name] = HostRecord(facts)
            continue
        count = len(containers()[name])
        facts = HostFacts(
            name, address, "online", docker_version="20.10.24+dfsg1", api_version="1.41",
            containers_running=count - 1, containers_total=count,
            latency_ms=1.8 + index * 0.4, clock_offset_ms=0.3, labels=labels, tunnel="forward",
        )
        details = HostDetails(
            name, engine="20.10.24+dfsg1", os="Debian GNU/Linux 12 (bookworm)",
            kernel="6.1.0-28-amd64", cpus=4 * (index + 1), memory=(8 << 30) * (index + 1),
            docker_root="/var/lib/docker", storage_driver="overlay2",
            disk_used=(3 + index) * 700 * MIB,
        )
        records[name] = HostRecord(facts, details)
    return records


def volumes() -> dict[str, VolumeRow]:
    """Volumes by `host/name`: one used, one shared by a database, one orphan."""
    rows = [
        VolumeRow("lab1", "shop-data", "local", "/var/lib/docker/volumes/shop-data/_data", {},
                  ["shop-worker-1"]),
        VolumeRow("lab2", "billing-pgdata", "local",
                  "/var/lib/docker/volumes/billing-pgdata/_data", {}, ["billing-db-1"]),
        VolumeRow("lab2", "3f9c2a1e7b40d5", "local",
                  "/var/lib/docker/volumes/3f9c2a1e7b40d5/_data", {}, []),
    ]
    return {f"{row.host}/{row.name}": row for row in rows}


def images() -> dict[str, ImageRow]:
    """Images by `host/id`, with the containers created from them."""
    rows = []
    for index, (host, host_rows) in enumerate(containers().items()):
        by_image: dict[str, list[str]] = {}
        for row in host_rows:
            by_image.setdefault(row.image, []).append(row.name)
        for number, (tag, users) in enumerate(sorted(by_image.items())):
            rows.append(ImageRow(host, f"{index}{number}a7c3e9f1b2d"[:12], [tag],
                                 (2 + number * 37) * MIB, EPOCH - 86400, sorted(users)))
    rows.append(ImageRow("lab2", "9e1f00c4d2aa", [], 81 * MIB, EPOCH - 86400 * 9, []))
    return {f"{row.host}/{row.id}": row for row in rows}


def events() -> list[EngineEvent]:
    """Engine events, oldest first, as the watchers would report them."""
    script = [
        ("lab1", 2, "create", "cron-report-1"), ("lab1", 3, "start", "cron-report-1"),
        ("lab1", 9, "die", "cron-report-1"), ("lab2", 12, "health_status: unhealthy",
                                               "billing-db-1"),
        ("lab3", 15, "die", "edge-proxy-1"), ("lab3", 16, "restart", "edge-proxy-1"),
        ("lab2", 21, "oom", "billing-api-1"), ("lab2", 22, "die", "billing-api-1"),
        ("lab2", 23, "start", "billing-api-1"), ("lab3", 30, "destroy", "backup-3c1a"),
    ]
    return [
        EngineEvent(host, EPOCH + offset, "container", action, actor,
                    {"name": actor, "exitCode": "3"} if action == "die" else {"name": actor})
        for host, offset, action, actor in script
    ]


def inspect_document(row: ContainerRow) -> dict:
    """What `docker inspect` would say about `row`, abridged but shaped like the real thing."""
    return {
        "Id": row.id + "7f3b" * 13,
        "Created": "2026-01-05T06:30:00.000000000Z",
        "Path": "httpd",
        "Args": ["-f", "-p", "80", "-h", "/www"],
        "State": {"Status": row.state, "Running": row.state == "running", "Pid": 4242,
                  "ExitCode": 0, "StartedAt": "2026-01-05T06:30:01.000000000Z",
                  "Health": {"Status": "healthy", "FailingStreak": 0}},
        "Name": f"/{row.name}",
        "RestartCount": 0,
        "HostConfig": {"NetworkMode": "default", "RestartPolicy": {"Name": "unless-stopped"},
                       "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8081"}]}},
        "Config": {"Hostname": row.id, "Image": row.image, "Labels": row.labels,
                   "Env": ["PATH=/bin", "RATE=1"], "Cmd": ["httpd", "-f", "-p", "80"]},
        "NetworkSettings": {"IPAddress": "172.17.0.2", "Gateway": "172.17.0.1"},
    }


def synthetic_rows(hosts: int, per_host: int) -> dict[str, ContainerRow]:
    """`hosts` × `per_host` plausible rows by `host/id`, for the refresh benchmark."""
    rows = {}
    for h in range(1, hosts + 1):
        host = f"lab{h}"
        for n in range(per_host):
            status = "Exited (1) 3 minutes ago" if n % 25 == 7 else f"Up {n % 59 + 1} minutes"
            row = container(host, n, f"svc{n % 10}-{n:03d}", "corral-lab/busybox:1", status,
                            "load", f"svc{n % 10}", (f"0.0.0.0:{8000 + n}->80/tcp",))
            rows[f"{host}/{row.id}"] = row
    return rows
