"""The Add host form: describe a host, try it, accept its key, save it.

Saving is possible only after a try reached the host over SSH with the
fields as they are now: its key is then verified (or was explicitly
accepted) and recorded. The try runs on the backend loop and the file write
on a thread, so the console keeps drawing while either waits.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from corral.backends import guard
from corral.backends.errors import BackendError
from corral.backends.inventory import (
    HostEntry,
    HostSpec,
    add_host,
    default_inventory_path,
    identity_path,
    parse_labels,
)
from corral.backends.ssh import Fleet, ProbeReport, check_same_engine, probe_host

#: (field id, label, placeholder)
FIELDS = (
    ("name", "Name", "edge1"),
    ("ssh", "SSH target", "user@address[:port] or an ~/.ssh/config alias"),
    ("identity", "Identity file", "optional: ~/.ssh/id_ed25519"),
    ("socket", "Socket path", "optional: /var/run/docker.sock"),
    ("labels", "Labels", "optional: zone=a, role=edge"),
)
REQUIRED = ("name", "ssh")


class AddHostScreen(ModalScreen[HostSpec | None]):
    """Add a host to the inventory; dismisses with its spec once saved.

    Args:
        fleet: The console's fleet; the saved host joins it.
        inventory_path: The file to write; default the fleet's inventory,
            else the default inventory path.
    """

    DEFAULT_CSS = """
    AddHostScreen { align: center middle; }
    AddHostScreen > VerticalScroll { width: 96; max-width: 100%; height: auto;
        max-height: 100%; border: thick $accent; padding: 0 2; background: $surface; }
    AddHostScreen .row { height: auto; margin-top: 1; }
    AddHostScreen .row Label { width: 16; }
    AddHostScreen .row Input { width: 1fr; background: $boost; }
    AddHostScreen .row Input:focus { background: $primary 20%; }
    AddHostScreen .error { color: $error; margin-left: 16; height: auto; }
    AddHostScreen .error.-empty { display: none; }
    AddHostScreen #key-box { height: auto; display: none; border: round $warning;
        padding: 0 1; margin-top: 1; }
    AddHostScreen #key-box.-shown { display: block; }
    AddHostScreen #result { height: auto; margin-top: 1; }
    AddHostScreen #buttons { height: auto; align: right middle; margin-top: 1; }
    AddHostScreen #buttons Button { margin-left: 2; width: auto; }
    AddHostScreen #buttons #try { width: 28; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="add_host.cancel",
                tooltip="Close the form without adding the host"),
        Binding("ctrl+t", "try", "Try", id="add_host.try",
                tooltip="Connect to the host and ask its Docker engine"),
        Binding("ctrl+s", "save", "Save", id="add_host.save",
                tooltip="Write the host into the inventory (after a successful try)"),
    ]

    def __init__(self, fleet: Fleet, inventory_path: str | os.PathLike[str] | None = None):
        super().__init__()
        self.fleet = fleet
        self.inventory_path = Path(
            inventory_path or fleet.inventory.path or default_inventory_path()
        )
        self.report: ProbeReport | None = None
        self.tried: HostEntry | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Add host"
            box.border_subtitle = str(self.inventory_path)
            for field, label, placeholder in FIELDS:
                with Horizontal(classes="row"):
                    yield Label(label)
                    yield Input(placeholder=placeholder, id=field, compact=True)
                yield Static("", id=f"{field}-error", classes="error -empty")
            with Vertical(id="key-box"):
                yield Static("", id="key")
                yield Checkbox("I have verified this fingerprint", id="verified")
            yield Static("Fill in the host, then Try it.", id="result")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Try connection", id="try", variant="primary")
                yield Button("Save", id="save", variant="success", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    # --- fields -------------------------------------------------------------

    def field(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value.strip()

    def read_entry(self, require: bool) -> HostEntry | None:
        """The entry the fields describe, showing each field's problem.

        Args:
            require: Also flag required fields left empty (on Try and Save,
                not while the user is still typing).
        """
        problems: dict[str, str] = {}
        try:
            labels = parse_labels(self.field("labels").split(","))
        except ValueError as exc:
            labels, problems["labels"] = {}, str(exc)
        entry = HostEntry(
            name=self.field("name"),
            ssh=self.field("ssh"),
            identity=(identity_path(self.field("identity")),) if self.field("identity") else (),
            socket=self.field("socket") or None,
            labels=labels,
        )
        problems = {**entry.problems(), **problems}
        if entry.name in self.fleet.sessions:
            problems["name"] = f"a host named {entry.name!r} is already managed"
        for name in REQUIRED:
            if not self.field(name):
                problems[name] = "required"
        for name, *_ in FIELDS:
            shown = problems.get(name) if require or self.field(name) else None
            error = self.query_one(f"#{name}-error", Static)
            error.update(escape(shown or ""))
            error.set_class(not shown, "-empty")
        return None if problems else entry

    @on(Input.Changed)
    def fields_changed(self) -> None:
        entry = self.read_entry(require=False)
        if entry != self.tried:  # what was tried is not what would be saved
            self.tried, self.report = None, None
            self.show_report()

    @on(Input.Submitted)
    def field_submitted(self) -> None:
        self.focus_next()

    @on(Checkbox.Changed)
    def verified_changed(self) -> None:
        self.update_buttons()

    # --- trying -------------------------------------------------------------

    @property
    def readonly(self) -> bool:
        """Corral may not write here: trying may record a host key, saving writes the file."""
        return self.fleet.readonly or guard.readonly_reason() is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # `a` is hidden in read-only mode, so this form never opens there; should it
        # anyway, it neither tries nor saves.
        if action in ("try", "save") and self.readonly:
            return False
        return super().check_action(action, parameters)

    @on(Button.Pressed, "#try")
    def action_try(self) -> None:
        if self.readonly:
            self.notify("read-only: changes are disabled", severity="error")
            return
        entry = self.read_entry(require=True)
        if entry is None or self.busy:
            return
        accept = None
        if (
            self.report is not None
            and self.report.needs_acceptance
            and self.query_one("#verified", Checkbox).value
        ):
            accept = self.report.fingerprint
        self.try_host(entry, accept)

    @work(exclusive=True, group="add-host")
    async def try_host(self, entry: HostEntry, accept: str | None) -> None:
        """Probe the host on the backend loop, then show what it found."""
        self.busy = True
        self.set_result("[yellow]Connecting…[/]")
        self.update_buttons()
        try:
            report = await self.fleet.backend.arun(
                probe_host(entry.to_spec(), self.fleet.settings, accept)
            )
            # A second name for an engine the console manages is refused.
            report, _ = await self.fleet.backend.arun(check_same_engine(report, self.fleet))
        finally:
            self.busy = False
        if self.read_entry(require=False) != entry:
            # Edited while connecting: this report is not about what Save would write.
            self.tried, self.report = None, None
            self.show_report()
            self.set_result("The fields changed while connecting: try again.")
            return
        self.tried, self.report = entry, report
        self.show_report()

    def show_report(self) -> None:
        """Render the last report: the key to accept, what was found, or why not."""
        report = self.report
        key_box = self.query_one("#key-box")
        verified = self.query_one("#verified", Checkbox)
        pending = report is not None and report.needs_acceptance
        key_box.set_class(pending, "-shown")
        if pending:
            self.query_one("#key", Static).update(
                f"[b]{escape(report.target)}[/] presents a host key that is not in known_hosts:"
                f"\n\n  [b]{escape(report.fingerprint or '?')}[/]\n\n"
                "Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub, "
                "run on the host). Accept it only if they match."
            )
        else:
            verified.value = False
        if report is None:
            self.set_result("Fill in the host, then Try it.")
        elif report.refusal is not None:
            self.set_result(f"[red]✖ Not addable: {escape(report.refusal)}.[/]")
        elif report.ok:
            self.set_result(
                f"[green]✓ {escape(report.describe())}[/]\nHost key {report.fingerprint}"
                f"{' (recorded in known_hosts)' if report.key_recorded else ''}. Save to add it."
            )
        elif report.ssh_ok:
            self.set_result(
                f"[yellow]⚠ {escape(report.describe())}[/]\n"
                "You can still save it: the console keeps trying its engine."
            )
        elif pending:
            self.set_result("Tick the box once verified, then accept the key and connect.")
        else:
            title = report.error.title if report.error else "Failed"
            self.set_result(f"[red]✖ {escape(title)}: {escape(report.describe())}[/]")
        self.update_buttons()

    def set_result(self, markup: str) -> None:
        self.query_one("#result", Static).update(markup)

    def update_buttons(self) -> None:
        try_button = self.query_one("#try", Button)
        pending = self.report is not None and self.report.needs_acceptance
        verified = self.query_one("#verified", Checkbox).value
        try_button.label = "Accept key and connect" if pending and verified else "Try connection"
        try_button.disabled = self.busy
        self.query_one("#save", Button).disabled = self.busy or not self.can_save()

    def can_save(self) -> bool:
        return (self.report is not None and self.report.ssh_ok and self.tried is not None
                and self.report.refusal is None)

    # --- saving -------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.busy or not self.can_save() or self.readonly:
            return
        self.save(self.tried)

    @work(exclusive=True, group="add-host")
    async def save(self, entry: HostEntry) -> None:
        """Write the inventory on a thread, then hand the host to the fleet."""
        self.busy = True
        self.update_buttons()
        try:
            inventory = await asyncio.to_thread(add_host, self.inventory_path, entry)
            spec = inventory.get(entry.name)
            await self.fleet.backend.arun(self.fleet.add_host(spec))
        except BackendError as exc:
            self.busy = False
            self.set_result(f"[red]✖ Not saved: {escape(str(exc))}[/]")
            self.update_buttons()
            return
        self.app.notify(f"added {spec.name} to {inventory.path}", title="Host added")
        self.dismiss(spec)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
