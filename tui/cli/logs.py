"""`corral logs`: a container's, a service's or a stack's logs, merged, for scripts.

TARGET is `host/container`, `stack/service` or `stack`. When the first part
of `a/b` is an inventory host name it is a container, otherwise a service;
`container:`, `service:` or `stack:` in front forces a reading.

Lines of every container go to stdout in timestamp order (stderr lines
too: `--json` tells the streams apart); Corral's own notices (a container
stopped, a host dropped) go to stderr. `--view` opens the full-screen pane.

Container output is untrusted. To a terminal, colours (SGR) are kept and
every other control character is shown as `\\xNN`, so a line cannot set the
title, write the clipboard, switch screens or ask the terminal a question.
A pipe or a file gets the bytes unchanged; `--raw` sends them unchanged to
a terminal too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from corral.catalog.excerpt import quoted
from corral.tui.cli.support import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_global_options,
    load_configured_inventory,
    ssh_settings,
    warn,
)
from corral.tui.present.safe import log_text, visible

if TYPE_CHECKING:
    from corral.backends.inventory import Inventory
    from corral.backends.logs import LogFollower, LogLine, LogOptions, LogTarget
    from corral.backends.ssh import Fleet

#: The last second of year 9999, the latest time an engine can be asked about.
_LATEST = 253_402_300_799
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `logs` subcommand."""
    logs = subparsers.add_parser(
        "logs",
        help="logs of a container, a service's replicas or a stack, merged",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(logs, suppress=True)
    logs.add_argument("target", metavar="TARGET", help="host/container, stack/service or stack")
    logs.add_argument("-f", "--follow", action="store_true",
                      help="keep following (new replicas, restarts, host outages)")
    logs.add_argument("--since", metavar="D",
                      help="only lines since D: a duration (90s, 5m, 1h30m, 2d) or a time "
                      "(RFC 3339 or epoch seconds)")
    logs.add_argument("--tail", metavar="N",
                      help="only the last N lines of each container (default: all; "
                      "100 with --view)")
    logs.add_argument("--grep", metavar="RE", help="only lines whose text matches RE")
    logs.add_argument("-v", "--invert-grep", action="store_true",
                      help="only lines that do not match --grep")
    logs.add_argument("-t", "--timestamps", action="store_true",
                      help="start each line with the engine's timestamp")
    logs.add_argument("--json", action="store_true",
                      help="one JSON object a line: host, container, id, stream, timestamp, line")
    logs.add_argument("--raw", action="store_true",
                      help="write the containers' bytes unchanged even to a terminal "
                      "(escape sequences act on it: only for output you trust)")
    logs.add_argument("--view", action="store_true",
                      help="open the full-screen log pane instead of printing")
    logs.set_defaults(func=run_logs)


def parse_since(text: str | None, now: float | None = None) -> int | None:
    """`--since` to engine time in nanoseconds.

    Raises:
        UsageError: Neither a duration nor a time.
    """
    from corral.backends.logs import parse_rfc3339_ns
    if not text:
        return None
    now = time.time() if now is None else now
    bad = UsageError(f"bad --since {quoted(text)}: expected a duration (5m, 1h30m), epoch"
                     " seconds or an RFC 3339 time between 1970 and 9999")
    match = _DURATION.match(text)
    if match and any(match.groups()):
        days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
        back = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
        # Further back than the epoch is everything the engine has.
        return int(max(now - back, 0.0) * 1e9) if math.isfinite(back) else 0
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        # `1e400` is infinite, `nan` is no time: neither converts to an int.
        if not math.isfinite(seconds) or not 0 <= seconds <= _LATEST:
            raise bad
        return int(seconds * 1e9)
    nanos = parse_rfc3339_ns(text)
    if nanos is None or not 0 <= nanos <= _LATEST * 1_000_000_000:
        raise bad
    return nanos


def parse_tail(text: str | None) -> int | None:
    """`--tail` to a count (None: all).

    Raises:
        UsageError: Not a number.
    """
    if text is None or text == "all":
        return None
    if not text.isdigit():
        raise UsageError(f"bad --tail {text!r}: expected a number or all")
    return int(text)


def _options(args: argparse.Namespace) -> tuple[LogOptions, re.Pattern | None]:
    from corral.backends.logs import LogOptions
    try:
        grep = re.compile(args.grep) if args.grep else None
    except re.error as exc:
        raise UsageError(f"bad --grep {args.grep!r}: {exc}") from None
    options = LogOptions(
        since_ns=parse_since(args.since), tail=parse_tail(args.tail), follow=args.follow
    )
    return options, grep


def run_logs(args: argparse.Namespace) -> int:
    """Print (or view) the logs of TARGET; exit 1 if some host could not be read."""
    from corral.backends.logs import CONTAINER, LogFollower, parse_target
    options, grep = _options(args)
    inventory = load_configured_inventory(args)
    target = parse_target(args.target, inventory)
    if args.view:
        return _run_view(args, inventory, target, options, grep)
    hosts = [target.host] if target.kind == CONTAINER else None
    with _online_fleet(args, inventory, hosts) as fleet:
        follower = LogFollower(fleet, target, options)
        follower.start()
        try:
            follower.resolved.wait()
            failed = dict(follower.failures)
            for host, why in failed.items():
                warn(f"{host}: {why}")
            if target.kind == CONTAINER and failed and not options.follow:
                return EXIT_PARTIAL
            seen = _print_lines(follower, grep, args)
            if follower.fatal is not None:
                raise follower.fatal  # a changed host key: one line, exit 1
        except KeyboardInterrupt:
            return EXIT_OK
        finally:
            follower.stop()
            follower.join(2.0)
    if not seen and not failed and target.kind != CONTAINER:
        warn(f"no container of {target} on any host")
        return EXIT_PARTIAL
    return EXIT_PARTIAL if failed else EXIT_OK


def _print_lines(follower: LogFollower, grep: re.Pattern | None, args: argparse.Namespace) -> bool:
    """Write batches until the follow ends; returns whether any container was found."""
    from corral.backends.logs import CONTAINER, NOTICE
    prefix = follower.target.kind != CONTAINER
    out = sys.stdout
    # To a terminal, host bytes are made harmless; to a pipe they go as they are.
    shown = log_text if out.isatty() and not args.raw and not args.json else None
    binary = getattr(out, "buffer", None)
    format_line = _formatter(prefix, args, shown)
    while True:
        try:
            batch = follower.get(timeout=0.5)
        except TimeoutError:
            continue
        if batch is None:
            return any(source.container for source in follower.sources)
        text = []
        for line in batch:
            source = follower.sources[line.source]
            if line.stream == NOTICE:
                if follower.fatal is not None and not source.container:
                    continue  # said once, as the error the command ends with
                # Host notices name their host already.
                warn(f"{source.label}: {line.text}" if source.container else line.text)
                continue
            if grep is not None and (grep.search(line.text) is None) != args.invert_grep:
                continue
            text.append(format_line(line, source))
        if text:
            if binary is not None:
                # Bytes that were not UTF-8 went through as lone surrogates: back to bytes.
                binary.write("".join(text).encode("utf-8", "surrogateescape"))
                binary.flush()
            else:
                out.write("".join(text))
                out.flush()


def _formatter(
    prefix: bool, args: argparse.Namespace, shown: Callable[[str], str] | None
) -> Callable[[LogLine, object], str]:
    """How each line is written: chosen once, called per line (a million lines a run)."""
    from corral.backends.logs import STDERR, format_rfc3339_ns

    def as_json(line: LogLine, source) -> str:
        text = line.text
        if not text.isascii():
            # JSON holds text: a byte that was not UTF-8 becomes U+FFFD.
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return json.dumps({
            "host": source.host,
            "container": source.name,
            "id": source.container,
            "stream": "stderr" if line.stream == STDERR else "stdout",
            "timestamp": format_rfc3339_ns(line.ts),
            "line": text,
        }) + "\n"

    def as_text(line: LogLine, source) -> str:
        head = f"{format_rfc3339_ns(line.ts)} " if args.timestamps else ""
        if prefix:
            head += f"{visible(source.label)} | "
        return f"{head}{shown(line.text) if shown else line.text}\n"

    def plain(line: LogLine, source) -> str:
        return line.text + "\n"

    if args.json:
        return as_json
    return as_text if prefix or args.timestamps or shown else plain


@contextlib.contextmanager
def _online_fleet(
    args: argparse.Namespace, inventory: Inventory, hosts: list[str] | None
) -> Iterator[Fleet]:
    """A fleet kept online (reconnecting), once each host has connected or failed once."""
    from corral.backends.inventory import Inventory
    from corral.backends.ssh import BackendLoop, Fleet, HostState
    if hosts:
        inventory = Inventory(hosts=tuple(inventory.get(h) for h in hosts), path=inventory.path)
    settled: set[str] = set()
    ready = threading.Event()

    def on_status(status) -> None:
        if status.state in (HostState.ONLINE, HostState.OFFLINE) and status.error != "closed":
            settled.add(status.name)
            if len(settled) >= len(inventory.hosts):
                ready.set()

    settings = ssh_settings(args)
    with BackendLoop() as loop:
        fleet = Fleet(inventory, settings, on_status=on_status, backend=loop)
        try:
            if args.follow:
                loop.run(fleet.keep_online())
                ready.wait(settings.connect_timeout + 5)
            else:
                loop.run(fleet.connect_all())
            yield fleet
        finally:
            loop.run(fleet.close(), timeout=10)


def _run_view(
    args: argparse.Namespace,
    inventory: Inventory,
    target: LogTarget,
    options: LogOptions,
    grep: re.Pattern | None,
) -> int:
    from corral.backends.logs import LogOptions
    from corral.tui.console.fleet_app import PaneApp  # Textual loads only for the view
    from corral.tui.console.widgets.logs.view import LogPane

    # A pane starts small unless told otherwise.
    tail = 100 if args.tail is None and options.since_ns is None else options.tail
    options = LogOptions(options.since_ns, tail, follow=True)

    class LogsApp(PaneApp):
        def on_log_pane_closed(self, message: LogPane.Closed) -> None:
            self.exit()

    app = LogsApp(
        inventory,
        ssh_settings(args),
        make_pane=lambda fleet: LogPane(
            fleet, target, options, keep=grep, invert=args.invert_grep, id="logs"
        ),
        title=f"corral logs {target}",
    )
    app.run()
    return EXIT_OK
