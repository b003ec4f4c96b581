"""How far one catalog template may go: time, steps, sizes and integers.

A catalog is written by someone else; rendering it must neither hang the
console nor exhaust memory. Each bound is checked while the template runs,
before the allocation it guards (a `replace` or `indent` result is sized
before it is built), never only on the finished output.
"""

from __future__ import annotations

#: The rendered file, in UTF-8 bytes; a compose file is a few kilobytes.
MAX_OUTPUT = 1 << 20
#: The longest string any function or action may produce, in characters.
MAX_TEXT = 1 << 20
#: The longest list (`until`, `splitList`…).
MAX_LIST = 100_000
#: Nodes evaluated: stops `range` bombs.
MAX_STEPS = 2_000_000
#: Wall-clock seconds one rendering may take.
MAX_SECONDS = 10.0
#: Integers are Go's int (64 bits); beyond that a template is refused rather
#: than left to square a number into gigabytes.
INT_BITS = 64
INT_MIN = -(1 << (INT_BITS - 1))
INT_MAX = (1 << (INT_BITS - 1)) - 1


def fits_int(value: int) -> bool:
    """Whether `value` is a Go int (64-bit)."""
    return INT_MIN <= value <= INT_MAX
