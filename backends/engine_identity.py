"""Telling Docker engines apart: one engine must not be two inventory hosts.

Two inventory entries can reach one engine (another address or SSH port of
the same machine). Everything Corral plans would then see that engine's
containers twice, and reconcile would remove the "extra copies" again and
again. Engines are told apart by the ID `docker info` reports (docker 20.10
derives it from the daemon's trust key; newer engines store a UUID), or the
swarm node ID when an engine reports no ID. Hostnames are no use: cloned
machines and containers share them.

Pure: the callers read `docker info`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.backends.errors import SameEngine


def engine_id(info: Mapping[str, Any]) -> str | None:
    """The engine's identity from its `docker info` answer (None if it gives none)."""
    ident = str(info.get("ID") or "").strip()
    if ident:
        return ident
    node = str(((info.get("Swarm") or {}).get("NodeID")) or "").strip()
    return f"swarm:{node}" if node else None


def short_id(ident: str) -> str:
    """The first groups of an ID, enough for people to compare."""
    return ident if len(ident) <= 14 else f"{ident[:14]}…"


def engine_owner(ident: str | None, known: Mapping[str, str | None],
                 skip: str | None = None) -> str | None:
    """The first host of `known` (host -> engine ID, in inventory order) with engine `ident`."""
    if not ident:
        return None
    return next((host for host, other in known.items() if other == ident and host != skip),
                None)


def same_engine(known: Mapping[str, str | None]) -> SameEngine | None:
    """The first group of hosts sharing one engine, as the error to show; None if none.

    Args:
        known: Host -> engine ID (None: not known), in inventory order.
    """
    groups: dict[str, list[str]] = {}
    for host, ident in known.items():
        if ident:
            groups.setdefault(ident, []).append(host)
    for ident, hosts in groups.items():
        if len(hosts) > 1:
            first, *others = hosts
            names = " and ".join(others)
            return SameEngine(
                f"{names} {'is' if len(others) == 1 else 'are'} the same Docker engine as "
                f"{first} (engine ID {short_id(ident)}): remove the extra entry from the "
                "inventory; Corral changes nothing on any host until then",
                hosts=tuple(hosts),
            )
    return None
