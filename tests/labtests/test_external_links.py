"""`external_links` to another Corral stack's service: joined on the lab.

Stack `xla` runs `db` (busybox httpd); stack `xlb`'s `web` links `xla/db:database`
and is placed beside it (container affinity): its container joins `xla_default`
with the link alias, and `database` answers from inside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support.deploy import corral_on as corral
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

A = """\
services:
  db:
    image: corral-lab/busybox:1
    command: ["sh", "-c",
              "mkdir -p /www && echo from-db > /www/index.html && exec httpd -f -p 80 -h /www"]
"""
B = """\
services:
  web:
    image: corral-lab/busybox:1
    command: ["sleep", "3600"]
    external_links:
      - xla/db:database
    labels:
      io.rancher.scheduler.affinity:container_label: io.rancher.stack_service.name=xla/db
"""


def _folder(root: Path, name: str, text: str) -> str:
    path = root / name
    path.mkdir()
    (path / "docker-compose.yml").write_text(text)
    return str(path)


def test_a_link_to_another_stacks_service_joins_its_network(lab: Lab, tmp_path: Path) -> None:
    a, b = _folder(tmp_path, "xla", A), _folder(tmp_path, "xlb", B)
    assert corral(lab, "deploy", a, "--stack", "xla", "--yes").returncode == 0
    try:
        plan = corral(lab, "plan", b, "--stack", "xlb")
        assert plan.returncode == 0, plan.stderr
        host = next(h for h in lab.hosts if engine(h.socket).containers.list(
            filters={"label": f"{L.STACK}=xla"}))
        assert f"web on {host.name} joins xla_default (xla/db as database)" in plan.stdout
        done = corral(lab, "deploy", b, "--stack", "xlb", "--yes")
        assert done.returncode == 0, done.stderr
        web = engine(host.socket).containers.get("xlb-web-1")
        # busybox wget segfaults in the lab (NOTES.md): nc speaks HTTP instead.
        code, out = web.exec_run(["sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n'"
                                  " | nc -w 3 database 80"])
        assert code == 0 and out.strip().endswith(b"from-db"), out
        # An upgrade of xla recreates db under the same name: the link follows it.
        Path(a, "docker-compose.yml").write_text(A.replace("from-db", "from-db2"))
        upgraded = corral(lab, "upgrade", a, "--stack", "xla", "--yes")
        assert upgraded.returncode == 0, upgraded.stderr
        code, out = web.exec_run(["sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n'"
                                  " | nc -w 3 database 80"])
        assert code == 0 and out.strip().endswith(b"from-db2"), out
        links = web.attrs["NetworkSettings"]["Networks"]["xla_default"]["Links"]
        assert links == ["xla-db-1:database"]
        # Removing the target stack first keeps its network for the joined container.
        removed = corral(lab, "rm", "xla", "--yes")
        assert removed.returncode == 0, removed.stderr
        assert "kept: xlb-web-1 still join it" in removed.stdout + removed.stderr
        assert corral(lab, "rm", "xlb", "--yes").returncode == 0
        networks = engine(host.socket).networks
        assert networks.list(names=["xla_default"])  # xlb's removal leaves it
        networks.get("xla_default").remove()  # as the message says, once they left
    finally:
        corral(lab, "rm", "xlb", "--yes")
        corral(lab, "rm", "xla", "--yes")
        for spot in lab.hosts:
            for left in engine(spot.socket).networks.list(names=["xla_default"]):
                left.remove()
