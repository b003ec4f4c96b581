"""A Rancher load balancer service on the lab: HAProxy in front of a scaled web service.

The LB image is built from this machine's Debian `haproxy` package and
imported on every lab engine (`tests/support/haproxy_image.py`); Corral runs
it with the configuration it generates from the port rules, and regenerates
it (HAProxy reloads on SIGUSR2) when the web service scales.
"""

from __future__ import annotations

import io
import re
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from corral.backends import labels as L
from tests.support import haproxy_image
from tests.support.deploy import corral_on as corral
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

STACK = "lbt"
PORT = 18090
TLS_PORT = 18443  # not in the LB's ports: published on the same host port by Corral
COMPOSE = f"""\
version: '2'
services:
  web:
    image: corral-lab/web:1
    command: ["sh", "-c", "hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports:
      - "0.0.0.0::80"   # a port the engine picks: how an LB on another host reaches it
  lb:
    image: rancher/lb-service-haproxy:v0.9.14
    ports:
      - {PORT}:{PORT}/tcp
    labels:
      io.rancher.container.agent.role: environmentAdmin
      io.rancher.container.create_agent: 'true'
"""
RANCHER = f"""\
version: '2'
catalog:
  name: lbt
  version: "1"
services:
  web:
    scale: 1
    health_check:
      port: 80
      request_line: GET "/" "HTTP/1.0"
      interval: 1000
      response_timeout: 1000
      healthy_threshold: 1
      unhealthy_threshold: 2
  lb:
    scale: 1
    health_check:   # as catalogs wrote it: Rancher's LB answered on port 42
      port: 42
      interval: 2000
      response_timeout: 2000
      healthy_threshold: 2
      unhealthy_threshold: 3
    lb_config:
      certs: []
      default_cert: site
      port_rules:
      - source_port: {PORT}
        target_port: 80
        service: web
        protocol: http
      - source_port: {TLS_PORT}
        target_port: 80
        service: web
        protocol: https
"""


@pytest.fixture(scope="module")
def haproxy_on_lab(lab: Lab) -> None:
    if not haproxy_image.available():
        pytest.skip("Debian's haproxy is not installed here (apt-get install haproxy)")
    tar = haproxy_image.rootfs_tar()
    for host in lab.hosts:
        haproxy_image.import_into(engine(host.socket), tar)


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "rancher-compose.yml").write_text(RANCHER)
    # `default_cert: site` is site.pem beside the compose file: certificate and key.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=lbt.example", "-keyout", str(tmp_path / "key"),
                    "-out", str(tmp_path / "cert")], check=True, capture_output=True, timeout=60)
    (tmp_path / "site.pem").write_bytes((tmp_path / "cert").read_bytes()
                                        + (tmp_path / "key").read_bytes())
    return tmp_path


def containers(lab: Lab, service: str) -> dict[str, tuple[str, str]]:
    """Hostname -> (lab host, container name) of the service's running containers."""
    found = {}
    for host in lab.hosts:
        for container in engine(host.socket).containers.list(
                filters={"label": [f"{L.STACK}={STACK}", f"{L.SERVICE}={service}"]}):
            found[container.attrs["Config"]["Hostname"]] = (host.name, container.name)
    return found


def lb_config(lab: Lab) -> str:
    ((host, name),) = containers(lab, "lb").values()
    stream, _ = engine(lab.host(host).socket).api.get_archive(
        name, "/usr/local/etc/haproxy/haproxy.cfg")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = next(m for m in tar.getmembers() if m.isfile())
        return tar.extractfile(member).read().decode()  # type: ignore[union-attr]


class Prober:
    """Asks the LB on its host port over and over, keeping every answer and failure."""

    def __init__(self, url: str):
        self.url = url
        self.answers: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def ask(self) -> str:
        with urllib.request.urlopen(self.url, timeout=5) as response:
            return response.read().decode().strip()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.answers.append(self.ask())
            except OSError as exc:
                self.failures.append(f"{time.strftime('%X')} {exc}")
            time.sleep(0.1)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def first_answer(url: str, seconds: float = 20) -> str:
    """The LB's first answer, once HAProxy's first checks found a server up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return Prober(url).ask()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def seen_within(prober: Prober, wanted: set[str], seconds: float = 30) -> set[str]:
    """The hostnames answering (from `prober`'s answers) once all `wanted` show, or time out."""
    deadline = time.monotonic() + seconds
    start = len(prober.answers)
    while time.monotonic() < deadline:
        seen = set(prober.answers[start:])
        if wanted <= seen:
            return seen
        time.sleep(0.3)
    return set(prober.answers[start:])


def test_lb_answers_and_follows_the_backend_scale(lab: Lab, haproxy_on_lab: None,
                                                   stack_dir: Path) -> None:
    try:
        result = corral(lab, "deploy", str(stack_dir), "--stack", STACK, "--yes")
        assert result.returncode == 0, result.stdout + result.stderr
        # The plan shows the LB, its image and its rule; the agent labels only warn.
        assert "Load balancers:" in result.stdout, result.stdout
        assert f":{PORT} -> web:80 http" in result.stdout
        assert f"({haproxy_image.IMAGE})" in result.stdout
        ((lb_host, _),) = containers(lab, "lb").values()
        url = f"http://{lab.host(lb_host).address}:{PORT}/"
        webs = containers(lab, "web")
        assert len(webs) == 1
        answer = first_answer(url)
        assert answer in webs, (answer, webs)
        # The https rule terminates TLS with site.pem (self-signed: not verified here).
        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        tls_url = f"https://{lab.host(lb_host).address}:{TLS_PORT}/"
        with urllib.request.urlopen(tls_url, timeout=5, context=insecure) as response:
            assert response.read().decode().strip() in webs
        served = ssl.get_server_certificate((lab.host(lb_host).address, TLS_PORT), timeout=5)
        assert ssl.PEM_cert_to_DER_cert(served) \
            == ssl.PEM_cert_to_DER_cert((stack_dir / "cert").read_text())

        with Prober(url) as prober:
            up = corral(lab, "scale", f"{STACK}/web=3", "--yes")
            assert up.returncode == 0, up.stdout + up.stderr
            webs = containers(lab, "web")
            assert len(webs) == 3
            config = lb_config(lab)  # two rules (http, https), each with every web container
            assert len(re.findall(r"^\s+server ", config, re.M)) == 2 * 3, config
            assert seen_within(prober, set(webs)) >= set(webs), (prober.answers[-20:], webs)

            down = corral(lab, "scale", f"{STACK}/web=1", "--yes")
            assert down.returncode == 0, down.stdout + down.stderr
            # The LB reloaded without the two leaving containers, and its old
            # workers (which still chose them) ended before they were removed.
            assert "of draining" not in down.stderr, down.stderr
            webs = containers(lab, "web")
            assert len(webs) == 1
            config = lb_config(lab)
            assert len(re.findall(r"^\s+server ", config, re.M)) == 2 * 1, config
            time.sleep(2)
            tail = len(prober.answers)
            time.sleep(2)
        assert set(prober.answers[tail:]) == set(webs), (prober.answers[-5:], prober.failures)
        assert not prober.failures, prober.failures
        assert len(prober.answers) > 20
    finally:
        corral(lab, "rm", STACK, "--yes")


def test_a_rolling_upgrade_behind_the_lb_drops_no_request(lab: Lab, haproxy_on_lab: None,
                                                         stack_dir: Path) -> None:
    (stack_dir / "rancher-compose.yml").write_text(RANCHER.replace(
        "    scale: 1\n    health_check:\n      port: 80",
        "    scale: 2\n    upgrade_strategy:\n      batch_size: 1\n"
        "    health_check:\n      port: 80", 1))
    try:
        deployed = corral(lab, "deploy", str(stack_dir), "--stack", STACK, "--yes")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        old = set(containers(lab, "web"))
        assert len(old) == 2
        ((lb_host, _),) = containers(lab, "lb").values()
        url = f"http://{lab.host(lb_host).address}:{PORT}/"
        first_answer(url)
        with Prober(url) as prober:
            assert seen_within(prober, old) >= old, (prober.answers[-10:], prober.failures)
            # Something that replaces every web container: one at a time, each
            # leaving the LB before it stops, the new one joining once healthy.
            (stack_dir / "docker-compose.yml").write_text(COMPOSE.replace(
                "    ports:\n      - \"0.0.0.0::80\"",
                "    environment:\n      RELEASE: '2'\n    ports:\n      - \"0.0.0.0::80\"", 1))
            upgraded = corral(lab, "upgrade", str(stack_dir), "--stack", STACK, "--yes")
            assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
            assert "of draining" not in upgraded.stderr, upgraded.stderr
            new = set(containers(lab, "web"))
            assert len(new) == 2 and not new & old, (old, new)
            assert seen_within(prober, new) >= new, (prober.answers[-10:], prober.failures)
        assert not prober.failures, prober.failures
        assert len(prober.answers) > 20
    finally:
        corral(lab, "rm", STACK, "--yes")


def test_unknown_target_is_one_plan_error_naming_file_and_line(lab: Lab,
                                                               stack_dir: Path) -> None:
    rancher = stack_dir / "rancher-compose.yml"
    rancher.write_text(RANCHER.replace("service: web", "service: nosuch", 1))
    result = corral(lab, "plan", str(stack_dir), "--stack", STACK)
    assert result.returncode != 0
    # One problem names the bad rule; the others are the agent labels' warnings.
    errors = [line for line in result.stderr.splitlines()
              if "nosuch" in line or "warning" not in line and "rancher-compose" in line]
    assert len(errors) == 1, result.stderr
    line = RANCHER.splitlines().index(f"      - source_port: {PORT}") + 1
    assert f"rancher-compose.yml:{line}" in errors[0], errors
    assert "target nosuch is not a service of this stack" in errors[0]
