"""Unit tests of `corral.backends`."""
