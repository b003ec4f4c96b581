"""The audit trail: every mutation, locally and on the hosts it touched.

`install()` registers the trail with `backends/guard.py` once a process
starts; `attach(fleet)` lets it copy entries to those hosts; `read_all()`
merges the local file with the hosts' history.
"""

from corral.backends.audit.entry import MASK, AuditEntry, mask_args
from corral.backends.audit.history import AuditFilter, merge, read_all, read_hosts
from corral.backends.audit.local import audit_path
from corral.backends.audit.trail import AuditTrail, current, install

__all__ = [
    "AuditEntry",
    "AuditFilter",
    "AuditTrail",
    "MASK",
    "audit_path",
    "current",
    "install",
    "mask_args",
    "merge",
    "read_all",
    "read_hosts",
]
