"""What a shell pane looks like beside a log pane: colours, a prompt, the cursor."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal

from corral.backends.logs.target import LogTarget
from corral.tui.console.widgets.logs.view import LogPane
from corral.tui.console.widgets.terminal.pane import ShellPane
from tests.support.log_pane import SOURCES, sample
from tests.support.pilot import until
from tests.support.shell_pane import FakeFleet, FakeStream

SESSION = (
    b"/ # ls --color /srv\r\n"
    b"\x1b[1;34mcache\x1b[0m  \x1b[1;32mentrypoint.sh\x1b[0m  "
    b"\x1b[1;36mlogs\x1b[0m  config.yaml\r\n"
    b"/ # printf 'status: \\033[42;30m OK \\033[0m \\033[38;5;208mwarm\\033[0m'\r\n"
    b"status: \x1b[42;30m OK \x1b[0m \x1b[38;5;208mwarm\x1b[0m\r\n"
    b"/ # grep -c error app.log\r\n"
    b"\x1b[1;31m3\x1b[0m\r\n"
    b"/ # echo \x1b[4munderlined\x1b[0m \x1b[7mreversed\x1b[0m "
    b"\x1b[38;2;120;200;255mtrue colour\x1b[0m\r\n"
    b"/ # "
)


class SideBySide(App):
    """A shell pane (fake exec, canned session) and a log pane (fed lines)."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ShellPane(
                FakeFleet("lab1"), "lab1/web-1", opener=lambda *args: FakeStream([SESSION])
            )
            yield LogPane(
                None, LogTarget("service", "shop", service="cart"), follow=False
            )

    def on_mount(self) -> None:
        logs = self.query_one(LogPane)
        logs.use_sources(SOURCES)
        logs.feed(sample(30))
        self.query_one(ShellPane).view.focus()


def test_shell_pane_beside_a_log_pane(snap_compare) -> None:
    async def run_before(pilot) -> None:
        view = pilot.app.query_one(ShellPane).view
        await until(pilot, lambda: view.screen_lines()[7:8] == ["/ #"] and view.settled,
                    "the canned session, painted")

    assert snap_compare(SideBySide(), terminal_size=(150, 24), run_before=run_before)
