"""The deploy planner: where each container goes, and why. Pure: no I/O."""
