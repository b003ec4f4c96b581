"""Small hostile inputs must neither exhaust memory or time nor leak files (issue 16, item 5).

The attacks run the real `corral` command in a child process limited to 1 GB of
address space and a timeout, so a regression fails the test (a traceback, a
MemoryError, a timeout) instead of eating the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from corral.backends.errors import InventoryError
from corral.backends.inventory import load_inventory
from corral.catalog.answers import load_answers_file
from corral.catalog.bounded import MAX_FILE_BYTES
from corral.catalog.errors import CatalogError, TemplateError, YamlError
from corral.catalog.gotemplate import execute
from corral.catalog.gotemplate.execute import render_template
from corral.catalog.lint import lint_path
from corral.catalog.loader import load_catalog
from corral.tui.config import ConfigError, load_config
from tests.support.catalog_tree import simple_entry, write_tree

MEMORY_LIMIT = 1 << 30


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`corral ARGS` with 1 GB of address space, no user configuration, a timeout."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), CORRAL_CONFIG="",
               CORRAL_INVENTORY="")
    return subprocess.run(
        [sys.executable, "-m", "corral.tui.cli.main", *args],
        capture_output=True, text=True, timeout=timeout, preexec_fn=_limit_memory, env=env,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    err = result.stderr
    assert "Traceback" not in err and "MemoryError" not in err, err[-2000:]
    assert result.returncode == 2, (result.returncode, err[-2000:])
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert len(lines[0]) < 500
    return lines[0]


# --- files are capped before they are parsed ---------------------------------


def test_large_inventory_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    host = "  - name: h{0}\n    ssh: root@10.0.0.1:22\n"
    path.write_text("hosts:\n" + "".join(host.format(i) for i in range(60_000)))
    assert path.stat().st_size > MAX_FILE_BYTES
    result = run_limited(tmp_path, "--inventory", str(path), "hosts", timeout=30)
    assert_one_line_error(result, str(path), "1 MiB")


def test_inventory_alias_bomb_is_bounded_by_bytes(tmp_path: Path) -> None:
    # Under the size cap: one 100 kB string aliased 60,000 times (6 GB expanded).
    aliases = ", ".join(f"k{i}: *a" for i in range(1, 60_000))
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  - name: h1\n    ssh: root@h\n    labels: {k0: &a "
                    + "x" * 100_000 + ", " + aliases + "}\n")
    assert path.stat().st_size < MAX_FILE_BYTES
    result = run_limited(tmp_path, "--inventory", str(path), "hosts", timeout=60)
    assert_one_line_error(result, f"{path}:4", "8 MiB")


def test_config_answers_and_inventory_edit_are_capped(tmp_path: Path) -> None:
    big = "# padding\n" * (MAX_FILE_BYTES // 10 + 10)
    config = tmp_path / "config.yaml"
    config.write_text(big + "readonly: true\n")
    with pytest.raises(ConfigError, match="file too large.*1 MiB"):
        load_config(config)
    answers = tmp_path / "answers.yaml"
    answers.write_text(big + "PORT: 1\n")
    with pytest.raises(YamlError, match="file too large.*1 MiB") as caught:
        load_answers_file(answers)
    assert caught.value.file == str(answers)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(big + "hosts: []\n")
    with pytest.raises(InventoryError, match="file too large.*1 MiB"):
        load_inventory(inventory)
    from corral.backends.inventory import remove_host

    with pytest.raises(InventoryError, match="file too large"):
        remove_host(inventory, "x")


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "catalog", simple_entry("app"))
    fifo = tmp_path / "answers.yaml"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    result = run_limited(tmp_path, "catalog", "render", "app", "--catalog", str(root),
                         "--answers", str(fifo), timeout=30)
    assert_one_line_error(result, str(fifo), "not a regular file")


# --- catalogs: symlinks out, big files, templates ---------------------------


def _catalog(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "catalog", simple_entry("app"))


def test_a_symlink_out_of_the_catalog_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:$y$j9T$SECRETHASH:19000:0:99999:7:::\n"
                      "daemon:*:19000:0:99999:7:::\n")
    root = _catalog(tmp_path)
    compose = root / "templates/app/0/docker-compose.yml"
    compose.unlink()
    compose.symlink_to(secret)
    result = run_limited(tmp_path, "catalog", "lint", str(root), timeout=60)
    assert "SECRETHASH" not in result.stdout + result.stderr
    assert "daemon" not in result.stdout + result.stderr
    assert "leads outside the catalog folder" in result.stdout
    # A README, a rancher-compose.yml and config.yml are read the same way.
    readme = root / "templates/app/README.md"
    readme.symlink_to(secret)
    entry = load_catalog(root).entries[0]
    assert "SECRETHASH" not in (entry.readme() or "")
    assert "outside the catalog folder" in (entry.readme() or "")


def test_a_directory_symlink_out_of_the_catalog_is_refused(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "elsewhere", simple_entry("other"))
    root = _catalog(tmp_path)
    # Links that stay inside the catalog keep working.
    (root / "templates/alias").symlink_to(root / "templates/app")
    assert {r.entry for r in lint_path(root) if r.ok} == {"alias", "app"}
    (root / "templates/alias").unlink()
    (root / "templates/stolen").symlink_to(outside / "templates/other")
    (root / "templates/app/9").symlink_to(outside / "templates/other/0")
    results = {(r.entry, r.folder): r for r in lint_path(root)}
    stolen = [r for (entry, _), r in results.items() if entry == "stolen"]
    assert stolen and not stolen[0].ok
    assert any("leads outside" in p.message for p in stolen[0].problems)
    app = load_catalog(root).entries[0]
    assert [v.revision for v in app.versions] == ["0"]
    assert any("leads outside" in p.message for p in app.problems)


def test_large_catalog_files_are_refused(tmp_path: Path) -> None:
    root = _catalog(tmp_path)
    compose = root / "templates/app/0/docker-compose.yml"
    compose.write_text(compose.read_text() + "# x\n" * (MAX_FILE_BYTES // 4 + 1))
    (root / "templates/app/README.md").write_text("x" * (MAX_FILE_BYTES + 1))
    result = run_limited(tmp_path, "catalog", "lint", str(root), timeout=60)
    assert f"{compose}: error: file too large" in result.stdout
    assert "1 MiB" in result.stdout
    readme = load_catalog(root).entries[0].readme() or ""
    assert "file too large" in readme and len(readme) < 300


# --- templates: time, integers and sizes ------------------------------------


def _template_catalog(tmp_path: Path, body: str) -> Path:
    files = simple_entry("app")
    files["templates/app/0/docker-compose.yml.tpl"] = body
    del files["templates/app/0/docker-compose.yml"]
    return write_tree(tmp_path / "catalog", files)


def test_squaring_a_number_is_refused_quickly(tmp_path: Path) -> None:
    body = "{{ $x := 3 }}" + "{{ $x = mul $x $x }}" * 40 + "app:\n  image: x{{ $x }}\n"
    root = _template_catalog(tmp_path, body)
    result = run_limited(tmp_path, "catalog", "render", "app", "--catalog", str(root),
                         timeout=30)
    line = assert_one_line_error(result, "docker-compose.yml.tpl:1", "64 bits")
    assert "mul" in line


@pytest.mark.parametrize("template", [
    '{{ $s := repeat 100000 "a" }}{{ replace "a" (repeat 100000 "b") $s }}',
    '{{ indent 100000 (repeat 1000000 "\\n") }}',
    '{{ $l := list "x" }}{{ range until 40 }}{{ $l = list $l $l }}{{ end }}{{ $l }}',
    '{{ $l := list "x" }}{{ range until 40 }}{{ $l = list $l $l }}{{ end }}{{ print $l }}',
    '{{ $s := repeat 1000000 "a" }}{{ join $s (until 100000) }}',
    '{{ $s := repeat 1000000 "a" }}{{ splitList "" $s }}',
    '{{ $s := repeat 1000000 "a" }}{{ printf "%s%s%s%s" $s $s $s $s }}',
    '{{ add 9223372036854775807 1 }}',
    '{{ 1' + '0' * 400 + ' }}',
])
def test_template_growth_is_refused_before_it_is_built(template: str) -> None:
    # Each would allocate gigabytes before the output cap saw it: run in a
    # child limited to 1 GB, so a regression fails here instead of eating memory.
    script = (
        "import sys\n"
        "from corral.catalog.errors import TemplateError\n"
        "from corral.catalog.gotemplate.execute import render_template\n"
        "try:\n"
        "    render_template(sys.argv[1], values={}, stack={}, name='t.tpl')\n"
        "except TemplateError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, template], capture_output=True,
                            text=True, timeout=30, preexec_fn=_limit_memory)
    assert result.returncode == 0 and not result.stderr, result.stderr[-2000:]
    assert result.stdout.startswith("t.tpl:1: ") and result.stdout.count("\n") == 1
    assert len(result.stdout) < 200
    # Not an allocation that failed (that would need the memory first): a limit.
    assert any(reason in result.stdout for reason in ("longer than", "bits", "out of range"))


def test_template_output_is_capped_as_it_grows() -> None:
    template = '{{ $s := repeat 1000000 "a" }}{{ range until 100 }}{{ $s }}{{ end }}'
    with pytest.raises(TemplateError, match="output larger than 1 MiB"):
        render_template(template, values={}, stack={}, name="t.tpl")


def test_template_time_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execute, "MAX_SECONDS", 0.2)
    template = '{{ range until 100000 }}{{ range until 100 }}{{ end }}{{ end }}'
    with pytest.raises(TemplateError, match="longer than 0.2 s"):
        render_template(template, values={}, stack={}, name="t.tpl")


# --- error messages quote short excerpts -------------------------------------


def test_errors_quote_a_short_printable_excerpt(tmp_path: Path) -> None:
    long_name = "\\e]52;c;SGVsbG8=\\a" + "n" * 500  # YAML escapes: ESC, BEL
    files = simple_entry("app")
    files["templates/app/0/docker-compose.yml"] = f'"{long_name}": 3\n'
    root = write_tree(tmp_path / "catalog", files)
    problems = [p for r in lint_path(root) for p in r.problems]
    for problem in problems:
        assert "\x1b" not in problem.message and "\x07" not in problem.message
        assert "n" * 81 not in problem.message
    assert any("\\x1b]52" in p.message for p in problems)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(f'hosts:\n  - name: "{long_name}"\n    ssh: root@h\n')
    with pytest.raises(InventoryError) as caught:
        load_inventory(inventory)
    message = str(caught.value)
    assert "\x1b" not in message and "n" * 81 not in message and ":2:" in message


def test_catalog_errors_are_one_bounded_line() -> None:
    error = CatalogError("bad\nvalue " + "v" * 10_000, file="f.yml", line=2)
    assert "\n" not in str(error) and len(str(error)) < 500
