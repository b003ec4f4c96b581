"""The parser of the Go `text/template` subset: tokens into a tree of nodes.

It mirrors Go's `text/template/parse/parse.go`, including what Go checks
while parsing rather than running: unknown functions, undefined variables,
`{{break}}` outside `{{range}}`, and `{{else if}}` / `{{else with}}` chains.
`define`, `template` and `block` are refused: Rancher catalogs are one file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from corral.catalog.errors import TemplateError
from corral.catalog.excerpt import excerpt
from corral.catalog.gotemplate.lex import Token, lex
from corral.catalog.gotemplate.limits import fits_int


@dataclass
class Node:
    """Base of every node; `line` is where it starts in the template."""

    line: int


@dataclass
class Text(Node):
    text: str


@dataclass
class Pipe(Node):
    """`$a, $b := cmd | cmd` — declarations (or assignments) then commands."""

    decl: list[str] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[Command] = field(default_factory=list)


@dataclass
class Command(Node):
    args: list[Node] = field(default_factory=list)


@dataclass
class Action(Node):
    pipe: Pipe


@dataclass
class Control(Node):
    """`if`, `range` or `with` (`kind`), with its body and optional else list."""

    kind: str
    pipe: Pipe
    body: list[Node]
    orelse: list[Node] | None


@dataclass
class Break(Node):
    pass


@dataclass
class Continue(Node):
    pass


@dataclass
class Field(Node):
    names: tuple[str, ...]


@dataclass
class Variable(Node):
    names: tuple[str, ...]  # the `$name` first, then field names


@dataclass
class Chain(Node):
    node: Node
    names: tuple[str, ...]


@dataclass
class Identifier(Node):
    name: str


@dataclass
class Dot(Node):
    pass


@dataclass
class Nil(Node):
    pass


@dataclass
class Literal(Node):
    """A bool, number or string constant; `text` is how it was written."""

    value: object
    text: str


@dataclass
class _End(Node):
    pass


@dataclass
class _Else(Node):
    pass


def parse(text: str, name: str, functions: set[str]) -> list[Node]:
    """Parse a template.

    Args:
        text: The template source.
        name: The file name used in errors.
        functions: Names callable from the template; others are parse errors.

    Returns:
        The top-level list of nodes.

    Raises:
        TemplateError: The template is not valid Go template syntax.
    """
    return _Parser(lex(text, name), name, functions).parse()


class _Parser:
    def __init__(self, tokens: list[Token], name: str, functions: set[str]):
        self.tokens = tokens
        self.pos = 0
        self.name = name
        self.functions = functions
        self.vars = ["$"]
        self.range_depth = 0

    # -- token access -------------------------------------------------------
    def fail(self, message: str, token: Token | None = None) -> TemplateError:
        token = token or self.tokens[min(self.pos, len(self.tokens) - 1)]
        return TemplateError(message, file=self.name, line=token.line)

    def next(self) -> Token:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind == "space":
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.pos -= 1
        return token

    def expect(self, kind: str, context: str) -> Token:
        token = self.next_non_space()
        if token.kind != kind:
            raise self.unexpected(token, context)
        return token

    def unexpected(self, token: Token, context: str) -> TemplateError:
        if token.kind == "eof":
            return self.fail("unexpected EOF", token)
        shown = "}}" if token.kind == "right" else token.value
        return self.fail(f'unexpected "{shown}" in {context}', token)

    # -- structure ----------------------------------------------------------
    def parse(self) -> list[Node]:
        nodes: list[Node] = []
        while self.peek().kind != "eof":
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                word = "end" if isinstance(node, _End) else "else"
                raise self.fail(f"unexpected {{{{{word}}}}}", self.tokens[self.pos - 1])
            nodes.append(node)
        return nodes

    def item_list(self) -> tuple[list[Node], Node]:
        nodes: list[Node] = []
        while True:
            if self.peek_non_space().kind == "eof":
                raise self.fail("unexpected EOF")
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                return nodes, node
            nodes.append(node)

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.kind == "text":
            return Text(token.line, token.value)
        if token.kind == "left":
            return self.action()
        raise self.unexpected(token, "input")

    def action(self) -> Node:
        token = self.next_non_space()
        word = token.value if token.kind == "keyword" else None
        if word in ("define", "template", "block"):
            raise self.fail(f"{{{{{word}}}}} is not supported in catalog templates", token)
        if word in ("break", "continue"):
            self.expect("right", f"{{{{{word}}}}}")
            if not self.range_depth:
                raise self.fail(f"{{{{{word}}}}} outside {{{{range}}}}", token)
            return Break(token.line) if word == "break" else Continue(token.line)
        if word == "else":
            following = self.peek_non_space()
            if not (following.kind == "keyword" and following.value in ("if", "with")):
                self.expect("right", "else")
            return _Else(token.line)
        if word == "end":
            self.expect("right", "end")
            return _End(token.line)
        if word in ("if", "range", "with"):
            return self.control(word, token)
        self.pos -= 1
        return Action(token.line, self.pipeline("command", "right"))

    def control(self, kind: str, token: Token) -> Control:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(kind, "right")
            if kind == "range":
                self.range_depth += 1
            body, end = self.item_list()
            if kind == "range":
                self.range_depth -= 1
            orelse = None
            if isinstance(end, _Else):
                following = self.peek_non_space()
                chained = following.kind == "keyword" and following.value == kind
                if kind in ("if", "with") and chained:
                    self.next_non_space()
                    orelse = [self.control(kind, following)]
                else:
                    orelse, end = self.item_list()
                    if not isinstance(end, _End):
                        raise self.fail("expected end; found {{else}}")
            return Control(token.line, kind, pipe, body, orelse)
        finally:
            del self.vars[mark:]

    # -- pipelines ----------------------------------------------------------
    def pipeline(self, context: str, end: str) -> Pipe:
        token = self.peek_non_space()
        pipe = Pipe(token.line)
        self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.kind == end:
                self.check_pipeline(pipe, context, token)
                return pipe
            if token.kind in ("bool", "char", "dot", "field", "ident", "number", "nil", "raw",
                              "string", "var", "lparen"):
                self.pos -= 1
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def declarations(self, pipe: Pipe, context: str) -> None:
        while True:
            start = self.pos
            var = self.next_non_space()
            if var.kind != "var":
                self.pos = start
                return
            after = self.next_non_space()
            if after.kind in ("declare", "assign"):
                pipe.is_assign = after.kind == "assign"
                if pipe.is_assign and var.value not in self.vars:
                    raise self.fail(f'undefined variable "{var.value}"', var)
                pipe.decl.append(var.value)
                if not pipe.is_assign:
                    self.vars.extend(pipe.decl)
                return
            if after.kind == "comma" and context == "range" and not pipe.decl:
                pipe.decl.append(var.value)
                continue
            if after.kind == "comma":
                raise self.fail(f"too many declarations in {context}", after)
            self.pos = start
            return

    def check_pipeline(self, pipe: Pipe, context: str, token: Token) -> None:
        if not pipe.cmds:
            raise self.fail(f"missing value for {context}", token)
        for index, cmd in enumerate(pipe.cmds[1:], start=1):
            if isinstance(cmd.args[0], Literal | Dot | Nil):
                raise self.fail(f"non executable command in pipeline stage {index + 1}", token)
        if len(pipe.decl) == 2 and context != "range":
            raise self.fail(f"too many declarations in {context}", token)

    def command(self) -> Command:
        cmd = Command(self.peek_non_space().line)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind == "space":
                continue
            if token.kind in ("right", "rparen"):
                self.pos -= 1
            elif token.kind != "pipe":
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.fail("missing value for command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().kind != "field":
            return node
        names = []
        while self.peek().kind == "field":
            names.append(self.next().value[1:])
        if isinstance(node, Field):
            return Field(node.line, node.names + tuple(names))
        if isinstance(node, Variable):
            return Variable(node.line, node.names + tuple(names))
        if isinstance(node, Literal | Nil | Dot):
            raise self.fail(f'unexpected . after term "{_shown(node)}"')
        return Chain(node.line, node, tuple(names))

    def term(self) -> Node | None:
        token = self.next_non_space()
        kind, value, line = token.kind, token.value, token.line
        if kind == "ident":
            if value not in self.functions:
                raise self.fail(f'function "{value}" not defined', token)
            return Identifier(line, value)
        if kind == "dot":
            return Dot(line)
        if kind == "nil":
            return Nil(line)
        if kind == "var":
            if value not in self.vars:
                raise self.fail(f'undefined variable "{value}"', token)
            return Variable(line, (value,))
        if kind == "field":
            return Field(line, (value[1:],))
        if kind == "bool":
            return Literal(line, value == "true", value)
        if kind in ("number", "char"):
            return Literal(line, self.number(token), value)
        if kind in ("string", "raw"):
            return Literal(line, self.unquote(token), value)
        if kind == "lparen":
            pipe = self.pipeline("parenthesized pipeline", "rparen")
            return pipe
        self.pos -= 1
        return None

    def number(self, token: Token) -> int | float:
        text = token.value
        if token.kind == "char":
            value = self.unquote(Token("string", '"' + text[1:-1].replace('"', '\\"') + '"', 0))
            if len(value) != 1:
                raise self.fail(f"malformed character constant: {text}", token)
            return ord(value)
        body = text.replace("_", "")
        sign = -1 if body.startswith("-") else 1
        body = body.lstrip("+-")
        try:
            if body[:2].lower() in ("0x", "0o", "0b"):
                number: int | float = sign * int(body, 0)
            elif body.isdigit():
                number = sign * int(body, 8 if len(body) > 1 and body[0] == "0" else 10)
            else:
                number = sign * float(body)
        except ValueError:
            raise self.fail(f'bad number syntax: "{excerpt(text)}"', token) from None
        if isinstance(number, int) and not fits_int(number):
            # As Go's parser: too big for an int, a float (if it is one).
            number = float(number) if number.bit_length() <= 1023 else float("inf")
        if number in (float("inf"), float("-inf")):
            raise self.fail(f'number out of range: "{excerpt(text)}"', token)
        return number

    def unquote(self, token: Token) -> str:
        if token.kind == "raw":
            return token.value[1:-1].replace("\r", "")
        body = token.value[1:-1]

        def escape(match: re.Match) -> str:
            seq = match.group()
            if len(seq) == 1:
                raise ValueError(seq)
            if seq[1] in _SIMPLE_ESCAPES:
                return _SIMPLE_ESCAPES[seq[1]]
            if seq[1] in "xuU":
                return chr(int(seq[2:], 16))
            return chr(int(seq[1:], 8))

        try:
            return _ESCAPE.sub(escape, body)
        except (ValueError, OverflowError):
            raise self.fail(f"invalid syntax in quoted string {token.value}", token) from None


_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", '"': '"', "'": "'",
}
# A lone backslash (no valid escape after it) matches too, and is refused.
_ESCAPE = re.compile(
    r'\\(?:[abfnrtv\\"\']|x[0-9a-fA-F]{2}|[0-7]{3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})?'
)


def _shown(node: Node) -> str:
    if isinstance(node, Literal):
        return node.text
    return "nil" if isinstance(node, Nil) else "."
