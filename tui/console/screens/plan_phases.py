"""What the two plan screens share: the phase they are in, the status line under
the plan, and which keys each phase allows.

The standalone plan screen (`plan.py`) and the Swarm engine's (`swarm_plan.py`)
plan, show, then apply on request; their phases are the same: planning,
planned, error, applying, failed, done.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from textual.widgets import Static

from corral.tui.console.screens.command_screen import CommandScreen


class PhasedPlanScreen(CommandScreen):
    """A plan screen's phase and status line; subclasses name the status widget and say
    when a plan can be applied."""

    #: The id of the status line under the plan.
    STATUS_ID: ClassVar[str] = "plan-status"
    #: Actions offered only while applying (ending or leaving the apply).
    WHILE_APPLYING: ClassVar[tuple[str, ...]] = ("leave",)

    phase: str
    readonly: bool
    status: RenderableType

    def can_apply(self) -> bool:
        """Whether the plan shown can be applied (there is one, and it changes something)."""
        raise NotImplementedError

    def say(self, text: RenderableType, kind: str = "") -> None:
        """The status under the plan: `kind` is `error`, `ok` or plain."""
        self.status = text
        status = self.query_one(f"#{self.STATUS_ID}", Static)
        status.update(text)
        status.set_class(kind == "error", "-error")
        status.set_class(kind == "ok", "-ok")

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return self.phase == "planned" and not self.readonly and self.can_apply()
        if action == "replan":
            return self.phase in ("planned", "error", "failed")
        if action in self.WHILE_APPLYING:
            return self.phase == "applying"
        if action == "back":
            return self.phase != "applying"
        return True
