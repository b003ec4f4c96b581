"""sprig's list, dictionary, type, JSON, path and regular-expression functions.

Lists and dicts are Python lists and dicts (`set` changes its dict in place,
as sprig's does). Regular expressions are Go's RE2, which never backtracks;
Python's `re` does, so a pattern that could take exponential time (a repeated
group that itself repeats or alternates) is refused, and subjects are bounded.
`env` and `expandenv` read nothing: on a Rancher server they read the server's
environment, and a catalog must never read the operator's.
"""

from __future__ import annotations

import json
import re

from corral.catalog.gotemplate.funcs import Func, FuncError, _to_string, truth
from corral.catalog.gotemplate.gofmt import NO_VALUE, StringMap, go_type
from corral.catalog.gotemplate.limits import MAX_LIST, MAX_TEXT

MAX_PATTERN = 1000
MAX_SUBJECT = 64 * 1024


def _list(value: object, name: str) -> list:
    if value is None or value is NO_VALUE:
        return []
    if not isinstance(value, list):
        raise FuncError(f"cannot {name} on type {go_type(value)}")
    return value


def _first(items: object) -> object:
    items = _list(items, "find first")
    return items[0] if items else None


def _last(items: object) -> object:
    items = _list(items, "find last")
    return items[-1] if items else None


def _grown(items: list | dict, extra: int) -> None:
    if len(items) + extra > MAX_LIST:
        raise FuncError(f"list longer than {MAX_LIST} items")


def _append(items: object, value: object) -> list:
    items = _list(items, "push")
    _grown(items, 1)
    return [*items, value]


def _prepend(items: object, value: object) -> list:
    items = _list(items, "prepend")
    _grown(items, 1)
    return [value, *items]


def _uniq(items: object) -> list:
    result: list = []
    for item in _list(items, "uniq"):
        if item not in result:
            result.append(item)
    return result


def _without(items: object, *omit: object) -> list:
    return [item for item in _list(items, "without") if item not in omit]


def _has(needle: object, items: object) -> bool:
    return needle in _list(items, "has")


def _compact(items: object) -> list:
    return [item for item in _list(items, "compact") if truth(item)]


def _sort_alpha(items: object) -> list:
    if not isinstance(items, list):
        return [_to_string(items)]
    return sorted(_to_string(item) for item in items)


def _dict(*pairs: object) -> dict:
    if len(pairs) // 2 > MAX_LIST:
        raise FuncError(f"dict larger than {MAX_LIST} items")
    result: dict = {}
    for index in range(0, len(pairs), 2):
        key = _to_string(pairs[index])
        result[key] = pairs[index + 1] if index + 1 < len(pairs) else ""
    return result


def _mapping(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise FuncError(f"{name} needs a dict, not {go_type(value)}")
    return value


def _set(target: object, key: str, value: object) -> dict:
    target = _mapping(target, "set")
    if isinstance(target, StringMap) and not isinstance(value, str):
        raise FuncError(f"cannot set a {go_type(value)} in a map[string]string")
    _grown(target, 1)
    target[key] = value
    return target


def _unset(target: object, key: str) -> dict:
    target = _mapping(target, "unset")
    target.pop(key, None)
    return target


def _pluck(key: str, *dicts: object) -> list:
    return [_mapping(d, "pluck")[key] for d in dicts if key in _mapping(d, "pluck")]


def _keys(*dicts: object) -> list:
    return [key for d in dicts for key in _mapping(d, "keys")]


def _pick(source: object, *keys: str) -> dict:
    source = _mapping(source, "pick")
    return {k: source[k] for k in keys if k in source}


def _omit(source: object, *keys: str) -> dict:
    source = _mapping(source, "omit")
    return {k: v for k, v in source.items() if k not in keys}


def _merge(target: object, *sources: object) -> dict:
    """sprig 2's merge (mergo): keys missing from `target` are copied in."""
    target = _mapping(target, "merge")
    for source in sources:
        for key, value in _mapping(source, "merge").items():
            if key not in target:
                _grown(target, 1)
                target[key] = value
    return target


_KINDS = {"string": "string", "int": "int", "float64": "float64", "bool": "bool",
          "<nil>": "invalid"}


def _kind_of(value: object) -> str:
    kind = go_type(value)
    if kind in _KINDS:
        return _KINDS[kind]
    return "slice" if isinstance(value, list) else "map"


def _type_is_like(wanted: str, value: object) -> bool:
    kind = go_type(value)
    return wanted in (kind, "*" + kind)


def _plain(value: object) -> object:
    if value is NO_VALUE:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json(value: object, indent: int | None = None) -> str:
    text = json.dumps(_plain(value), ensure_ascii=False, indent=indent,
                      separators=(",", ":") if indent is None else (",", ": "))
    # Go's encoder escapes HTML characters.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if len(text) > MAX_TEXT:
        raise FuncError(f"result longer than {MAX_TEXT} characters")
    return text


def _clean(path: str) -> str:
    """Go's path.Clean."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    return ("/" + cleaned) if rooted else (cleaned or ".")


def _base(path: str) -> str:
    if not path:
        return "."
    path = path.rstrip("/")
    return path.rsplit("/", 1)[-1] if path else "/"


def _dir(path: str) -> str:
    return _clean(path[: path.rfind("/") + 1])


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


# A group (or class-free atom run) followed by a quantifier, which itself repeats
# or alternates: the shapes that make a backtracking engine exponential.
def _compile(pattern: str) -> re.Pattern:
    if len(pattern) > MAX_PATTERN:
        raise FuncError(f"regular expression longer than {MAX_PATTERN} characters")
    if re.search(r"\\[1-9]|\(\?<?[=!]", pattern):
        raise FuncError("Go regular expressions have no backreferences or lookarounds")
    depth_has: list[bool] = []
    escaped = in_class = False
    for index, char in enumerate(pattern):
        if escaped:
            escaped = False
            continue
        if char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth_has.append(False)
        elif char == ")" and depth_has:
            risky = depth_has.pop()
            following = pattern[index + 1:index + 2]
            if risky and following in ("*", "+", "{", "?"):
                raise FuncError("regular expression refused: a repeated group that repeats"
                                " or alternates inside could run for an unbounded time")
            if depth_has:
                depth_has[-1] = depth_has[-1] or risky
        elif char in "*+{|" and depth_has:
            depth_has[-1] = True
    try:
        return re.compile(_go_classes(pattern))
    except re.error as exc:
        raise FuncError(f"error parsing regexp: {exc}") from None


def _go_classes(pattern: str) -> str:
    """RE2's `\\z` (end of text) is Python's `\\Z`."""
    return pattern.replace("\\z", "\\Z")


def _subject(text: str) -> str:
    if len(text) > MAX_SUBJECT:
        raise FuncError(f"regular expression subject longer than {MAX_SUBJECT} characters")
    return text


def _find_all(pattern: str, text: str, count: int) -> list[str]:
    found = [m.group(0) for m in _compile(pattern).finditer(_subject(text))]
    return found if count < 0 else found[:count]


def _find(pattern: str, text: str) -> str:
    match = _compile(pattern).search(_subject(text))
    return match.group(0) if match else ""


def _go_replacement(repl: str) -> str:
    """Go's `$1`, `${1}`, `${name}` and `$$` in a replacement, as Python's `\\g<…>`."""
    out = []
    index = 0
    while index < len(repl):
        char = repl[index]
        if char == "\\":
            out.append("\\\\")
        elif char == "$":
            match = re.match(r"\$(?:\{(\w+)\}|(\w+)|(\$))", repl[index:])
            if match and match.group(3):
                out.append("$")
            elif match:
                name = match.group(1) or match.group(2)
                out.append(f"\\g<{name}>")
            else:
                out.append("$")
            index += match.end() if match else 1
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _replace_all(pattern: str, text: str, repl: str) -> str:
    regex = _compile(pattern)
    try:
        result = regex.sub(_go_replacement(repl), _subject(text))
    except (re.error, IndexError):
        result = regex.sub("", text)  # Go expands an unknown group to ""
    if len(result) > MAX_TEXT:
        raise FuncError(f"result longer than {MAX_TEXT} characters")
    return result


def _replace_literal(pattern: str, text: str, repl: str) -> str:
    result = _compile(pattern).sub(lambda _m: repl, _subject(text))
    if len(result) > MAX_TEXT:
        raise FuncError(f"result longer than {MAX_TEXT} characters")
    return result


def _regex_split(pattern: str, text: str, count: int) -> list[str]:
    if count == 0:
        return []
    parts = _compile(pattern).split(_subject(text), maxsplit=max(count - 1, 0))
    return parts


def _fail(message: str) -> None:
    raise FuncError(message)


def _f(call, *params: str, variadic: str | None = None) -> Func:
    return Func(call, params, variadic)


FUNCTIONS: dict[str, Func] = {
    "first": _f(_first, "any"),
    "last": _f(_last, "any"),
    "rest": _f(lambda v: _list(v, "find rest")[1:], "any"),
    "initial": _f(lambda v: _list(v, "find initial")[:-1], "any"),
    "append": _f(_append, "any", "any"),
    "push": _f(_append, "any", "any"),
    "prepend": _f(_prepend, "any", "any"),
    "reverse": _f(lambda v: list(reversed(_list(v, "reverse"))), "any"),
    "uniq": _f(_uniq, "any"),
    "without": _f(_without, "any", variadic="any"),
    "has": _f(_has, "any", "any"),
    "compact": _f(_compact, "any"),
    "sortAlpha": _f(_sort_alpha, "any"),
    "tuple": _f(lambda *a: list(a), variadic="any"),
    "dict": _f(_dict, variadic="any"),
    "set": _f(_set, "any", "str", "any"),
    "unset": _f(_unset, "any", "str"),
    "hasKey": _f(lambda d, k: k in _mapping(d, "hasKey"), "any", "str"),
    "pluck": _f(_pluck, "str", variadic="any"),
    "keys": _f(_keys, variadic="any"),
    "pick": _f(_pick, "any", variadic="str"),
    "omit": _f(_omit, "any", variadic="str"),
    "merge": _f(_merge, "any", variadic="any"),
    "typeOf": _f(go_type, "any"),
    "typeIs": _f(lambda t, v: go_type(v) == t, "str", "any"),
    "typeIsLike": _f(_type_is_like, "str", "any"),
    "kindOf": _f(_kind_of, "any"),
    "kindIs": _f(lambda k, v: _kind_of(v) == k, "str", "any"),
    "toJson": _f(_json, "any"),
    "toPrettyJson": _f(lambda v: _json(v, 2), "any"),
    "base": _f(_base, "str"),
    "dir": _f(_dir, "str"),
    "clean": _f(_clean, "str"),
    "ext": _f(_ext, "str"),
    "isAbs": _f(lambda p: p.startswith("/"), "str"),
    "regexMatch": _f(lambda p, s: _compile(p).search(_subject(s)) is not None, "str", "str"),
    "regexFind": _f(_find, "str", "str"),
    "regexFindAll": _f(_find_all, "str", "str", "int"),
    "regexReplaceAll": _f(_replace_all, "str", "str", "str"),
    "regexReplaceAllLiteral": _f(_replace_literal, "str", "str", "str"),
    "regexSplit": _f(_regex_split, "str", "str", "int"),
    "fail": _f(_fail, "str"),
    "env": _f(lambda name: "", "str"),
    "expandenv": _f(lambda s: re.sub(r"\$(\{\w+\}|\w+)", "", s), "str"),
}

#: sprig functions Corral does not offer, and why (named in the template error).
NOT_OFFERED: dict[str, str] = {
    **dict.fromkeys(("now", "date", "dateInZone", "date_in_zone", "dateModify",
                     "date_modify", "htmlDate", "htmlDateInZone", "ago", "toDate",
                     "unixEpoch"),
                    "dates would make every render differ, so every deploy would"
                    " recreate the containers"),
    **dict.fromkeys(("genPrivateKey", "derivePassword", "bcrypt", "htpasswd", "genCA",
                     "genSelfSignedCert", "genSignedCert", "buildCustomCert",
                     "encryptAES", "decryptAES"),
                    "key and password generation belongs outside a template"),
    **dict.fromkeys(("semver", "semverCompare"), "semantic version objects are not modelled"),
    **dict.fromkeys(("html", "js", "urlquery", "call", "slice"),
                    "a Go builtin catalogs do not use"),
}
