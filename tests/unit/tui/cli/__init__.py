"""Unit tests of the `corral` command line."""
