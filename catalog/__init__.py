"""Corral catalog layer."""
