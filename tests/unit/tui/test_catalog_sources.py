"""Catalog folders from `--catalog`, the configuration file and the built-in catalog."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from corral.catalog.errors import CatalogError
from corral.tui.catalog_sources import load_sources
from corral.tui.cli.main import build_parser
from tests.support.catalog_tree import simple_entry, write_tree


def run(*argv: str) -> tuple[int, str, str]:
    """`corral ARGV` through the real parser, capturing the command's output."""
    args = build_parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    return args.func(args, out, err), out.getvalue(), err.getvalue()


def test_order_duplicates_and_unreadable_folders(tmp_path: Path, monkeypatch) -> None:
    first = write_tree(tmp_path / "first", simple_entry("web"))
    second = write_tree(tmp_path / "second", simple_entry("other"))
    catalogs, warnings = load_sources([str(first)], [str(second), str(first),
                                                     str(tmp_path / "gone")])
    assert [c.name for c in catalogs.catalogs] == ["first", "second", "builtin"]
    assert catalogs.find("web").catalog == "first"  # earlier folders win on equal ids
    assert len(warnings) == 1 and "gone" in warnings[0] and "not found" in warnings[0]

    monkeypatch.setenv("HOME", str(tmp_path))
    catalogs, warnings = load_sources([], ["~/second"], builtin=False)
    assert [c.name for c in catalogs.catalogs] == ["second"] and not warnings

    with pytest.raises(CatalogError, match="not found"):
        load_sources([str(tmp_path / "gone")])


def test_catalog_commands_read_the_config_file(tmp_path: Path) -> None:
    extra = write_tree(tmp_path / "ops", simple_entry("extra"))
    config = tmp_path / "config.yaml"
    config.write_text(f"catalogs:\n  - {extra}\n  - {tmp_path / 'gone'}\n")
    code, out, err = run("--config", str(config), "catalog", "list", "--json")
    assert code == 0
    assert {"extra", "web", "webrtc-demo"} <= {e["id"] for e in json.loads(out)}
    assert err.startswith("warning: ") and "gone" in err and err.count("\n") == 1

    code, out, _ = run("--config", str(config), "catalog", "show", "ops:extra")
    assert code == 0 and "extra (ops:extra)" in out


def test_a_broken_config_file_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("catalogs: ops\n")
    code, out, err = run("--config", str(config), "catalog", "list")
    assert code == 2 and out == "" and err.count("\n") == 1 and "'catalogs' must be a list" in err
