"""The console script's quick exit still does what a normal exit does that matters.

Each test runs a fresh interpreter (the exit ends it) and reads what it left.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: Buffered output, an exit handler, a weakref finalizer (how tunnels remove their
#: directory), a working non-daemon thread and an idle thread pool, then `leave(3)`.
_CHILD = """
import atexit, concurrent.futures, os, sys, tempfile, threading, time, weakref
from corral.tui.cli.quick_exit import leave
out = sys.argv[1]
sys.stdout.write("buffered, no newline")
atexit.register(lambda: open(os.path.join(out, "atexit"), "w").close())
class Holder: pass
holder = Holder()
folder = tempfile.mkdtemp(dir=out)
weakref.finalize(holder, os.rmdir, folder)
def late():
    time.sleep(0.3)
    open(os.path.join(out, "thread"), "w").close()
threading.Thread(target=late).start()
pool = concurrent.futures.ThreadPoolExecutor(2)
pool.submit(lambda: None).result()
leave(3)
"""


def test_leave_runs_handlers_joins_threads_and_flushes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "buffered, no newline"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atexit", "thread"]
    assert done.stderr == ""


def test_console_script_exits_with_the_command_code() -> None:
    done = subprocess.run([sys.executable, "-c",
                           "from corral.tui.cli import main\n"
                           "main.main = lambda: print('ran', end='') or 5\n"
                           "main.run()"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (5, "ran"), done.stderr
