#!/usr/bin/env python3
"""The fault matrix by hand (issue 16, item 10): every fault × every run, N rounds, a table.

The same runs as `tests/labtests/test_fault_matrix.py` (see
`tests/support/faults.py`), repeated to show the spread: for each fault, how
long the host took to show offline and to come back, log lines lost and
doubled in the console's log pane, what a health pass changed, and whether an
interrupted deploy converged when re-run with nothing orphaned, and whether an
interrupted image push (deploy, `images push`, the console's deploy) left nothing
on the host and its re-run sent only the missing layers.

Usage: bench/faults.py [--dir LAB_DIR] [--rounds N] [--faults F,F…]
(starts the lab if needed). Targets: offline ≤ 5 s, back ≤ 5 s after the
repair, 0 lost, 0 doubled, nothing moved, re-run converges, 0 orphans; a push
re-run sends ≤ 1.05 × the missing layers' bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import fault_push as P  # noqa: E402
from tests.support import faults as F  # noqa: E402
from tests.support.deploy import corral_on  # noqa: E402
from tests.support.lab import Lab, LabHost  # noqa: E402
from tests.support.workloads import ensure_lab  # noqa: E402


def spread(values: list[float | None]) -> str:
    """`median (max)` in seconds, or what was never seen."""
    seen = [v for v in values if v is not None]
    if not seen:
        return "never"
    text = f"{statistics.median(seen):.2f} s ({max(seen):.2f})"
    return text + (f", {len(values) - len(seen)} never" if len(seen) < len(values) else "")


def lean_rerun(push: P.PushResult) -> bool:
    """The push's re-run converged sending only the missing layers (5 % and headers more)."""
    # The console's re-run is counted on the host's veth: SSH and its own traffic too.
    overhead = P.WIRE_OVERHEAD if push.command == "console deploy" else P.TAR_OVERHEAD
    return push.rerun_code == 0 and push.rerun_bytes is not None and \
        push.rerun_bytes <= 1.05 * push.missing + overhead


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/corral-lab-bench-faults"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--faults", default=",".join(F.FAULTS),
                        help=f"comma-separated, of {', '.join(F.FAULTS)}")
    args = parser.parse_args()
    chosen = [f for f in args.faults.split(",") if f]
    unknown = [f for f in chosen if f not in F.FAULTS]
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(unknown)}")
    # Keep the operator's own configuration, inventory and audit trail out of it.
    scratch = Path(tempfile.mkdtemp(prefix="corral-bench-faults-"))
    os.environ.update(XDG_CONFIG_HOME=str(scratch / "config"),
                      XDG_STATE_HOME=str(scratch / "state"))
    for name in ("CORRAL_CONFIG", "CORRAL_INVENTORY", "CORRAL_READONLY"):
        os.environ.pop(name, None)
    hosts = [LabHost(h["name"], h["address"], h["ssh_port"], h["ssh_port_nostream"],
                     h["socket"], h["labels"]) for h in ensure_lab(args.dir)]
    lab = Lab(args.dir, hosts)
    console_folder, deploy_folder = F.write_stacks(scratch)
    deployed = corral_on(lab, "deploy", str(console_folder), "--stack", F.STACK, "--yes")
    if deployed.returncode != 0:
        print(deployed.stderr, file=sys.stderr)
        return 1
    rows = []
    images = [P.build_image(lab, name) for name in ("fdimg", "fcimg", "fuimg")]
    try:
        for fault in chosen:
            consoles, deploys, pushes = [], [], []
            for round_ in range(args.rounds):
                print(f"{fault}: round {round_ + 1}/{args.rounds} …", file=sys.stderr)
                try:
                    consoles.append(asyncio.run(F.console_run(lab, fault)))
                finally:
                    lab.restored(F.HOST, after=fault)
                try:
                    deploys.append(F.deploy_run(lab, fault, deploy_folder))
                finally:
                    lab.restored(F.HOST, after=fault)
                try:
                    pushes.append(P.deploy_push_run(lab, fault, images[0], scratch))
                    pushes.append(P.cli_push_run(lab, fault, images[1]))
                    pushes.append(asyncio.run(P.console_push_run(lab, fault, images[2],
                                                                 scratch)))
                finally:
                    lab.restored(F.HOST, after=fault)
            rows.append((
                fault,
                spread([c.offline_after for c in consoles]),
                spread([c.online_after for c in consoles]),
                f"{sum(len(c.lost) for c in consoles)} / {sum(len(c.doubled) for c in consoles)}"
                f" of {sum(c.lines for c in consoles)}",
                str(sum(len(c.moved) for c in consoles)),
                f"{sum(d.interrupted for d in deploys)}/{len(deploys)}",
                f"{sum(d.rerun_code == 0 and not d.not_running for d in deploys)}/{len(deploys)}",
                str(sum(len(d.orphans) for d in deploys)),
                f"{sum(p.interrupted for p in pushes)}/{len(pushes)}",
                f"{sum(not p.left_on_host and p.other_holds for p in pushes)}/{len(pushes)}",
                f"{sum(lean_rerun(p) for p in pushes)}/{len(pushes)}",
            ))
    finally:
        corral_on(lab, "rm", F.STACK, "--yes", "--volumes")
        for image in images:
            P.remove_image(P.engine(lab.host(P.SOURCE).socket), image)
    head = ("fault", "offline after", "back after repair", "log lost / doubled",
            "health pass moved", "deploy interrupted", "re-run converged", "orphans",
            "push interrupted", "nothing left, other host served", "push re-run: missing only")
    print(f"\n{args.rounds} round(s) per fault; times: median (max)\n")
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
