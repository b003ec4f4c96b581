"""Reaching a host: SSH connections, the engine tunnel, sessions, the fleet, the stream relay."""
