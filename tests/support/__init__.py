"""Helpers shared by the tests, the benches and the screenshots script."""
