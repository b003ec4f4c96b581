"""Keep the lab's "remote" hosts off the console's CPU while a bench runs.

In production the engines, their sshd and the containers flooding output
run on other machines; in the lab they share this machine's few CPUs with
the console under test, and on two CPUs a flooding container, its dockerd
and its sshd take more than one of them. Benches that time the UI pin the
lab's processes (everything in a lab host's network namespace or under its
engine's cgroup) to the last CPUs and the bench itself (with its children:
the stream relay, the docker CLI) to the first, so that what they time is
the console rather than the lab it borrows CPUs from. They print both the
split and the unpinned numbers' caveat; `--no-pin` turns it off.
"""

from __future__ import annotations

import os
from pathlib import Path


def cpu_split() -> tuple[set[int], set[int]] | None:
    """(console CPUs, lab CPUs), or None when there are too few CPUs to split."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    console = max(1, len(cpus) // 2)
    return set(cpus[:console]), set(cpus[console:])


def pin_self(cpus: set[int]) -> None:
    """Pin this process (and so every thread and child it starts later) to `cpus`."""
    os.sched_setaffinity(0, cpus)


def lab_cpus(hosts: list[dict], split: tuple[set[int], set[int]] | None) -> int:
    """Pin the lab to its share of `split`, or (None) let it use every CPU again.

    Affinity outlives a bench run, so an unpinned run must undo an earlier pinned one.
    """
    return pin_lab(hosts, split[1] if split is not None else set(range(os.cpu_count() or 1)))


def pin_lab(hosts: list[dict], cpus: set[int]) -> int:
    """Pin every thread of the lab hosts' processes to `cpus`.

    Args:
        hosts: `lab status --json` entries (their `netns` names).
        cpus: Where the lab may run.

    Returns:
        How many threads were pinned.
    """
    names = [host["netns"] for host in hosts if host.get("netns")]
    inodes = set()
    for name in names:
        try:
            inodes.add(os.stat(f"/var/run/netns/{name}").st_ino)
        except OSError:
            continue
    pinned = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or not belongs(proc, inodes, names):
            continue
        tasks = proc / "task"
        try:
            tids = [int(task.name) for task in tasks.iterdir()]
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cpus)
                pinned += 1
            except OSError:
                continue
    return pinned


def belongs(proc: Path, inodes: set[int], names: list[str]) -> bool:
    """Whether a process runs in one of the lab's namespaces (`inodes`) or cgroups (`names`)."""
    try:
        if os.stat(proc / "ns" / "net").st_ino in inodes:
            return True
        cgroup = (proc / "cgroup").read_text()
    except OSError:
        return False
    return any(f"/{name}" in cgroup for name in names)
