"""Stand-ins for `ConsoleData` answer to the same calls as the live one."""

from __future__ import annotations

import inspect

import pytest

from corral.tui.console.model.data import ConsoleData
from tests.support.still_data import StillData


def public_methods(cls: type) -> dict[str, object]:
    """Each public method of `cls` (its own or inherited, bar `object`'s) by name."""
    return {
        name: member for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def parameters(function) -> list[tuple[str, object, object]]:
    """(name, kind, default) of each parameter: what a caller relies on."""
    return [
        (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
    ]


@pytest.mark.parametrize("fake", [StillData])
def test_a_stand_in_has_the_live_sources_methods_and_signatures(fake: type) -> None:
    live, standin = public_methods(ConsoleData), public_methods(fake)
    assert sorted(standin) == sorted(live)
    for name, method in live.items():
        assert parameters(standin[name]) == parameters(method), name
        assert (inspect.iscoroutinefunction(standin[name])
                == inspect.iscoroutinefunction(method)), name

