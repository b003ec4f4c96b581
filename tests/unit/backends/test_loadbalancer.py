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


class TopSession:
    """A HostSession stand-in whose `docker top` shows HAProxy's master and workers.

    `tops` are the listings, one per call; the last one repeats.
    """

    def __init__(self, *tops: list[tuple[str, str]]):
        self.tops = list(tops)
        self.calls = 0

    def call(self, work):
        return work(self)

    @property
    def api(self):
        return self

    def top(self, container: str) -> dict:
        rows = self.tops[min(self.calls, len(self.tops) - 1)]
        self.calls += 1
        return {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
                "Processes": [["root", pid, ppid, "0", "", "?", "", "haproxy"]
                              for pid, ppid in rows]}


MASTER = ("100", "90")  # its parent is the shim, outside the container


def test_workers_are_the_processes_the_master_forked() -> None:
    session = TopSession([MASTER, ("101", "100"), ("102", "100")])
    assert loadbalancer.workers(session, "st-lb-1") == {"101", "102"}
    # Run with an init (`docker-init -- haproxy …`), the master is a child too.
    session = TopSession([("99", "90"), ("100", "99"), ("101", "100")])
    assert loadbalancer.workers(session, "st-lb-1") == {"101"}


def test_a_drain_waits_until_the_old_workers_have_ended(monkeypatch) -> None:
    monkeypatch.setattr(loadbalancer, "_DRAIN_POLL", 0)
    session = TopSession([MASTER, ("101", "100")],                 # before the reload
                         [MASTER, ("101", "100"), ("105", "100")],  # old finishing, new up
                         [MASTER, ("105", "100")])                  # old one gone
    old = loadbalancer.workers(session, "st-lb-1")
    assert loadbalancer.wait_drained(session, "st-lb-1", old)
    assert session.calls == 3


def test_a_drain_gives_up_after_its_timeout(monkeypatch) -> None:
    monkeypatch.setattr(loadbalancer, "_DRAIN_POLL", 0)
    session = TopSession([MASTER, ("101", "100"), ("105", "100")])  # a WebSocket holds 101
    assert not loadbalancer.wait_drained(session, "st-lb-1", {"101"}, timeout=0.05)
