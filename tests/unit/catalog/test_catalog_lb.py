"""Rancher load balancer services into `Service.load_balancer` (issue 15, item 3)."""

from __future__ import annotations

from pathlib import Path

from corral.catalog.spec import PortRule, Stickiness
from tests.unit.catalog.test_catalog_compose import render_error, render_files

COMPOSE = """\
version: '2'
services:
  web:
    image: corral-lab/web:1
  lb:
    image: rancher/lb-service-haproxy:v0.9.14
    ports:
      - 8080:80/tcp
    labels:
      io.rancher.container.agent.role: environmentAdmin
      io.rancher.container.create_agent: 'true'
"""
RANCHER = """\
.catalog:
  version: '1'
version: '2'
services:
  lb:
    scale: 1
    lb_config:
      certs: []
      port_rules:
      - source_port: 80
        target_port: 80
        service: web
        hostname: www.example.com
        path: /app
        priority: 2
      - source_port: 80
        target_port: 80
        service: st/web
        protocol: http
        priority: 1
      - source_port: 9000
        service: web
        protocol: tcp
      stickiness_policy:
        cookie: SRV
        mode: insert
        indirect: true
"""


def test_lb_service_carries_its_port_rules(make_catalog) -> None:
    stack = render_files(make_catalog, COMPOSE, RANCHER)
    assert stack.deployable, stack.warnings
    lb = stack.service("lb")
    assert lb.load_balancer is not None
    rules = lb.load_balancer.rules
    assert rules == (
        PortRule(80, 80, "web", "www.example.com", "/app", "http", 2),
        PortRule(80, 80, "web", "", "", "http", 1),
        PortRule(9000, 9000, "web", "", "", "tcp", None),
    )
    assert rules[0].line == 10
    assert lb.load_balancer.stickiness == Stickiness("SRV", "insert", indirect=True)
    # The agent labels Rancher's LB needed are dropped with a warning, not refused.
    assert "io.rancher.container.agent.role" not in lb.labels
    assert any("agent" in p.message and p.severity == "warning" for p in stack.warnings)
    # Source ports are what the container publishes: 80 on 8080 as written, 9000 added.
    assert [(p.container_port, p.host_port) for p in lb.ports] == [(80, 8080), (9000, 9000)]


def test_unknown_target_is_one_error_naming_the_rule_line(make_catalog) -> None:
    error = render_error(make_catalog, COMPOSE, RANCHER.replace("service: st/web", "service: db"))
    errors = [p for p in error.problems if p.severity == "error"]
    assert len(errors) == 1, error.problems
    problem = errors[0]
    assert "target db is not a service of this stack" in problem.message
    assert Path(problem.file).name == "rancher-compose.yml" and problem.line == 16


def test_what_is_not_carried_is_a_warning_with_its_line(make_catalog) -> None:
    extra = "      - source_port: 443\n        service: web\n        protocol: https\n" \
        "      - source_port: 81\n        selector: a=b\n      stickiness_policy:\n"
    rancher = RANCHER.replace("      certs: []\n", "      certs: [mycert]\n      config: x\n") \
        .replace("      stickiness_policy:\n", extra)
    stack = render_files(make_catalog, COMPOSE, rancher)
    messages = {p.message.split(":")[-1].strip(): p.line for p in stack.warnings}
    assert any("https needs a certificate" in m for m in messages)
    assert any("Rancher's API" in m for m in messages)
    assert any("config (custom HAProxy text)" in p.message for p in stack.warnings)
    assert all(p.line for p in stack.warnings)
    assert {r.source_port for r in stack.service("lb").load_balancer.rules} == {80, 9000}


def test_other_stack_target_is_dropped_with_a_warning(make_catalog) -> None:
    stack = render_files(make_catalog, COMPOSE, RANCHER.replace("st/web", "other/web"))
    assert any("another stack's service" in p.message for p in stack.warnings)
    assert len(stack.service("lb").load_balancer.rules) == 2


def test_legacy_load_balancer_ports_links_and_target_labels(make_catalog) -> None:
    compose = """\
web:
  image: corral-lab/web:1
api:
  image: corral-lab/web:1
lb:
  image: rancher/load-balancer-service
  ports:
    - 8080:80
  links:
    - web:web
    - api:api
  labels:
    io.rancher.loadbalancer.target.api: api.example.com:8080/v1=81, 8080=82
"""
    rancher = ".catalog:\n  version: '1'\nlb:\n  load_balancer_config:\n" \
        "    lb_cookie_stickiness_policy:\n      cookie: c\n"
    stack = render_files(make_catalog, compose, rancher)
    assert stack.deployable, stack.warnings
    lb = stack.service("lb").load_balancer
    assert lb.legacy and lb.stickiness == Stickiness("c")
    assert {(r.source_port, r.target_port, r.service, r.hostname, r.path) for r in lb.rules} \
        == {(8080, 80, "web", "", ""), (8080, 81, "api", "api.example.com", "/v1"),
            (8080, 82, "api", "", "")}
    assert [(p.container_port, p.host_port) for p in stack.service("lb").ports] == [(8080, 8080)]
    assert not any(k.startswith("io.rancher.loadbalancer") for k in stack.service("lb").labels)


def test_service_level_certs_warn_on_an_lb_and_stay_unsupported_elsewhere(make_catalog) -> None:
    lb = render_files(make_catalog, "lb:\n  image: rancher/load-balancer-service\n"
                      "  ports: ['80:80']\n  links: [web]\nweb:\n  image: x\n",
                      ".catalog:\n  version: '1'\nlb:\n  default_cert: mine\n")
    assert lb.deployable
    assert any("default_cert" in p.message and p.line == 4 for p in lb.warnings)
    other = render_files(make_catalog, "web:\n  image: x\n",
                         ".catalog:\n  version: '1'\nweb:\n  certs: [a]\n")
    assert not other.deployable
