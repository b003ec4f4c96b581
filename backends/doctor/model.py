"""What the doctor reports: per host, each check with its status, what was seen and the fix.

Pure data. The check ids are stable (scripts and `corral hosts provision` key on
them); the JSON form (`HostReport.to_dict`) is documented in README.md under
"corral hosts doctor" and pinned by a unit test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OK = "ok"
WARN = "warn"
FAIL = "fail"
#: Worst last: `worst()` picks by this order.
STATUSES = (OK, WARN, FAIL)

#: Every check id, in the order reports list them.
CHECK_IDS = (
    "ssh.reachable",
    "ssh.key-type",
    "ssh.jump",
    "ssh.socket-access",
    "engine.version",
    "engine.storage-driver",
    "engine.disk-space",
    "engine.inodes",
    "engine.log-rotation",
    "engine.live-restore",
    "engine.cgroup",
    "fleet.clock",
    "fleet.hostname",
    "fleet.engine-id",
    "swarm.ports",
    "kernel.vxlan",
    "kernel.ip_vs",
    "registry.reach",
)

#: Fixes that name a step of `corral hosts provision` instead of a command.
PROVISION_STEPS = (
    "provision:install-docker",
    "provision:docker-group",
    "provision:log-rotation",
    "provision:live-restore",
)

#: The keys of each JSON object, documented in README.md (a unit test compares).
HOST_KEYS = ("host", "status", "error", "checks")
CHECK_KEYS = ("id", "status", "seen", "fix")


@dataclass(frozen=True)
class Check:
    """One check's verdict on one host.

    Attributes:
        id: A stable id from `CHECK_IDS`.
        status: `ok`, `warn` or `fail`.
        seen: What was found, one line.
        fix: A command to run on the host, or a `provision:STEP` (see
            `PROVISION_STEPS`); None when nothing needs fixing.
    """

    id: str
    status: str
    seen: str
    fix: str | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict with `CHECK_KEYS`."""
        return {"id": self.id, "status": self.status, "seen": self.seen, "fix": self.fix}


@dataclass
class HostReport:
    """Every check of one host.

    Attributes:
        host: The inventory name.
        checks: The verdicts, in `CHECK_IDS` order; checks that could not run
            (the host did not answer SSH) are left out.
        error: Why the host could not be examined, one line (None if it could).
    """

    host: str
    checks: list[Check] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        """The worst status of its checks (`fail` if the host could not be examined)."""
        statuses = [check.status for check in self.checks]
        if self.error:
            statuses.append(FAIL)
        return worst(statuses)

    def check(self, ident: str) -> Check | None:
        """The check `ident`, if it ran."""
        return next((check for check in self.checks if check.id == ident), None)

    def add(self, check: Check) -> None:
        """Record a verdict, replacing an earlier one of the same id."""
        self.checks = [known for known in self.checks if known.id != check.id] + [check]
        order = {ident: index for index, ident in enumerate(CHECK_IDS)}
        self.checks.sort(key=lambda known: order.get(known.id, len(order)))

    def to_dict(self) -> dict:
        """A JSON-ready dict with `HOST_KEYS`."""
        return {"host": self.host, "status": self.status, "error": self.error,
                "checks": [check.to_dict() for check in self.checks]}


def worst(statuses: list[str] | tuple[str, ...]) -> str:
    """The worst of these statuses (`ok` for none)."""
    return max(statuses, key=STATUSES.index, default=OK)
