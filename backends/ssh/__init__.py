"""Reaching a host: SSH connections, the engine tunnel, sessions, the fleet, the stream relay.

What the layers above may import; everything else in this package is internal.
"""

from typing import TYPE_CHECKING

from corral.catalog.lazy import lazy_names

#: Each public name -> the module defining it. Names load on first use (PEP 562):
#: the stream relay child (`relay_process`) lives in this package and needs only
#: the connection and the tunnel, not docker-py and the fleet (~15 MB less RSS).
_HOMES = {
    "BackendLoop": "loop",
    "check_same_engine": "probe",
    "Fleet": "fleet",
    "HostSession": "session",
    "HostState": "session",
    "HostStatus": "session",
    "probe_host": "probe",
    "ProbeReport": "probe",
    "SshSettings": "connect",
}

if TYPE_CHECKING:
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


__getattr__ = lazy_names(__name__, _HOMES)
