"""One catalog question in a form: the widget its type calls for, help and an inline error.

string, service, certificate and int questions get an Input, password and secret a
masked Input, boolean a Switch, enum a Select and multiline a TextArea. An
int answer is a plain Input too: Textual's integer Input drops a character it
does not accept without a word (typing `1.5` would give `15`); here every key
typed stays, and the question's own rules say "must be a whole number".

Every answer is a string, as in the catalog layer; the field checks it with
`Question.validate()` on every change and shows the message under the widget.
Messages about a password never contain its value.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch, TextArea

from corral.catalog.questions import Question

#: What Corral says under questions that only make sense inside a Rancher environment.
ENVIRONMENT_NOTES = {
    "service": "Tied to a Rancher environment: a service outside this stack is reported "
               "as unsupported.",
    "certificate": "Tied to a Rancher environment's certificate store: any value is "
                   "reported as unsupported.",
}

Rules = Callable[[str | None], str | None]


class QuestionRules(Validator):
    """A Textual validator that applies a question's own rules."""

    def __init__(self, rules: Rules):
        super().__init__()
        self.rules = rules

    def validate(self, value: str) -> ValidationResult:
        message = self.rules(value)
        return self.success() if message is None else self.failure(message)


class QuestionField(Vertical):
    """A question's label, its widget, its help text and its current problem.

    Args:
        question: The question to ask.
        rules: Checks an answer (default `question.validate`); the stack name
            field passes its own.
        id: The widget id.
    """

    DEFAULT_CSS = """
    QuestionField { height: auto; margin-top: 1; }
    QuestionField > .row { height: auto; }
    QuestionField > .row > Label { width: 30; padding-right: 1; }
    QuestionField > .row > .control { width: 1fr; }
    QuestionField > .row > Input { background: $boost; }
    QuestionField > .row > Input:focus { background: $primary 20%; }
    QuestionField > .row > TextArea { height: 4; background: $boost; }
    QuestionField.-boolean > .row > .control { width: auto; }
    QuestionField > .help { color: $text-muted; margin-left: 30; height: auto; }
    QuestionField > .error { color: $error; margin-left: 30; height: auto; }
    QuestionField > .error.-empty { display: none; }
    """

    def __init__(self, question: Question, *, rules: Rules | None = None,
                 id: str | None = None):
        super().__init__(id=id, classes=f"-{question.type}")
        self.question = question
        self.rules: Rules = rules or question.validate
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        question = self.question
        required = question.required and question.type != "boolean"
        with Horizontal(classes="row"):
            yield Label(question.label + (" *" if required else ""))
            yield self._make_control()
        notes = [n for n in (question.description, ENVIRONMENT_NOTES.get(question.type)) if n]
        if notes:
            yield Static(" ".join(notes), classes="help", markup=False)
        yield Static("", classes="error -empty", markup=False)

    def _make_control(self) -> Widget:
        question = self.question
        initial = question.initial() or ""
        if question.type == "boolean":
            return Switch(value=initial == "true", classes="control")
        if question.type == "enum":
            value = initial if initial in question.options else Select.NULL
            return Select([(o, o) for o in question.options], value=value, prompt="(none)",
                          compact=True, classes="control")
        if question.type == "multiline":
            return TextArea(initial, soft_wrap=True, compact=True, classes="control")
        return Input(
            initial,
            password=question.secret,
            validators=[QuestionRules(self.rules)],
            # An optional field left empty is fine; the rules say so too.
            valid_empty=not question.required,
            compact=True,
            classes="control",
        )

    def on_mount(self) -> None:
        self.check()

    @property
    def control(self) -> Widget:
        """The widget the user edits."""
        return self.query_one(".control")

    @property
    def value(self) -> str:
        """The answer as the catalog layer wants it: a string, "" when empty."""
        control = self.control
        if isinstance(control, Switch):
            return "true" if control.value else "false"
        if isinstance(control, Select):
            return "" if control.value is Select.NULL else str(control.value)
        if isinstance(control, TextArea):
            return control.text
        assert isinstance(control, Input)
        return control.value

    def set_value(self, value: str) -> str | None:
        """Put an answer into the widget.

        Returns:
            None, or why the widget cannot hold it (then it is left unchanged).
        """
        control = self.control
        if isinstance(control, Switch | Select):
            problem = self.rules(value) if value else None
            if problem:
                return problem
            if isinstance(control, Switch):
                control.value = value == "true"
            else:
                control.value = value or Select.NULL
        elif isinstance(control, TextArea):
            control.text = value
        else:
            assert isinstance(control, Input)
            control.value = value
        self.check()
        return None

    def check(self) -> str | None:
        """Validate the current answer and show the problem, if any, under the widget."""
        self.problem = self.rules(self.value)
        error = self.query_one(".error", Static)
        error.update(self.problem or "")
        error.set_class(self.problem is None, "-empty")
        return self.problem

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    @on(TextArea.Changed)
    def _changed(self) -> None:
        self.check()
