"""The console's main screen: host bar, resource views, panes, command line."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import yaml
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Header, Static

from corral.backends.audit import AuditEntry
from corral.backends.engine import ACTIONS, act
from corral.backends.errors import BackendError
from corral.backends.ssh import Fleet
from corral.catalog.errors import CorralError
from corral.tui.console import images_ui
from corral.tui.console.keys_help import show_help
from corral.tui.console.model.data import ConsoleData, Usage, Watcher, display_name
from corral.tui.console.model.deploy_flow import DeployFlow
from corral.tui.console.model.inventory_watch import POLL_SECONDS, InventoryWatch
from corral.tui.console.model.stats_schedule import StatsSchedule
from corral.tui.console.model.store import ContainerStore
from corral.tui.console.reconnect_ui import reconnect_now
from corral.tui.console.screens.fleet_follow import FleetFollow
from corral.tui.console.screens.leaving import quit_app
from corral.tui.console.screens.modals import ConfirmScreen, yaml_screen
from corral.tui.console.views.base import ResourceView
from corral.tui.console.views.containers import ContainersView
from corral.tui.console.views.hosts import HostsView
from corral.tui.console.views.images import ImagesView
from corral.tui.console.views.nodes import NodesView
from corral.tui.console.views.registry import VIEWS, command_words, resolve_view
from corral.tui.console.views.stacks import StacksView, group_stacks
from corral.tui.console.widgets.command_line import CommandLine
from corral.tui.console.widgets.health_watch import HealthWatch
from corral.tui.console.widgets.host_bar import HostBar
from corral.tui.console.widgets.keys_footer import KeysFooter
from corral.tui.console.widgets.panes import Pane, Workspace

#: Drains follow each other at least this far apart, so a burst of updates is
#: one batch; a put after a quiet spell is drained at once.
DRAIN_SECONDS = 0.1
#: With nothing put, the drain still runs this often, for what no update
#: announces (a host added, gone or back online). A 10 Hz poll of an empty
#: queue cost an idle console more than everything else it does (issue 17).
DRAIN_IDLE_SECONDS = 1.0
HOSTS_REFRESH_SECONDS = 10.0
STATS_SECONDS = 3.0
EVENTS_REDRAW_SECONDS = 0.5
UPTIME_SECONDS = 15.0
#: Views read on demand (when shown, and on ctrl+r) rather than kept live.
LISTED = ("volumes", "images", "audit", "nodes")
#: While the stacks or nodes view is shown, the swarms are read again this often
#: (Swarm moves tasks on its own: no Corral event says so).
SWARM_REFRESH_SECONDS = 5.0
#: The views that show what the swarms' managers say, and the listing each reads.
SWARM_VIEWS = {"stacks": "swarm", "nodes": "nodes"}
#: At most this often a listing is read again for hosts that came back.
LISTING_RETRY_SECONDS = 3.0

NO_HOSTS = """\
[b]No hosts yet.[/b]

Corral manages Docker hosts it reaches over SSH. Add one:

  • press [b]a[/b] here to open the Add host form, or
  • run  [b]corral hosts add NAME user@address[:port][/b]  in a shell, or
  • write the inventory file ({path}) by hand:

      hosts:
        - name: edge1
          ssh: deploy@10.0.0.5:22
"""


class ConsoleScreen(FleetFollow, Screen):
    """Resource views over every host, with split panes for logs and shells.

    Args:
        fleet: The hosts.
        readonly: Refuse and hide every change.
        inventory_path: The inventory file the no-hosts explanation names.
        flow: The console's stack changes; by default, new ones on `fleet`.
        data: Where the views' data comes from; by default, live from `fleet`.
    """

    DEFAULT_CSS = """
    ConsoleScreen ResourceView { border: round $primary; height: 1fr; }
    ConsoleScreen ResourceView:focus { border: round $accent; }
    ConsoleScreen #status-row { height: auto; background: $panel; }
    ConsoleScreen #status-row HostBar { width: 1fr; }
    """

    # Textual's escape-minimises-the-maximised-pane runs before any binding
    # or widget: it took escape from a maximised shell (vim) and from the
    # prompts of a maximised log pane. ctrl+o restores the layout.
    ESCAPE_TO_MINIMIZE = False

    BINDINGS = [
        Binding("colon", "command(':')", "Command", id="console.command",
                tooltip="Switch view: hosts, ps, stacks, nodes, volumes, images, events,"
                " audit, catalog"),
        Binding("slash", "command('/')", "Filter", id="console.filter",
                tooltip="Filter the view (regex; !regex inverts)"),
        Binding("escape", "back", "Back", id="console.back",
                tooltip="Clear the filter, else go back to the previous view"),
        Binding("question_mark,f1", "help", "Help", id="console.help",
                tooltip="Every key of this view"),
        Binding("ctrl+r", "reload", "Reload", id="console.reload",
                tooltip="Read the current view again from every host"),
        # | and _ draw the split they make; - and + belong to the views (scale).
        Binding("vertical_line", "placement('side')", "Side by side", id="console.side",
                tooltip="New panes open side by side"),
        Binding("underscore", "placement('stacked')", "Stacked", id="console.stacked",
                tooltip="New panes open below"),
        Binding("tab", "focus_pane(1)", "Next pane", id="console.focus_next", show=False,
                tooltip="Move the focus to the next pane or view (a shell: its frame)"),
        Binding("shift+tab", "focus_pane(-1)", "Previous pane", id="console.focus_previous",
                show=False, tooltip="Move the focus to the previous pane or view"),
    ]

    class Loaded(Message):
        """Records read on a worker thread for a view."""

        def __init__(self, view: str, records: dict[str, Any], errors: list[BackendError]):
            super().__init__()
            self.view = view
            self.records = records
            self.errors = errors

    def __init__(self, fleet: Fleet, *, readonly: bool = False, inventory_path: str = "",
                 flow: DeployFlow | None = None, data: ConsoleData | None = None):
        super().__init__()
        self.fleet = fleet
        self.flow = flow or DeployFlow(fleet)
        self.data = data if data is not None else ConsoleData(fleet, self.flow)
        self.readonly = readonly
        self.inventory_path = inventory_path
        self.store = ContainerStore()
        #: A drain is already asked for (a put woke it): later puts join it.
        self._drain_asked = False
        #: When the last drain began (`on_console_screen_drain_asked`).
        self._drained_at = 0.0
        #: Each watched host's watcher, by host name.
        self.watchers: dict[str, Watcher] = {}
        self.history: list[str] = []
        self.stacked = False
        self._events_pending = False
        self._events_drawn_at = 0.0
        self.inventory_watch = InventoryWatch(fleet.inventory.path)
        #: Hosts that left the inventory: late updates of their watchers are dropped.
        self._gone: set[str] = set()
        #: The one-engine-two-hosts problem last told, so it is told once.
        self._told_same_engine: str | None = None
        self._reloading = asyncio.Lock()
        #: Image pushes and pulls, running and ended (the transfers pane reads it).
        self.transfers = images_ui.transfer_log(self)
        #: Hosts whose last image listing failed; None until the first listing
        #: (the images view must not call an image missing before it has looked).
        self._images_failed: set[str] | None = None
        #: Hosts online at the last drain, and when a listing was last asked for:
        #: a listing is read again when a host comes back (or one that failed is
        #: online again), at most every LISTING_RETRY_SECONDS.
        self._online_seen: set[str] = set()
        self._listing_asked_at = 0.0
        #: The swarm read failures last told (told again only when they change).
        self._swarm_told: dict[str, set[str]] = {}
        #: A stats read is running (the next waits for it).
        self._stats_reading = False
        #: Quiet containers' figures are read less often.
        self.stats_schedule = StatsSchedule()

    # --- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Horizontal(HostBar(self.fleet.statuses(), id="host-bar"),
                         HealthWatch(self.data, readonly=self.readonly, id="health"),
                         id="status-row")
        views = []
        for name, view_class in VIEWS.items():
            view = view_class(id=name)
            view.readonly = self.readonly
            views.append(view)
        parts = [ContentSwitcher(*views, initial="containers", id="views")]
        if not self.fleet.sessions:
            path = self.inventory_path or "inventory.yaml"
            parts.insert(0, Static(NO_HOSTS.format(path=path), id="no-hosts"))
        yield Workspace(Vertical(*parts, id="main"))
        yield CommandLine(command_words(), id="command-line")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.app.title = "Corral" + ("  [READ-ONLY]" if self.readonly else "")
        self.sub_title = f"{len(self.fleet.sessions)} hosts"
        self.watch_new_hosts()
        self.store.on_put = self.wake_drain
        self.set_interval(DRAIN_IDLE_SECONDS, self.drain_updates)
        self.set_interval(HOSTS_REFRESH_SECONDS, self.refresh_hosts_view)
        self.set_interval(STATS_SECONDS, self.sample_visible_stats)
        # Uptimes count on between events; only the changed cells redraw.
        self.set_interval(UPTIME_SECONDS, self.query_one(ContainersView).redraw)
        self.set_interval(POLL_SECONDS, self.poll_inventory)
        self.set_interval(SWARM_REFRESH_SECONDS, self.refresh_swarm)
        self.load_hosts()
        if not self.fleet.sessions:  # where `a` adds the first host
            self.show_view("hosts", remember=False)
        self.current_view().focus()

    def on_unmount(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()

    def current_view(self) -> ResourceView:
        switcher = self.query_one(ContentSwitcher)
        return self.query_one(f"#{switcher.current}", ResourceView)

    # --- data ---------------------------------------------------------------

    def watch_new_hosts(self) -> None:
        """Start a watcher for every host not watched yet (hosts can be added live)."""
        for name, session in self.fleet.sessions.items():
            if name not in self.watchers:
                self.watchers[name] = self.data.watch(session, self.store.put).start()

    def wake_drain(self) -> None:
        """Drain within `DRAIN_SECONDS` (thread-safe: watcher threads call it on each put).

        Puts in the meantime ask nothing more: they join that drain's batch.
        """
        if self._drain_asked:
            return
        self._drain_asked = True
        if not self.post_message(self.DrainAsked()):  # thread-safe; False once closing
            self._drain_asked = False

    class DrainAsked(Message):
        """Updates were put: drain them shortly (batching what follows)."""

    def on_console_screen_drain_asked(self, message: DrainAsked) -> None:
        # After a quiet spell, at once: at start-up the first listings arrive
        # while the first frame renders, and a fixed delay added 100 ms to it.
        wait = self._drained_at + DRAIN_SECONDS - time.monotonic()
        if wait <= 0:
            self._woken_drain()
        else:
            self.set_timer(wait, self._woken_drain)

    def _woken_drain(self) -> None:
        # Cleared first: a put during this drain asks for the next one.
        self._drain_asked = False
        self.drain_updates()

    def drain_updates(self) -> None:
        self._drained_at = time.monotonic()
        if len(self.watchers) != len(self.fleet.sessions):
            self.watch_new_hosts()
        self.relist_returned_hosts()
        rows_changed, events_changed = self.store.drain()
        if not self.store.updates.empty():  # more than one batch was waiting
            self.wake_drain()
        for host in self._gone:
            rows_changed |= self.store.forget_host(host)
        if self.store.take_placement_change():
            self.query_one(HealthWatch).note_change()
        if rows_changed:
            self.stats_schedule.forget_except(set(self.store.rows))
            containers = self.query_one(ContainersView)
            containers.stale = dict(self.store.stale)
            containers.oom_killed = {
                f"{e.host}/{e.attributes.get('id', '')[:12]}" for _, e in self.store.events
                if e.action == "oom"
            }
            containers.set_records(dict(self.store.rows))
            self.query_one("#stacks", ResourceView).set_records(
                group_stacks(list(self.store.rows.values()))
            )
            images_ui.update_needs(self, self._images_failed)
        self._events_pending |= events_changed
        # The events table is refilled whole (new rows on top): at most twice
        # a second, however fast the engines report.
        now = time.monotonic()
        if self._events_pending and now - self._events_drawn_at >= EVENTS_REDRAW_SECONDS:
            self._events_pending, self._events_drawn_at = False, now
            events = self.query_one("#events", ResourceView)
            events.set_records({str(seq): event for seq, event in self.store.events})
        elif self._events_pending:  # drawn moments ago: draw these on a later drain
            self.wake_drain()

    def refresh_hosts_view(self) -> None:
        """Read host facts again while the hosts view is shown (else it is read when shown)."""
        if self.query_one(ContentSwitcher).current == "hosts":
            self.load_hosts()

    @work(thread=True, exclusive=True, group="hosts")
    def load_hosts(self) -> None:
        """Host facts and details, off the UI thread."""
        records = self.data.host_records()
        if records is not None:
            self.post_message(self.Loaded("hosts", records, []))

    def relist_returned_hosts(self) -> None:
        """Read the shown listing again once a host is back (its images or volumes
        were missing from it, or its listing failed while its engine restarted)."""
        online = {name for name, session in self.fleet.sessions.items() if session.online}
        returned = online - self._online_seen
        if online != self._online_seen:
            self.query_one(HealthWatch).note_change()
        if returned:  # its engine may be another one now (the same-engine marks)
            self.load_hosts()
        self._online_seen = online
        name = self.query_one(ContentSwitcher).current
        if name not in LISTED:
            return
        failed = (self._images_failed or set()) & online if name == "images" else set()
        if (returned or failed) and \
                time.monotonic() - self._listing_asked_at >= LISTING_RETRY_SECONDS:
            self.load_listing(name)

    def refresh_swarm(self) -> None:
        """Read the swarms again while a view that shows them is on screen."""
        listing = SWARM_VIEWS.get(self.query_one(ContentSwitcher).current)
        if listing is not None:
            self.load_listing(listing)

    @work(thread=True, exclusive=True, group="listing")
    def load_listing(self, view: str) -> None:
        """Volumes or images of every online host, off the UI thread."""
        self._listing_asked_at = time.monotonic()
        listing = self.data.listing(view)
        if listing is not None:
            records, errors = listing
            self.post_message(self.Loaded(view, records, errors))

    def sample_visible_stats(self) -> None:
        """Ask for CPU and memory of the running containers on screen only."""
        view = self.query_one(ContainersView)
        if self.query_one(ContentSwitcher).current != "containers" or not view.row_count:
            return
        if self._stats_reading:  # one read at a time: a slow host must not pile reads up
            return
        first = view.scroll_offset.y
        keys = []
        for index in range(first, min(first + view.size.height, view.row_count)):
            key = view.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value
            row = view.records.get(key)
            if row is not None and row.state == "running":
                keys.append(key)
        due = self.stats_schedule.due(keys)
        if due:
            self._stats_reading = True
            self.read_stats(due)

    @work(thread=True, group="stats")
    def read_stats(self, keys: list[str]) -> None:
        usage = None
        try:
            usage = self.data.usage(keys)
        finally:
            self.post_message(self.StatsRead(usage))

    class StatsRead(Message):
        """Fresh CPU and memory figures for some containers (None: none read)."""

        def __init__(self, usage: Usage | None):
            super().__init__()
            self.usage = usage

    def on_health_watch_pass_done(self, message: HealthWatch.PassDone) -> None:
        self.show_marks()
        if message.report is not None:
            for view in (self.query_one(ContainersView), self.query_one(StacksView)):
                view.set_checked_health(message.report.health)
            self.query_one(StacksView).set_stack_states(message.report.states)

    def on_console_screen_stats_read(self, message: StatsRead) -> None:
        self._stats_reading = False
        if message.usage is not None:
            self.stats_schedule.read(message.usage)
            self.query_one(ContainersView).set_usage(message.usage)

    def on_console_screen_loaded(self, message: Loaded) -> None:
        if message.view == "hosts":  # reading host facts notes each engine's ID
            self.show_marks()
        elif message.view == "images":
            self._images_failed = {error.host for error in message.errors if error.host}
            images_ui.update_needs(self, self._images_failed)
        errors = message.errors
        if message.view in SWARM_VIEWS.values():  # read every few seconds: tell news only
            told = {str(error) for error in errors}
            errors = [e for e in errors if str(e) not in self._swarm_told.get(message.view, ())]
            self._swarm_told[message.view] = told
        if message.view == "swarm":
            self.query_one(StacksView).set_swarm(message.records)
        else:
            self.query_one(f"#{message.view}", ResourceView).set_records(message.records)
        for error in errors:
            self.notify(str(error), title=error.title, severity="warning")

    # --- commands -----------------------------------------------------------

    def action_command(self, mode: str) -> None:
        value = self.current_view().filter_text if mode == "/" else ""
        self.query_one(CommandLine).open(mode, value)

    @on(CommandLine.Submitted)
    def run_command(self, message: CommandLine.Submitted) -> None:
        if message.mode == "/":
            self.current_view().set_filter(message.text)
        elif message.text in ("q", "quit"):
            quit_app(self.app)
        elif message.text == "help":
            self.action_help()
        elif message.text:
            word, _, argument = message.text.partition(" ")
            view = resolve_view(word)
            if view is None:
                self.notify(f"unknown command {word!r}; try hosts, ps, stacks, nodes, "
                            "volumes, images, events, audit", severity="error")
            else:
                self.show_view(view, filter_text=argument.strip() or None)
        self.current_view().focus()

    @on(CommandLine.Cancelled)
    def command_cancelled(self) -> None:
        self.current_view().focus()

    def show_view(self, name: str, filter_text: str | None = None, remember: bool = True) -> None:
        """Switch the body to view `name`, optionally filtered."""
        if name == "catalog":
            from corral.tui.console.screens.catalog import CatalogScreen

            self.app.push_screen(CatalogScreen(self.app.config.catalogs, search=filter_text or "",
                                               bundles=getattr(self.app, "bundle_catalogs", ())))
            return
        switcher = self.query_one(ContentSwitcher)
        if remember and switcher.current != name:
            self.history.append(switcher.current)
        switcher.current = name
        view = self.current_view()
        view.catch_up()
        if filter_text is not None:
            view.set_filter(filter_text)
        if name in LISTED:
            self.load_listing(name)
        elif name == "hosts":
            self.load_hosts()
        elif name == "stacks":
            self.load_listing("swarm")
        view.focus()

    def action_back(self) -> None:
        view = self.current_view()
        if view.filter_text:
            view.set_filter("")
        elif self.history:
            self.show_view(self.history.pop(), remember=False)

    def action_reload(self) -> None:
        name = self.query_one(ContentSwitcher).current
        if name in LISTED:
            self.load_listing(name)
        elif name == "hosts":
            self.load_hosts()
        elif name == "stacks":
            self.load_listing("swarm")

    def action_help(self) -> None:
        show_help(self, self.current_view())

    def action_focus_pane(self, step: int) -> None:
        """Move the focus `step` places along the views and panes.

        A focusable frame stands for what is inside it: tabbing reaches a
        shell pane's frame (enter goes in), never the shell itself.
        """
        chain = self.focus_chain
        stops = [w for w in chain if not any(a in chain for a in w.ancestors)]
        if not stops:
            return
        here = self.focused
        while here is not None and here not in stops:
            here = here.parent if isinstance(here.parent, Widget) else None
        index = stops.index(here) if here is not None else -1 if step > 0 else 0
        stops[(index + step) % len(stops)].focus()

    def action_placement(self, where: str) -> None:
        self.stacked = where == "stacked"
        self.notify(f"new panes open {'below' if self.stacked else 'side by side'}", timeout=2)

    # --- drill-down and inspect ---------------------------------------------

    @on(ResourceView.Drill)
    def drill(self, message: ResourceView.Drill) -> None:
        view = message.view.NAME
        if view == "hosts":
            self.show_view("containers", filter_text=f"^{message.key} ")
        elif view == "stacks" and message.record.swarm is not None:
            self.show_tasks(message.record.swarm)
        elif view == "stacks":
            self.show_view("containers", filter_text=f"{message.record.stack}/")
        else:
            self.inspect_row(message.view, message.key, message.record)

    @on(ResourceView.HostFilterRequested)
    def host_filter(self, message: ResourceView.HostFilterRequested) -> None:
        """Number keys: the rows of the n-th inventory host, or (0) of every host."""
        names = list(self.fleet.sessions)
        if message.number == 0:
            message.view.set_host_filter(None)
        elif message.number <= len(names):
            message.view.set_host_filter(names[message.number - 1])
        else:
            self.notify(f"no host {message.number}: the inventory has {len(names)}",
                        severity="warning", timeout=3)

    @on(ResourceView.InspectRequested)
    def inspect_requested(self, message: ResourceView.InspectRequested) -> None:
        self.inspect_row(message.view, message.key, message.record)

    def inspect_row(self, view: ResourceView, key: str, record: Any) -> None:
        if view.KIND in ("container", "volume", "image"):
            self.inspect_on_engine(view.KIND, record.host, record.ref, key)
        elif isinstance(record, AuditEntry):  # its own plain form: YAML has no tuples
            self.app.push_screen(yaml_screen(key, yaml.safe_dump(record.to_dict(),
                                                                 sort_keys=False)))
        else:
            data = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record
            self.app.push_screen(yaml_screen(key, yaml.safe_dump(data, sort_keys=False)))

    @on(ContainersView.DescribeRequested)
    def describe_requested(self, message: ContainersView.DescribeRequested) -> None:
        from corral.tui.console.model.describe import events_of

        row = message.record
        events = events_of(row.host, row.name, row.id, (e for _, e in self.store.events))
        self.describe_on_engine(row.host, row.ref, f"{row.host}/{row.name}", events)

    @work(thread=True, group="inspect")
    def describe_on_engine(self, host: str, ref: str, title: str, events: list) -> None:
        """Inspect a container off the UI thread and show its description."""
        from corral.tui.console.model.describe import describe_container
        from corral.tui.console.screens.text_search import SearchableTextScreen

        try:
            document = self.data.inspect(host, "container", ref)
        except BackendError as exc:
            self.app.call_from_thread(self.notify, str(exc), title=exc.title, severity="error")
            return
        text = describe_container(host, document, events)
        self.app.call_from_thread(self.app.push_screen,
                                  SearchableTextScreen(f"describe {title}", text))

    @work(thread=True, group="inspect")
    def inspect_on_engine(self, kind: str, host: str, ref: str, title: str) -> None:
        try:
            data = self.data.inspect(host, kind, ref)
        except BackendError as exc:
            self.app.call_from_thread(self.notify, str(exc), title=exc.title, severity="error")
            return
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
        self.app.call_from_thread(self.app.push_screen, yaml_screen(f"{kind} {title}", text))

    # --- actions ------------------------------------------------------------

    @on(ResourceView.ActionRequested)
    def action_requested(self, message: ResourceView.ActionRequested) -> None:
        action = ACTIONS[message.action_id]
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
            return
        problem = self.fleet.same_engine()
        hosts = {record.host for _, record in message.rows}
        if problem is not None and hosts & set(problem.hosts):
            self.notify(str(problem), title=f"{action.verb.capitalize()} refused",
                        severity="error", timeout=15)
            return
        targets = [
            (record.host, record.ref, f"{record.host}/{display_name(record)}")
            for _, record in message.rows
        ]
        if not action.destructive:
            self.run_action(message.action_id, targets)
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.run_action(message.action_id, targets)

        count = f"{len(targets)} {action.kind}s" if len(targets) > 1 else f"this {action.kind}"
        question = f"{action.verb.capitalize()} {count}?"
        self.app.push_screen(ConfirmScreen(question, [key for *_, key in targets]), confirmed)

    @work(thread=True, group="actions")
    def run_action(self, action_id: str, targets: list[tuple[str, str, str]]) -> None:
        """Carry out an action on each target, reporting progress and failures."""
        action = ACTIONS[action_id]
        done = 0
        for index, (host, ref, name) in enumerate(targets, 1):
            if len(targets) > 1:
                self.app.call_from_thread(
                    self.notify, f"{action.verb} {name} ({index}/{len(targets)})", timeout=2
                )
            try:
                act(self.fleet.session(host), action_id, ref)
                done += 1
            except BackendError as exc:
                self.app.call_from_thread(
                    self.notify, str(exc), title=f"{action.verb} failed", severity="error",
                    timeout=8,
                )
        if done:
            self.app.call_from_thread(
                self.notify, f"{action.verb}: {done} of {len(targets)} done", timeout=3
            )
        if action.kind in ("volume", "image"):
            self.app.call_from_thread(self.load_listing, f"{action.kind}s")

    @on(ImagesView.TransferRequested)
    def transfer_images(self, message: ImagesView.TransferRequested) -> None:
        if not self.readonly:  # the keys are hidden; belt and braces
            images_ui.ask_transfer(self, message)

    @on(ImagesView.RemoveRequested)
    def remove_images(self, message: ImagesView.RemoveRequested) -> None:
        if not self.readonly:
            images_ui.ask_remove(self, message.rows)

    @on(ImagesView.TransfersRequested)
    def show_transfers(self) -> None:
        images_ui.show_transfers(self)

    @on(StacksView.SettleUpgrade)
    def settle_upgrade(self, message: StacksView.SettleUpgrade) -> None:
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
            return
        if message.swarm is not None:  # the Swarm engine's stack
            from corral.tui.console import swarm_stack_ui

            swarm_stack_ui.settle(self.app, self.fleet, message.swarm, message.keep)
            return
        from corral.tui.console.stack_ui import ask_and_settle

        ask_and_settle(self.app, self.flow, message.stack, message.keep)

    @on(StacksView.Upgrade)
    def upgrade_stack(self, message: StacksView.Upgrade) -> None:
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
            return
        if message.swarm is not None:
            from corral.tui.console import swarm_stack_ui

            swarm_stack_ui.upgrade(self.app, self.fleet, message.swarm,
                                   self.app.config.catalogs,
                                   getattr(self.app, "bundle_catalogs", ()))
            return
        from corral.tui.console.stack_ui import open_upgrade

        open_upgrade(self.app, self.flow, message.stack, self.app.config.catalogs,
                     getattr(self.app, "bundle_catalogs", ()))

    @on(StacksView.Change)
    def change_stack(self, message: StacksView.Change) -> None:
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
            return
        if message.swarm is not None:
            from corral.tui.console import swarm_stack_ui

            if message.service is None:
                swarm_stack_ui.ask_and_remove(self.app, self.fleet, message.swarm)
            else:
                swarm_stack_ui.scale(self.app, self.fleet, message.swarm, message.delta)
            return
        from corral.tui.console.stack_ui import ask_and_remove, scale

        if message.service is None:
            ask_and_remove(self.app, self.flow, message.stack, message.containers)
        else:
            scale(self.app, self.flow, message.stack, message.service, message.current,
                  message.delta)

    @on(StacksView.TasksRequested)
    def tasks_requested(self, message: StacksView.TasksRequested) -> None:
        self.show_tasks(message.service)

    def show_tasks(self, service) -> None:
        """A swarm service's tasks; logs or a shell of one opens in a pane."""
        from corral.tui.console.screens.swarm_tasks import TasksScreen

        async def chosen(choice: tuple[str, str] | None) -> None:
            if choice is not None:
                await self.open_target(*choice)

        self.app.push_screen(TasksScreen(service, readonly=self.readonly), chosen)

    @on(NodesView.AvailabilityRequested)
    def availability_requested(self, message: NodesView.AvailabilityRequested) -> None:
        """Ask, naming node and host (and, to drain, the tasks that would move), then go."""
        from corral.tui.console.swarm_ui import ask_availability

        if self.readonly:  # the keys are hidden; belt and braces
            self.notify("read-only: changes are disabled", severity="error")
            return
        ask_availability(self, message.record, message.availability)

    @on(StacksView.Reconcile)
    def reconcile_stack(self, message: StacksView.Reconcile) -> None:
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
            return
        if message.swarm is not None:
            from corral.tui.console import swarm_stack_ui

            swarm_stack_ui.reconcile(self.app, message.swarm)
            return
        from corral.tui.console.stack_ui import ask_and_reconcile

        ask_and_reconcile(self.app, self.flow, message.stack)

    # --- panes --------------------------------------------------------------

    @on(ContainersView.OpenPane)
    async def open_pane(self, message: ContainersView.OpenPane) -> None:
        await self.open_target(message.what, message.target)

    async def open_target(self, what: str, target: str) -> None:
        """Open a log or shell pane for `target` (`host/container`, `stack/service`)."""
        from corral.tui.console.pane_factory import make_pane

        if what == "shell" and self.readonly:  # the key is hidden; belt and braces
            self.notify("read-only: changes are disabled", severity="error")
            return
        try:
            content = make_pane(what, self.fleet, target)
        except (CorralError, ValueError) as exc:
            self.notify(f"cannot open {what}: {exc}", severity="error")
            return
        await self.workspace.add_pane(content, f"{what} {target}", self.stacked)

    @on(Pane.Closed)
    async def close_pane(self, message: Pane.Closed) -> None:
        await self.workspace.close_pane(message.pane)
        self.current_view().focus()

    async def on_log_pane_closed(self, message) -> None:
        await self._close_content(message.pane)

    async def on_shell_pane_closed(self, message) -> None:
        await self._close_content(message.pane)

    async def _close_content(self, content) -> None:
        """A log view or shell asked to close: remove the pane around it."""
        for pane in self.workspace.panes:
            if pane.content is content:
                await self.workspace.close_pane(pane)
        self.current_view().focus()

    @property
    def workspace(self) -> Workspace:
        return self.query_one(Workspace)

    def on_hosts_view_doctor_requested(self, message: HostsView.DoctorRequested) -> None:
        """`D` on the hosts view: the doctor on every host, then this host's checks."""
        from corral.tui.console import doctor_ui

        doctor_ui.start(self, message.host)

    async def on_hosts_view_reconnect_now(self, message: HostsView.ReconnectNow) -> None:
        """`C` on the hosts view: retry those hosts now."""
        await reconnect_now(self.app, self.fleet, message.hosts)

    async def reconnect_host(self, name: str) -> None:
        """Retry one host now (the command palette's "Reconnect HOST now")."""
        await reconnect_now(self.app, self.fleet, [name])

    def on_hosts_view_add_host(self) -> None:
        """Open the Add host form; a host it adds is watched like the others."""
        from corral.tui.console.screens.add_host import AddHostScreen

        if self.readonly:  # the key is hidden; belt and braces
            self.notify("read-only: changes are disabled", severity="error")
            return

        def added(spec) -> None:
            if spec is None:
                return
            self.watch_new_hosts()
            self.sub_title = f"{len(self.fleet.sessions)} hosts"
            self.query("#no-hosts").remove()
            self.load_hosts()

        self.app.push_screen(AddHostScreen(self.fleet), added)


