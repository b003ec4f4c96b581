"""Pictures of the catalog view, an entry's detail and the questions form.

The data is the built-in catalog, so the pictures only change when it does.
Update after an intended change with `pytest tests/snapshots --snapshot-update`
and look at the SVGs in `__snapshots__/` before committing them.
"""

from __future__ import annotations

from textual.pilot import Pilot

from tests.support.catalog_pilot import (
    PASSWORD,
    CatalogApp,
    entries_loaded,
    entry_app,
    form_app,
    form_shown,
    readme_shown,
    screen_text,
    still,
)

SIZE = (120, 40)
#: Tall enough for the form to show the password question as it opens.
FORM_SIZE = (120, 52)


def test_catalog_list(snap_compare) -> None:
    """Every built-in entry with its category, default version and description."""

    async def run_before(pilot: Pilot) -> None:
        await entries_loaded(pilot, 2)

    assert snap_compare(CatalogApp(), terminal_size=SIZE, run_before=run_before)


def test_catalog_search(snap_compare) -> None:
    """`/rtc` keeps the WebRTC demo; the border names the search."""

    async def run_before(pilot: Pilot) -> None:
        await entries_loaded(pilot, 2)
        await pilot.press("slash", *"rtc", "enter")

    assert snap_compare(CatalogApp(), terminal_size=SIZE, run_before=run_before)


def test_catalog_entry_detail(snap_compare) -> None:
    """The WebRTC demo: facts, versions with the default marked, README as Markdown."""

    async def run_before(pilot: Pilot) -> None:
        await readme_shown(pilot, "First release of the WebRTC demo.")

    assert snap_compare(entry_app("webrtc-demo"), terminal_size=SIZE, run_before=run_before)


def test_catalog_form(snap_compare) -> None:
    """The form as it opens: defaults filled in, the password flagged as required."""

    async def run_before(pilot: Pilot) -> None:
        await form_shown(pilot)
        still(pilot.app.screen)
        await pilot.pause()

    assert snap_compare(form_app(), terminal_size=FORM_SIZE, run_before=run_before)


def test_catalog_form_masked_password(snap_compare) -> None:
    """A typed password shows as bullets; a rate above its maximum shows its problem inline."""

    async def run_before(pilot: Pilot) -> None:
        form = await form_shown(pilot)
        still(pilot.app.screen)
        form.fields["MEDIA_RATE"].control.value = "500"
        password = form.fields["KV_PASSWORD"]
        password.control.focus()
        await pilot.press(*PASSWORD)
        form.scroll_to_widget(password, animate=False, top=True)
        await pilot.pause()
        assert PASSWORD not in screen_text(pilot.app)

    assert snap_compare(form_app(), terminal_size=SIZE, run_before=run_before)
