"""The random tokens that name a compose secret's folder on the hosts.

A secret is shipped to `ROOT/STACK/secrets/TOKEN/NAME` (`files.py`) and
that path reaches the containers' bind mounts, the stack record,
`docker inspect`, the plan's JSON and diagnostics bundles. A path computed
from the content would let anyone who reads one of those test guesses of a
weak secret offline, so TOKEN is random and the record keeps it per secret
(`Definition.secret_files`, by the secret's `LocalFile.local` label).

Whether the secret changed is asked of the hosts that hold it: one shell
command per host prints the owner, mode and SHA-256 of the recorded file
(root-only, in its 0700 folder); the digest is compared with the local
content's here, in memory, and only the verdict is kept. Same content,
owner and mode on every host that holds it: the token stays (nothing is
sent again, no container is recreated). Else, or when no host holds it any
more, a new token is drawn: the bind source changes, so the containers
using the secret are recreated, as for any changed file.

A record from before tokens names no token: the first apply draws one, the
secret moves to its token folder once (its containers recreated), and the
old digest folder is pruned.
"""

from __future__ import annotations

import re
import shlex

from corral.backends.deploy.files import LocalFile, retoken, with_token
from corral.backends.deploy.files_hosts import TIMEOUT, host_shell
from corral.backends.deploy.record import Definition
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import Stack

#: What a recorded token may look like (it becomes part of a host path).
_TOKEN = re.compile(r"[0-9a-f]{8,64}")


def settle(fleet: Fleet, stack: Stack, items: dict[str, LocalFile],
           previous: Definition | None, hosts: list[str]
           ) -> tuple[Stack, dict[str, LocalFile], dict[str, str]]:
    """Give each secret of a localized stack its recorded token while the hosts'
    copy is the same, else keep the fresh one `localize()` drew.

    Args:
        fleet: The connected fleet.
        stack: The localized stack (`files.localize()`).
        items: Its shipped items.
        previous: The deployed definition, if any.
        hosts: The hosts to ask (those holding the stack's containers or records).

    Returns:
        The stack and items (binds moved to the kept tokens), and the token
        per secret for the record.
    """
    secrets = {label: item for label, item in items.items() if item.kind == "secret"}
    if not secrets:
        return stack, items, {}
    recorded = previous.secret_files if previous is not None else {}
    candidates = {label: with_token(item, recorded[label]) for label, item in secrets.items()
                  if _TOKEN.fullmatch(recorded.get(label, ""))}
    kept = _unchanged(fleet, hosts, candidates) if candidates and hosts else set()
    tokens = {label: candidates[label].digest if label in kept else item.digest
              for label, item in secrets.items()}
    stack, items = retoken(stack, items, tokens)
    return stack, items, tokens


def check_command(paths: list[str]) -> str:
    """Print `id UID GID`, then `INDEX UID GID MODE SHA256` for each file present."""
    lines = ['echo "id $(id -u) $(id -g)"']
    for index, path in enumerate(paths):
        quoted = shlex.quote(path)
        lines.append(f"if [ -f {quoted} ]; then echo \"{index} $(stat -c '%u %g %a' {quoted})"
                     f" $(sha256sum < {quoted} | cut -c1-64)\"; fi")
    return "; ".join(lines)


def _unchanged(fleet: Fleet, hosts: list[str], candidates: dict[str, LocalFile]) -> set[str]:
    """Labels whose recorded file is held by some host, and the same wherever it is."""
    labels = sorted(candidates)
    command = check_command([candidates[label].host_path for label in labels])

    def read(session: HostSession) -> dict[int, bool]:
        status, output = fleet.backend.run(host_shell(session, command), timeout=TIMEOUT + 5)
        if status:
            return {}
        me = ("0", "0")
        verdicts: dict[int, bool] = {}
        for line in output.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[0] == "id":
                me = (fields[1], fields[2])
            elif len(fields) in (4, 5) and fields[0].isdigit() and int(fields[0]) < len(labels):
                index = int(fields[0])
                verdicts[index] = _same(candidates[labels[index]], fields[1:], me)
        return verdicts

    held: dict[int, list[bool]] = {}
    for answer in fleet.query(read, hosts=hosts):
        if answer.ok:
            for index, same in (answer.value or {}).items():
                held.setdefault(index, []).append(same)
    return {labels[index] for index, verdicts in held.items() if all(verdicts)}


def _same(item: LocalFile, fields: list[str], me: tuple[str, str]) -> bool:
    """Whether a host's `UID GID MODE SHA256` is what `item` would ship.

    A secret with no owner asked is owned by whoever unpacked it (`me`).
    """
    if len(fields) != 4:
        return False  # unreadable: no digest
    uid = me[0] if item.uid is None else str(item.uid)
    gid = me[1] if item.gid is None else str(item.gid)
    return fields[:3] == [uid, gid, f"{item.mode:o}"] and fields[3] == item.content_digest
