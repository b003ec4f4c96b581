"""asyncssh, imported without asking the C toolchain where liboqs is.

asyncssh looks for liboqs (post-quantum key exchange) with
`ctypes.util.find_library`, which on Linux runs `ldconfig -p` and, when that
finds nothing, compiles an empty program with `gcc` and runs `ld`: twice
(`oqs`, `liboqs`). That was about a third of the CPU `corral ps` spent on
importing it, on every command. Here those two look-ups read the library
directories instead (as the dynamic loader would search them); any other
look-up goes to ctypes as usual. Import `asyncssh` from this module (or after
it) everywhere.
"""

from __future__ import annotations

import ctypes.util
import glob
import os
import platform

_OQS_NAMES = ("oqs", "liboqs")


def _library_dirs() -> list[str]:
    machine = platform.machine()
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    for root in ("/usr/local/lib", "/usr/lib", "/lib"):
        dirs += [root, f"{root}/{machine}-linux-gnu", f"{root}64"]
    return dirs


def find_oqs() -> str | None:
    """The liboqs shared library's file name if one is installed, else None."""
    for directory in _library_dirs():
        found = sorted(glob.glob(os.path.join(directory, "liboqs.so*")))
        if found:
            return found[0]
    return None


def _import() -> object:
    real = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return find_oqs() if name in _OQS_NAMES else real(name)

    ctypes.util.find_library = find_library
    try:
        import asyncssh as module
    finally:
        ctypes.util.find_library = real
    return module


asyncssh = _import()
