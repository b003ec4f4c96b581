"""The log pane's prompts (`/`, `f`, `o`) show what is typed in every layout, and
saving leaves the pane following as it was.

The text is checked on the rendered screen (an SVG screenshot), not in the
Input's value: the bug was a prompt whose border took its only row.
"""

from __future__ import annotations

import html

import pytest

from corral.backends.inventory.load import Inventory
from corral.backends.logs.target import LogTarget
from corral.backends.ssh.connect import SshSettings
from corral.tui.app import CorralApp
from corral.tui.console.widgets.logs.view import LogPane
from tests.support.log_pane import SOURCES, sample
from tests.support.pilot import until


def rendered(app: CorralApp) -> str:
    """The screen's text as drawn (spaces kept)."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


async def open_logs(app: CorralApp, stacked: bool) -> LogPane:
    pane = LogPane(None, LogTarget("service", "shop", service="cart"), follow=False)
    await app.screen.workspace.add_pane(pane, "logs shop/cart", stacked)
    pane.use_sources(SOURCES)
    pane.feed(sample(200))
    return pane


@pytest.mark.parametrize("size", [(200, 50), (80, 24)])
@pytest.mark.parametrize("layout", ["side", "stacked", "maximised"])
async def test_every_prompt_shows_what_is_typed(size: tuple[int, int], layout: str) -> None:
    app = CorralApp(Inventory(hosts=()), SshSettings())
    async with app.run_test(size=size) as pilot:
        await open_logs(app, stacked=False)
        pane = await open_logs(app, stacked=layout == "stacked")
        pane.lines.focus()
        if layout == "maximised":
            await pilot.press("ctrl+o")
            assert app.screen.maximized is not None
        await pilot.pause()
        for key, token, label in (("slash", "zqs1", "search"), ("f", "zqf2", "filter"),
                                  ("o", "zqo3", "save shown to")):
            await pilot.press(key)
            prompt = pane.query_one("#log-prompt")
            prompt.value = ""
            await pilot.press(*token)
            await pilot.pause()
            assert prompt.content_region.height >= 1, f"{key}: the prompt has no text row"
            screen = rendered(app)
            assert token in screen, f"{key} in {layout} at {size}: typed text not drawn"
            assert label in screen
            await pilot.press("escape")
            await pilot.pause()
            assert token not in rendered(app)


async def test_saving_leaves_the_pane_following(tmp_path) -> None:
    app = CorralApp(Inventory(hosts=()), SshSettings())
    async with app.run_test(size=(200, 50)) as pilot:
        await open_logs(app, stacked=False)
        pane = await open_logs(app, stacked=False)
        lines = pane.lines
        lines.focus()
        await pilot.pause()
        assert lines.follow
        await pilot.press("o")
        pane.query_one("#log-prompt").value = str(tmp_path / "shown.log")
        pane.feed(sample(30, 200))  # lines keep coming while the prompt is open
        await pilot.pause()
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        pane.feed(sample(30, 230))
        await pilot.pause()
        assert lines.follow and lines.scroll_y == lines.max_scroll_y
        await until(pilot, lambda: "saved 230 lines" in pane._status, "the save reported")
        assert pane._status.startswith("● following")
        # A pane paused before the prompt stays paused.
        await pilot.press("p")
        assert not lines.follow
        await pilot.press("o")
        pane.query_one("#log-prompt").value = str(tmp_path / "again.log")
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        assert not lines.follow
