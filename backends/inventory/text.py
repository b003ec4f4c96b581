"""Text edits of an inventory that keep the operator's comments and layout.

Each function returns the edited text, or None when the layout makes a text
edit unsafe; the caller then falls back to `rewritten()`, which keeps the
data but not the comments. Callers load every result back before using it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

REWRITE_HEADER = "# Corral inventory (rewritten by corral: the old layout was not kept).\n"
NEW_FILE_HEADER = (
    "# Corral inventory: the Docker hosts Corral manages over SSH.\n"
    "# Edit by hand, or with `corral hosts add` / `corral hosts rm`.\n"
)
# YAML's own line breaks, so that line numbers agree with the parser's marks.
_LINE_BREAK = re.compile(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=[\n\x85\u2028\u2029])")


class _Layout:
    """Where the `hosts:` list and its items sit in the text."""

    def __init__(self, text: str):
        self.lines = _LINE_BREAK.split(text) if text else []
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.newline = "\r\n" if "\r\n" in text else "\n"
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        self.root = root
        self.key: yaml.Node | None = None
        self.hosts: yaml.Node | None = None
        if isinstance(root, yaml.MappingNode):
            for key, value in root.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "hosts":
                    self.key, self.hosts = key, value

    @property
    def block_list(self) -> bool:
        return isinstance(self.hosts, yaml.SequenceNode) and self.hosts.flow_style is not True

    def is_comment(self, index: int) -> bool:
        return self.lines[index].lstrip().startswith("#")

    def is_blank(self, index: int) -> bool:
        return not self.lines[index].strip()

    def indent(self, index: int) -> int:
        line = self.lines[index]
        return len(line) - len(line.lstrip(" "))

    def dash(self) -> int:
        assert isinstance(self.hosts, yaml.SequenceNode)
        return self.hosts.start_mark.column

    def dash_line(self, item: yaml.Node) -> int:
        """The line of the `-` that opens `item` (it may stand alone above it)."""
        column = self.dash()
        for index in range(item.start_mark.line, -1, -1):
            line = self.lines[index]
            if line[:column].strip(" ") == "" and line[column:column + 1] == "-":
                return index
        return item.start_mark.line

    def head(self, position: int, floor: int) -> int:
        """First line of `position`'s item, counting the comments right above it."""
        line = self.dash_line(self.hosts.value[position])
        while line - 1 > floor and self.is_comment(line - 1):
            line -= 1
        return line

    def end(self, position: int) -> int:
        """Last line of an item: its last value, then comments indented under it."""
        last = _last_line(self.hosts.value[position])
        while last + 1 < len(self.lines) and self.is_comment(last + 1) and (
            self.indent(last + 1) > self.dash()
        ):
            last += 1
        return last


def _last_line(node: yaml.Node) -> int:
    """The last line holding any of `node`'s own text (0-based)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        end = node.end_mark
        return end.line if end.column > 0 or end.line == node.start_mark.line else end.line - 1
    children = node.value if isinstance(node, yaml.SequenceNode) else [
        part for pair in node.value for part in pair
    ]
    return max((_last_line(child) for child in children), default=node.start_mark.line)


def _block(mapping: dict[str, Any], indent: int, newline: str) -> str:
    """A `- name: ...` block: one key per line, labels and lists in flow style."""
    lines = []
    for key, value in mapping.items():
        # None puts only innermost collections in flow style: `labels: {a: b}`.
        flow = None if isinstance(value, (dict, list)) else False
        text = yaml.safe_dump(
            {key: value}, sort_keys=False, default_flow_style=flow, allow_unicode=True, width=1000
        )
        lines.extend(text.splitlines())
    prefixes = ["- "] + ["  "] * (len(lines) - 1)
    return "".join(
        " " * indent + prefix + line + newline for prefix, line in zip(prefixes, lines, strict=True)
    )


def appended(text: str, mapping: dict[str, Any]) -> str | None:
    """`text` with a host block appended to its `hosts:` list, or None if unsafe.

    Args:
        text: The inventory as it is (may be empty or only comments).
        mapping: The new host's keys, in the order to write them.
    """
    try:
        layout = _Layout(text)
    except yaml.YAMLError:
        return None
    lines, newline = layout.lines, layout.newline
    if layout.root is None:  # empty, or only comments
        body = "".join(lines)
        if body and not body.endswith(("\n", "\r")):
            body += newline
        return (body or NEW_FILE_HEADER) + "hosts:" + newline + _block(mapping, 2, newline)
    hosts = layout.hosts
    if isinstance(hosts, yaml.ScalarNode) and hosts.tag.endswith(":null"):
        return _after_key(layout, mapping, hosts)
    if isinstance(hosts, yaml.SequenceNode) and not hosts.value:
        return _after_key(layout, mapping, hosts)  # `hosts: []`
    if not layout.block_list or not hosts.value:
        return None
    last = layout.end(len(hosts.value) - 1)
    block = _block(mapping, layout.dash(), newline)
    previous_head = layout.head(len(hosts.value) - 1, -1)
    if len(hosts.value) > 1 and previous_head > 0 and layout.is_blank(previous_head - 1):
        block = newline + block  # the user separates hosts with blank lines
    if not lines[last].endswith(("\n", "\r", "\x85", "\u2028", "\u2029")):
        lines[last] += newline
    return "".join(lines[: last + 1]) + block + "".join(lines[last + 1:])


def _after_key(layout: _Layout, mapping: dict[str, Any], value: yaml.Node) -> str | None:
    """Replace an empty `hosts:` value (nothing, `~`, `[]`) by a one-host list."""
    if value.start_mark.line != value.end_mark.line or layout.key is None:
        return None
    if value.start_mark.line != layout.key.start_mark.line:
        return None
    index = value.start_mark.line
    line = layout.lines[index]
    start, end = value.start_mark.column, value.end_mark.column
    rest = line[end:].rstrip("\r\n\x85\u2028\u2029")
    line = line[:start].rstrip() + (" " + rest.strip() if rest.strip() else "") + layout.newline
    indent = layout.key.start_mark.column + 2
    lines = [*layout.lines[:index], line, *layout.lines[index + 1:]]
    return "".join(lines[: index + 1]) + _block(mapping, indent, layout.newline) + "".join(
        lines[index + 1:]
    )


def cut(text: str, position: int) -> str | None:
    """`text` without the lines of host number `position`, or None if unsafe.

    The comment lines right above the host go with it; so do the blank lines
    that separated it from the next host.
    """
    try:
        layout = _Layout(text)
    except yaml.YAMLError:
        return None
    if not layout.block_list:
        return None
    items = layout.hosts.value
    floor = _last_line(items[position - 1]) if position > 0 else layout.key.start_mark.line
    start = layout.head(position, floor)
    if position + 1 < len(items):
        stop = layout.head(position + 1, layout.end(position))
    else:
        stop = layout.end(position) + 1
        while start - 1 > floor and layout.is_blank(start - 1):
            start -= 1  # do not leave the blank line that separated it
    return "".join(layout.lines[:start] + layout.lines[stop:])


def rewritten(hosts: list[dict[str, Any]]) -> str:
    """A whole inventory of `hosts` (plain mappings), in the layout `appended` uses."""
    return REWRITE_HEADER + "hosts:\n" + "".join(_block(host, 2, "\n") for host in hosts)
