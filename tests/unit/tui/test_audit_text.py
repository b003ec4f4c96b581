"""Audit entries read from hosts cannot drive the operator's terminal."""

from __future__ import annotations

from corral.backends.audit import AuditEntry
from corral.tui.present.audit import audit_text, entry_cells


def test_every_cell_of_a_hostile_entry_is_shown_with_controls_visible() -> None:
    entry = AuditEntry(id="1", time=0.0, user="ann\x1b]0;owned\x07", machine="ops\u202e1",
                       verb="stack.rm\x1b[2J", result="ok\x9b", hosts=("lab1",),
                       ssh_users={"lab1": "ro\x1bot"}, stack="web\x1b]52;c;eA==\x07",
                       target=None, detail="line\nbreak")
    cells = entry_cells(entry)
    assert not any(ch in cell for cell in cells for ch in "\x1b\x07\x9b\u202e\n")
    assert "\\x1b]0;owned\\x07" in cells[1] and "\\u202e" in cells[1]
    assert "\x1b" not in audit_text([entry])
