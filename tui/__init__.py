"""Corral tui layer."""
