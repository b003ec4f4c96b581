"""The stream relay child loads only what it uses: SSH and the tunnel, not docker-py.

Every console with a log or shell pane runs one relay process per host; the
modules it imports are resident memory the issue's "RSS including the relay"
counts. The child is started as `python -m corral.backends.ssh.relay_process`,
so its package's `__init__` runs too: these tests import it the same way in a
fresh interpreter and read `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys

from corral.backends.ssh.relay import CHILD_MODULE

#: What the relay never needs: the engine client and its HTTP stack, the UI.
UNNEEDED = ("docker", "requests", "urllib3", "textual", "rich")

_PROBE = f"""
import json, sys
import {CHILD_MODULE}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def test_relay_child_imports_no_docker_client_nor_ui():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          timeout=60, check=True)
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "asyncssh" in loaded  # it does reach the host
    assert not loaded & set(UNNEEDED), sorted(loaded & set(UNNEEDED))


def test_ssh_package_names_still_resolve():
    from corral.backends import ssh

    for name in ssh.__all__:
        assert getattr(ssh, name) is not None
    # An unknown name is an AttributeError, as on any module.
    try:
        ssh.NoSuchName  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("unknown names must not resolve")
