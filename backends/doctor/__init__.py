"""Is each host fit for Corral? SSH, engine, fleet, swarm ports, kernel, registries.

What the layers above may import; everything else in this package is internal.
`corral hosts doctor`, the console's hosts view and `corral hosts provision`
(which re-runs it at its end) all call `run_doctor`.
"""

from corral.backends.doctor.model import (
    CHECK_IDS,
    CHECK_KEYS,
    FAIL,
    HOST_KEYS,
    OK,
    PROVISION_STEPS,
    STATUSES,
    WARN,
    Check,
    HostReport,
    worst,
)
from corral.backends.doctor.run import CHECK_TIMEOUT, ENV_FAKE_CLOCK, doctor_specs, run_doctor

__all__ = [
    "Check",
    "CHECK_IDS",
    "CHECK_KEYS",
    "CHECK_TIMEOUT",
    "doctor_specs",
    "ENV_FAKE_CLOCK",
    "FAIL",
    "HOST_KEYS",
    "HostReport",
    "OK",
    "PROVISION_STEPS",
    "run_doctor",
    "STATUSES",
    "WARN",
    "worst",
]
