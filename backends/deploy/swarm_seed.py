"""What a swarm stack runs, as an upgrade form starts from it.

The Swarm engine keeps the stack record in its services' labels
(`corral.backends.swarm.services.record`): the rendered spec with passwords
masked, the answers without passwords, the generation. Read through a
manager, it becomes the standalone engine's `Definition`, so the same
upgrade seed (`carry.seed`) fills the same form. Each service's scale is the
replicas Swarm runs it at now (a `corral scale` since the deploy is kept).
Password answers are not carried over: the form asks for them again.
Blocking: call from a worker thread.
"""

from __future__ import annotations

import dataclasses

from corral.backends.deploy.record import Definition, stack_from_dict
from corral.backends.errors import SwarmError
from corral.backends.ssh.fleet import Fleet
from corral.backends.swarm import list_stacks


def swarm_deployed(fleet: Fleet, stack: str) -> Definition:
    """The definition of swarm stack `stack`, from its services' labels.

    Raises:
        SwarmError: No usable swarm, no such stack, or it has no Corral record
            (`docker stack deploy` made it).
    """
    found = next((s for s in list_stacks(fleet) if s.name == stack), None)
    if found is None:
        raise SwarmError(f"the swarm runs no stack {stack}")
    if found.record is None:
        raise SwarmError(f"swarm stack {stack} has no Corral record in its services' labels")
    data = found.record.data
    replicas = {row["name"]: row["desired"] for row in found.services
                if row["desired"] is not None}
    spec = stack_from_dict(data["spec"])
    services = tuple(
        service if service.scheduling.is_global or service.name not in replicas
        else dataclasses.replace(service, scale=int(replicas[service.name]))
        for service in spec.services)
    return Definition(dataclasses.replace(spec, services=services),
                      answers={str(k): str(v) for k, v in (data.get("answers") or {}).items()},
                      secret_names=tuple(data.get("secret_names") or ()),
                      generation=found.record.generation)
