"""Reaching a host: SSH connections, the engine tunnel, sessions, the fleet, the stream relay.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.ssh.connect import SshSettings
from corral.backends.ssh.fleet import Fleet
from corral.backends.ssh.loop import BackendLoop
from corral.backends.ssh.probe import ProbeReport, check_same_engine, probe_host
from corral.backends.ssh.session import HostSession, HostState, HostStatus

__all__ = [
    "BackendLoop",
    "check_same_engine",
    "Fleet",
    "HostSession",
    "HostState",
    "HostStatus",
    "probe_host",
    "ProbeReport",
    "SshSettings",
]
