"""The Rancher catalog corpus (tests/corpus/rancher): every version loads and renders as it should.

Each version has a line below: whether it deploys as is, and what must hold
of its render. The lab test plans every one against real hosts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.backends.errors import PlanError
from corral.backends.plan.planner import plan
from corral.catalog.answers import resolve_answers
from corral.catalog.errors import CatalogError
from corral.catalog.lint import lint_path
from corral.catalog.loader import OTHER_KINDS, load_catalog
from corral.catalog.render import render
from corral.catalog.spec import Stack
from tests.support.plan import host

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "rancher"
ANSWERS = {"secret-question": {"API_TOKEN": "tok-corpus-1", "DB_PASSWORD": "pw-corpus-1"}}
#: (entry, folder) -> deployable without flags
EXPECTED = {
    ("agent-role", "0"): False, ("agent-role", "1"): False,
    ("all-questions", "0"): True, ("corpus-db", "0"): True,
    ("dup-keys", "0"): True, ("dup-keys", "1"): True,
    ("expose-mapping", "0"): True,
    ("functions", "0"): True, ("functions", "1"): True,
    ("infra/net-agent", "0"): False,
    ("lb-haproxy", "0"): True, ("lb-legacy", "0"): True,
    ("notemplating", "0"): True, ("scale-policy", "0"): True, ("scheduled", "0"): True,
    ("secret-question", "0"): True, ("service-question", "0"): True,
    ("sidekick-shared", "0"): True, ("sidekick-shared", "1"): True,
    ("versioned", "0"): True, ("versioned", "1"): True, ("versioned", "2"): True,
    ("volumes", "0"): True, ("volumes", "1"): False,
}
OTHERS = {"project/cattle": "project", "kubernetes/guestbook": "kubernetes",
          "swarm/visualizer": "swarm", "mesos/marathon": "mesos",
          "machine/corpus-driver": "machine"}


def corpus_render(entry_id: str, folder: str, **options: object) -> Stack:
    entry = next(e for e in load_catalog(CORPUS).entries if e.id == entry_id)
    version = next(v for v in entry.versions if v.revision == folder)
    answers = resolve_answers(version.info.questions, sets=ANSWERS.get(entry_id, {}))
    return render(version, answers, stack_name=entry_id.rsplit("/", 1)[-1], **options)


def test_the_corpus_has_twenty_stack_versions_and_every_kind_of_entry() -> None:
    entries = load_catalog(CORPUS).entries
    stacks = {(e.id, v.revision) for e in entries if e.kind == "stack" for v in e.versions}
    assert stacks == set(EXPECTED) and len(stacks) >= 20
    assert {e.id: e.kind for e in entries if e.kind != "stack"} == OTHERS
    assert {e.id for e in entries if e.problems} == {"dup-keys"}  # its config.yml
    assert all(p.severity == "warning" for e in entries for p in e.problems)


@pytest.mark.parametrize(("entry_id", "folder"), sorted(EXPECTED))
def test_each_version_renders_as_expected(entry_id: str, folder: str) -> None:
    stack = corpus_render(entry_id, folder)
    assert stack.deployable is EXPECTED[(entry_id, folder)], [str(p) for p in stack.warnings]
    assert all(p.severity != "error" for p in stack.warnings)


@pytest.mark.parametrize("entry_id", sorted(OTHERS))
def test_other_orchestrators_and_environments_are_named_not_broken(entry_id: str) -> None:
    entry = next(e for e in load_catalog(CORPUS).entries if e.id == entry_id)
    assert entry.category_label == OTHER_KINDS[OTHERS[entry_id]]
    assert all(not v.problems for v in entry.versions)
    with pytest.raises(CatalogError, match="Corral deploys Rancher Cattle stacks"):
        render(entry.versions[0], resolve_answers(()), stack_name="x")
    (result,) = lint_path(entry.folder)  # one entry folder is enough for lint
    assert result.ok and result.entry == entry_id


def test_lint_takes_one_entry_folder_or_the_catalog_root() -> None:
    one = lint_path(CORPUS / "templates" / "versioned")
    assert [(r.entry, r.folder, r.ok) for r in one] == [
        ("versioned", "0", True), ("versioned", "1", True), ("versioned", "2", True)]
    assert len(lint_path(CORPUS)) == len(EXPECTED) + len(OTHERS)


def test_shared_sidekicks_get_one_copy_per_primary() -> None:
    stack = corpus_render("sidekick-shared", "0")
    names = {s.name: s for s in stack.services}
    assert set(names) == {"web", "worker", "web-data", "worker-data"}
    assert (names["web-data"].sidekick_of, names["web-data"].scale) == ("web", 2)
    assert (names["worker-data"].sidekick_of, names["worker-data"].scale) == ("worker", 1)
    assert [v.source for v in names["web"].volumes_from] == ["web-data"]
    assert names["worker"].sidekicks == ("worker-data",)
    result = plan(stack, [host("h1"), host("h2")])
    by_host = {(s.service, s.index): s.host for s in result.steps}
    assert by_host[("web-data", 1)] == by_host[("web", 1)]
    assert by_host[("worker-data", 1)] == by_host[("worker", 1)]
    other = corpus_render("sidekick-shared", "1")
    assert other.service("jobs").network_mode == "service:jobs-net"
    assert other.service("logs").sidekick_of == "api"


def test_duplicate_keys_keep_the_last_value() -> None:
    stack = corpus_render("dup-keys", "0")
    assert stack.service("app").image == "corral-lab/web:1"
    assert stack.service("app").environment["MODE"] == "second"
    assert corpus_render("dup-keys", "1").service("app").scale == 2


def test_scale_policy_starts_at_min_and_warns() -> None:
    stack = corpus_render("scale-policy", "0")
    assert stack.service("app").scale == 2
    assert any("scale_policy: starts 2 containers" in p.message for p in stack.warnings)


def test_expose_items_and_mappings_expose_the_container_port() -> None:
    stack = corpus_render("expose-mapping", "0")
    assert [p.container_port for p in stack.service("internal").expose] == [80, 9090]
    assert [p.container_port for p in stack.service("other").expose] == [80]
    warned = sorted(p.message for p in stack.warnings if "managed network" in p.message)
    assert warned[0].startswith("service internal: expose: 8080:80: the host side")
    assert warned[1].startswith("service other: expose: 8081:80: the host side")


def test_the_function_set_renders() -> None:
    env = corpus_render("functions", "0").service("app").environment
    assert env["SLUG"] == "corpus-functions-demo" and env["FIRST_HOST"] == "alpha"
    assert env["SETTINGS"] == '{"hosts":["alpha","beta","gamma"],"title":"Corpus Functions Demo"}'
    assert corpus_render("functions", "0").service("app").command == (
        "env", "LABEL='a b'", "sleep", "100000")
    env = corpus_render("functions", "1").service("worker").environment
    assert (env["WORKERS"], env["REVERSED"], env["HAS_W01"]) == ("w00 w01 w02", "w02,w01,w00",
                                                                 "true")
    assert (env["MODE"], env["TITLE"], env["SUM"]) == ("fancy", "corpus_worker", "6")


def test_secret_answers_never_show() -> None:
    stack = corpus_render("secret-question", "0")
    assert "tok-corpus-1" not in repr(stack) and "tok-corpus-1" not in str(stack.to_dict())


def test_service_question_names_another_stack() -> None:
    stack = corpus_render("service-question", "0")
    assert stack.service_refs == (("DB_SERVICE", "corpus-db", "db"),)
    with pytest.raises(PlanError, match="question DB_SERVICE names service corpus-db/db"):
        plan(stack, [host("h1")])


@pytest.mark.parametrize(("entry_id", "folder", "count"), [
    ("agent-role", "0", 2), ("agent-role", "1", 4), ("infra/net-agent", "0", 2),
    ("volumes", "1", 1),
])
def test_rancher_features_refused_by_name_or_dropped_on_request(entry_id: str, folder: str,
                                                                count: int) -> None:
    refused = corpus_render(entry_id, folder)
    assert len(refused.rancher_only) == count
    with pytest.raises(PlanError) as caught:
        plan(refused, [host("h1")])
    message = str(caught.value)
    assert "--without-rancher-features drops the" in message
    assert all(p.message in message for p in refused.warnings if p.severity == "unsupported")
    dropped = corpus_render(entry_id, folder, without_rancher_features=True)
    assert dropped.deployable and dropped.dropped == refused.rancher_only
    assert not any(k.startswith("io.rancher.container.agent") or "create_agent" in k
                   for s in dropped.services for k in s.labels)
    assert all(v.driver is None for v in dropped.volumes)
    assert sum("dropped (--without-rancher-features)" in p.message
               for p in dropped.warnings) == count
    plan(dropped, [host("h1")])


def test_load_balancers_carry_their_rules_and_plan() -> None:
    for entry_id, rule in (("lb-haproxy", (8088, 80, "web")), ("lb-legacy", (8089, 80, "web"))):
        stack = corpus_render(entry_id, "0")
        balancer = stack.service("lb").load_balancer
        assert balancer is not None, entry_id
        assert [(r.source_port, r.target_port, r.service) for r in balancer.rules] == [rule]
        plan(stack, [host("h1")])
