"""Catalog folders: layout, version selection, broken entries, the built-in catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.catalog.answers import resolve_answers
from corral.catalog.errors import CatalogError
from corral.catalog.lint import lint_path
from corral.catalog.loader import builtin_root, load_catalog, load_catalogs
from corral.catalog.render import render
from tests.support.catalog_tree import simple_entry


def test_layout_templates_and_prefixed_templates(make_catalog) -> None:
    files = simple_entry("alpha")
    files.update({k.replace("templates/alpha", "infra-templates/beta"): v
                  for k, v in simple_entry("alpha").items()})
    files["templates/alpha/README.md"] = "# Alpha\n"
    files["templates/alpha/catalogIcon-alpha.png"] = "png"
    files["templates/alpha/0/README.md"] = "version readme"
    files["my-odd-templates/x/config.yml"] = "name: x\n"  # two dashes: ignored, like Rancher
    catalog = load_catalog(make_catalog(files))
    assert [e.id for e in catalog.entries] == ["alpha", "infra/beta"]
    alpha = catalog.entries[0]
    assert (alpha.name, alpha.category, alpha.version, alpha.description) == \
        ("alpha", "Test", "1.0", "test")
    assert alpha.readme() == "# Alpha\n" and alpha.icon.name == "catalogIcon-alpha.png"
    assert alpha.versions[0].readme() == "version readme"


def test_default_version_is_config_version_not_highest_folder(make_catalog) -> None:
    files = simple_entry(versions={"0": "1.0", "1": "2.0-beta", "10": "0.9", "2": "1.5"},
                         config_version="1.5")
    entry = load_catalog(make_catalog(files)).entries[0]
    assert [v.revision for v in entry.versions] == ["0", "1", "2", "10"]
    assert entry.default_version.revision == "2"
    assert entry.find_version(None).version == "1.5"
    assert entry.find_version("2.0-beta").revision == "1"
    assert entry.find_version("10").version == "0.9"  # a folder name works too
    with pytest.raises(CatalogError, match="no version 3.0"):
        entry.find_version("3.0")


def test_default_version_falls_back_to_highest_with_a_warning(make_catalog) -> None:
    entry = load_catalog(make_catalog(simple_entry(versions={"0": "1", "1": "2"},
                                                   config_version="9"))).entries[0]
    assert entry.default_version.revision == "1"
    assert any("no version folder has version 9" in p.message for p in entry.problems)


def test_catalog_block_variants(make_catalog) -> None:
    files = simple_entry()
    files["templates/app/0/rancher-compose.yml"] = (
        "version: '2'\nservices:\n  .catalog:\n    version: '7'\n    questions: []\n")
    assert load_catalog(make_catalog(files)).entries[0].versions[0].version == "7"
    files["templates/app/0/rancher-compose.yml"] = "catalog:\n  version: '8'\n"
    assert load_catalog(make_catalog(files)).entries[0].versions[0].version == "8"


def test_broken_entries_never_stop_the_others(make_catalog) -> None:
    files = simple_entry("good")
    files.update({
        "templates/bad-yaml/config.yml": "name: [unclosed\n",
        "templates/bad-yaml/0/docker-compose.yml": "a: b\n",
        "templates/no-config/0/docker-compose.yml": "w:\n  image: x\n",
        "templates/dup/config.yml": "name: a\nname: b\n",
        "templates/bad-question/config.yml": "name: q\nversion: '1'\n",
        "templates/bad-question/0/docker-compose.yml": "w:\n  image: x\n",
        "templates/bad-question/0/rancher-compose.yml":
            ".catalog:\n  version: '1'\n  questions:\n    - variable: A\n      type: nope\n",
        "templates/empty/config.yml": "name: e\n",
    })
    results = {(r.entry, r.folder): r for r in lint_path(make_catalog(files))}
    assert results[("good", "0")].ok
    assert not results[("bad-yaml", "0")].ok
    assert any(p.file.endswith("config.yml") and p.line == 2
               for p in results[("bad-yaml", "0")].problems)
    assert "no config.yml" in results[("no-config", "0")].problems[0].message
    assert any("duplicate key" in p.message and p.line == 2
               for p in results[("dup", None)].problems)
    bad = results[("bad-question", "0")].problems[0]
    assert (bad.line, "unknown type 'nope'" in bad.message) == (5, True)
    assert not results[("empty", None)].ok


def test_missing_or_empty_catalog_folder(tmp_path) -> None:
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope")
    with pytest.raises(CatalogError, match="no templates/"):
        load_catalog(tmp_path)


def test_catalog_set_lookup(make_catalog) -> None:
    mine = make_catalog(simple_entry("web"))
    catalogs = load_catalogs([mine])
    assert catalogs.find("web").catalog == mine.name  # user folders come first
    assert catalogs.find("builtin:web").catalog == "builtin"
    with pytest.raises(CatalogError):
        catalogs.find("nothing")


def test_builtin_catalog_lints_clean() -> None:
    results = lint_path(builtin_root())
    assert {(r.entry, r.folder) for r in results} >= {("webrtc-demo", "0"), ("web", "0"),
                                                       ("web", "1")}
    assert all(r.ok and not r.problems for r in results), [r.to_dict() for r in results]


def test_builtin_web_default_is_not_the_highest_folder() -> None:
    web = load_catalogs([]).find("web")
    assert web.default_version.revision == "0" and web.versions[-1].revision == "1"


def test_webrtc_demo_has_everything_the_issue_asks_for() -> None:
    version = load_catalogs([]).find("webrtc-demo").find_version(None)
    assert {q.type for q in version.info.questions} == {
        "string", "int", "boolean", "password", "enum", "multiline", "service", "certificate"}
    answers = resolve_answers(version.info.questions, sets=["KV_PASSWORD=correct-horse"])
    stack = render(version, answers, stack_name="demo")
    signal, media, kv = (stack.service(n) for n in ("signal", "media", "kv"))
    assert signal.image == "corral-lab/web:1" and signal.scale == 2
    assert signal.ports[0].host_port == 8080 and signal.health_check.path == "/health"
    assert signal.scheduling.rules[0].value == "demo/signal"  # spread
    assert media.scheduling.rules[0].key == "role" and media.sidekicks == ("media-recorder",)
    assert stack.service("media-recorder").sidekick_of == "media"
    assert kv.volumes[0].source == "kv-data" and stack.volumes[0].name == "kv-data"
    assert stack.service("log-shipper").scheduling.is_global
    assert "correct-horse" not in repr(stack) and "correct-horse" not in str(stack.to_dict())
    assert stack.to_dict(reveal_secrets=True)["services"][1]["name"] == "log-shipper"
    assert signal.environment["KV_PASSWORD"] == "correct-horse"
    no_shipper = render(version, resolve_answers(version.info.questions, sets=[
        "KV_PASSWORD=correct-horse", "ENABLE_LOG_SHIPPER=false", "MEDIA_CHANNELS=0"]),
        stack_name="demo")
    assert "log-shipper" not in {s.name for s in no_shipper.services}
    assert "CHANNEL_0" not in no_shipper.service("media").environment


def test_certificate_questions_are_tied_to_rancher_service_ones_to_other_stacks() -> None:
    version = load_catalogs([]).find("webrtc-demo").find_version(None)
    answers = resolve_answers(version.info.questions, sets=[
        "KV_PASSWORD=correct-horse", "KV_SERVICE=other/redis", "TLS_CERT=mycert"])
    stack = render(version, answers, stack_name="demo")
    unsupported = [p.message for p in stack.warnings if p.severity == "unsupported"]
    assert len(unsupported) == 1 and "certificate" in unsupported[0] and not stack.deployable
    assert stack.service_refs == (("KV_SERVICE", "other", "redis"),)
    with pytest.raises(CatalogError, match="KV_SERVICE: service 'nope' is not a service"):
        render(version, resolve_answers(version.info.questions, sets=[
            "KV_PASSWORD=correct-horse", "KV_SERVICE=nope"]), stack_name="demo")
    local = render(version, resolve_answers(version.info.questions, sets=[
        "KV_PASSWORD=correct-horse", "KV_SERVICE=demo/kv"]), stack_name="demo")
    assert local.deployable


def test_duplicate_keys_warn_naming_both_lines_and_the_last_wins(make_catalog) -> None:
    files = simple_entry("dupes")
    files.update({
        "templates/dupes/config.yml": "name: a\nversion: '1'\nname: b\n",
        "templates/dupes/0/docker-compose.yml.tpl":
            "{{- if true }}\napp:\n  image: one\n  image: {{ \"two\" }}\n{{- end }}\n",
        "templates/dupes/0/rancher-compose.yml":
            ".catalog:\n  version: '1'\napp:\n  scale: 1\n  scale: 2\n",
    })
    catalog = load_catalog(make_catalog(files))
    entry = catalog.entries[0]
    assert entry.name == "b"
    assert [(p.severity, p.line) for p in entry.problems] == [("warning", 3)]
    assert "lines 1 and 3" in entry.problems[0].message
    version = entry.versions[0]
    stack = render(version, resolve_answers(version.info.questions), stack_name="dupes")
    app = stack.service("app")
    assert (app.image, app.scale) == ("two", 2)
    found = {(Path(p.file).name, p.line, p.message) for p in stack.warnings}
    assert ("docker-compose.yml.tpl", 4, "duplicate key 'image' at lines 3 and 4: the last"
            " one wins, as in Rancher") in found
    assert ("rancher-compose.yml", 5, "duplicate key 'scale' at lines 4 and 5: the last"
            " one wins, as in Rancher") in found
