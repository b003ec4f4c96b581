"""The lexer of the Go `text/template` subset that Rancher 1.6 catalogs use.

It follows Go's `text/template/parse/lex.go`: `{{- ` trims the whitespace
(space, tab, CR, LF) before an action, ` -}}` the whitespace after it; the dash
must touch the braces and be separated from the action by whitespace, else
`{{-3}}` is the number -3. Comments `{{/* … */}}` vanish (their trim markers
still apply). Every token knows its line so errors can say `file:line`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corral.catalog.errors import TemplateError

SPACE = " \t\r\n"
LEFT, RIGHT = "{{", "}}"
KEYWORDS = {
    "break", "block", "continue", "define", "else", "end", "if", "range", "template", "with",
}

# Go's number syntax, loosely: the parser decides later whether it is valid.
_NUMBER = re.compile(r"[+-]?(?:0[xXoObB])?[0-9a-fA-F_]*\.?[0-9a-fA-F_]*(?:[eEpP][+-]?[0-9_]+)?i?")
_IDENT = re.compile(r"[^\W\d]\w*")  # Go identifiers: Unicode letters too
_ALNUM = re.compile(r"[A-Za-z0-9_]*")


@dataclass(frozen=True)
class Token:
    """One lexical item: `kind` is text, left, right, space, ident, keyword,
    field, var, dot, string, raw, char, number, bool, nil, pipe, declare,
    assign, comma, lparen, rparen or eof."""

    kind: str
    value: str
    line: int


def lex(text: str, name: str) -> list[Token]:
    """Split a template into tokens, applying trim markers to the text tokens.

    Args:
        text: The template source.
        name: The file name used in errors.

    Returns:
        The tokens, ending with an `eof` token.

    Raises:
        TemplateError: Unclosed actions, comments or quotes, stray characters.
    """
    return _Lexer(text, name).run()


class _Lexer:
    def __init__(self, text: str, name: str):
        self.text = text
        self.name = name
        self.pos = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.trim_next = False

    def fail(self, message: str, line: int | None = None) -> TemplateError:
        return TemplateError(message, file=self.name, line=line or self.line)

    def emit(self, kind: str, value: str, line: int | None = None) -> None:
        self.tokens.append(Token(kind, value, line or self.line))

    def advance(self, count: int) -> str:
        chunk = self.text[self.pos : self.pos + count]
        self.line += chunk.count("\n")
        self.pos += count
        return chunk

    def run(self) -> list[Token]:
        while self.pos < len(self.text):
            start = self.text.find(LEFT, self.pos)
            end = len(self.text) if start < 0 else start
            self.lex_text(end)
            if start >= 0:
                self.lex_action()
        self.emit("eof", "")
        return self.tokens

    def lex_text(self, end: int) -> None:
        line = self.line
        chunk = self.advance(end - self.pos)
        if self.trim_next:
            stripped = chunk.lstrip(SPACE)
            line += chunk[: len(chunk) - len(stripped)].count("\n")
            chunk = stripped
            self.trim_next = False
        if end < len(self.text) and _left_trim(self.text, end):
            chunk = chunk.rstrip(SPACE)
        if chunk:
            self.emit("text", chunk, line)

    def lex_action(self) -> None:
        start_line = self.line
        self.advance(len(LEFT))
        if _left_trim(self.text, self.pos - len(LEFT)):
            self.advance(2)
        if self.text.startswith("/*", self.pos):
            self.lex_comment(start_line)
            return
        self.emit("left", LEFT, start_line)
        depth = 0
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unclosed action", start_line)
            if self.at_right():
                if depth:
                    raise self.fail("unclosed left paren")
                self.emit("right", RIGHT)
                return
            depth = self.lex_inside(depth)

    def at_right(self) -> bool:
        """Consume `}}` or ` -}}` if it is next, noting a right trim."""
        rest = self.text[self.pos : self.pos + 4]
        if len(rest) >= 4 and rest[0] in SPACE and rest[1] == "-" and rest[2:] == RIGHT:
            self.advance(4)
            self.trim_next = True
            return True
        if rest.startswith(RIGHT):
            self.advance(2)
            return True
        return False

    def lex_comment(self, start_line: int) -> None:
        close = self.text.find("*/", self.pos + 2)
        if close < 0:
            raise self.fail("unclosed comment", start_line)
        self.advance(close + 2 - self.pos)
        if not self.at_right():
            raise self.fail("comment ends before closing delimiter")

    def lex_inside(self, depth: int) -> int:
        text, pos = self.text, self.pos
        char = text[pos]
        if char in SPACE:
            end = pos
            while end < len(text) and text[end] in SPACE and not self.right_at(end):
                end += 1
            if end == pos:  # the space belongs to ` -}}`
                end += 1
            self.emit("space", self.advance(end - pos))
        elif char == "=":
            self.emit("assign", self.advance(1))
        elif char == ":":
            if not text.startswith(":=", pos):
                raise self.fail("expected :=")
            self.emit("declare", self.advance(2))
        elif char == "|":
            self.emit("pipe", self.advance(1))
        elif char == ",":
            self.emit("comma", self.advance(1))
        elif char == '"':
            self.lex_quoted('"', "string", "quoted string")
        elif char == "`":
            end = text.find("`", pos + 1)
            if end < 0:
                raise self.fail("unterminated raw quoted string")
            line = self.line
            self.emit("raw", self.advance(end + 1 - pos), line)
        elif char == "'":
            self.lex_quoted("'", "char", "character constant")
        elif char == "$":
            name = _ALNUM.match(text, pos + 1).group()
            self.emit("var", self.advance(1 + len(name)))
        elif char == "." and not (pos + 1 < len(text) and text[pos + 1].isdigit()):
            name = _ALNUM.match(text, pos + 1).group()
            self.emit("field" if name else "dot", self.advance(1 + len(name)))
        elif char in "+-." or char.isdigit():
            self.lex_number()
        elif char == "_" or char.isalpha():
            self.lex_identifier()
        elif char == "(":
            self.emit("lparen", self.advance(1))
            return depth + 1
        elif char == ")":
            if depth == 0:
                raise self.fail("unexpected right paren")
            self.emit("rparen", self.advance(1))
            return depth - 1
        else:
            raise self.fail(f'unrecognized character in action: "{char}"')
        return depth

    def right_at(self, pos: int) -> bool:
        rest = self.text[pos : pos + 4]
        return len(rest) == 4 and rest[0] in SPACE and rest[1] == "-" and rest[2:] == RIGHT

    def lex_quoted(self, quote: str, kind: str, what: str) -> None:
        """A `"string"` or `'c'` constant: backslash escapes, no newline, same line."""
        pos = self.pos + 1
        while True:
            if pos >= len(self.text) or self.text[pos] == "\n":
                raise self.fail(f"unterminated {what}")
            if self.text[pos] == "\\":
                pos += 2
                continue
            if self.text[pos] == quote:
                break
            pos += 1
        self.emit(kind, self.advance(pos + 1 - self.pos))

    def lex_number(self) -> None:
        match = _NUMBER.match(self.text, self.pos)
        end = match.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_"):
            bad = _ALNUM.match(self.text, end).end()
            raise self.fail(f'bad number syntax: "{self.text[self.pos:bad]}"')
        if end == self.pos or not any(c.isdigit() for c in match.group()):
            raise self.fail(f'bad number syntax: "{self.text[self.pos:end + 1]}"')
        self.emit("number", self.advance(end - self.pos))

    def lex_identifier(self) -> None:
        word = _IDENT.match(self.text, self.pos).group()
        if word in KEYWORDS:
            kind = "keyword"
        elif word in ("true", "false"):
            kind = "bool"
        elif word == "nil":
            kind = "nil"
        else:
            kind = "ident"
        self.emit(kind, self.advance(len(word)))


def _left_trim(text: str, at: int) -> bool:
    """True when the `{{` at `at` carries a trim marker (`{{- `)."""
    return (
        text.startswith(LEFT, at)
        and len(text) >= at + 4
        and text[at + 2] == "-"
        and text[at + 3] in SPACE
    )
