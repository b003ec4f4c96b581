"""Reaching a host: SSH connections, the engine tunnel, sessions, the fleet, the stream relay,
persisted tunnels.

What the layers above may import; everything else in this package is internal.
"""

from typing import TYPE_CHECKING

from corral.catalog.lazy import lazy_names

#: Each public name -> the module defining it. Names load on first use (PEP 562):
#: the stream relay child (`relay_process`) needs only the connection and the
#: tunnel, not docker-py and the fleet (~15 MB less RSS), and a read through a
#: persisted tunnel (`persist`) imports neither asyncssh nor docker-py.
_HOMES = {
    "BackendLoop": "loop",
    "check_same_engine": "probe",
    "disconnect_persisted": "persist",
    "Fleet": "fleet",
    "HostSession": "session",
    "HostState": "session",
    "HostStatus": "session",
    "probe_host": "probe",
    "ProbeReport": "probe",
    "SshSettings": "settings",
}

if TYPE_CHECKING:
    from corral.backends.ssh.fleet import Fleet
    from corral.backends.ssh.loop import BackendLoop
    from corral.backends.ssh.persist import disconnect_persisted
    from corral.backends.ssh.probe import ProbeReport, check_same_engine, probe_host
    from corral.backends.ssh.session import HostSession, HostState, HostStatus
    from corral.backends.ssh.settings import SshSettings

__all__ = [
    "BackendLoop",
    "check_same_engine",
    "disconnect_persisted",
    "Fleet",
    "HostSession",
    "HostState",
    "HostStatus",
    "probe_host",
    "ProbeReport",
    "SshSettings",
]


__getattr__ = lazy_names(__name__, _HOMES)
