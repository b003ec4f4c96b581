"""`${VAR}` / `$VAR` / `$$` interpolation and the `${stack_name}` macros.

Rancher interpolated the values (never the keys) of the parsed compose files
with the answers, after templating, using docker-compose v1 rules: names are
letters, digits and `_` not starting with a digit, `$$` is a literal `$`, an
unset variable becomes "" with a warning, and anything else after `$` is an
error naming the key. `$${stack_name}` thus survives as `${stack_name}`; it
and `${service_name}` are expanded per service when the stack is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping as AbcMapping

from corral.catalog.errors import ComposeError
from corral.catalog.problems import Report, Source
from corral.catalog.yamlsource import Mapping, Sequence

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"[A-Za-z0-9_]+")
_MACRO = re.compile(r"\$\{(stack_name|service_name)\}")


class MissingVariable(ValueError):
    """`${VAR:?message}` / `${VAR?message}` met an unset (or empty) variable."""

    def __init__(self, name: str, message: str):
        super().__init__(message or f"required variable {name} is missing a value")
        self.name = name


_MODIFIERS = (":-", ":?", ":+", "-", "?", "+")


def _closing(text: str, start: int) -> int:
    """The index of the `}` closing the `${` whose body starts at `start`, or -1."""
    depth = 1
    pos = start
    while pos < len(text):
        char = text[pos]
        if text.startswith("$$", pos):
            pos += 2
            continue
        if text.startswith("${", pos):
            depth += 1
            pos += 2
            continue
        if char == "}":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1


def interpolate_string(text: str, env: AbcMapping[str, str], unset: set[str] | None = None) -> str:
    """Interpolate one string, as `docker compose` does.

    `$NAME`, `${NAME}`, `$$` (a literal `$`), and the Compose Specification's
    modifiers: `${VAR:-default}` / `${VAR-default}` (default when unset or
    empty / unset), `${VAR:?error}` / `${VAR?error}` (fail when unset or empty
    / unset), `${VAR:+alt}` / `${VAR+alt}` (alt when set and non-empty / set).
    Defaults and alternatives are interpolated in turn.

    Args:
        text: The value as written.
        env: Variables (the answers).
        unset: Collects the names used but not in `env` (and given no default).

    Returns:
        The interpolated value.

    Raises:
        MissingVariable: A `?` modifier met an unset variable.
        ValueError: The text has a `$` that starts no valid expression.
    """
    out: list[str] = []
    pos = 0
    while True:
        dollar = text.find("$", pos)
        if dollar < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:dollar])
        rest = text[dollar + 1 : dollar + 2]
        if rest == "$":
            out.append("$")
            pos = dollar + 2
            continue
        if rest == "{":
            close = _closing(text, dollar + 2)
            if close < 0:
                raise ValueError(text)
            out.append(_braced(text[dollar + 2 : close], text, env, unset))
            pos = close + 1
            continue
        match = _NAME.match(text, dollar + 1)
        if not match:
            raise ValueError(text)
        name = match.group()
        pos = match.end()
        out.append(_lookup(name, env, unset))


def _lookup(name: str, env: AbcMapping[str, str], unset: set[str] | None) -> str:
    if name in env:
        return env[name]
    if unset is not None:
        unset.add(name)
    return ""


def _braced(body: str, text: str, env: AbcMapping[str, str], unset: set[str] | None) -> str:
    """The value of one `${body}`."""
    match = _BRACED.match(body)
    # Inside braces a name may start with a digit (Rancher's parser allows it).
    if not match:
        raise ValueError(text)
    name, tail = match.group(), body[match.end():]
    if not tail:
        return _lookup(name, env, unset)
    modifier = next((m for m in _MODIFIERS if tail.startswith(m)), None)
    if modifier is None:
        raise ValueError(text)
    word = tail[len(modifier):]
    value = env.get(name)
    present = value is not None and (value != "" or not modifier.startswith(":"))
    if modifier.endswith("-"):
        return value if present else interpolate_string(word, env, unset)  # type: ignore[return-value]
    if modifier.endswith("?"):
        if not present:
            raise MissingVariable(name, interpolate_string(word, env, unset))
        return value  # type: ignore[return-value]
    return interpolate_string(word, env, unset) if present else ""


def map_strings(node: object, func: Callable[[str, str, int | None], str], key: str = "",
                line: int | None = None) -> object:
    """Rebuild a parsed YAML document with `func(value, key, line)` applied to each string value.

    Mapping and Sequence nodes keep their line numbers; keys are left alone.
    """
    if isinstance(node, str):
        return func(node, key, line)
    if isinstance(node, dict):
        result = Mapping()
        result.line = getattr(node, "line", line or 0)
        result.key_lines = dict(getattr(node, "key_lines", {}))
        for item_key, value in node.items():
            item_line = node.line_of(item_key) if isinstance(node, Mapping) else line
            result[item_key] = map_strings(value, func, str(item_key), item_line)
        return result
    if isinstance(node, list):
        items = Sequence()
        items.line = getattr(node, "line", line or 0)
        items.item_lines = list(getattr(node, "item_lines", []))
        for index, value in enumerate(node):
            item_line = node.line_of(index) if isinstance(node, Sequence) else line
            items.append(map_strings(value, func, key, item_line))
        return items
    return node


def interpolate_tree(node: object, env: AbcMapping[str, str], source: Source,
                     report: Report) -> object:
    """Interpolate every string value inside a parsed YAML document.

    Unset variables become warnings at the line of the value.

    Raises:
        ComposeError: A value has an invalid `$` expression (file, line and key named).
    """

    def interpolate(value: str, key: str, line: int | None) -> str:
        unset: set[str] = set()
        try:
            result = interpolate_string(value, env, unset)
        except MissingVariable as exc:
            raise ComposeError(f'key "{key}": {exc}', file=source.file,
                               line=source.line(line)) from None
        except ValueError:
            raise ComposeError(f'invalid interpolation format for key "{key}": "{value}"',
                               file=source.file, line=source.line(line)) from None
        for name in sorted(unset):
            report.warn(f"variable {name} is not set; substituting a blank string",
                        source.file, source.line(line))
        return result

    return map_strings(node, interpolate)


def expand_macros(node: object, stack_name: str, service_name: str) -> object:
    """Replace `${stack_name}` and `${service_name}` in every string value of `node`.

    Args:
        node: A parsed YAML value (one service's configuration).
        stack_name: The stack being rendered.
        service_name: The service `node` belongs to.

    Returns:
        The same shape, lines kept, with the macros expanded.
    """
    names = {"stack_name": stack_name, "service_name": service_name}
    return map_strings(node, lambda value, _key, _line: _MACRO.sub(lambda m: names[m.group(1)],
                                                                      value))
