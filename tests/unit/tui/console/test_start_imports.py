"""The console starts without the code it needs only once a stack is planned or changed.

Importing the deploy steps, the planner, the catalog's renderer and Swarm stacks cost
about 0.1–0.2 s of the console's first frame; they now load on first use, on a worker
thread. These tests read `sys.modules` in a fresh interpreter, so a top-level import
anywhere in the console's start-up chain fails here, not in a timing benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import corral.backends.swarm as swarm

#: Loaded by planning, deploying, a health pass or a Swarm stack change; not to start.
LATER = ("corral.backends.deploy", "corral.backends.swarm.services", "corral.catalog.loader",
         "corral.catalog.render", "corral.backends.plan")

_PROBE = """
import json, sys
from corral.backends.inventory import Inventory
from corral.backends.ssh import SshSettings
from corral.tui.app import CorralApp
from corral.tui.config import Config
app = CorralApp(Inventory(hosts=()), SshSettings(), Config())
app.flow.paused  # the deploy flow is built with the app
later = {later!r}
print(json.dumps(sorted(name for name in sys.modules if name.startswith(later))))
"""


#: `corral` opening the console (`run_console`, as the command line calls it), the
#: app's run stubbed: what the command does before Textual starts, without bundles.
_ENTRY_PROBE = """
import argparse, json, sys
from corral.tui.app import CorralApp
from corral.tui.cli.console import run_console
CorralApp.run = lambda self: None
inventory = sys.argv[1]
run_console(argparse.Namespace(inventory=inventory, config=None, console_bundles=None))
later = {later!r}
print(json.dumps(sorted(name for name in sys.modules if name.startswith(later))))
"""


def loaded(probe: str, *args: str) -> list[str]:
    """The LATER modules a fresh interpreter running `probe` holds at its end."""
    result = subprocess.run([sys.executable, "-c", probe.format(later=LATER), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_building_the_console_loads_no_deploy_planner_or_renderer() -> None:
    assert loaded(_PROBE) == []


def test_corral_opens_the_console_without_the_catalog_loader(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts:\n  - name: one\n    ssh: root@192.0.2.1\n")
    assert loaded(_ENTRY_PROBE, str(inventory)) == []


def test_the_health_tracker_is_built_on_first_use() -> None:
    from corral.backends.deploy import HealthTracker
    from corral.tui.console.model.deploy_flow import DeployFlow

    flow = DeployFlow(fleet=None)
    assert isinstance(flow.tracker, HealthTracker)
    assert flow.tracker is flow.tracker


def test_every_swarm_name_loads_and_renamed_ones_are_the_module_s() -> None:
    from corral.backends.swarm import services

    for name in swarm.__all__:
        assert getattr(swarm, name) is not None, name
    assert swarm.swarm_scale is services.scale
    assert swarm.swarm_network_name is services.network_name
