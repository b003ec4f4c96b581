"""Corral backends layer."""
