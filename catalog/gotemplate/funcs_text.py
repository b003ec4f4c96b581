"""sprig's string functions and Rancher's `splitPreserveQuotes`, as catalog templates saw them.

Rancher 1.6 rendered `.tpl` files with sprig's `TxtFuncMap` plus its own
`splitPreserveQuotes`. Each function keeps sprig's quirks where a catalog could
depend on them (`split` gives a map of `_0`, `_1`…; `abbrev` below 4 gives "")
and is sized before it builds anything large.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import string
import textwrap
import zlib

from corral.catalog.gotemplate.funcs import Func, FuncError, _to_string
from corral.catalog.gotemplate.gofmt import NO_VALUE, StringMap, sprint_value
from corral.catalog.gotemplate.limits import MAX_LIST, MAX_TEXT

# unicode.Quotation_Mark, as Go's splitPreserveQuotes tests each rune against it.
_QUOTES = set("\"'«»‘’‚‛“”„‟‹›⹂「」『』〝〞〟﹁﹂﹃﹄＂＇｢｣")


def _go_space(char: str) -> bool:
    """Go's unicode.IsSpace."""
    if char <= "\xff":
        return char in "\t\n\v\f\r \x85\xa0"
    return char.isspace()


def split_preserve_quotes(text: str) -> list[str]:
    """Rancher's `splitPreserveQuotes`: split on white space outside quotes, quotes kept.

    Go compares a rune's byte offset with the string's byte length to find
    the last character, so a string ending in a multi-byte rune loses its last
    piece there; that is kept too, as catalogs were tested against it.
    """
    pieces: list[str] = []
    buffer: list[str] = []
    in_quotes = False
    offset = 0
    size = len(text.encode("utf-8"))
    for char in text:
        if char in _QUOTES:
            in_quotes = not in_quotes
        last = offset == size - 1
        if (_go_space(char) and not in_quotes) or last:
            if last:
                buffer.append(char)
            pieces.append("".join(buffer))
            if len(pieces) > MAX_LIST:
                raise FuncError(f"list longer than {MAX_LIST} items")
            buffer = []
        else:
            buffer.append(char)
        offset += len(char.encode("utf-8"))
    return pieces


def _split_map(sep: str, text: str, limit: int = -1) -> StringMap:
    """sprig's `split` / `splitn`: a map `_0`, `_1`… (Go strings.Split / SplitN)."""
    if limit == 0:
        return StringMap()
    count = (text.count(sep) + 1) if sep else len(text.encode("utf-8"))
    if min(count, limit if limit > 0 else count) > MAX_LIST:
        raise FuncError(f"list longer than {MAX_LIST} items")
    if sep:
        parts = text.split(sep, limit - 1) if limit > 0 else text.split(sep)
    else:
        parts = list(text)
        if 0 < limit < len(parts):
            parts = parts[: limit - 1] + ["".join(parts[limit - 1:])]
    return StringMap((f"_{i}", part) for i, part in enumerate(parts))


def _substr(start: int, end: int, text: str) -> str:
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def _abbrev_full(text: str, offset: int, width: int) -> str:
    """goutils.AbbreviateFull; sprig prints "" where it fails."""
    if width < 4:
        return ""
    if len(text) <= width:
        return text
    offset = min(offset, len(text))
    if len(text) - offset < width - 3:
        offset = len(text) - (width - 3)
    if offset <= 4:
        return text[: width - 3] + "..."
    if width < 7:
        return ""
    if offset + width - 3 < len(text):
        return "..." + _abbrev_full(text[offset:], 0, width - 3)
    return "..." + text[len(text) - (width - 3):]


def _words(text: str) -> list[str]:
    return text.split()


def _untitle(text: str) -> str:
    result, start = [], True
    for char in text:
        result.append(char.lower() if start and not char.isspace() else char)
        start = char.isspace()
    return "".join(result)


def _initials(text: str) -> str:
    return "".join(word[0] for word in _words(text))


def _wrap_with(width: int, newline: str, text: str) -> str:
    width = max(width, 1)
    lines = []
    for line in text.split("\n"):
        wrapped = textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False,
                                drop_whitespace=True) or [""]
        lines.extend(wrapped)
    if len(text) + len(lines) * len(newline) > MAX_TEXT:
        raise FuncError(f"result longer than {MAX_TEXT} characters")
    return newline.join(lines)


def _cat(*items: object) -> str:
    return " ".join(sprint_value(item) for item in items if item is not None
                    and item is not NO_VALUE)


def _plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


def _snakecase(text: str) -> str:
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", text)
    return re.sub(r"[\s\-]+", "_", text).lower()


def _camelcase(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"_+", text) if part)


def _kebabcase(text: str) -> str:
    return _snakecase(text).replace("_", "-")


def _decode(codec, text: str) -> str:
    try:
        return codec(text.encode("utf-8")).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as exc:
        return str(exc)  # sprig prints the decoder's error instead of failing


def _random(count: int, alphabet: str) -> str:
    if count > MAX_TEXT:
        raise FuncError(f"result longer than {MAX_TEXT} characters")
    return "".join(secrets.choice(alphabet) for _ in range(max(count, 0)))


def _shuffle(text: str) -> str:
    chars = list(text)
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _uuidv4() -> str:
    import uuid

    return str(uuid.uuid4())


def _f(call, *params: str, variadic: str | None = None) -> Func:
    return Func(call, params, variadic)


_ASCII = "".join(chr(c) for c in range(32, 127))

FUNCTIONS: dict[str, Func] = {
    "splitPreserveQuotes": _f(split_preserve_quotes, "str"),
    "split": _f(_split_map, "str", "str"),
    "splitn": _f(lambda sep, n, s: _split_map(sep, s, n), "str", "int", "str"),
    "substr": _f(_substr, "int", "int", "str"),
    "abbrev": _f(lambda width, s: _abbrev_full(s, 0, width), "int", "str"),
    "abbrevboth": _f(lambda left, right, s: _abbrev_full(s, left, right), "int", "int", "str"),
    "untitle": _f(_untitle, "str"),
    "initials": _f(_initials, "str"),
    "wrap": _f(lambda n, s: _wrap_with(n, "\n", s), "int", "str"),
    "wrapWith": _f(_wrap_with, "int", "str", "str"),
    "cat": _f(_cat, variadic="any"),
    "plural": _f(_plural, "str", "str", "int"),
    "snakecase": _f(_snakecase, "str"),
    "camelcase": _f(_camelcase, "str"),
    "kebabcase": _f(_kebabcase, "str"),
    "swapcase": _f(str.swapcase, "str"),
    "shuffle": _f(_shuffle, "str"),
    "trimall": _f(lambda cut, s: s.strip(cut), "str", "str"),
    "hello": _f(lambda: "Hello!"),
    "sha256sum": _f(lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest(), "str"),
    "sha1sum": _f(lambda s: hashlib.sha1(s.encode("utf-8")).hexdigest(), "str"),  # noqa: S324
    "adler32sum": _f(lambda s: str(zlib.adler32(s.encode("utf-8"))), "str"),
    "b64enc": _f(lambda s: base64.b64encode(s.encode("utf-8")).decode("ascii"), "str"),
    "b64dec": _f(lambda s: _decode(lambda b: base64.b64decode(b, validate=True), s), "str"),
    "b32enc": _f(lambda s: base64.b32encode(s.encode("utf-8")).decode("ascii"), "str"),
    "b32dec": _f(lambda s: _decode(base64.b32decode, s), "str"),
    "randAlphaNum": _f(lambda n: _random(n, string.ascii_letters + string.digits), "int"),
    "randAlpha": _f(lambda n: _random(n, string.ascii_letters), "int"),
    "randNumeric": _f(lambda n: _random(n, string.digits), "int"),
    "randAscii": _f(lambda n: _random(n, _ASCII), "int"),
    "uuidv4": _f(_uuidv4),
    "toStrings": _f(lambda v: [_to_string(i) for i in v] if isinstance(v, list)
                    else [_to_string(v)], "any"),
}
