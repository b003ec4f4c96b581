"""Functions callable from catalog templates: Go's builtins and a subset of sprig.

Rancher executed `.tpl` files with Go's builtins plus the sprig library. The
functions real catalogs use are here, with Go's argument checks: `until` wants
an int, so `until .Values.N` fails as it did in Rancher (answers are strings;
write `until (atoi .Values.N)`). Comparisons follow Go 1.18+: a missing value
equals only nil, a string never equals a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from corral.catalog.errors import CatalogError
from corral.catalog.gotemplate.gofmt import (
    NO_VALUE,
    IntList,
    StringMap,
    go_type,
    sprint,
    sprint_value,
    sprintf,
    sprintln,
)
from corral.catalog.gotemplate.limits import INT_BITS, MAX_LIST, MAX_TEXT, fits_int


class FuncError(CatalogError):
    """A function refused its arguments; exec turns it into a located TemplateError.

    It never leaves template execution: the message alone, with no file or line.
    """


@dataclass(frozen=True)
class Func:
    """A template function: `params` are Go kinds (any, str, int, float, list),
    `variadic` the kind of the trailing `...` parameter, if any."""

    call: Callable
    params: tuple[str, ...]
    variadic: str | None = None
    lazy: bool = False  # `and` / `or` evaluate their arguments one by one


def truth(value: object) -> bool:
    """Go's `if` truth: false, 0, nil, "" and empty lists/maps are false."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, bool | int | float | str | list | dict):
        return bool(value)
    return True


def _kind(value: object) -> str | None:
    """The comparable basic kind of a value (bool, int, float, string), else None."""
    return _BASIC_KINDS.get(go_type(value))


_BASIC_KINDS = {"bool": "bool", "int": "int", "float64": "float", "string": "string"}


def _missing(value: object) -> bool:
    return value is None or value is NO_VALUE


def _eq(first: object, *others: object) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    for other in others:
        if _missing(first) or _missing(other):
            if _missing(first) and _missing(other):
                return True
            continue
        k1, k2 = _kind(first), _kind(other)
        if k1 != k2:
            raise FuncError("incompatible types for comparison")
        if k1 is None:
            raise FuncError(f"non-comparable type {go_type(first)}")
        if first == other:
            return True
    return False


def _ne(a: object, b: object) -> bool:
    return not _eq(a, b)


def _lt(a: object, b: object) -> bool:
    k1, k2 = _kind(a), _kind(b)
    if k1 is None or k2 is None or k1 == "bool" or k2 == "bool":
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    return a < b  # type: ignore[operator]


def _le(a: object, b: object) -> bool:
    return _lt(a, b) or _eq(a, b)


def _and(*args: object) -> object:
    return args[-1]


def _len(item: object) -> int:
    if isinstance(item, str):
        return len(item.encode("utf-8"))
    if isinstance(item, list | dict):
        return len(item)
    raise FuncError(f"len of type {go_type(item)}")


def _index(item: object, *keys: object) -> object:
    for key in keys:
        if isinstance(item, list | str):
            if not isinstance(key, int) or isinstance(key, bool):
                raise FuncError(f"cannot index slice/array with type {go_type(key)}")
            if not 0 <= key < len(item):
                raise FuncError(f"index out of range: {key}")
            item = item[key] if isinstance(item, list) else item.encode("utf-8")[key]
        elif isinstance(item, dict):
            if not isinstance(key, str):
                raise FuncError(f"value has type {go_type(key)}; should be string")
            item = item.get(key, "" if isinstance(item, StringMap) else NO_VALUE)
        elif item is None or item is NO_VALUE:
            raise FuncError("index of untyped nil")
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _until(count: int) -> IntList:
    return _until_step(0, count, 1 if count >= 0 else -1)


def _until_step(start: int, stop: int, step: int) -> IntList:
    if step == 0 or (step > 0) != (start < stop):
        return IntList()
    if abs((stop - start) // step) > MAX_LIST:
        raise FuncError(f"list longer than {MAX_LIST} items")
    return IntList(range(start, stop, step))


def _atoi(text: str) -> int:
    try:
        value = int(text, 10) if text.strip() == text else 0
    except ValueError:
        return 0
    return value if fits_int(value) else 0


def _overflow() -> FuncError:
    return FuncError(f"integer overflow: the result does not fit in {INT_BITS} bits")


def _checked(value: int) -> int:
    if not fits_int(value):
        raise _overflow()
    return value


def _mul(first: object, *rest: object) -> int:
    # Checked at each factor: a product of many factors is never built whole.
    product = _to_int(first)
    for item in rest:
        product = _checked(product * _to_int(item))
    return _checked(product)


def _add(*items: object) -> int:
    total = 0
    for item in items:
        total = _checked(total + _to_int(item))
    return total


def _to_int(value: object) -> int:
    """sprig's `int` (cast.ToInt): unparsable strings give 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or abs(value) == float("inf"):
            return 0
        return _checked(int(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text, 0) if not (len(text) > 1 and text[0] == "0" and text.isdigit()) \
                else int(text, 8)
        except ValueError:
            return 0
        return number if fits_int(number) else 0  # strconv.ParseInt fails: cast gives 0
    return 0


def _to_float(value: object) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return float(_to_int(value)) if not isinstance(value, float) else value


def _to_string(value: object) -> str:
    if value is None or value is NO_VALUE:
        return ""
    if isinstance(value, str):
        return value
    return sprint_value(value)


def _default(fallback: object, *given: object) -> object:
    if not given or not truth(given[0]):
        return fallback
    return given[0]


def _too_long() -> FuncError:
    return FuncError(f"result longer than {MAX_TEXT} characters")


def _repeat(count: int, text: str) -> str:
    if count * len(text) > MAX_TEXT:
        raise _too_long()
    return text * max(count, 0)


def _trunc(count: int, text: str) -> str:
    return text[:count] if count >= 0 else text[max(len(text) + count, 0):]


def _indent(spaces: int, text: str) -> str:
    # Sized before it is built: each line gets the pad.
    if len(text) + (text.count("\n") + 1) * max(spaces, 0) > MAX_TEXT:
        raise _too_long()
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _div(a: object, b: object) -> int:
    divisor = _to_int(b)
    if divisor == 0:
        raise FuncError("integer divide by zero")
    quotient = abs(_to_int(a)) // abs(divisor)
    return _checked(quotient if (_to_int(a) >= 0) == (divisor > 0) else -quotient)


def _mod(a: object, b: object) -> int:
    divisor = _to_int(b)
    if divisor == 0:
        raise FuncError("integer divide by zero")
    return int(math.fmod(_to_int(a), divisor))


def _replace(old: str, new: str, text: str) -> str:
    # Sized before it is built: `replace "a" (repeat 1000 "b")` multiplies.
    count = text.count(old) if old else len(text) + 1
    if len(text) + count * (len(new) - len(old)) > MAX_TEXT:
        raise _too_long()
    return text.replace(old, new)


def _split_list(sep: str, text: str) -> list:
    count = text.count(sep) + 1 if sep else len(text)
    if count > MAX_LIST:
        raise FuncError(f"list longer than {MAX_LIST} items")
    return text.split(sep) if sep else list(text)


def _join(sep: str, items: object) -> str:
    if not isinstance(items, list):
        return _to_string(items)
    parts: list[str] = []
    size = 0
    for item in items:
        part = _to_string(item)
        size += len(part) + len(sep)
        if size > MAX_TEXT + len(sep):
            raise _too_long()
        parts.append(part)
    return sep.join(parts)


def _ternary(yes: object, no: object, condition: bool) -> object:
    return yes if condition else no


def _printf(fmt: str, *args: object) -> str:
    try:
        return sprintf(fmt, list(args))
    except ValueError as exc:
        raise FuncError(str(exc)) from None


def _f(call: Callable, *params: str, variadic: str | None = None) -> Func:
    return Func(call, params, variadic)


FUNCTIONS: dict[str, Func] = {
    # Go builtins (html, js, urlquery, slice and call are not offered).
    "and": Func(_and, ("any",), "any", lazy=True),
    "or": Func(_and, ("any",), "any", lazy=True),
    "not": _f(lambda v: not truth(v), "any"),
    "eq": _f(_eq, "any", variadic="any"),
    "ne": _f(_ne, "any", "any"),
    "lt": _f(_lt, "any", "any"),
    "le": _f(_le, "any", "any"),
    "gt": _f(lambda a, b: not _le(a, b), "any", "any"),
    "ge": _f(lambda a, b: not _lt(a, b), "any", "any"),
    "len": _f(_len, "any"),
    "index": _f(_index, "any", variadic="any"),
    "print": _f(lambda *a: sprint(list(a)), variadic="any"),
    "printf": _f(_printf, "str", variadic="any"),
    "println": _f(lambda *a: sprintln(list(a)), variadic="any"),
    # sprig: lists and numbers.
    "until": _f(_until, "int"),
    "untilStep": _f(_until_step, "int", "int", "int"),
    "list": _f(lambda *a: list(a), variadic="any"),
    "atoi": _f(_atoi, "str"),
    "int": _f(_to_int, "any"),
    "int64": _f(_to_int, "any"),
    "float64": _f(_to_float, "any"),
    "toString": _f(_to_string, "any"),
    "add": _f(_add, variadic="any"),
    "add1": _f(lambda a: _checked(_to_int(a) + 1), "any"),
    "sub": _f(lambda a, b: _checked(_to_int(a) - _to_int(b)), "any", "any"),
    "mul": _f(_mul, "any", variadic="any"),
    "div": _f(_div, "any", "any"),
    "mod": _f(_mod, "any", "any"),
    "max": _f(lambda a, *r: max([_to_int(a)] + [_to_int(v) for v in r]), "any", variadic="any"),
    "min": _f(lambda a, *r: min([_to_int(a)] + [_to_int(v) for v in r]), "any", variadic="any"),
    # sprig: strings and defaults.
    "contains": _f(lambda sub, text: sub in text, "str", "str"),
    "hasPrefix": _f(lambda pre, text: text.startswith(pre), "str", "str"),
    "hasSuffix": _f(lambda suf, text: text.endswith(suf), "str", "str"),
    "default": _f(_default, "any", variadic="any"),
    "empty": _f(lambda v: not truth(v), "any"),
    "coalesce": _f(lambda *a: next((v for v in a if truth(v)), None), variadic="any"),
    "ternary": _f(_ternary, "any", "any", "bool"),
    "quote": _f(lambda *a: " ".join(sprintf("%q", [_to_string(v)]) for v in a if v is not None),
                variadic="any"),
    "squote": _f(lambda *a: " ".join(f"'{_to_string(v)}'" for v in a if v is not None),
                 variadic="any"),
    "upper": _f(str.upper, "str"),
    "lower": _f(str.lower, "str"),
    "title": _f(lambda s: " ".join(w[:1].upper() + w[1:] for w in s.split(" ")), "str"),
    "trim": _f(lambda s: s.strip(" \t\n\r\v\f"), "str"),
    "trimAll": _f(lambda cut, s: s.strip(cut), "str", "str"),
    "trimPrefix": _f(lambda pre, s: s.removeprefix(pre), "str", "str"),
    "trimSuffix": _f(lambda suf, s: s.removesuffix(suf), "str", "str"),
    "replace": _f(_replace, "str", "str", "str"),
    "nospace": _f(lambda s: "".join(s.split()), "str"),
    "repeat": _f(_repeat, "int", "str"),
    "trunc": _f(_trunc, "int", "str"),
    "splitList": _f(_split_list, "str", "str"),
    "join": _f(_join, "str", "any"),
    "indent": _f(_indent, "int", "str"),
    "nindent": _f(lambda n, s: "\n" + _indent(n, s), "int", "str"),
}
