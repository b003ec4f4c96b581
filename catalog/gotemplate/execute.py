"""Running a parsed catalog template, as Go's `text/template` exec would.

The data is what Rancher passed: `.Values` (every answer, as strings) and
`.Stack` (`.Stack.Name`, `.Stack.Version`). Output keeps a map from each output
line to the template line it came from, so a YAML error in the rendered
compose file can still name the line of the `.tpl` the author wrote.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from corral.catalog.bounded import describe_size
from corral.catalog.errors import TemplateError
from corral.catalog.gotemplate.funcs import FuncError, truth
from corral.catalog.gotemplate.gofmt import NO_VALUE, GoStruct, StringMap, go_type, sprint_value
from corral.catalog.gotemplate.library import FUNCTIONS, NOT_OFFERED
from corral.catalog.gotemplate.limits import (
    INT_BITS,
    MAX_LIST,
    MAX_OUTPUT,
    MAX_SECONDS,
    MAX_STEPS,
    MAX_TEXT,
    fits_int,
)
from corral.catalog.gotemplate.parse import (
    Action,
    Break,
    Chain,
    Command,
    Continue,
    Control,
    Dot,
    Field,
    Identifier,
    Literal,
    Nil,
    Node,
    Pipe,
    Text,
    Variable,
    parse,
)

_NOFINAL = object()  # "no value piped in", distinct from any value


@dataclass(frozen=True)
class Rendered:
    """A rendered template.

    Attributes:
        text: The output.
        line_map: For output line n (1-based), `line_map[n - 1]` is its template line.
    """

    text: str
    line_map: tuple[int, ...]

    def source_line(self, line: int | None) -> int | None:
        """The template line that output line `line` came from."""
        if line is None or not self.line_map:
            return line
        return self.line_map[min(max(line, 1), len(self.line_map)) - 1]


def render_template(
    text: str, *, values: Mapping[str, str], stack: Mapping[str, str], name: str
) -> Rendered:
    """Render a Go template the way Rancher 1.6 rendered `*.tpl` catalog files.

    A file whose first non-blank text is `# notemplating` is returned unchanged.

    Args:
        text: The template source.
        values: Answers by variable, already as strings (`.Values`).
        stack: Stack fields such as `Name` (`.Stack`).
        name: The file name used in errors.

    Returns:
        The output with its line map.

    Raises:
        TemplateError: The template does not parse or fails while running.
    """
    stripped = text.strip()
    if stripped.startswith(("#notemplating", "# notemplating")):
        return Rendered(text, tuple(range(1, text.count("\n") + 2)))
    try:
        nodes = _parse(text, name)
        runner = _Exec(name, {"Values": StringMap(values), "Stack": GoStruct(stack)})
        runner.walk(runner.root, nodes)
    except RecursionError:
        raise TemplateError("template nested too deeply", file=name) from None
    return Rendered("".join(runner.parts), tuple(runner.line_map) or (1,))


def _parse(text: str, name: str) -> list[Node]:
    """Parse; a function Corral leaves out on purpose is named with the reason."""
    try:
        return parse(text, name, set(FUNCTIONS))
    except TemplateError as exc:
        match = re.fullmatch(r'function "(\w+)" not defined', exc.message)
        if match and match.group(1) in NOT_OFFERED:
            raise TemplateError(f"function {match.group(1)} is not offered by Corral: "
                                f"{NOT_OFFERED[match.group(1)]}", file=exc.file,
                                line=exc.line) from None
        raise


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Exec:
    def __init__(self, name: str, root: dict):
        self.name = name
        self.root = root
        self.vars: list[list] = [["$", root]]
        self.parts: list[str] = []
        self.line_map: list[int] = []
        self.at_line_start = True
        self.size = 0
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def fail(self, node: Node, message: str) -> TemplateError:
        return TemplateError(message, file=self.name, line=node.line)

    # -- output ---------------------------------------------------------------
    def write(self, chunk: str, line: int, is_text: bool) -> None:
        if not chunk:
            return
        # Checked as the output grows, in the bytes the file will hold.
        self.size += len(chunk) if chunk.isascii() else len(chunk.encode("utf-8", "replace"))
        if self.size > MAX_OUTPUT:
            raise TemplateError(f"output larger than {describe_size(MAX_OUTPUT)}",
                                file=self.name, line=line)
        self.parts.append(chunk)
        pieces = chunk.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                self.at_line_start = True
                line += is_text
            if self.at_line_start and (piece or index < len(pieces) - 1):
                self.line_map.append(line)
                self.at_line_start = False

    # -- statements -----------------------------------------------------------
    def walk(self, dot: object, nodes: list[Node]) -> None:
        for node in nodes:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise self.fail(node, f"template runs more than {MAX_STEPS} steps")
            if time.monotonic() > self.deadline:
                raise self.fail(node, f"template runs longer than {MAX_SECONDS:g} s")
            if isinstance(node, Text):
                self.write(node.text, node.line, True)
            elif isinstance(node, Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    try:
                        text = _printable(value)
                    except ValueError as exc:
                        raise self.fail(node, str(exc)) from None
                    self.write(text, node.line, False)
            elif isinstance(node, Control):
                if node.kind == "range":
                    self.walk_range(dot, node)
                else:
                    self.walk_if_with(dot, node)
            elif isinstance(node, Break):
                raise _Break
            elif isinstance(node, Continue):
                raise _Continue

    def walk_if_with(self, dot: object, node: Control) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if truth(value):
            self.walk(dot if node.kind == "if" else value, node.body)
        elif node.orelse is not None:
            self.walk(dot, node.orelse)
        del self.vars[mark:]

    def walk_range(self, dot: object, node: Control) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe, bind=False)
        if isinstance(value, dict):
            items = [(key, value[key]) for key in sorted(value, key=str)]
        elif isinstance(value, list):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(node.pipe.decl) > 1:
                raise self.fail(node, "can't use two variables to range over an integer")
            items = [(i, i) for i in range(min(value, MAX_STEPS + 1))]
        elif value is None or value is NO_VALUE:
            items = []
        else:
            raise self.fail(node, f"range can't iterate over {_printable(value)}")
        for index, elem in items:
            names = node.pipe.decl
            bound = [elem] if len(names) == 1 else [index, elem]
            for name, item in zip(names, bound, strict=False):
                self.bind(name, item, node.pipe.is_assign, node)
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]
        if not items and node.orelse is not None:
            self.walk(dot, node.orelse)

    def bind(self, name: str, value: object, assign: bool, node: Node) -> None:
        if not assign:
            self.vars.append([name, value])
            return
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self.fail(node, f"undefined variable: {name}")

    # -- expressions ----------------------------------------------------------
    def pipeline(self, dot: object, pipe: Pipe, bind: bool = True) -> object:
        value: object = _NOFINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        if bind:
            for name in pipe.decl:
                self.bind(name, value, pipe.is_assign, pipe)
        return value

    def command(self, dot: object, cmd: Command, final: object) -> object:
        first = cmd.args[0]
        if isinstance(first, Field):
            return self.field_chain(dot, first, first.names, cmd.args, final)
        if isinstance(first, Chain):
            if isinstance(first.node, Nil):
                raise self.fail(first, "indirection through explicit nil")
            receiver = self.arg(dot, "any", first.node)
            return self.field_chain(receiver, first, first.names, cmd.args, final)
        if isinstance(first, Identifier):
            return self.function(dot, first, cmd.args, final)
        if isinstance(first, Variable):
            value = self.variable(first, first.names[0])
            if len(first.names) == 1:
                self.not_a_function(cmd.args, final)
                return value
            return self.field_chain(value, first, first.names[1:], cmd.args, final)
        self.not_a_function(cmd.args, final)
        if isinstance(first, Pipe):
            return self.pipeline(dot, first)
        if isinstance(first, Nil):
            raise self.fail(first, "nil is not a command")
        return dot if isinstance(first, Dot) else first.value  # type: ignore[attr-defined]

    def not_a_function(self, args: list[Node], final: object) -> None:
        if len(args) > 1 or final is not _NOFINAL:
            raise self.fail(args[0], f"can't give argument to non-function {_shown(args[0])}")

    def variable(self, node: Node, name: str) -> object:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.fail(node, f"undefined variable: {name}")

    def field_chain(
        self, receiver: object, node: Node, names: tuple[str, ...], args: list[Node], final: object
    ) -> object:
        for name in names[:-1]:
            receiver = self.field(receiver, name, node, False)
        has_args = len(args) > 1 or final is not _NOFINAL
        return self.field(receiver, names[-1], node, has_args)

    def field(self, receiver: object, name: str, node: Node, has_args: bool) -> object:
        if receiver is None or receiver is NO_VALUE:
            return NO_VALUE
        if isinstance(receiver, GoStruct):
            if name not in receiver:
                raise self.fail(node, f"can't evaluate field {name} in type stack")
            if has_args:
                raise self.fail(node, f"{name} has arguments but cannot be invoked as function")
            return receiver[name]
        if isinstance(receiver, dict):
            if has_args:
                raise self.fail(node, f"{name} is not a method but has arguments")
            return receiver.get(name, NO_VALUE)
        raise self.fail(node, f"can't evaluate field {name} in type {go_type(receiver)}")

    def function(self, dot: object, node: Identifier, args: list[Node], final: object) -> object:
        func = FUNCTIONS[node.name]
        operands = args[1:]
        count = len(operands) + (final is not _NOFINAL)
        fixed = len(func.params)
        if func.variadic and count < fixed:
            raise self.fail(node, f"wrong number of args for {node.name}: "
                                  f"want at least {fixed} got {len(operands)}")
        if not func.variadic and count != fixed:
            raise self.fail(node, f"wrong number of args for {node.name}: "
                                  f"want {fixed} got {count}")
        kinds = [*func.params, *[func.variadic] * count][:count]
        if func.lazy:
            value: object = NO_VALUE
            for operand in operands:
                value = self.arg(dot, "any", operand)
                if truth(value) == (node.name == "or"):
                    return value
            return final if final is not _NOFINAL else value
        values = [self.arg(dot, kind, operand) for kind, operand in zip(kinds, operands,
                                                                        strict=False)]
        if final is not _NOFINAL:
            values.append(self.check(final, kinds[-1], node))
        try:
            result = func.call(*values)
        except FuncError as exc:
            raise self.fail(node, f"error calling {node.name}: {exc}") from None
        except MemoryError:
            raise self.fail(node, f"error calling {node.name}: out of memory") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise self.fail(node, f"error calling {node.name}: {exc}") from None
        return self.bounded(result, node)

    def bounded(self, value: object, node: Identifier) -> object:
        """`value` if it stays within the template limits, else a located error."""
        problem = None
        if isinstance(value, str) and len(value) > MAX_TEXT:
            problem = f"result longer than {MAX_TEXT} characters"
        elif isinstance(value, list) and len(value) > MAX_LIST:
            problem = f"list longer than {MAX_LIST} items"
        elif isinstance(value, int) and not isinstance(value, bool) and not fits_int(value):
            problem = f"integer overflow: the result does not fit in {INT_BITS} bits"
        if problem:
            raise self.fail(node, f"error calling {node.name}: {problem}")
        return value

    def arg(self, dot: object, kind: str, node: Node) -> object:
        if isinstance(node, Literal):
            return self.literal(node, kind)
        if isinstance(node, Nil):
            if kind == "any":
                return None
            raise self.fail(node, f"cannot assign nil to {_KIND_NAMES[kind]}")
        if isinstance(node, Dot):
            value = dot
        elif isinstance(node, Field):
            value = self.field_chain(dot, node, node.names, [node], _NOFINAL)
        elif isinstance(node, Identifier):
            value = self.function(dot, node, [node], _NOFINAL)
        elif isinstance(node, Pipe):
            value = self.pipeline(dot, node)
        else:
            value = self.command(dot, Command(node.line, [node]), _NOFINAL)
        return self.check(value, kind, node)

    def literal(self, node: Literal, kind: str) -> object:
        value = node.value
        if kind == "any":
            return value
        if kind == "int":
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise self.fail(node, f"expected integer; found {node.text}")
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "bool" and isinstance(value, bool):
            return value
        raise self.fail(node, f"expected {_KIND_NAMES[kind]}; found {node.text}")

    def check(self, value: object, kind: str, node: Node) -> object:
        if kind == "any":
            return value
        if value is NO_VALUE:
            raise self.fail(node, f"invalid value; expected {_KIND_NAMES[kind]}")
        wanted = {"str": str, "int": int, "bool": bool}[kind]
        if isinstance(value, wanted) and (kind != "int" or not isinstance(value, bool)):
            return value
        raise self.fail(node, f"wrong type for value; expected {_KIND_NAMES[kind]}; "
                              f"got {go_type(value)}")


_KIND_NAMES = {"str": "string", "int": "int", "bool": "bool", "any": "interface {}"}


def _printable(value: object) -> str:
    return sprint_value(value)


def _shown(node: Node) -> str:
    if isinstance(node, Literal):
        return node.text
    if isinstance(node, Field):
        return "." + ".".join(node.names)
    if isinstance(node, Variable):
        return ".".join(node.names)
    if isinstance(node, Dot):
        return "."
    if isinstance(node, Identifier):
        return node.name
    return "(pipeline)"
