"""Files on the hosts: which shipped items each holds, absolute bind sources, pruning.

One shell command per host, over its SSH connection (the local engine's host:
this machine). See `files.py` for how items are named and hashed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shlex
import subprocess
from dataclasses import dataclass, field

from corral.backends.deploy.files import SECRETS_DIR, LocalFile, digests_bound, files_root
from corral.backends.errors import DeployError, PlanError
from corral.backends.plan.model import CREATE, REPLACE
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession

TIMEOUT = 30.0


@dataclass(frozen=True)
class FileRow:
    """One shipped item on one host, for the plan.

    Attributes:
        host: The host.
        local: The path on this machine.
        services: Services on that host that bind it.
        size: Bytes of content.
        action: `ship` (the host lacks it) or `present`.
        host_path: Where the host holds it.
    """

    host: str
    local: str
    services: tuple[str, ...]
    size: int
    action: str
    host_path: str

    def to_dict(self) -> dict:
        """Plain data for `--json`."""
        return {**dataclasses.asdict(self), "services": list(self.services)}


@dataclass
class FilePlan:
    """What the plan knows about files: the items shipped and, per host, each row."""

    items: dict[str, LocalFile] = field(default_factory=dict)
    rows: list[FileRow] = field(default_factory=list)

    @property
    def to_ship(self) -> list[FileRow]:
        """Rows the apply must send."""
        return [row for row in self.rows if row.action == "ship"]


def _new_containers(prepared) -> dict[str, set[str]]:
    """Host -> services with containers to create there."""
    hosts: dict[str, set[str]] = {}
    for step in prepared.plan.changes:
        if step.action in (CREATE, REPLACE):
            hosts.setdefault(step.host, set()).add(step.service)
    return hosts


def _binds(prepared, services: set[str]) -> list[str]:
    """Absolute bind sources the services' containers mount."""
    return sorted({m.source for s in prepared.stack.services if s.name in services
                   for m in s.volumes if m.kind == "bind" and m.source})


async def host_shell(session: HostSession, command: str, timeout: float = TIMEOUT
                     ) -> tuple[int, str]:
    """Run a shell command on the host: over SSH, or here for the local engine."""
    if session.spec.is_local:
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
        return process.returncode or 0, out.decode(errors="replace")
    return await session.run_command(command, timeout)


def plan_host_paths(fleet: Fleet, prepared, items: dict[str, LocalFile]) -> FilePlan:
    """Read which shipped items each host holds, and check absolute bind sources.

    Only hosts where the plan creates containers are asked.

    Raises:
        PlanError: A bind source is missing on a host (each host and path named).
    """
    result = FilePlan(dict(items))
    hosts = _new_containers(prepared)
    paths = {host: _binds(prepared, services) for host, services in hosts.items()}
    asked = {host: wanted for host, wanted in paths.items() if wanted}
    if not asked:
        return result
    shipped = {item.host_path: item for item in items.values()}
    stack_dir = f"{files_root()}/{prepared.stack.name}"

    def read(session: HostSession) -> list[str]:
        wanted = asked[session.name]
        script = "; ".join(f"[ -e {shlex.quote(p)} ] || echo {shlex.quote(p)}" for p in wanted)
        status, output = fleet.backend.run(host_shell(session, script or "true"),
                                           timeout=TIMEOUT + 5)
        if status:
            raise DeployError(f"checking bind sources failed (exit {status})",
                              host=session.name)
        return [line for line in output.splitlines() if line]

    missing: dict[str, dict[str, str]] = {}
    for answer in fleet.query(read, hosts=sorted(asked)):
        if not answer.ok:
            raise PlanError(f"cannot check the bind mounts on {answer.host}:"
                            f" {answer.error.message}")  # type: ignore[union-attr]
        services = hosts[answer.host]
        absent = set(answer.value or ())
        for path in asked[answer.host]:
            item = shipped.get(path)
            if item is not None:
                users = tuple(sorted(s.name for s in prepared.stack.services
                                     if s.name in services
                                     and any(m.source == path for m in s.volumes)))
                result.rows.append(FileRow(answer.host, item.local, users, item.size,
                                           "ship" if path in absent else "present", path))
            elif path in absent:
                where = ("a file shipped by an earlier deploy: deploy the stack from its"
                         " compose file again" if path.startswith(stack_dir + "/")
                         else "a bind mount source: create it on the host, or use a named"
                         " volume or a path beside the compose file")
                missing.setdefault(answer.host, {})[path] = where
    if missing:
        first_host = sorted(missing)[0]
        first_path = sorted(missing[first_host])[0]
        raise PlanError(f"stack {prepared.stack.name}: {first_host}: {first_path} does not"
                        f" exist ({missing[first_host][first_path]})",
                        {"bind mounts": {f"{host} {path}": why for host, paths in
                                         sorted(missing.items())
                                         for path, why in sorted(paths.items())}})
    result.rows.sort(key=lambda row: (row.host, row.local))
    return result


def prune_command(stack: str, keep: set[str]) -> str:
    """Remove every digest directory (and `.part-*` leftover) of a stack but `keep`.

    Secrets' digests are `secrets/DIGEST`; `secrets` goes when it is not kept.
    """
    folder = shlex.quote(f"{files_root()}/{stack}")
    kept = " ".join(sorted(keep))
    return (f"cd {folder} 2>/dev/null || exit 0; for d in * .part-* {SECRETS_DIR}/*"
            f" {SECRETS_DIR}/.part-*; do [ -e \"$d\" ] ||"
            f" continue; case ' {kept} ' in *\" $d \"*) ;; *) rm -rf \"./$d\";; esac; done")


def prune(fleet: Fleet, prepared, hosts: list[str]) -> None:
    """After a successful apply: drop the digests no generation that may run binds.

    Kept: what the new definition binds, and during an upgrade what the
    generation it came from binds (a rollback restarts those containers).
    Failures are ignored: the next apply, or `corral rm`, tries again.
    """
    keep = digests_bound(prepared.stack)
    previous = prepared.previous
    if prepared.definition.upgrade_from is not None and previous is not None:
        keep |= digests_bound(previous.stack)
    if not keep and not (previous and digests_bound(previous.stack)):
        return  # this stack ships nothing, and did not before
    command = prune_command(prepared.stack.name, keep)
    fleet.query(lambda session: fleet.backend.run(host_shell(session, command),
                                                  timeout=TIMEOUT + 5), hosts=hosts)


def remove_files(fleet: Fleet, session: HostSession, stack: str) -> None:
    """Remove a stack's shipped files from one host (`corral rm`).

    Raises:
        DeployError: The removal failed.
    """
    command = f"rm -rf {shlex.quote(f'{files_root()}/{stack}')}"
    status, _ = fleet.backend.run(host_shell(session, command), timeout=TIMEOUT + 5)
    if status:
        raise DeployError(f"removing the shipped files of {stack} failed (exit {status})",
                          host=session.name)
