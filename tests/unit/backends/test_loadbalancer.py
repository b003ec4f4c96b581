"""Load balancer containers: the stack resolved to the HAProxy image, and who is behind them."""

from __future__ import annotations

from corral.backends import labels as L
from corral.backends.deploy import loadbalancer
from corral.backends.deploy.haproxy import COMMAND, Server
from corral.catalog.spec import LoadBalancer, PortRule, Service, Stack

LB = Service("lb", image="rancher/lb-service-haproxy:v0.9.14",
             load_balancer=LoadBalancer(rules=(PortRule(80, 8080, "web"),)))
STACK = Stack("st", "e", "1", services=(LB, Service("web", image="corral-lab/web:1")))


def container(name: str, service: str, networks: dict[str, str], ports=(), state="running",
              ids: dict[str, str] | None = None):
    ids = ids or {}
    return {"Names": [f"/{name}"], "State": state,
            "Labels": {L.STACK: "st", L.SERVICE: service},
            "NetworkSettings": {"Networks": {
                n: {"IPAddress": ip, "NetworkID": ids.get(n, f"{n}-{ip}")}
                for n, ip in networks.items()}},
            "Ports": [{"PrivatePort": p, "PublicPort": q, "Type": "tcp"} for p, q in ports]}


def test_resolve_runs_the_configured_image_and_is_idempotent() -> None:
    resolved = loadbalancer.resolve(STACK, "corral/haproxy:2.6")
    lb = resolved.service("lb")
    assert lb.image == "corral/haproxy:2.6" and lb.command == COMMAND
    assert resolved.service("web") == STACK.service("web")
    assert loadbalancer.resolve(resolved, "corral/haproxy:2.6") == resolved


def test_servers_by_network_address_here_and_published_port_elsewhere() -> None:
    lb = container("st-lb-1", "lb", {"st_default": "10.1.0.2"})
    view = {
        "lab1": [lb, container("st-web-1", "web", {"st_default": "10.1.0.3"}),
                 container("st-web-4", "web", {"st_default": "10.1.0.9"}, state="exited")],
        "lab2": [container("st-web-2", "web", {"st_default": "10.2.0.3"}, [(8080, 32770)])],
        "lab3": [container("st-web-3", "web", {"st_default": "10.3.0.3"})],
    }
    servers, problems = loadbalancer.servers_for(
        STACK, "lab1", lb, view, {"lab1": "192.0.2.1", "lab2": "192.0.2.2", "lab3": "192.0.2.3"})
    assert servers == {("web", 8080): [Server("st-web-1", "10.1.0.3", 8080),
                                       Server("st-web-2", "192.0.2.2", 32770)]}
    assert problems == ["st-web-3 on lab3 publishes no port for 8080; st-lb-1 on lab1 cannot"
                        " reach it"]


def test_targets_on_other_hosts_are_reached_over_a_shared_overlay() -> None:
    overlay = {"st_default": "ov1"}  # one network ID on every host: the stack's overlay
    lb = container("st-lb-1", "lb", {"st_default": "10.9.0.2"}, ids=overlay)
    view = {
        "lab1": [lb],
        "lab2": [container("st-web-2", "web", {"st_default": "10.9.0.5"}, ids=overlay)],
        "lab3": [container("st-web-3", "web", {"st_default": "10.3.0.3"}, [(8080, 32771)])],
    }
    servers, problems = loadbalancer.servers_for(
        STACK, "lab1", lb, view, {"lab2": "192.0.2.2", "lab3": "192.0.2.3"})
    assert servers == {("web", 8080): [Server("st-web-2", "10.9.0.5", 8080),
                                       Server("st-web-3", "192.0.2.3", 32771)]}
    assert problems == []


def test_describe_lists_rules_for_the_plan() -> None:
    assert loadbalancer.describe(LB) == [":80 -> web:8080 http"]


def test_leaving_containers_are_drained_unless_nothing_else_serves() -> None:
    lb = container("st-lb-1", "lb", {"st_default": "10.1.0.2"})
    view = {"lab1": [lb, container("st-web-1", "web", {"st_default": "10.1.0.3"}),
                     container("st-web-2", "web", {"st_default": "10.1.0.4"})]}
    servers, _ = loadbalancer.servers_for(STACK, "lab1", lb, view, {},
                                          frozenset({"st-web-2"}))
    assert [s.name for s in servers[("web", 8080)]] == ["st-web-1"]
    servers, _ = loadbalancer.servers_for(STACK, "lab1", lb, view, {},
                                          frozenset({"st-web-1", "st-web-2"}))
    assert [s.name for s in servers[("web", 8080)]] == ["st-web-1", "st-web-2"]


def test_the_record_round_trips_a_load_balancer() -> None:
    from corral.backends.deploy.record import stack_from_dict
    from corral.catalog.spec import Stickiness

    lb = Service("lb", load_balancer=LoadBalancer(
        rules=(PortRule(443, 80, "web", "a.example", "/x", "https", 1, line=9),),
        stickiness=Stickiness("c", indirect=True), certs=("site",),
        cert_files=("/srv/site.pem",)))
    stack = Stack("st", "e", "1", services=(lb, Service("web", image="w")))
    assert stack_from_dict(stack.to_dict()) == stack
