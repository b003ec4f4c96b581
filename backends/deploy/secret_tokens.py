"""The tokens that stand for a service's passwords in its configuration hash.

A container's configuration hash must change when a password it holds
changes (an upgrade then recreates it), yet the hash, the container labels
and the stack record live on hosts that may run no container holding that
password: anything computed from a password there could be cracked offline
from a word list. So the hash of a service that uses a password mixes in a
random token per service, stored in the stack record, and nothing else.

Whether a typed password differs from the deployed one is asked of the
service's running containers, which hold it in their configuration anyway:
the typed body is compared with theirs (`body.unmask`), in memory, and only
the verdict (keep the token, or draw a new one) is kept.

A format 1 record held an unsalted digest instead; while such a stack is
only reconciled it is used in memory to recognise the containers it made.
The first apply that writes a record draws tokens (the containers using a
password are then recreated once, the passwords copied from them).
"""

from __future__ import annotations

import secrets as random

from corral.backends import labels as L
from corral.backends.deploy.body import config_hash, template, unmask, uses_secret
from corral.backends.deploy.gather import FleetState
from corral.backends.deploy.record import Definition
from corral.backends.ssh.fleet import Fleet
from corral.catalog.spec import MASK, Service, Stack, mask_secrets

#: Containers asked, at most, per service (a stopped or odd one may not fit).
_ASKED = 3


def new_token() -> str:
    """A fresh random token (16 hex digits): it says nothing about any password."""
    return random.token_hex(8)


def from_record(stack: Stack, record: Definition) -> tuple[dict[str, str], set[str]]:
    """Tokens for hashing a stack built from its record (`corral scale`, reconcile).

    Returns:
        The tokens per service using a password, and the services whose token
        is a format 1 record's digest (in memory only: `fresh()` replaces
        them before any record is written). A service the record names no
        token for gets a new one.
    """
    tokens: dict[str, str] = {}
    legacy: set[str] = set()
    for service in stack.services:
        if not uses_secret(stack, service):
            continue
        token = record.secret_tokens.get(service.name)
        if token is None and record.legacy_digest:
            token = record.legacy_digest
            legacy.add(service.name)
        tokens[service.name] = token or new_token()
    return tokens, legacy


def fresh(tokens: dict[str, str], services: set[str]) -> dict[str, str]:
    """`tokens` with those of `services` drawn anew."""
    return {name: new_token() if name in services else token for name, token in tokens.items()}


def tokens_for(fleet: Fleet, state: FleetState, stack: Stack,
           previous: Definition | None) -> dict[str, str]:
    """Tokens for hashing a freshly rendered stack (typed or kept passwords).

    A service keeps its deployed token when the passwords it would hold are
    the ones its running containers hold (or are all kept, masked); else it
    gets a new token, so its containers are recreated.

    Args:
        fleet: The connected fleet (to read the running containers' configuration).
        state: The hosts as read.
        stack: The rendered stack; `stack.secrets` holds the typed passwords.
        previous: The deployed definition, if any.
    """
    typed = stack.secrets - {MASK}
    found: dict[str, str] = {}
    for service in stack.services:
        if not uses_secret(stack, service):
            continue
        before = previous.secret_tokens.get(service.name) if previous else None
        keep = previous is not None and before is not None and (
            not _holds_typed(stack, service, typed)
            or _containers_agree(fleet, state, stack, service, previous, before, typed))
        found[service.name] = before if keep and before else new_token()
    return found


def _holds_typed(stack: Stack, service: Service, typed: frozenset[str]) -> bool:
    """Whether a typed (not kept) password reaches the service's containers."""
    body = template(stack, service)
    return mask_secrets(body, typed) != body


def _containers_agree(fleet: Fleet, state: FleetState, stack: Stack, service: Service,
                      previous: Definition, token: str, typed: frozenset[str]) -> bool:
    """Whether a current container of the service holds the typed passwords."""
    if service.name not in {s.name for s in previous.stack.services}:
        return False
    current = {config_hash(previous.stack, previous.stack.service(service.name), token, overlay)
               for overlay in (False, True)}
    candidates = sorted(
        (not c.running, host, c.id) for host, c in state.containers(stack.name)
        if c.labels.get(L.SERVICE) == service.name and c.labels.get(L.CONFIG_HASH) in current)
    if not candidates and all(h.online for h in state.hosts):
        # No container holds any password of the service (an interrupted first
        # apply, say): none can be stale, so the token stays and re-running
        # the same deploy is not a new generation.
        return True
    body = template(stack, service)
    for _, host, ref in candidates[:_ASKED]:
        found = fleet.query(lambda s, ref=ref: s.call(
            lambda client: client.api.inspect_container(ref)), hosts=[host])[0]
        if not found.ok:
            continue
        config = found.value["Config"]  # type: ignore[index]
        if _same_passwords(body, typed, config):
            return True
    return False


def _same_passwords(body: dict, typed: frozenset[str], config: dict) -> bool:
    """Whether `config` holds exactly the typed passwords where `body` has them.

    Both bodies are completed from the container (kept passwords stand masked
    in `body`): equal results mean every typed password is the one it holds.
    """
    try:
        wanted = unmask(body, config)
        held = unmask(mask_secrets(body, typed), config)  # type: ignore[arg-type]
    except ValueError:
        return False
    return wanted == held
