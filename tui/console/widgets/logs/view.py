"""A log pane: follows a container, a service or a stack, live.

Self-contained: construct it with the fleet and a target, put it anywhere
(a console split, or full-screen in `PaneApp`). Its border title names what
it follows; it posts `LogPane.Closed` when the user closes it.

Lines come from a `LogFollower` (backend threads). The follower wakes the
pane with at most one pending message; the pane then drains what is waiting
into its `LogLines` in one go, so the UI handles ~20 batches a second, not
one message per line, and a slow UI makes the follower (and the engine)
wait rather than pile lines up.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from corral.backends.logs import (
    BadTarget,
    LogFollower,
    LogHistory,
    LogOptions,
    LogTarget,
    parse_target,
)
from corral.backends.ssh import Fleet, HostStatus
from corral.tui.console.widgets.logs.format import LineLook
from corral.tui.console.widgets.logs.lines import LogLines

#: Since presets: label and seconds back (None: the last `tail` lines only).
SINCE_PRESETS = (("tail only", None), ("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600))
#: Lines taken from the follower per wake-up. Taking them is one block of the
#: UI thread: 12,000 took 54–89 ms in a real terminal, the longest stall of a
#: flood; 6,000 about half, and still the largest part of the longest stalls
#: (`bench/logs_cli.py` names the parts); 3,000 halve that again.
DRAIN_LINES = 3_000
#: Seconds between two drains while lines keep coming: ingest is at most
#: DRAIN_LINES per pause and drain (~140k lines/s with the drain's own time);
#: the screen is still drawn at Textual's pace, not once per drain, and the
#: loop keeps most of its time for keys.
DRAIN_PAUSE = 0.01
#: Seconds between status-line updates while lines stream in (the count
#: changes with every batch; redrawing it each time costs more than the rows).
STATUS_PAUSE = 0.25


def _binding(key: str, action: str, description: str, name: str, tooltip: str, **kw) -> Binding:
    return Binding(key, action, description, id=f"logs.{name}", tooltip=tooltip, **kw)


class LogPane(Vertical, can_focus=False):
    """Live, merged logs of a target, with filter, search and saving.

    Args:
        fleet: The sessions (kept online by the app).
        target: The container, service or stack to follow (or its text,
            `host/container`, `stack/service`, `stack`).
        options: Where to start (default: the last 100 lines of each container).
        max_lines: Lines retained in all (older ones are dropped).
        memory_lines: Lines kept in memory, older ones spool to disk (default:
            the app's `config.log_history_lines`, else 100,000).
        follow: Whether to start the follower on mount (tests feed lines instead).
        keep: A filter to start with (a compiled regex).
        invert: Whether that filter keeps the lines that do *not* match.

    Raises:
        ValueError: `target` is text that names no container, service or stack.
    """

    DEFAULT_CSS = """
    LogPane { border: round $primary; height: 1fr; }
    LogPane:focus-within { border: round $accent; }
    LogPane > #log-status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    LogPane > #log-status.-waiting { background: $warning-muted; color: $text; }
    LogPane > #log-prompt-row { dock: bottom; display: none; height: 1; }
    LogPane > #log-prompt-row.-shown { display: block; }
    LogPane #log-prompt-label { width: auto; height: 1; padding: 0 1; background: $accent;
                                color: $text; }
    LogPane #log-prompt { width: 1fr; height: 1; padding: 0 1; }
    """

    BINDINGS = [
        _binding("p", "pause", "Pause", "pause", "Pause or resume scrolling to new lines"),
        _binding("G,shift+g", "end", "End", "end",
                 "Jump to the newest line and follow again (End works too)", show=False),
        _binding("s", "since", "Since", "since",
                 "Start from: tail only, 1m, 5m, 15m, 1h ago (restarts the follow)"),
        _binding("l", "tail", "Tail", "tail", "How many past lines per container to load"),
        _binding("t", "timestamps", "Times", "timestamps", "Show or hide timestamps"),
        _binding("w", "wrap", "Wrap", "wrap", "Wrap long lines or scroll sideways"),
        _binding("f", "filter", "Filter", "filter", "Keep only lines matching a regex"),
        _binding("exclamation_mark,!", "invert", "Invert", "invert",
                 "Invert the filter: keep lines that do not match", show=False),
        _binding("slash", "search", "Search", "search", "Highlight a regex and jump to it"),
        _binding("n", "next", "Next", "next", "Jump to the next match", show=False),
        _binding("N,shift+n", "previous", "Prev", "previous", "Jump to the previous match",
                 show=False),
        _binding("o", "save(False)", "Save", "save_shown", "Save the lines shown to a file"),
        _binding("O,shift+o", "save(True)", "Save all", "save_all",
                 "Save the whole retained history to a file", show=False),
        _binding("c", "clear", "Clear", "clear", "Forget the lines so far"),
        _binding("escape", "escape", "Cancel", "escape", "Close the prompt or end the search",
                 show=False),
        _binding("q", "close", "Close", "close", "Close this log pane"),
    ]

    class Closed(Message):
        """The user closed the pane."""

        def __init__(self, pane: LogPane) -> None:
            super().__init__()
            self.pane = pane

    class _Ready(Message):
        """The follower has lines waiting (at most one of these is pending)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogPane._Ready)

    def __init__(
        self,
        fleet: Fleet | None,
        target: LogTarget | str,
        options: LogOptions | None = None,
        *,
        max_lines: int = 1_000_000,
        memory_lines: int | None = None,
        follow: bool = True,
        keep: re.Pattern | None = None,
        invert: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(target, str):
            try:
                target = parse_target(target, fleet.inventory)
            except BadTarget as exc:
                raise ValueError(str(exc)) from None
        self.fleet = fleet
        self.target = target
        self.options = options or LogOptions()
        self.autostart = follow
        self.initial_filter = (keep, invert)
        self.max_lines = max_lines
        self.memory_lines = memory_lines
        self.history = LogHistory(max_lines=max_lines, memory_lines=memory_lines or 100_000)
        self.sources: list = []
        self.look = LineLook(self.sources)
        self.look.prefix = target.kind != "container"
        self.follower: LogFollower | None = None
        self.since_index = 0
        self.tail = self.options.tail
        self._ready_posted = False
        self._prompt_kind: str | None = None
        self._followed_before_prompt = True
        self._message = ""
        self._status = ""
        self._status_at = 0.0
        self._status_due = False

    def compose(self) -> ComposeResult:
        configured = getattr(getattr(self.app, "config", None), "log_history_lines", None)
        if self.memory_lines is None and isinstance(configured, int):
            self.history = LogHistory(max_lines=self.max_lines, memory_lines=configured)
        yield LogLines(self.history, self.look, id="log-lines")
        yield Static(id="log-status")
        # Compact: one row with no border. A bordered Input (3 rows) in a
        # one-row slot drew only its border and the typing went unseen.
        with Horizontal(id="log-prompt-row"):
            yield Static(id="log-prompt-label")
            yield Input(id="log-prompt", compact=True)

    @property
    def lines(self) -> LogLines:
        """The scrolling body."""
        return self.query_one(LogLines)

    async def on_mount(self) -> None:
        self.border_title = f"logs {self.target}"
        self.lines.focus()
        keep, invert = self.initial_filter
        if keep is not None:
            await self.lines.set_filter(keep, invert)
        if self.autostart and self.fleet is not None:
            self.start(self.options)
        self.update_status()

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.history.close()

    # Following -----------------------------------------------------------------

    def start(self, options: LogOptions) -> None:
        """(Re)start following with `options`; the lines so far are dropped."""
        if self.follower is not None:
            self.follower.stop()
        self.options = options
        self.lines.clear()
        self.follower = LogFollower(self.fleet, self.target, options, on_ready=self._wake)
        self.sources = self.follower.sources
        self.look.sources = self.sources
        self.follower.start()

    def _wake(self) -> None:
        # Follower thread: post only if no wake-up is pending already.
        if not self._ready_posted:
            self._ready_posted = True
            self.post_message(self._Ready())

    async def on_log_pane__ready(self, message: _Ready) -> None:
        message.stop()
        # A message pump with a message waiting never yields to the event
        # loop: without this, a flood of batches would starve the screen's
        # refresh timer and every key press until the flood ends.
        await asyncio.sleep(0)
        self._ready_posted = False
        follower = self.follower
        lines = follower.drain(DRAIN_LINES) if follower is not None else []
        if lines:
            # Wake-ups stay muted until the next look, DRAIN_PAUSE from now:
            # in a flood, ingesting never takes the whole event loop.
            self._ready_posted = True
            self.feed(lines)
            self.set_timer(DRAIN_PAUSE, self._look_again)

    def _look_again(self) -> None:
        self.post_message(self._Ready())

    def feed(self, lines: list) -> None:
        """Show a batch of lines (from the follower, or a test)."""
        # One container needs no prefix; a service or several containers do.
        prefix = self.target.kind != "container" or sum(1 for s in self.sources if s.container) > 1
        changed = self.look.fit_labels() or prefix != self.look.prefix
        self.look.prefix = prefix
        if changed:
            self.lines.relayout()
        self.lines.add_lines(lines)
        now = time.monotonic()
        if now - self._status_at >= STATUS_PAUSE:
            self._status_at = now
            self.update_status()
        elif not self._status_due:
            self._status_due = True
            self.set_timer(STATUS_PAUSE, self._status_catch_up)

    def _status_catch_up(self) -> None:
        self._status_due = False
        self._status_at = time.monotonic()
        self.update_status()

    def use_sources(self, sources: list) -> None:
        """Name the sources of lines fed directly (tests, replays)."""
        self.sources[:] = sources
        self.look.sources = self.sources

    # Status ----------------------------------------------------------------------

    def update_status(self) -> None:
        """Refresh the status line and the border title."""
        lines = self.lines
        parts = ["● following" if lines.follow else "❚❚ paused"]
        waiting = self.waiting_for()
        fatal = getattr(self.follower, "fatal", None)
        if fatal is not None:
            # A changed host key is a hard stop: nothing is waited for.
            parts, waiting = [f"✖ stopped: {fatal.title} on {fatal.host}"], []
        elif waiting:
            # A dead link must not read as "following": say what the pane waits for.
            note = f"◌ waiting for {', '.join(waiting)}"
            if lines.follow and self.target.kind == "container":
                parts = [note]
            else:
                parts.append(note)
        label, _ = SINCE_PRESETS[self.since_index]
        parts.append(f"tail {self.tail if self.tail is not None else 'all'}"
                     if self.since_index == 0 else f"since {label}")
        shown, total = lines.rows.lines, len(self.history)
        parts.append(f"{shown:,}/{total:,} lines" if lines.filter else f"{total:,} lines")
        if self.history.spooled:
            parts.append(f"{self.history.spooled:,} on disk")
        if lines.filter is not None:
            parts.append(f"filter {'!' if lines.inverse else ''}/{lines.filter.pattern}/")
        if lines.search is not None:
            parts.append(f"search /{lines.search.pattern}/")
        if self._message:
            parts.append(self._message)
        status = " · ".join(parts)
        if status != self._status:
            self._status = status
            line = self.query_one("#log-status", Static)
            line.update(status, layout=False)
            line.set_class(bool(waiting), "-waiting")
        title = f"logs {self.target}"
        if self.target.kind != "container":
            containers = [s for s in self.sources if s.container]
            hosts = ", ".join(sorted({s.host for s in containers})) or "-"
            title += f" · {len(containers)} container(s) on {hosts}"
        if title != self.border_title:
            self.border_title = title

    def waiting_for(self) -> list[str]:
        """The hosts this pane reads from that are down right now."""
        follower = self.follower
        return follower.waiting_for() if follower is not None else []

    def host_status_changed(self, status: HostStatus) -> None:
        """A host went up or down (the app forwards every change)."""
        if self.is_mounted:
            self.update_status()

    def say(self, message: str) -> None:
        """Show a short message in the status line."""
        self._message = message
        self.update_status()

    # Actions -----------------------------------------------------------------------

    def action_pause(self) -> None:
        lines = self.lines
        lines.follow, lines.auto_paused = not lines.follow, False
        if lines.follow:
            lines.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.update_status()

    def action_end(self) -> None:
        self.lines.follow_end()

    def on_log_lines_follow_changed(self, message: LogLines.FollowChanged) -> None:
        message.stop()
        self.update_status()

    def action_since(self) -> None:
        self.since_index = (self.since_index + 1) % len(SINCE_PRESETS)
        self.restart()

    def restart(self) -> None:
        """Follow again with the pane's since preset and tail count."""
        _, seconds = SINCE_PRESETS[self.since_index]
        if seconds is None:
            options = LogOptions(tail=self.tail, follow=True)
        else:
            options = LogOptions(since_ns=time.time_ns() - seconds * 1_000_000_000, tail=None)
        if self.fleet is not None:
            self.start(options)
        self.update_status()

    def action_timestamps(self) -> None:
        self.look.timestamps = not self.look.timestamps
        self.lines.relayout()

    def action_wrap(self) -> None:
        self.lines.wrap = not self.lines.wrap
        self.lines.relayout()

    async def action_invert(self) -> None:
        lines = self.lines
        await lines.set_filter(lines.filter, not lines.inverse)
        self.update_status()

    async def action_next(self) -> None:
        await self._find(True)

    async def action_previous(self) -> None:
        await self._find(False)

    async def _find(self, forward: bool) -> None:
        if self.lines.search is None:
            self.say("no search: press / first")
            return
        found = await self.lines.find(forward)
        self.say("" if found else "no more matches")

    def action_clear(self) -> None:
        self.lines.clear()
        self.update_status()

    def action_close(self) -> None:
        self.post_message(self.Closed(self))

    def action_escape(self) -> None:
        if self._prompt_kind is not None:
            self._close_prompt()
        elif self.lines.search is not None:
            self.lines.set_search(None)
            self.update_status()

    # Prompts -----------------------------------------------------------------------

    def action_filter(self) -> None:
        current = self.lines.filter.pattern if self.lines.filter else ""
        self._open_prompt("filter", "filter regex (empty: none; ! toggles inverse)", current,
                          "filter")

    def action_search(self) -> None:
        current = self.lines.search.pattern if self.lines.search else ""
        self._open_prompt("search", "search regex", current, "search")

    def action_tail(self) -> None:
        self._open_prompt("tail", "lines per container to load (a number, or all)",
                          str(self.tail) if self.tail is not None else "all", "tail")

    def action_save(self, whole: bool) -> None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(self.target))
        path = f"corral-logs-{name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
        self._open_prompt("save-all" if whole else "save", "save to file", path,
                          "save all to" if whole else "save shown to")

    def _open_prompt(self, kind: str, placeholder: str, value: str, label: str) -> None:
        prompt = self.query_one("#log-prompt", Input)
        if self._prompt_kind is None:
            lines = self.lines
            self._followed_before_prompt = lines.follow and lines.is_vertical_scroll_end
        self._prompt_kind = kind
        self.query_one("#log-prompt-label", Static).update(label)
        prompt.placeholder = placeholder
        prompt.value = value
        self.query_one("#log-prompt-row").add_class("-shown")
        prompt.focus()

    def _close_prompt(self) -> None:
        self.query_one("#log-prompt-row").remove_class("-shown")
        self._prompt_kind = None
        self.lines.focus()
        # The prompt took a row from the view: lines that came meanwhile must
        # not count as the user scrolling up. A search that finds something
        # stops following afterwards, as it should.
        if self._followed_before_prompt and not self.lines.follow:
            self.lines.follow_end()

    @on(Input.Submitted, "#log-prompt")
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        kind, value = self._prompt_kind, event.value.strip()
        self._close_prompt()
        if kind in ("filter", "search"):
            pattern = None
            if value:
                try:
                    pattern = re.compile(value)
                except re.error as exc:
                    self.say(f"bad regex {value!r}: {exc}")
                    return
            if kind == "filter":
                await self.lines.set_filter(pattern, self.lines.inverse)
                self.say("")
            else:
                self.lines.set_search(pattern)
                if pattern is not None:
                    await self._find(True)
                else:
                    self.say("")
        elif kind == "tail":
            if value.lower() == "all":
                self.tail = None
            elif value.isdigit():
                self.tail = int(value)
            else:
                self.say(f"bad tail count {value!r}: a number, or all")
                return
            self.since_index = 0
            self.restart()
        elif kind in ("save", "save-all") and value:
            rows = self.lines.rows
            # The shown set is copied here, on the UI thread that changes it.
            seqs = None if kind == "save-all" or not rows.filtered else [
                rows.seq_at(index) for index in range(rows.lines)
            ]
            self.save(Path(value).expanduser(), seqs)

    @work(thread=True, exclusive=True, group="log-save")
    def save(self, path: Path, seqs: list[int] | None) -> None:
        """Write lines `seqs` (None: the whole history) to `path`, on a thread."""
        history, look = self.history, self.look
        lines = history.iter() if seqs is None else (history.get(seq) for seq in seqs)
        count = 0
        try:
            with open(path, "w", encoding="utf-8") as out:
                for line in lines:
                    if line is not None:
                        out.write(look.plain(line) + "\n")
                        count += 1
        except OSError as exc:
            self.app.call_from_thread(self.say, f"cannot save {path}: {exc.strerror or exc}")
            return
        self.app.call_from_thread(self.say, f"saved {count:,} lines to {path}")


#: The name the console's pane factory imports.
LogView = LogPane
