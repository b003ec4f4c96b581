"""Running `corral` in this process for the deploy lab tests.

Each `corral` subprocess pays a Python start and imports (seconds on a busy
machine); the deploy tests run dozens of commands, so most run through the
same `main()` in-process, with stdin that is not a terminal. Tests that need
a separate process (an interrupted deploy, a second operator) use
`helpers.run_corral`.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

from corral.tui.cli.main import main
from tests.support.lab import Lab


def corral_here(*args: str) -> subprocess.CompletedProcess:
    """`corral ARGS` through `main()`, both streams captured."""
    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    try:
        sys.stdin = io.StringIO()  # not a terminal: confirmations need --yes
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = stdin
    return subprocess.CompletedProcess(["corral", *args], code, out.getvalue(), err.getvalue())


def corral_on(lab: Lab, *args: str) -> subprocess.CompletedProcess:
    """`corral ARGS` in-process against the lab's inventory and known hosts."""
    return corral_here(*args, *lab.corral_args())
