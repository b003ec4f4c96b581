"""What a diagnostics bundle holds from the hosts, every secret scrubbed out.

Read-only: the engines are asked for their info, containers, recent events
and the last log lines of stack containers; nothing is changed anywhere, so
`corral diag` needs no mutation gate and works in a read-only session.

Secrets are found before anything is written: the password answers of
Corral's stacks (where the stack record shows a masked value, the running
container holds the password) and every environment variable whose name
says it is one (`*PASSWORD*`, `*TOKEN*`, `*SECRET*`, `*KEY*`…). Each is then
replaced by a mask in every file of the bundle, logs included; private key
blocks and credentials inside URLs are masked too. Container environments
are never copied.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from dataclasses import dataclass, field

from corral.backends import labels as L
from corral.backends.deploy.body import template
from corral.backends.deploy.gather import gather
from corral.backends.deploy.record import Definition
from corral.backends.errors import BackendError
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.session import HostSession
from corral.catalog.spec import MASK

#: What replaces a secret in the bundle.
SCRUBBED = "********"
#: Names (of environment variables, configuration keys) whose values are secrets.
SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|credential|auth|private|cookie",
                         re.IGNORECASE)
#: Shorter values are not scrubbed everywhere: they would blank ordinary text.
MIN_SECRET = 4
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE "
                  r"KEY-----|\Z)", re.DOTALL)
# Lengths are bounded so that a long line costs linear time, not quadratic.
_URL_CREDENTIALS = re.compile(r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}://[^/\s:@]{1,256})"
                              r":[^@\s/]{1,256}@", re.IGNORECASE)
_ASSIGNMENT = re.compile(r"(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{0,64}?"
                         r"(?:pass|pwd|secret|token|credential|api_?key)[A-Za-z0-9_.-]{0,64})(\s*[=:]\s*)(\"[^\"\n]{0,4096}\"|"
                         r"'[^'\n]{0,4096}'|[^\s,;]{1,4096})", re.IGNORECASE)
#: Events kept per host at most (the newest).
MAX_EVENTS = 5000


@dataclass
class Scrubber:
    """Masks every known secret in text and plain data."""

    secrets: set[str] = field(default_factory=set)

    def add(self, value: str | None) -> None:
        """Treat `value` as a secret (too short ones are ignored)."""
        if value and len(value) >= MIN_SECRET:
            self.secrets.add(value)
            # The same secret as JSON writes it (quotes and backslashes escaped).
            self.secrets.add(json.dumps(value)[1:-1])

    def text(self, text: str) -> str:
        """`text` with secrets, private keys and URL credentials masked."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, SCRUBBED)
        text = _PEM.sub(f"-----PRIVATE KEY {SCRUBBED}-----", text)
        text = _URL_CREDENTIALS.sub(rf"\1:{SCRUBBED}@", text)
        return _ASSIGNMENT.sub(lambda m: f"{m[1]}{m[2]}{SCRUBBED}", text)

    def data(self, value: object) -> object:
        """Plain data with secret-named keys' values and every secret masked."""
        if isinstance(value, dict):
            return {k: SCRUBBED if isinstance(v, str) and v and SECRET_NAME.search(str(k))
                    else self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


@dataclass
class HostDiag:
    """What one host told (raw: scrub before writing).

    Attributes:
        name: The inventory name.
        error: Why the host could not be read, or None.
        engine: `docker info` and `docker version`.
        containers: One summary per container (no environment).
        events: Engine events of the window, oldest first.
        logs: Container name -> its last log lines (stack containers only).
    """

    name: str
    error: str | None = None
    engine: dict = field(default_factory=dict)
    containers: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    logs: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Diagnostics:
    """Everything read from the hosts, and the secrets found on the way."""

    hosts: list[HostDiag]
    stacks: dict[str, dict]
    scrubber: Scrubber


def collect(fleet: Fleet, hosts: list[str] | None = None, *, log_lines: int = 200,
            events_since: float = 3600.0) -> Diagnostics:
    """Read every host (or `hosts`) for a diagnostics bundle; changes nothing.

    Args:
        fleet: The connected fleet.
        hosts: Only these hosts.
        log_lines: Last lines of each stack container's log.
        events_since: Seconds of engine events to keep.

    Returns:
        The raw findings with a scrubber that knows every secret found; an
        unreachable host is one with an `error`.
    """
    state = gather(fleet, hosts, acting=False)
    definitions: dict[str, Definition] = {}
    stacks: dict[str, dict] = {}
    for record in state.records:
        if record.definition is None:
            stacks.setdefault(record.stack, {"error": record.error})
            continue
        best = definitions.get(record.stack)
        if best is None or record.generation > best.generation:
            definitions[record.stack] = record.definition
            stacks[record.stack] = record.definition.to_dict()
    scrubber = Scrubber()
    until = time.time()

    def read(session: HostSession) -> HostDiag:
        return _read_host(session, definitions, scrubber, log_lines, until - events_since,
                          until)

    found = []
    for result in fleet.query(read, hosts=hosts):
        if result.ok:
            found.append(result.value)
        else:
            error = result.error.message if isinstance(result.error, BackendError) \
                else str(result.error)
            found.append(HostDiag(result.host, error=error))
    return Diagnostics(found, stacks, scrubber)  # type: ignore[arg-type]


def _read_host(session: HostSession, definitions: dict[str, Definition], scrubber: Scrubber,
               log_lines: int, since: float, until: float) -> HostDiag:
    diag = HostDiag(session.name)
    diag.engine = {"info": session.call(lambda client: client.api.info()),
                   "version": session.call(lambda client: client.api.version())}
    listed = session.call(lambda client: client.api.containers(all=True))
    for item in listed:
        ref = item.get("Id", "")
        try:
            inspected = session.call(lambda client, ref=ref: client.api.inspect_container(ref))
        except BackendError:
            inspected = {}
        config = inspected.get("Config") or {}
        _harvest(config, item.get("Labels") or {}, definitions, scrubber)
        state = inspected.get("State") or {}
        name = (item.get("Names") or ["/" + ref[:12]])[0].lstrip("/")
        diag.containers.append({
            "id": ref[:12], "name": name, "image": item.get("Image"),
            "command": item.get("Command"), "created": item.get("Created"),
            "state": item.get("State"), "status": item.get("Status"),
            "health": (state.get("Health") or {}).get("Status"),
            "restart_count": inspected.get("RestartCount"), "exit_code": state.get("ExitCode"),
            "error": state.get("Error") or None, "ports": item.get("Ports") or [],
            "labels": item.get("Labels") or {},
        })
        if L.stack_and_service(item.get("Labels"))[0] is not None:
            try:
                diag.logs[name] = session.call(lambda client, ref=ref: client.api.logs(
                    ref, stdout=True, stderr=True, tail=log_lines, timestamps=True))
            except BackendError as exc:  # a log driver without reads, a container gone
                diag.logs[name] = f"[corral diag: no logs: {exc.message}]\n".encode()
    try:
        diag.events = session.call(lambda client: _events(client, since, until))
    except BackendError as exc:
        diag.events = [{"corral_diag_error": exc.message}]
    return diag


def _events(client, since: float, until: float) -> list[dict]:
    """The engine's events of the window, the newest `MAX_EVENTS` of them."""
    events: deque[dict] = deque(maxlen=MAX_EVENTS)
    events.extend(client.api.events(since=int(since), until=int(until), decode=True))
    return list(events)


def _harvest(config: dict, labels: dict, definitions: dict[str, Definition],
             scrubber: Scrubber) -> None:
    """Note the secrets one container holds: named like one, or a password answer."""
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    for name, value in env.items():
        if SECRET_NAME.search(name):
            scrubber.add(value)
    definition = definitions.get(labels.get(L.STACK, ""))
    if definition is None or not definition.secret_names:
        return
    try:
        stack = definition.stack
        body = template(stack, stack.service(labels.get(L.SERVICE, "")))
    except (KeyError, ValueError, LookupError):
        return
    for item in body.get("Env", []):
        key, _, masked = item.partition("=")
        if MASK in masked:
            _note(masked, env.get(key), scrubber)
    for key in ("Cmd", "Entrypoint"):
        for masked, held in zip(body.get(key) or [], config.get(key) or [], strict=False):
            if MASK in masked:
                _note(masked, held, scrubber)
    for key, masked in (body.get("Labels") or {}).items():
        if MASK in masked:
            _note(masked, (config.get("Labels") or {}).get(key), scrubber)


def _note(masked: str, held: str | None, scrubber: Scrubber) -> None:
    """Add what stands at each mask of `masked` in `held` (or all of `held`)."""
    if not held:
        return
    pattern = "(.+?)".join(re.escape(part) for part in masked.split(MASK))
    match = re.fullmatch(pattern, held, re.DOTALL)
    for value in (match.groups() if match else (held,)):
        scrubber.add(value)
