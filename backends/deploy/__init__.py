"""Deploy, upgrade, scale, remove and reconcile stacks across the hosts.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.deploy.apply import ApplyResult, apply
from corral.backends.deploy.carry import UpgradeSeed, render_upgrade, upgrade_questions
from corral.backends.deploy.carry import seed as upgrade_seed
from corral.backends.deploy.diag import Diagnostics, HostDiag, Scrubber
from corral.backends.deploy.diag import collect as collect_diagnostics
from corral.backends.deploy.diff import FieldChange
from corral.backends.deploy.gather import gather, record_volumes
from corral.backends.deploy.health_track import HealthTracker
from corral.backends.deploy.host import HostWork, preflight
from corral.backends.deploy.image_plan import PULL_MODES, ImageRow, human_bytes, plan_images
from corral.backends.deploy.lease import Holder as LeaseHolder
from corral.backends.deploy.lease import break_lease, leases
from corral.backends.deploy.lease import hold as hold_lease
from corral.backends.deploy.loadbalancer import describe as describe_load_balancer
from corral.backends.deploy.loadbalancer import resolve as resolve_load_balancers
from corral.backends.deploy.prepare import Prepared, Progress, ProgressCallback, prepare
from corral.backends.deploy.reconcile import ReconcileReport, reconcile
from corral.backends.deploy.record import Definition
from corral.backends.deploy.stacks import (
    UPGRADED,
    StackSummary,
    find,
    prepare_scale,
    remove,
    summarize,
    volumes_of,
)
from corral.backends.deploy.swarm_images import apply_swarm, plan_swarm
from corral.backends.deploy.swarm_seed import swarm_deployed
from corral.backends.deploy.tombstone import explicit as explicit_deploy
from corral.backends.deploy.upgrade import confirm, rollback, upgrade

__all__ = [
    "apply",
    "apply_swarm",
    "ApplyResult",
    "break_lease",
    "explicit_deploy",
    "FieldChange",
    "collect_diagnostics",
    "confirm",
    "Definition",
    "describe_load_balancer",
    "Diagnostics",
    "find",
    "gather",
    "record_volumes",
    "HealthTracker",
    "hold_lease",
    "HostDiag",
    "LeaseHolder",
    "leases",
    "HostWork",
    "human_bytes",
    "ImageRow",
    "plan_images",
    "plan_swarm",
    "PULL_MODES",
    "preflight",
    "prepare",
    "prepare_scale",
    "Prepared",
    "Progress",
    "ProgressCallback",
    "reconcile",
    "resolve_load_balancers",
    "Scrubber",
    "ReconcileReport",
    "remove",
    "render_upgrade",
    "rollback",
    "StackSummary",
    "summarize",
    "swarm_deployed",
    "upgrade",
    "upgrade_questions",
    "upgrade_seed",
    "UpgradeSeed",
    "UPGRADED",
    "volumes_of",
]
