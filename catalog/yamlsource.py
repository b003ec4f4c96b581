"""YAML documents that remember where each value came from.

PyYAML forgets line numbers once a document is built and silently keeps the
last of two duplicate keys. Operators need `file:line` in every error, and a
duplicated key in an inventory or a compose file is almost always a mistake,
so documents are composed into nodes and built here by hand.

The result is made of ordinary dicts and lists (`Mapping` and `Sequence`
subclasses below) carrying the line of each key and item; scalars are the
plain Python values the YAML 1.1 safe schema gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from corral.catalog.bounded import MAX_FILE_BYTES, describe_size, read_text
from corral.catalog.errors import YamlError
from corral.catalog.excerpt import quoted

# A few kilobytes of anchors can expand to billions of nodes; real files
# never come near this.
MAX_NODES = 200_000
# Nor can a few aliases of one long string count as little: what a document
# holds is bounded by the text of its values once every alias is expanded.
MAX_VALUE_BYTES = 8 * MAX_FILE_BYTES


class Mapping(dict):
    """A dict that knows its own line and the line of each of its keys."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        """The line of `key` if present, else the mapping's own line."""
        return self.key_lines.get(key, self.line)


class Sequence(list):
    """A list that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        """The line of item `index`, else the sequence's own line."""
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


def load_file(path: str | Path, *, root: str | Path | None = None) -> Any:
    """Read and build the YAML document in `path`.

    Args:
        path: The file to read.
        root: If given, the folder the file must lie in once symlinks are followed.

    Returns:
        The document (Mapping, Sequence or scalar), or None for an empty file.

    Raises:
        YamlError: The file cannot be read, is larger than `MAX_FILE_BYTES` (checked
            before parsing), does not parse, or has duplicate keys, anchor
            cycles, too many nodes or too many bytes once aliases are expanded.
    """
    return load_text(read_text(Path(path), root=root, error=YamlError), source=path)


def load_text(text: str, *, source: str | Path = "<string>",
              duplicates: list[tuple[Any, int, int]] | None = None) -> Any:
    """Build the YAML document in `text`; `source` names it in errors.

    Args:
        text: The YAML text.
        source: Names the text in errors.
        duplicates: If given, a duplicate key is not an error: the last one
            wins (as Rancher's parser let it) and `(key, first line, line)` is
            appended here (see `duplicate_warning`). Catalog files only: an inventory or a
            configuration keeps refusing them.

    Raises:
        YamlError: As for `load_file`.
    """
    try:
        # The reader rejects control characters while the loader is built.
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", 0) or 0
        raise YamlError(str(exc).splitlines()[0], file=source,
                        line=text.count("\n", 0, position) + 1) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _Builder(loader, source, duplicates).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(problem, file=source, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0], file=source) from None
    except RecursionError:
        raise YamlError("document nested too deeply", file=source) from None
    finally:
        loader.dispose()


def duplicate_warning(key: Any, first: int | None, line: int | None) -> str:
    """The warning for a duplicate key accepted as Rancher accepted it."""
    return (f"duplicate key {quoted(key)} at lines {first} and {line}: the last one wins,"
            " as in Rancher")


class _Builder:
    """Turns composed nodes into Mapping/Sequence/scalars with line numbers."""

    def __init__(self, loader: yaml.SafeLoader, source: str | Path,
                 duplicates: list[tuple[Any, int, int]] | None = None):
        self.loader = loader
        self.duplicates = duplicates
        self.source = source
        self.count = 0
        self.value_bytes = 0
        self.open_nodes: set[int] = set()

    def fail(self, message: str, node: yaml.Node) -> YamlError:
        return YamlError(message, file=self.source, line=node.start_mark.line + 1)

    def build(self, node: yaml.Node) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(f"more than {MAX_NODES} values (anchor expansion?)", node)
        if isinstance(node, yaml.ScalarNode):
            self.value_bytes += len(node.value)
            if self.value_bytes > MAX_VALUE_BYTES:
                raise self.fail(f"values larger than {describe_size(MAX_VALUE_BYTES)} in all"
                                " (aliases of a long value?)", node)
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.open_nodes:
            raise self.fail("an alias refers to a value that contains it", node)
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self.build_sequence(node)
            return self.build_mapping(node)
        finally:
            self.open_nodes.discard(id(node))

    def build_sequence(self, node: yaml.SequenceNode) -> Sequence:
        result = Sequence(self.build(item) for item in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [item.start_mark.line + 1 for item in node.value]
        return result

    def build_mapping(self, node: yaml.MappingNode) -> Mapping:
        if node.tag == "tag:yaml.org,2002:set":
            raise self.fail("YAML sets (!!set) are not supported", node)
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys
        result = Mapping()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.build(key_node)
            if isinstance(key, (dict, list)):
                raise self.fail("a key must be a plain value, not a mapping or list", key_node)
            if key in result.key_lines:
                first = result.key_lines[key]
                line = key_node.start_mark.line + 1
                if self.duplicates is None:
                    raise self.fail(f"duplicate key {quoted(key)} (first at line {first})",
                                    key_node)
                self.duplicates.append((key, first, line))
                del result[key]  # the later value, and its place, win
            result[key] = self.build(value_node)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result
