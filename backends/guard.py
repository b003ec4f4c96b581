"""The one gate every change passes: read-only refusal and the audit trail.

Every mutation Corral makes — an engine action, deploy, upgrade, rm, scale,
reconcile, a health action, a shell or exec in a container, an image or volume
transfer, a swarm verb, an inventory edit — runs inside `mutating()`. The gate
refuses it when the process or the session is read-only, and tells every
observer (the audit trail) what was tried and how it ended, so neither rule
depends on a UI path remembering it.

Read-only is a one-way latch for the process: once `enter_readonly()` is
called (by `--readonly`, `CORRAL_READONLY` or `readonly: true` in the
configuration file), nothing in the process can turn it off again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from corral.backends.errors import ActionRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mutation:
    """One change Corral is about to make.

    Attributes:
        verb: What is done, stable and dotted (`stack.rm`, `container.stop`,
            `exec`, `hosts.add`).
        hosts: The inventory names of the hosts it touches (may be empty for
            an inventory edit).
        stack: The stack it belongs to, if any.
        target: The object acted on (a container, volume or image name).
        args: The arguments that matter, secrets already masked by the caller.
        problems: Host -> error for hosts where the change stopped while the
            body still returned (a partial apply); the body fills it in.
    """

    verb: str
    hosts: tuple[str, ...] = ()
    stack: str | None = None
    target: str | None = None
    args: Mapping[str, object] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        """`verb target on host` as one line for messages."""
        what = " ".join(part for part in (self.verb, self.target or self.stack or "") if part)
        return f"{what} on {', '.join(self.hosts)}" if self.hosts else what


#: `observer(mutation, outcome, detail)`; outcome is `ok`, `partial` (some hosts
#: failed: `mutation.problems`), `failed` or `refused`.
Observer = Callable[[Mutation, str, str], None]

_readonly_reason: str | None = None
_observers: list[Observer] = []


def enter_readonly(reason: str) -> None:
    """Make this process read-only for good.

    Args:
        reason: Where read-only came from (`--readonly`, `CORRAL_READONLY`,
            `readonly: true in ~/.config/corral/config.yaml`), shown in refusals.
    """
    global _readonly_reason
    if _readonly_reason is None:
        _readonly_reason = reason


def readonly_reason() -> str | None:
    """Why this process is read-only, or None when it may act."""
    return _readonly_reason


def add_observer(observer: Observer) -> None:
    """Tell `observer` about every mutation tried from now on."""
    if observer not in _observers:
        _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Stop telling `observer`."""
    if observer in _observers:
        _observers.remove(observer)


def _notify(mutation: Mutation, outcome: str, detail: str) -> None:
    for observer in list(_observers):
        try:
            observer(mutation, outcome, detail)
        except Exception:  # an observer must never undo or hide the change itself
            log.exception("mutation observer failed for %s", mutation.verb)


def refusal(mutation: Mutation, *, readonly: bool = False) -> str | None:
    """Why `mutation` must not run, or None when it may.

    Args:
        mutation: What is about to be done.
        readonly: The session (or screen) asking is read-only itself.
    """
    if _readonly_reason is not None:
        return f"read-only ({_readonly_reason}): refusing to {mutation.describe()}"
    if readonly:
        return f"read-only: refusing to {mutation.describe()}"
    return None


@contextmanager
def mutating(verb: str, *, hosts: tuple[str, ...] | str = (), stack: str | None = None,
             target: str | None = None, args: Mapping[str, object] | None = None,
             readonly: bool = False) -> Iterator[Mutation]:
    """Run the body as one mutation: refused when read-only, reported to observers.

    Args:
        verb: Stable dotted verb (`stack.rm`, `container.stop`, `exec`).
        hosts: The host name, or names, it touches.
        stack: The stack it belongs to.
        target: The object acted on.
        args: Arguments worth recording, secrets already masked.
        readonly: The caller's session is read-only.

    Yields:
        The `Mutation` being run; a body that returns with some hosts failed
        records them in its `problems`, and observers hear `partial`.

    Raises:
        ActionRefused: The process or the session is read-only; nothing ran.
    """
    mutation = Mutation(verb, (hosts,) if isinstance(hosts, str) else tuple(hosts),
                        stack, target, dict(args or {}))
    _refuse(mutation, readonly)
    try:
        yield mutation
    except BaseException as error:
        _notify(mutation, "failed", str(error) or type(error).__name__)
        raise
    if mutation.problems:
        _notify(mutation, "partial", "; ".join(f"{host}: {error}" for host, error
                                               in sorted(mutation.problems.items())))
    else:
        _notify(mutation, "ok", "")


def check(verb: str, *, hosts: tuple[str, ...] | str = (), stack: str | None = None,
          target: str | None = None, args: Mapping[str, object] | None = None,
          readonly: bool = False) -> None:
    """Refuse now, before any work, what `mutating()` would refuse later.

    A command line calls this before it contacts a host or asks a question,
    so a read-only refusal is its one line; the change itself still runs
    inside `mutating()`. Observers hear of it only when it is refused (the
    refused change then never reaches `mutating()`, so it is reported once).

    Args:
        verb: As for `mutating()`; so are the others.

    Raises:
        ActionRefused: The process or the session is read-only.
    """
    _refuse(Mutation(verb, (hosts,) if isinstance(hosts, str) else tuple(hosts),
                     stack, target, dict(args or {})), readonly)


def _refuse(mutation: Mutation, readonly: bool) -> None:
    reason = refusal(mutation, readonly=readonly)
    if reason is not None:
        _notify(mutation, "refused", reason)
        raise ActionRefused(reason, host=mutation.hosts[0] if len(mutation.hosts) == 1 else None)


def _reset_for_tests() -> None:
    """Forget the latch and the observers (tests only: a process never does this)."""
    global _readonly_reason
    _readonly_reason = None
    _observers.clear()
