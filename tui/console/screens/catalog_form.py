"""The questions form of one catalog version: answers, answers files, preview, plan.

Each question gets the widget its type calls for (`QuestionField`), under its
group's heading; questions without a group come first. Problems show under
each field as the user types; Preview and Plan with a problem left put the
cursor on the first one and say so on the status line, which stays at the
top of the form. Leaving the form (escape, `:`, quitting) asks first while
it holds answers that were typed and not saved (`leaving.leave_then`).

The form saves its answers to a YAML answers file and loads them back;
**passwords are never written** (as Rancher's own tools do), so a loaded form
asks for them again. Preview renders the stack and shows it as YAML with
passwords masked; Plan renders it and posts `CatalogForm.PlanRequested` for
whoever plans deployments. "Drop Rancher-only features" renders as the command
line's `--without-rancher-features` does.

Answers files are a few hundred bytes on a local disk, so they are read and
written on the UI thread.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Header, Input, Label, Static

from corral.backends.deploy import UpgradeSeed, render_upgrade, upgrade_questions
from corral.catalog.answers import Answers, dump_answers, load_answers_file, resolve_answers
from corral.catalog.errors import CatalogError, RenderError
from corral.catalog.loader import Entry, Version
from corral.catalog.questions import Question
from corral.catalog.render import STACK_NAME, render
from corral.catalog.spec import Stack
from corral.tui.console.screens.command_screen import CommandScreen
from corral.tui.console.screens.leaving import FORM_CLASS, leave_then
from corral.tui.console.screens.modals import yaml_screen
from corral.tui.console.widgets.command_line import CommandLine
from corral.tui.console.widgets.keys_footer import KeysFooter
from corral.tui.console.widgets.question_field import QuestionField

STACK_FIELD = "stack-name"


def stack_name_problem(value: str | None) -> str | None:
    """Why `value` cannot name a stack, or None."""
    if not value:
        return "Stack name is required"
    if not STACK_NAME.fullmatch(value):
        return "use letters, digits and -, starting with a letter or digit (at most 63)"
    return None


def without_empty(value: object) -> object:
    """`value` without null, empty-list and empty-mapping fields, for a readable preview."""
    if isinstance(value, dict):
        kept = {k: without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [without_empty(v) for v in value]
    return value


def grouped(questions: tuple[Question, ...]) -> list[tuple[str | None, list[Question]]]:
    """Questions by group in order of first appearance; ungrouped ones first."""
    groups: dict[str | None, list[Question]] = {None: []}
    for question in questions:
        groups.setdefault(question.group, []).append(question)
    return [(name, members) for name, members in groups.items() if members]


class CatalogForm(VerticalScroll):
    """Answer a catalog version's questions, then preview or plan the stack.

    Args:
        entry: The catalog entry.
        version: The version whose questions are asked.
        answers_path: The answers file the path field starts with (default
            `<entry>-answers.yaml` in the working directory).
        id: The widget id.
    """

    DEFAULT_CSS = """
    CatalogForm { padding: 0 2; border: round $primary; }
    CatalogForm > .group { text-style: bold; color: $accent; margin-top: 1;
        border-bottom: solid $accent 50%; height: auto; }
    CatalogForm > .row { height: auto; margin-top: 1; }
    CatalogForm > .row > Label { width: 30; padding-right: 1; }
    CatalogForm #answers-path { width: 1fr; background: $boost; }
    CatalogForm > .row > Button { margin-left: 1; min-width: 10; }
    CatalogForm #actions { align: right middle; margin-bottom: 1; }
    /* Docked: the status ("Fix the 2 answers…") shows however far the form scrolled. */
    CatalogForm #form-status { dock: top; height: auto; padding: 0 1; background: $panel;
        display: none; }
    CatalogForm #form-status.-shown { display: block; }
    CatalogForm #form-status.-error { color: $error; text-style: bold; }
    """
    DEFAULT_CLASSES = FORM_CLASS
    BINDINGS = [
        Binding("ctrl+s", "save_answers", "Save answers", id="catalog_form.save",
                tooltip="Write the answers (passwords left out) to the answers file"),
        Binding("ctrl+o", "load_answers", "Load answers", id="catalog_form.load",
                tooltip="Fill the form from the answers file"),
        Binding("ctrl+r", "preview", "Preview", id="catalog_form.preview",
                tooltip="Render the stack and show it as YAML (passwords masked)"),
        Binding("ctrl+g", "plan", "Plan", id="catalog_form.plan",
                tooltip="Render the stack and plan its deployment"),
    ]

    class PlanRequested(Message):
        """The user asked to plan a deployment of the rendered stack.

        Attributes:
            entry: The catalog entry.
            version: The version answered.
            answers: The validated answers (their repr masks passwords).
            stack_name: The stack name typed in the form.
            stack: The stack rendered from them.
            upgrade: The seed of the deployed stack the form upgrades (its
                `engine` says which engine plans it), or None.
        """

        def __init__(self, entry: Entry, version: Version, answers: Answers, stack_name: str,
                     stack: Stack | None = None, upgrade: UpgradeSeed | None = None):
            super().__init__()
            self.entry = entry
            self.version = version
            self.answers = answers
            self.stack_name = stack_name
            self.stack = stack
            self.upgrade = upgrade

    def __init__(self, entry: Entry, version: Version, *, answers_path: str | None = None,
                 id: str | None = None, upgrade: UpgradeSeed | None = None):
        super().__init__(id=id)
        self.entry = entry
        self.version = version
        #: The deployed stack this form upgrades (its answers fill the form), or None.
        self.upgrade = upgrade
        self.default_name = upgrade.stack if upgrade else entry.id.rsplit("/", 1)[-1]
        self.answers_path = answers_path or f"{self.default_name}-answers.yaml"
        self.fields: dict[str, QuestionField] = {}
        #: The answers as last opened, saved or loaded (None until the fields exist).
        self._clean: dict[str, str] | None = None

    def on_mount(self) -> None:
        # After the fields (and anything filling them as the screen mounts) are done.
        self.call_after_refresh(self.mark_clean)

    @property
    def questions(self) -> tuple[Question, ...]:
        """The version's questions, in file order (an upgrade's kept passwords optional)."""
        if self.upgrade is not None:
            return upgrade_questions(self.version.info.questions, self.upgrade.kept_secrets)
        return self.version.info.questions

    def fill_from_deployed(self) -> None:
        """An upgrade form: the deployed answers and scales; the stack name stays fixed."""
        if self.upgrade is None:
            return
        self.query_one(f"#{STACK_FIELD}", QuestionField).control.disabled = True
        for variable, value in self.upgrade.answers.items():
            self.fields[variable].set_value(value)
        notes = [f"Upgrading stack {self.upgrade.stack} (generation {self.upgrade.generation})"
                 " from its deployed answers; passwords left empty stay unchanged.",
                 *(f"{note[0].upper()}{note[1:]}." for note in self.upgrade.notes)]
        self.say(" ".join(notes))

    def compose(self) -> ComposeResult:
        name = Question(variable=STACK_FIELD, label="Stack name", required=True,
                        default=self.default_name)
        yield QuestionField(name, rules=stack_name_problem, id=STACK_FIELD)
        if not self.questions:
            yield Static("This version asks no questions.", classes="group")
        for index, question in enumerate(self.questions):
            self.fields[question.variable] = QuestionField(question, id=f"q-{index}")
        for group, members in grouped(self.questions):
            if group is not None:
                yield Static(group, classes="group", markup=False)
            for question in members:
                yield self.fields[question.variable]
        yield Static("Answers file (passwords are not saved)", classes="group")
        with Horizontal(classes="row"):
            yield Label("Path")
            yield Input(self.answers_path, id="answers-path", compact=True)
            yield Button("Load", id="load", compact=True)
            yield Button("Save", id="save", compact=True)
        yield Static("", id="form-status", markup=False)
        with Horizontal(classes="row", id="actions"):
            yield Button("Preview", id="preview")
            yield Button("Plan", id="plan", variant="primary")
            # `--without-rancher-features` of the command line (upgrades too).
            yield Checkbox("Drop Rancher-only features", id="without-rancher",
                           compact=True,
                           tooltip="Agent roles, agent services, Rancher storage and"
                           " network drivers are left out, each named in the plan")

    # --- answers ------------------------------------------------------------

    @property
    def stack_name(self) -> str:
        """The stack name as typed."""
        return self.query_one(f"#{STACK_FIELD}", QuestionField).value.strip()

    def form_values(self) -> dict[str, str]:
        """The answers as typed; empty answers to questions without default are left out.

        Leaving those out keeps them absent from `.Values`, as Rancher did.
        """
        values: dict[str, str] = {}
        for question in self.questions:
            value = self.fields[question.variable].value
            if value or question.default is not None:
                values[question.variable] = value
        return values

    def answers_now(self) -> dict[str, str]:
        """Every field's answer as typed, the stack name included, by variable."""
        values = {STACK_FIELD: self.query_one(f"#{STACK_FIELD}", QuestionField).value}
        values.update((variable, field.value) for variable, field in self.fields.items())
        return values

    def mark_clean(self) -> None:
        """Take the answers as they are now as saved: leaving no longer asks."""
        self._clean = self.answers_now()

    def changed(self) -> list[str]:
        """Labels of the fields whose answer changed since opened, saved or loaded."""
        if self._clean is None:
            return []
        labels = {STACK_FIELD: "Stack name"} | {v: f.question.label
                                                for v, f in self.fields.items()}
        now = self.answers_now()
        return [labels[v] for v in now if now[v] != self._clean.get(v)]

    @property
    def unsaved(self) -> bool:
        """Whether answers were typed since the form opened, saved or loaded."""
        return bool(self.changed())

    def title(self) -> str:
        """Entry, version and stack name, for questions about this form."""
        return f"{self.entry.id} {self.version.version} (stack {self.stack_name or '?'})"

    def changed_summary(self) -> str:
        """Which answers changed, in a few words (labels, never values)."""
        labels = self.changed()
        shown = ", ".join(labels[:4]) + (f" and {len(labels) - 4} more" if len(labels) > 4
                                         else "")
        return f"{len(labels)} answer{'s' * (len(labels) > 1)} changed: {shown}"

    def secret_names(self) -> frozenset[str]:
        """Variables of the password questions."""
        return frozenset(q.variable for q in self.questions if q.secret)

    def say(self, text: str, error: bool = False) -> None:
        """Show one status line under the form."""
        status = self.query_one("#form-status", Static)
        status.update(text)
        status.set_class(error, "-error")
        status.set_class(bool(text), "-shown")

    def checked_answers(self) -> Answers | None:
        """The validated answers, or None after pointing at every field in error.

        The cursor goes to the first field in error and the status line, at
        the top, names it: nothing is rendered until every answer is right.
        """
        bad = [f for f in self.query(QuestionField) if f.check()]  # in screen order
        if bad:
            first = bad[0]
            count = f"{len(bad)} answer{'s' * (len(bad) > 1)}"
            self.say(f"Fix {count} marked in red first; the cursor is on the first: "
                     f"{first.question.label}: {first.problem}", error=True)
            first.control.focus(scroll_visible=False)
            self.call_after_refresh(self.scroll_to_widget, first, animate=False)
            return None
        try:
            return resolve_answers(self.questions, form=self.form_values())
        except CatalogError as exc:
            self.show_problems(exc)
            return None

    def rendered(self) -> tuple[Answers, Stack] | None:
        """Validated answers and the stack they render to, or None (problems shown)."""
        answers = self.checked_answers()
        if answers is None:
            return None
        try:
            drop = self.query_one("#without-rancher", Checkbox).value
            if self.upgrade is not None:
                return render_upgrade(self.version, answers, self.upgrade, self.stack_name,
                                      without_rancher_features=drop)
            return answers, render(self.version, answers, stack_name=self.stack_name,
                                   without_rancher_features=drop)
        except CatalogError as exc:
            self.show_problems(exc)
            return None

    def show_problems(self, exc: CatalogError) -> None:
        problems = exc.problems if isinstance(exc, RenderError) else [exc]
        self.say("\n".join(str(p) for p in problems), error=True)

    # --- answers files ------------------------------------------------------

    def path(self) -> Path:
        return Path(self.query_one("#answers-path", Input).value.strip()).expanduser()

    def action_save_answers(self) -> None:
        """Write the answers, without passwords, to the answers file."""
        path = self.path()
        answers = Answers(values=self.form_values(), secret_names=self.secret_names())
        try:
            path.write_text(dump_answers(answers), encoding="utf-8")
        except OSError as exc:
            self.say(f"cannot write {path}: {exc.strerror or exc}", error=True)
            return
        saved = len([k for k in answers.values if k not in answers.secret_names])
        self.mark_clean()
        self.say(f"Saved {saved} answers to {path} (passwords are not saved).")

    def action_load_answers(self) -> None:
        """Fill the fields from the answers file; passwords it holds are used too."""
        path = self.path()
        try:
            values, _ = load_answers_file(path)
        except CatalogError as exc:
            self.say(str(exc), error=True)
            return
        unknown, refused = [], []
        for variable, value in values.items():
            field = self.fields.get(variable)
            if field is None:
                unknown.append(variable)
            elif (problem := field.set_value(value)) is not None:
                refused.append(f"{variable} ({problem})")
        self.mark_clean()
        parts = [f"Loaded {len(values) - len(unknown) - len(refused)} answers from {path}."]
        if refused:
            parts.append("Not loaded: " + "; ".join(refused) + ".")
        if unknown:
            parts.append("No such question: " + ", ".join(unknown) + ".")
        self.say(" ".join(parts), error=bool(refused or unknown))

    # --- preview and plan ---------------------------------------------------

    def action_preview(self) -> None:
        """Show the rendered stack as YAML, passwords masked."""
        result = self.rendered()
        if result is None:
            return
        _, stack = result
        notes = [f"# {problem}" for problem in stack.warnings]
        if not stack.deployable:
            notes.insert(0, "# Not deployable: uses features only a Rancher server provides.")
        data = stack.to_dict()
        data.pop("warnings", None)  # already listed above the YAML
        body = yaml.safe_dump(without_empty(data), sort_keys=False, allow_unicode=True)
        text = "\n".join([*notes, body])
        self.say("")
        self.app.push_screen(yaml_screen(
            f"{stack.name}: {self.entry.id} {self.version.version}", text))

    def action_plan(self) -> None:
        """Render the stack and ask for a deployment plan."""
        result = self.rendered()
        if result is None:
            return
        answers, stack = result
        self.say(f"Planning stack {stack.name}…")
        self.post_message(self.PlanRequested(self.entry, self.version, answers, stack.name,
                                             stack, self.upgrade))

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        actions = {"load": self.action_load_answers, "save": self.action_save_answers,
                   "preview": self.action_preview, "plan": self.action_plan}
        if event.button.id in actions:
            event.stop()
            actions[event.button.id]()

    @on(Input.Submitted, "#answers-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_load_answers()


class CatalogFormScreen(CommandScreen):
    """The questions form full-screen, over the catalog views.

    Tab and shift+tab are the form's own bindings, so F1 lists them; as
    priority bindings they move the focus before the next key is read, even
    in an app without `key_order.InOrderKeys`. `q` here is text or nothing
    (`leaving.letters_are_local`), `?` in a text field is text: F1 is help.

    Args:
        entry: The catalog entry.
        version: The version to configure.
        answers_path: The answers file the form starts with.
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="catalog_form.back",
                tooltip="Leave the form (asks first if answers typed are not saved)"),
        # In a text field `?` is text: F1 is the help key that always works here.
        Binding("f1,question_mark", "help", "Help", id="catalog_form.help",
                tooltip="Every key of this form"),
        Binding("tab", "focus_field(1)", "Next field", id="form.next", show=False,
                priority=True, tooltip="Move to the next field"),
        Binding("shift+tab", "focus_field(-1)", "Previous field", id="form.previous",
                show=False, priority=True, tooltip="Move to the previous field"),
    ]

    def __init__(self, entry: Entry, version: Version, *, answers_path: str | None = None,
                 upgrade: UpgradeSeed | None = None):
        super().__init__()
        self.entry = entry
        self.version = version
        self.answers_path = answers_path
        self.upgrade = upgrade

    def compose(self) -> ComposeResult:
        yield Header()
        form = CatalogForm(self.entry, self.version, answers_path=self.answers_path,
                           id="catalog-form", upgrade=self.upgrade)
        form.border_title = f"{self.entry.name} {self.version.version}"
        if self.upgrade is not None:
            form.border_title = f"upgrade {self.upgrade.stack}: {form.border_title}"
        yield form
        yield self.command_line()
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"configure {self.entry.id} {self.version.version}"
        form = self.query_one(CatalogForm)
        form.fill_from_deployed()
        first = next(iter(form.fields.values()), None) if self.upgrade else None
        target = first or self.query_one(f"#{STACK_FIELD}", QuestionField)
        target.control.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_field":
            # The command line takes Tab itself, to complete.
            return not isinstance(self.focused, CommandLine)
        return True

    def action_focus_field(self, step: int) -> None:
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def action_back(self) -> None:
        leave_then(self.app, "Leave the form", self.dismiss)
