"""Keys handled one after the other, so each reaches the widget that has the focus when typed.

Textual hands a key to the focused widget's message queue and goes on with
the next key at once. A key the widget does not take itself (Tab, End,
Backspace, escape…) then bubbles up through each ancestor's queue, and its
binding runs only when it reaches the app. Keys typed right behind it were by
then already delivered to the widget as it was: after a fast Tab, `s3cret`
went into the field being left; after End, text went in before the cursor
moved. `InOrderKeys` holds each key from the terminal until the one before it
has finished its way (taken by a widget, or its binding run), then sends it.
A paste waits its turn the same way, so it lands after the keys typed before
it. A key that has not finished within `KEY_WAIT_SECONDS` (a widget closing
under it) stops holding the others back: keys then flow as Textual sends them.
"""

from __future__ import annotations

import asyncio
from collections import deque

from textual import events
from textual.app import App
from textual.message_pump import MessagePump

#: The longest a key may hold back the keys typed after it.
KEY_WAIT_SECONDS = 1.0

#: What the terminal sends that must keep its order.
Typed = events.Key | events.Paste


class InOrderKeys(App):
    """An app that sends terminal keys (and pastes) to its widgets one at a time, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: The key on its way through the widgets, and the keys typed after it.
        self._key_in_flight: Typed | None = None
        self._held_keys: deque[Typed] = deque()
        self._key_deadline: asyncio.TimerHandle | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, Typed) and not event.is_forwarded:
            if self._key_in_flight is not None:
                self._held_keys.append(event)
            else:
                await self._send_key(event)
            return
        await super().on_event(event)

    async def _send_key(self, event: Typed) -> None:
        self._key_in_flight = event
        self._key_deadline = asyncio.get_running_loop().call_later(
            KEY_WAIT_SECONDS, self._key_done, event)
        await super().on_event(event)  # runs a priority binding, else forwards the key
        # A paste goes to the focused widget's queue, ahead of the keys after it: done.
        if not event.is_forwarded or isinstance(event, events.Paste):
            self._key_done(event)
        else:
            self._follow(event, self.focused or self.screen)

    def _follow(self, event: events.Key, node: MessagePump) -> None:
        """Look again once `node` has handled `event` (its queue is first in, first out)."""
        if not node.call_later(self._key_handled, event, node):
            self._key_done(event)

    def _key_handled(self, event: events.Key, node: MessagePump) -> None:
        if event is not self._key_in_flight:
            return
        # Textual bubbles a key on exactly these terms (MessagePump._on_message).
        # Private Textual API: pinned by tests/unit/test_dependency_internals.py
        parent = node._parent
        if (event.bubble and parent is not None and not event._stop_propagation
                and node.is_parent_active and node.is_attached):
            self._follow(event, parent)
        else:
            self._key_done(event)

    def _key_done(self, event: Typed) -> None:
        if event is not self._key_in_flight:
            return
        if self._key_deadline is not None:
            self._key_deadline.cancel()
            self._key_deadline = None
        if not self._held_keys:
            self._key_in_flight = None
            return
        following = self._held_keys.popleft()
        self._key_in_flight = following  # keys arriving meanwhile queue up behind it
        if not self.call_later(self._send_held, following):
            self._key_in_flight = None

    async def _send_held(self, event: Typed) -> None:
        await self._send_key(event)
