"""Go values as templates see them, and Go's `fmt` printing of them.

Rancher ran catalog templates through Go, so a template prints `1e+06` for a
float million, `[0 1 2]` for `until 3` and `%!d(string=abc)` for a bad printf
argument; authors' catalogs were debugged against exactly that output.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from corral.catalog.gotemplate.limits import MAX_TEXT

# Printing a huge width or precision would allocate without bound.
MAX_WIDTH = 100_000


class _NoValue:
    """Go's invalid reflect.Value: a missing map key. Prints `<no value>`."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


NO_VALUE = _NoValue()


class StringMap(dict):
    """A Go `map[string]string` (`.Values`): `index` of a missing key gives ""."""

    go_type = "map[string]string"


class GoStruct(dict):
    """A Go struct (`.Stack`): a missing field is an error, not `<no value>`."""

    go_type = "struct"


class IntList(list):
    """A Go `[]int`, as sprig's `until` returns."""

    go_type = "[]int"


def go_type(value: object) -> str:
    """The Go type name of a template value, as fmt and exec errors spell it."""
    if value is None or value is NO_VALUE:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return getattr(value, "go_type", "[]interface {}" if isinstance(value, list) else
                   "map[string]interface {}")


class _Budget:
    """Counts the characters printed so far; refuses to go past `MAX_TEXT`.

    Lists built of lists (`$l = list $l $l`, repeated) print exponentially
    long: every value is sized before it is printed, by a walk that stops as
    soon as the budget is spent (each node costs at least one character).
    """

    def __init__(self) -> None:
        self.left = MAX_TEXT

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise ValueError(f"printed text longer than {MAX_TEXT} characters")

    def check(self, value: object) -> None:
        """Refuse `value` if printing it would exceed what is left."""
        if not isinstance(value, list | dict):
            return
        left = self.left
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                left -= 2 + len(item)
                stack.extend(item)
            elif isinstance(item, dict):
                left -= 5 + 2 * len(item)
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, str):
                left -= len(item)
            else:
                left -= 1
            if left < 0:
                raise ValueError(f"printed text longer than {MAX_TEXT} characters")

    def format(self, value: object, verb: str, spec: _Spec) -> str:
        self.check(value)
        text = _format(value, verb, spec)
        self.spend(len(text))
        return text


def sprint_value(value: object) -> str:
    """`fmt.Sprint(value)` for one value (what `{{ value }}` prints).

    Raises:
        ValueError: The text would be longer than `MAX_TEXT`.
    """
    if value is NO_VALUE:
        return "<no value>"
    return _Budget().format(value, "v", _Spec())


def sprint(args: list) -> str:
    """`fmt.Sprint`: spaces between operands when neither side is a string.

    Raises:
        ValueError: The text would be longer than `MAX_TEXT`.
    """
    out = []
    budget = _Budget()
    for index, arg in enumerate(args):
        if index and not isinstance(arg, str) and not isinstance(args[index - 1], str):
            out.append(" ")
        out.append(budget.format(arg, "v", _Spec()))
    return "".join(out)


def sprintln(args: list) -> str:
    """`fmt.Sprintln`: always spaces, then a newline.

    Raises:
        ValueError: The text would be longer than `MAX_TEXT`.
    """
    budget = _Budget()
    return " ".join(budget.format(arg, "v", _Spec()) for arg in args) + "\n"


class _Spec:
    def __init__(self):
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.width: int | None = None
        self.prec: int | None = None


_DIRECTIVE = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d*|\*))?(.?)", re.DOTALL)


def sprintf(fmt: str, args: list) -> str:
    """`fmt.Sprintf` for the verbs templates use (v s d q t x X o b c U e E f F g G %).

    Raises:
        ValueError: A width or precision too large to print, or a text longer
            than `MAX_TEXT`.
    """
    out: list[str] = []
    used = 0
    pos = 0
    budget = _Budget()
    for match in _DIRECTIVE.finditer(fmt):
        budget.spend(match.start() - pos)
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, prec, verb = match.groups()
        if verb == "%" and not flags and width is None and prec is None:
            out.append("%")
            continue
        spec = _Spec()
        for flag, attr in (("+", "plus"), ("-", "minus"), ("#", "sharp"), (" ", "space"),
                           ("0", "zero")):
            setattr(spec, attr, flag in flags)
        for text, attr in ((width, "width"), (prec, "prec")):
            if text == "*":
                if used < len(args) and isinstance(args[used], int):
                    setattr(spec, attr, args[used])
                    used += 1
                else:
                    out.append("%!(BADWIDTH)" if attr == "width" else "%!(BADPREC)")
            elif text is not None:
                setattr(spec, attr, int(text or 0))
        if max(spec.width or 0, spec.prec or 0) > MAX_WIDTH:
            raise ValueError(f"width or precision larger than {MAX_WIDTH}")
        if not verb:
            out.append("%!(NOVERB)")
        elif used >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(budget.format(args[used], verb, spec))
            used += 1
    out.append(fmt[pos:])
    if used < len(args):
        extra = ", ".join(f"{go_type(a)}={budget.format(a, 'v', _Spec())}"
                          for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _format(value: object, verb: str, spec: _Spec) -> str:
    if value is NO_VALUE:
        value = None
    if isinstance(value, list) and verb != "T":
        inner = _Spec()
        inner.sharp, inner.plus, inner.prec = spec.sharp, spec.plus, spec.prec
        return _pad("[" + " ".join(_format(v, verb, inner) for v in value) + "]", spec)
    if isinstance(value, dict):
        items = " ".join(
            f"{_format(k, verb, _Spec())}:{_format(value[k], verb, _Spec())}"
            for k in sorted(value, key=str)
        )
        return _pad(f"map[{items}]", spec)
    if verb == "T":
        return _pad(go_type(value), spec)
    if value is None:
        return _pad("<nil>", spec) if verb == "v" else f"%!{verb}(<nil>)"
    if isinstance(value, bool):
        if verb in "vt":
            return _pad("true" if value else "false", spec)
    elif isinstance(value, int):
        if verb in "vdbboOxXcqU":
            return _format_int(value, "d" if verb == "v" else verb, spec)
    elif isinstance(value, float):
        if verb in "veEfFgG":
            return _pad_number(_format_float(value, verb, spec), spec)
    elif isinstance(value, str):
        if verb in "vs":
            text = value if spec.prec is None else value[: spec.prec]
            return _pad(go_quote(text) if verb == "v" and spec.sharp else text, spec)
        if verb == "q":
            return _pad(go_quote(value if spec.prec is None else value[: spec.prec],
                                 ascii_only=spec.plus), spec)
        if verb in "xX":
            data = value.encode("utf-8")
            sep = " " if spec.space else ""
            text = sep.join(f"{b:02x}" for b in data)
            return _pad(text.upper() if verb == "X" else text, spec)
    return f"%!{verb}({go_type(value)}={_format(value, 'v', _Spec())})"


def _format_int(value: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return _pad(chr(value) if 0 <= value <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        char = chr(value) if 0 <= value <= 0x10FFFF else "\ufffd"
        return _pad("'" + go_quote(char)[1:-1].replace("'", "\\'").replace('\\"', '"') + "'", spec)
    if verb == "U":
        return _pad(f"U+{value:04X}", spec)
    base = {"d": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}[verb]
    digits = _to_base(abs(value), base, upper=verb == "X")
    if spec.prec is not None:
        digits = digits.rjust(spec.prec, "0") if spec.prec or value else ""
    prefix = ""
    if verb == "O" or (spec.sharp and verb == "o" and not digits.startswith("0")):
        prefix = "0o" if verb == "O" else "0"
    elif spec.sharp and verb in "xXb":
        prefix = {"x": "0x", "X": "0X", "b": "0b"}[verb]
    sign = "-" if value < 0 else ("+" if spec.plus else (" " if spec.space else ""))
    return _pad_number(sign + prefix + digits, spec, zero_ok=spec.prec is None)


def _to_base(number: int, base: int, upper: bool) -> str:
    if base == 10:
        return str(number)
    text = {2: format(number, "b"), 8: format(number, "o"), 16: format(number, "x")}[base]
    return text.upper() if upper else text


def _format_float(value: float, verb: str, spec: _Spec) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "+" if spec.plus and value >= 0 else ""
    if verb in "vgG" and spec.prec is None:
        text = _shortest(value)
    elif verb in "vgG":
        text = f"{value:.{spec.prec}g}"
    elif verb in "eE":
        text = f"{value:.{6 if spec.prec is None else spec.prec}e}"
    else:
        text = f"{value:.{6 if spec.prec is None else spec.prec}f}"
    return sign + (text.upper() if verb in "EG" else text)


def _shortest(value: float) -> str:
    """Go's `%v` of a float64: shortest digits, `%e` when the exponent is < -4 or >= 6."""
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    exp = len(text) + exponent - 1
    minus = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exponent >= 0:
        return minus + text + "0" * exponent
    point = len(text) + exponent
    if point > 0:
        return minus + text[:point] + "." + text[point:]
    return minus + "0." + "0" * -point + text


def _pad(text: str, spec: _Spec) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    if spec.minus:
        return text.ljust(spec.width)
    return text.rjust(spec.width, "0" if spec.zero else " ")


def _pad_number(text: str, spec: _Spec, zero_ok: bool = True) -> str:
    if spec.width is None or len(text) >= spec.width:
        return text
    if spec.minus:
        return text.ljust(spec.width)
    if spec.zero and zero_ok and text[:1] in "+- " and text[1:2].isdigit():
        return text[0] + text[1:].rjust(spec.width - 1, "0")
    if spec.zero and zero_ok:
        return text.rjust(spec.width, "0")
    return text.rjust(spec.width)


_NAMED = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
          "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(text: str, ascii_only: bool = False) -> str:
    """`strconv.Quote` (or `QuoteToASCII` when `ascii_only`)."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _NAMED:
            out.append(_NAMED[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif (ascii_only and code > 0x7E) or not char.isprintable():
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
