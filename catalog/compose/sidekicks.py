"""Sidekicks: each learns its primary; one shared by several primaries is copied per primary.

Rancher ran a sidekick beside each container of the service that lists it in
`io.rancher.sidekicks`. A data container listed by two primaries (a common
pattern: `web` and `worker` both mount `volumes_from: [data]`) ran once per
primary's container; here it becomes one service per primary, named
`PRIMARY-SIDEKICK` (Rancher's own container name for it), and that primary's
references to it (`volumes_from`, `links`, `depends_on`, `network_mode:
service:`) are pointed at its copy.
"""

from __future__ import annotations

import dataclasses

from corral.catalog.problems import Report, Source
from corral.catalog.spec import Link, Service, VolumesFrom


def _renamed(service: Service, names: dict[str, str]) -> Service:
    """`service` with its references to the keys of `names` pointed at the values."""
    def name(target: object) -> object:
        return names.get(target, target) if isinstance(target, str) else target

    mode = service.network_mode or ""
    if mode.startswith("service:") and mode[8:] in names:
        mode = "service:" + names[mode[8:]]
    return dataclasses.replace(
        service,
        sidekicks=tuple(name(s) for s in service.sidekicks),
        links=tuple(Link(name(x.target), x.alias) if isinstance(x, Link) else x
                    for x in service.links),
        depends_on=tuple(name(t) for t in service.depends_on),
        volumes_from=tuple(VolumesFrom(v.kind, name(v.source), v.mode)
                           if v.kind == "service" else v for v in service.volumes_from),
        network_mode=mode or service.network_mode,
    )


def _references(service: Service) -> set[str]:
    found = {link.target for link in service.links} | {
        t for t in service.depends_on if isinstance(t, str)}
    found |= {v.source for v in service.volumes_from if v.kind == "service"}
    mode = service.network_mode or ""
    if mode.startswith("service:"):
        found.add(mode[8:])
    return found


def link_sidekicks(services: dict[str, Service], source: Source, report: Report) -> None:
    """Give each sidekick its primary (scale and scheduling), copying shared ones; in place."""
    primaries: dict[str, list[str]] = {}
    for name, service in sorted(services.items()):
        for sidekick in service.sidekicks:
            if sidekick == name:
                report.error(f"service {name} lists itself as a sidekick", source.file)
            elif sidekick not in services:
                report.error(f"service {name}: sidekick {sidekick} is not a service of this stack",
                             source.file)
            else:
                primaries.setdefault(sidekick, []).append(name)
    shared = {s: owners for s, owners in primaries.items() if len(owners) > 1}
    for sidekick, owners in sorted(shared.items()):
        copies = {owner: f"{owner}-{sidekick}" for owner in owners}
        clash = [c for c in copies.values() if c in services]
        if clash:
            report.error(f"sidekick {sidekick} is shared by {', '.join(owners)}, and its copy"
                         f" {clash[0]} would take the name of a service", source.file)
            continue
        report.warn(f"sidekick {sidekick} is shared by {', '.join(owners)}: one copy per"
                    f" primary ({', '.join(copies.values())})", source.file)
        others = [n for n, s in sorted(services.items())
                  if n not in owners and n != sidekick and sidekick in _references(s)
                  and n not in {sk for o in owners for sk in services[o].sidekicks}]
        for name in others:
            report.error(f"service {name} refers to {sidekick}, a sidekick shared by"
                         f" {' and '.join(owners)}: refer to one copy"
                         f" ({' or '.join(copies.values())})", source.file)
    for sidekick, owners in sorted(shared.items()):
        original = services.pop(sidekick)
        for owner in owners:
            names = {s: f"{owner}-{s}" for s in services[owner].sidekicks if s in shared}
            services[f"{owner}-{sidekick}"] = dataclasses.replace(
                _renamed(original, names), name=f"{owner}-{sidekick}")
            primaries[f"{owner}-{sidekick}"] = [owner]
        del primaries[sidekick]
    for owner in {o for owners in shared.values() for o in owners}:
        names = {s: f"{owner}-{s}" for s in services[owner].sidekicks if s in shared}
        services[owner] = _renamed(services[owner], names)
    for sidekick, (primary,) in sorted(primaries.items()):
        if services[sidekick].sidekicks:
            report.error(f"sidekick {sidekick} cannot have sidekicks of its own", source.file)
        # A sidekick runs beside each container of its primary, on the same host.
        services[sidekick] = dataclasses.replace(
            services[sidekick], sidekick_of=primary, scale=services[primary].scale,
            scheduling=services[primary].scheduling,
        )
