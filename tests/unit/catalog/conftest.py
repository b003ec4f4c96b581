"""Fixtures for the catalog tests: catalogs written into temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.catalog_tree import write_tree


@pytest.fixture
def make_catalog(tmp_path: Path):
    """Build a catalog folder from a dict of files; returns its root."""
    counter = iter(range(1000))

    def build(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / f"catalog{next(counter)}", files)

    return build
