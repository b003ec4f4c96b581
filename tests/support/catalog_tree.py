"""Catalogs written into temporary folders, for the catalog, deploy and console tests.

Shared by the tests under `tests/unit/catalog/` (through the `make_catalog`
fixture of their conftest), `tests/unit/tui/` and `tests/labtests/test_console_deploy.py`.
"""

from __future__ import annotations

from pathlib import Path


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text) under `root` and return `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


#: An entry version's `rancher-compose.yml`: one int question, PORT.
SIMPLE_RANCHER = """\
.catalog:
  name: App
  version: {version}
  questions:
    - variable: PORT
      type: int
      default: 8080
      required: true
"""

#: An entry version's `docker-compose.yml`: one service publishing PORT.
SIMPLE_COMPOSE = """\
app:
  image: corral-lab/web:1
  ports:
    - ${PORT}:80
"""


def simple_entry(name: str = "app", versions: dict[str, str] | None = None,
                 config_version: str = "1.0") -> dict[str, str]:
    """Files of an entry with one service; `versions` maps folder -> version string."""
    versions = versions or {"0": "1.0"}
    files = {f"templates/{name}/config.yml": f"name: {name}\nversion: {config_version}\n"
                                            "description: test\ncategory: Test\n"}
    for folder, version in versions.items():
        files[f"templates/{name}/{folder}/docker-compose.yml"] = SIMPLE_COMPOSE
        files[f"templates/{name}/{folder}/rancher-compose.yml"] = SIMPLE_RANCHER.format(
            version=version)
    return files
