"""Every host of the inventory at once.

Hosts connect concurrently and independently: a slow or dead host costs the
others nothing. Blocking Docker queries fan out over a thread pool, one task
per host, and each host's answer or error is kept apart.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from corral.backends.engine_identity import engine_id, same_engine
from corral.backends.errors import BackendError, InventoryError, SameEngine
from corral.backends.inventory.load import HostSpec, Inventory
from corral.backends.inventory.registries import RegistryAuth
from corral.backends.ssh.loop import BackendLoop
from corral.backends.ssh.session import Backoff, HostSession, HostStatus, StatusListener
from corral.backends.ssh.settings import SshSettings

T = TypeVar("T")


@dataclass(frozen=True)
class HostResult(Generic[T]):
    """One host's answer to a fan-out query: a value or an error."""

    host: str
    value: T | None = None
    error: BackendError | None = None

    @property
    def ok(self) -> bool:
        """Whether the host answered."""
        return self.error is None


class Fleet:
    """The sessions of every inventory host.

    Async methods run on the backend loop; `query` blocks and runs anywhere
    else (the command line's main thread, a Textual thread worker).

    Args:
        inventory: The hosts.
        settings: SSH settings for every connection.
        on_status: Called on the backend loop at every host state change.
        backoff: Reconnect delays for `keep_online`.
        backend: The loop the sessions live on, for callers on other threads
            (`fleet.backend.submit(coro)`); optional for code already on it.
        readonly: Every session refuses mutating actions.
        stream_relay: Carry long streams through relay processes (for a UI;
            see `relay`). A one-shot command is better off without the
            child's start-up time.
        registries: Registry credentials from the configuration file; for
            the same registry they win over the inventory's (`registries`).
        persist_seconds: Read through persisted tunnels and leave them
            behind, idle for at most this long (see `persist`); 0: never. Only
            for fleets that read engines' APIs and run no SSH command.
    """

    def __init__(
        self,
        inventory: Inventory,
        settings: SshSettings,
        *,
        on_status: StatusListener | None = None,
        backoff: Backoff | None = None,
        backend: BackendLoop | None = None,
        readonly: bool = False,
        stream_relay: bool = False,
        registries: dict[str, RegistryAuth] | None = None,
        persist_seconds: float = 0.0,
    ):
        from corral.backends.ssh import persist
        self.persist_seconds = persist_seconds if persist.enabled(persist_seconds) else 0.0
        self.inventory = inventory
        self._config_registries = dict(registries or {})
        self.settings = settings
        self.backend = backend
        self.readonly = readonly
        self.stream_relay = stream_relay
        self.sessions: dict[str, HostSession] = {
            spec.name: HostSession(
                spec, settings, on_status=on_status, backoff=backoff, readonly=readonly,
                stream_relay=stream_relay, persist_seconds=self.persist_seconds,
            )
            for spec in inventory.hosts
        }
        self._runners: list[asyncio.Task[None]] = []
        self._on_status = on_status
        self._backoff = backoff
        self._kept_online = False
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(4, min(32, 2 * len(self.sessions))),
            thread_name_prefix="corral-docker",
        )

    @property
    def registries(self) -> dict[str, RegistryAuth]:
        """Registry address -> credentials for pulls: the inventory's `registries:`,
        overridden per registry by the configuration file's (the operator's own)."""
        return {**self.inventory.registries, **self._config_registries}

    def session(self, name: str) -> HostSession:
        """The session of host `name`.

        Raises:
            UnknownHost: The inventory has no such host.
        """
        self.inventory.get(name)
        return self.sessions[name]

    def statuses(self) -> list[HostStatus]:
        """Every host's current status, in inventory order."""
        return [session.status for session in self.sessions.values()]

    async def connect_all(self) -> dict[str, BackendError | None]:
        """One concurrent connection attempt per host.

        Returns:
            Each host's error, or None for hosts now online.
        """
        results = await asyncio.gather(
            *(session.connect() for session in self.sessions.values()), return_exceptions=True
        )
        errors: dict[str, BackendError | None] = {}
        for name, result in zip(self.sessions, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, BackendError):
                raise result
            errors[name] = result
        return errors

    async def keep_online(self) -> None:
        """Start a reconnecting `run()` loop for every host and return."""
        loop = asyncio.get_running_loop()
        self._runners = [self._runner(loop, s) for s in self.sessions.values()]
        self._kept_online = True

    @staticmethod
    def _runner(loop: asyncio.AbstractEventLoop, session: HostSession) -> asyncio.Task[None]:
        task = loop.create_task(session.run())
        task.corral_host = session.name  # type: ignore[attr-defined]  # for remove_host
        return task

    async def add_host(self, spec: HostSpec) -> HostSession:
        """Manage a host that joined the inventory while running.

        Run on the backend loop. If `keep_online` was called, the new host is
        kept online too; otherwise connect it yourself. A host already managed
        exactly as `spec` describes it is not an error: the console's reload of
        the inventory file may have picked up the new entry first.

        Raises:
            InventoryError: The fleet already has another host of that name.
        """
        existing = self.sessions.get(spec.name)
        if existing is not None and existing.spec == spec:
            return existing
        if existing is not None:
            raise InventoryError(f"host {spec.name!r} is already managed")
        session = HostSession(
            spec, self.settings, on_status=self._on_status, backoff=self._backoff,
            readonly=self.readonly, stream_relay=self.stream_relay,
        )
        self.inventory = dataclasses.replace(self.inventory, hosts=(*self.inventory.hosts, spec))
        # A new dict, not an insertion: other threads may be iterating the old one.
        self.sessions = {**self.sessions, spec.name: session}
        if self._kept_online:
            self._runners.append(self._runner(asyncio.get_running_loop(), session))
        return session

    async def remove_host(self, name: str) -> None:
        """Stop managing a host that left the inventory (run on the backend loop).

        No error if the fleet has no such host.
        """
        session = self.sessions.get(name)
        if session is None:
            return
        self.inventory = dataclasses.replace(
            self.inventory,
            hosts=tuple(spec for spec in self.inventory.hosts if spec.name != name),
        )
        # A new dict, not a deletion: other threads may be iterating the old one.
        self.sessions = {key: value for key, value in self.sessions.items() if key != name}
        for runner in [task for task in self._runners if getattr(task, "corral_host", None)
                       == name]:
            runner.cancel()
            self._runners.remove(runner)
        await session.close()

    async def apply_inventory(self, inventory: Inventory) -> tuple[list[str], list[str]]:
        """Follow an inventory re-read from its file (run on the backend loop).

        Hosts gone from it are closed, new ones managed (kept online if
        `keep_online` was called), and a host whose entry changed (address,
        key, socket, labels...) is closed and managed again as described now.

        Returns:
            The names removed and the names added (a changed host is in both).
        """
        new = {spec.name: spec for spec in inventory.hosts}
        old = {spec.name: spec for spec in self.inventory.hosts}
        removed = [name for name, spec in old.items()
                   if name not in new or not _same_entry(spec, new[name])]
        added = [name for name in new if name not in old or name in removed]
        for name in removed:
            await self.remove_host(name)
        for name in added:
            await self.add_host(new[name])
        # The file's order (and line numbers) from now on.
        self.inventory = inventory
        self.sessions = {name: self.sessions[name] for name in new if name in self.sessions}
        for name, spec in new.items():
            self.sessions[name].spec = spec
        return removed, added

    def engine_ids(self) -> dict[str, str | None]:
        """Each host's engine ID as last read (None: never read), in inventory order."""
        return {name: session.engine_id for name, session in self.sessions.items()}

    def same_engine(self) -> SameEngine | None:
        """Why nothing may change: two hosts are one engine (see `engine_identity`)."""
        return same_engine(self.engine_ids())

    def check_engines(self) -> None:
        """Refuse to act while two inventory hosts are one engine.

        Raises:
            SameEngine: Naming the hosts.
        """
        problem = self.same_engine()
        if problem is not None:
            raise problem

    def read_engine_ids(self) -> dict[str, str | None]:
        """Ask every online host's engine who it is, note it, return `engine_ids()`.

        Blocking: never call it on the backend loop.
        """
        online = [name for name, session in self.sessions.items() if session.online]
        self.query(note_engine, online)
        return self.engine_ids()
    async def reconnect_now(self, names: list[str] | None = None) -> list[str]:
        """Retry these hosts at once instead of after their backoff (backend loop).

        Args:
            names: Host names; default every host.

        Returns:
            The hosts for which a new attempt started (online hosts, and
            hosts nobody keeps online, are left alone).

        Raises:
            UnknownHost: A name is not in the inventory.
        """
        sessions = [self.session(name) for name in (names if names is not None else self.sessions)]
        return [session.name for session in sessions if session.hurry()]

    async def close(self) -> None:
        """Stop reconnecting and close every session."""
        for runner in self._runners:
            runner.cancel()
        await asyncio.gather(*self._runners, return_exceptions=True)
        self._runners = []
        self._kept_online = False
        if self.persist_seconds:
            self._hand_over()
        await asyncio.gather(*(s.close() for s in self.sessions.values()))
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _hand_over(self) -> None:
        """Leave a persisted tunnel behind to each host this fleet reached directly."""
        from corral.backends.ssh import persist
        direct = [session.spec for session in self.sessions.values()
                  if session.online and session.connection is not None]
        if direct:
            persist.hand_over(direct, self.settings, self.persist_seconds)

    def query(
        self,
        work: Callable[[HostSession], T],
        hosts: list[str] | None = None,
    ) -> list[HostResult[T]]:
        """Run `work(session)` for each host concurrently and wait for all.

        Blocking: never call it on the backend loop.

        Args:
            work: A blocking function of one session; its BackendErrors are
                kept as that host's result.
            hosts: Host names to ask; default every host.

        Returns:
            One result per host, in inventory order.
        """
        # One reading of the sessions: the backend loop may replace the dict
        # (and the inventory) while this runs, when the inventory file changes.
        sessions = (self.sessions if hosts is None
                    else {name: self.session(name) for name in hosts})
        futures = {name: self._pool.submit(work, session) for name, session in sessions.items()}
        results = []
        for name, future in futures.items():
            try:
                results.append(HostResult(name, value=future.result()))
            except BackendError as exc:
                results.append(HostResult(name, error=exc))
        return results


def _same_entry(one: HostSpec, other: HostSpec) -> bool:
    """Whether two entries describe the same host, wherever in the file they are."""
    return dataclasses.replace(one, line=0) == dataclasses.replace(other, line=0)


def note_engine(session: HostSession) -> str | None:
    """Read the engine's `docker info` and note its ID on the session (blocking).

    Raises:
        BackendError: The host is offline or its engine failed.
    """
    session.engine_id = engine_id(session.call(lambda client: client.api.info()))
    return session.engine_id
