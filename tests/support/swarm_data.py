"""A made-up swarm for console tests: three nodes (lab1 managing), one stack's services.

What the console's `swarm` and `nodes` listings would answer (`model/swarm.py`),
fed through the screen's `Loaded` message like a real reading.
"""

from __future__ import annotations

from corral.backends.swarm import Node, Service, Task
from corral.tui.console.model.swarm import NodeRecord

NODES = (
    Node("n1aaaaaaaaaa", "lab1", "manager", "active", "ready", "10.0.0.1", True, "reachable",
         "lab1"),
    Node("n2bbbbbbbbbb", "lab2", "worker", "active", "ready", "10.0.0.2", host="lab2"),
    Node("n3cccccccccc", "lab3", "worker", "active", "down", "10.0.0.3", host="lab3"),
)
SINCE = "2026-12-03T12:00:00.123Z"


def task(tid: str, node: Node, slot: int, desired: str = "running", state: str = "running",
         error: str = "") -> Task:
    return Task(tid, slot, node.id, node.hostname, node.host, desired, state, error, state,
                f"{tid}c0ffee0000", SINCE, node.state == "down")


WEB = Service(
    "svcweb", "demo_web", "demo", "web", "replicated", 3, "busybox:1.36",
    tasks=(task("t1web", NODES[0], 1), task("t2web", NODES[1], 2),
           task("t4web", NODES[1], 3), task("t3web", NODES[2], 3, "shutdown", "running"),
           task("t0web", NODES[1], 2, "shutdown", "failed", "task: non-zero exit (1)")),
    manager="lab1", corral=True)
AGENT = Service(
    "svcagent", "ops_agent", "ops", "agent", "global", None, "busybox:1.36",
    update_state="rollback_completed", update_message="update rolled back",
    tasks=(task("a1", NODES[0], 0), task("a2", NODES[1], 0), task("a3", NODES[2], 0)),
    manager="lab1")


def services() -> dict[str, Service]:
    """The swarm listing: services keyed `stack/service`."""
    return {s.key: s for s in (WEB, AGENT)}


def nodes() -> dict[str, NodeRecord]:
    """The nodes listing: nodes keyed by ID, with the tasks Swarm wants on each."""
    return {n.id: NodeRecord(n, "n1aaaaaaaaaa", "lab1",
                             tuple((s.name, t) for s in (WEB, AGENT) for t in s.tasks
                                   if t.node_id == n.id and t.desired == "running"))
            for n in NODES}
