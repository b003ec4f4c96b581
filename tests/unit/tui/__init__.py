"""Unit tests of `corral.tui`."""
