"""Rancher 1.6 scheduling rules, evaluated against one host.

`host_label` rules look at the host's labels; `container_label` and
`container` rules at the containers the host will run once the decisions
made so far are applied (other stacks' containers, this stack's kept ones,
and the ones the plan already put there). Each check answers None when the
rule holds, else the reason in words for the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from corral.backends import labels as L
from corral.catalog.spec import Affinity, Service, Stack


@dataclass(frozen=True)
class Rule:
    """A scheduling rule, from a label or implied by the compose file.

    Attributes:
        affinity: What must (or, negated, must not) hold.
        origin: Why an implied rule exists (`volumes_from data`), or None for
            a rule written as an `io.rancher.scheduler.affinity:` label.
    """

    affinity: Affinity
    origin: str | None = None

    @property
    def soft(self) -> bool:
        """Whether the rule is only a preference."""
        return self.affinity.soft

    def __str__(self) -> str:
        if self.origin:
            return self.origin
        rule = self.affinity
        kind = rule.kind + ("_soft" if rule.soft else "") + ("_ne" if rule.negated else "")
        target = f"{rule.key}={rule.value}" if rule.key is not None else rule.value
        return f"{kind} {target}"


@dataclass(frozen=True)
class Seen:
    """A container as the rules see it: its name and labels."""

    name: str
    labels: Mapping[str, str]


def replica_name(stack: str, service: str, index: int) -> str:
    """The container name of one replica, as Rancher 1.6 named them."""
    return f"{stack}-{service}-{index}"


def replica_labels(stack: Stack, service: Service, index: int) -> dict[str, str]:
    """The labels every container of a replica carries, apart from its config hash.

    Rancher's stack and service labels are written too, so that affinity
    rules written for Rancher (`io.rancher.stack_service.name=stack/svc`)
    match Corral's containers.
    """
    return {
        **service.labels,
        L.STACK: stack.name,
        L.SERVICE: service.name,
        L.REPLICA: str(index),
        L.ENTRY: stack.entry,
        L.VERSION: stack.version,
        L.RANCHER_STACK: stack.name,
        L.RANCHER_SERVICE: f"{stack.name}/{service.name}",
    }


def service_rules(stack: Stack, group: list[Service]) -> list[Rule]:
    """The rules of a placement group (a primary and its sidekicks), without repeats.

    Besides the labels, `volumes_from` and `network_mode: service:x` naming a
    service outside the group imply a hard rule: plain Docker shares volumes
    and network namespaces only between containers of one host.
    """
    members = {service.name for service in group}
    rules: list[Rule] = []
    for service in group:
        rules.extend(Rule(affinity) for affinity in service.scheduling.rules)
        needs = [(f"volumes_from {item.source}", item.source)
                 for item in service.volumes_from if item.kind == "service"]
        mode = service.network_mode or ""
        if mode.startswith("service:"):
            needs.append((f"network_mode {mode}", mode.split(":", 1)[1]))
        for origin, target in needs:
            if target in members:
                continue
            affinity = Affinity("container_label", L.RANCHER_SERVICE, f"{stack.name}/{target}")
            rules.append(Rule(affinity, origin=f"{origin} (needs a {target} container here)"))
    return list(dict.fromkeys(rules))


def check(rule: Rule, host_labels: Mapping[str, str], seen: Iterable[Seen]) -> str | None:
    """Whether `rule` holds on a host.

    Args:
        rule: The rule.
        host_labels: The host's labels (inventory over engine).
        seen: The containers the host will run.

    Returns:
        None when the rule holds, else why not (naming the rule).
    """
    affinity = rule.affinity
    if affinity.kind == "host_label":
        actual = host_labels.get(affinity.key or "")
        matched = actual == affinity.value
        detail = f"{affinity.key} is {actual}" if actual is not None else f"{affinity.key} unset"
    else:
        if affinity.kind == "container":
            matches = sorted(c.name for c in seen if c.name == affinity.value)
        else:
            matches = sorted(c.name for c in seen
                             if c.labels.get(affinity.key or "") == affinity.value)
        matched = bool(matches)
        detail = f"runs {', '.join(matches)}" if matches else "no such container"
    if matched != affinity.negated:
        return None
    return f"{rule}: {detail}"
