"""haproxy.cfg generated from port rules (backends/deploy/haproxy.py), checked by HAProxy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from corral.backends.deploy.haproxy import Server, render
from corral.catalog.spec import HealthCheck, LoadBalancer, PortRule, Stickiness

RULES = LoadBalancer(
    rules=(
        PortRule(80, 8080, "web", "www.example.com", "/app", "http", 2),
        PortRule(80, 80, "web", "", "", "http", 1),
        PortRule(80, 80, "api", "*.api.example.com", "", "http", None),
        PortRule(9000, 5432, "db", protocol="tcp"),
    ),
    stickiness=Stickiness("SRV", indirect=True, nocache=True),
)
SERVERS = {
    ("web", 80): [Server("st-web-1", "10.0.0.2", 80), Server("st-web-2", "192.0.2.7", 32768)],
    ("web", 8080): [Server("st-web-1", "10.0.0.2", 8080)],
    ("db", 5432): [Server("st-db-1", "10.0.0.9", 5432)],
}
CHECKS = {"web": HealthCheck(port=80, request_line='GET "/health" "HTTP/1.0"', path="/health",
                             interval=3000, healthy_threshold=2, unhealthy_threshold=4)}


def test_rules_become_frontends_acls_and_backends() -> None:
    text = render("lb", RULES, SERVERS, CHECKS)
    assert "frontend port_80" in text and "frontend port_9000" in text
    # Host without its port, wildcards by suffix; priority 1 (no match) is the default.
    assert "acl rule0_host req.hdr(host),field(1,:),lower -m str www.example.com" in text
    assert "acl rule0_path path_beg /app" in text
    assert "use_backend rule0 if rule0_host rule0_path" in text
    assert "acl rule2_host req.hdr(host),field(1,:),lower -m end .api.example.com" in text
    assert "default_backend rule1" in text
    # Every server is health-checked by HAProxy, with the target's Rancher check.
    assert "server st-web-2 192.0.2.7:32768 check inter 3000 rise 2 fall 4 cookie st-web-2" \
        in text
    assert "option httpchk GET /health" in text
    assert "cookie SRV insert indirect nocache" in text
    # TCP frontends and backends: no HTTP check, no cookie.
    tcp = text.split("\nbackend rule3")[1]
    assert "mode tcp" in tcp and "httpchk" not in tcp and "cookie" not in tcp
    assert "server st-db-1 10.0.0.9:5432 check inter 2000 rise 2 fall 3" in tcp
    # A rule with no servers yet (api) is a backend without servers (503), not an error.
    assert "backend rule2" in text


def test_output_is_deterministic() -> None:
    assert render("lb", RULES, SERVERS, CHECKS) == render("lb", RULES, dict(SERVERS), CHECKS)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
@pytest.mark.parametrize("balancer", [RULES, LoadBalancer(), LoadBalancer(
    rules=(PortRule(8080, 80, "web"),))])
def test_haproxy_accepts_the_configuration(tmp_path: Path, balancer: LoadBalancer) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(render("lb", balancer, SERVERS, CHECKS))
    done = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("haproxy") is None or shutil.which("openssl") is None,
                    reason="haproxy or openssl is not installed")
def test_https_and_tls_rules_terminate_with_the_certificates(tmp_path: Path) -> None:
    for index in range(2):
        pem = tmp_path / f"{index}.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", f"/CN=site{index}.example", "-keyout", str(pem), "-out",
                        str(tmp_path / "cert")], check=True, capture_output=True, timeout=60)
        pem.write_bytes(pem.read_bytes() + (tmp_path / "cert").read_bytes())
    balancer = LoadBalancer(rules=(PortRule(443, 80, "web", "site1.example", "", "https"),
                                   PortRule(443, 80, "web", protocol="https"),
                                   PortRule(8443, 5432, "db", protocol="tls")),
                            certs=("a", "b"), cert_files=("/x/a.pem", "/x/b.pem"))
    text = render("lb", balancer, SERVERS, CHECKS, cert_dir=str(tmp_path))
    assert f"bind *:443 ssl crt {tmp_path}/0.pem crt {tmp_path}/1.pem" in text
    tls = text.split("frontend port_8443")[1].split("\n\n")[0]
    assert "ssl crt" in tls and "mode tcp" in tls
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    done = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
