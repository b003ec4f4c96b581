"""Upgrading from the deployed answers: what the form starts with, what the plan shows."""

from __future__ import annotations

import dataclasses
import json

import pytest

from corral.backends.deploy.carry import render_upgrade, seed, upgrade_questions
from corral.backends.deploy.gather import FleetState
from corral.backends.deploy.prepare import prepare
from corral.backends.deploy.stacks import scaled
from corral.catalog.answers import resolve_answers
from corral.catalog.errors import CatalogError
from corral.catalog.loader import load_catalogs
from corral.catalog.spec import MASK
from corral.tui.present.deploy import plan_json, plan_text
from tests.support.catalog_pilot import PASSWORD
from tests.support.deployed import HoldingFleet as Holding
from tests.support.deployed import applied, deployed
from tests.support.plan_pilot import HOSTS, demo


def version():
    return load_catalogs([]).find("webrtc-demo").find_version(None)


def scaled_up() -> FleetState:
    """The demo deployed with a room name, then signal and media scaled to 3 (as `+` does)."""
    stack, answers = demo(ROOM_NAME="room7")
    state = deployed(stack, answers, HOSTS)
    for service in ("signal", "media"):
        definition = state.definition("demo")
        bigger = scaled(definition, service, 3)
        state = applied(prepare(None, bigger, record=definition, state=state))  # type: ignore[arg-type]
    return state


def form_answers(start, **changed: str):
    """What the upgrade form resolves: its pre-filled answers with `changed` typed."""
    questions = upgrade_questions(version().info.questions, start.kept_secrets)
    return resolve_answers(questions, form={**start.answers, **changed})


def test_the_form_starts_from_the_deployed_answers_and_scales() -> None:
    state = scaled_up()
    start = seed(state.definition("demo"), version())
    assert start.answers["ROOM_NAME"] == "room7"
    assert start.answers["SIGNAL_SCALE"] == "3"  # the answer that sets signal's scale
    assert "KV_PASSWORD" not in start.answers and start.kept_secrets == {"KV_PASSWORD"}
    assert start.scales["media"] == 3 and start.base_scales["media"] == 2
    assert any("media keeps its current scale 3" in note for note in start.notes)
    kv = next(q for q in upgrade_questions(version().info.questions, start.kept_secrets)
              if q.variable == "KV_PASSWORD")
    assert not kv.required and "unchanged" in kv.description


def test_one_changed_answer_changes_only_what_uses_it_and_the_plan_says_how() -> None:
    state = scaled_up()
    start = seed(state.definition("demo"), version())
    answers, stack = render_upgrade(version(), form_answers(start, LOG_LEVEL="debug"), start,
                                    "demo")
    assert {s.name: s.scale for s in stack.services}["media"] == 3
    assert stack.service("kv").environment["KV_PASSWORD"] == MASK
    prepared = prepare(None, stack, answers, state=state, upgrade=True)  # type: ignore[arg-type]
    actions = {(s.service, s.action) for s in prepared.plan.steps}
    assert actions == {("signal", "replace"), ("media", "keep"), ("media-recorder", "keep"),
                       ("kv", "keep"), ("log-shipper", "keep")}
    assert len([s for s in prepared.plan.steps if s.service == "signal"]) == 3
    assert [str(c) for c in prepared.changes["signal"]] == ["env LOG_LEVEL: info → debug"]
    assert prepared.from_record  # the kept password comes from the running containers
    text = plan_text(prepared)
    assert "changes env LOG_LEVEL" in text and "env LOG_LEVEL: info → debug" in text
    data = plan_json(prepared)
    replaced = [s for s in data["steps"] if s["action"] == "replace"]
    assert replaced[0]["changes"] == [{"field": "env LOG_LEVEL", "before": "info",
                                       "after": "debug"}]


def test_a_new_password_shows_as_changed_never_in_clear() -> None:
    state = scaled_up()
    start = seed(state.definition("demo"), version())
    answers, stack = render_upgrade(version(), form_answers(start, KV_PASSWORD="another-secret"),
                                    start, "demo")
    prepared = prepare(Holding(PASSWORD), stack, answers, state=state,  # type: ignore[arg-type]
                       upgrade=True)
    assert [str(c) for c in prepared.changes["kv"]] == [
        f"env KV_PASSWORD: {MASK} → {MASK} (changed)"]
    shown = plan_text(prepared) + json.dumps(plan_json(prepared))
    assert "another-secret" not in shown and PASSWORD not in shown


def test_the_same_password_typed_again_changes_nothing() -> None:
    state = scaled_up()
    start = seed(state.definition("demo"), version())
    answers, stack = render_upgrade(version(), form_answers(start, KV_PASSWORD=PASSWORD),
                                    start, "demo")
    fleet = Holding(PASSWORD)
    prepared = prepare(fleet, stack, answers, state=state, upgrade=True)  # type: ignore[arg-type]
    assert prepared.plan.no_op and fleet.asked  # the running containers were asked
    assert prepared.definition.secret_tokens == state.definition("demo").secret_tokens
    other = prepare(Holding("what-kv-holds-now"), stack, answers,  # type: ignore[arg-type]
                    state=state, upgrade=True)
    assert {s.service for s in other.plan.changes} == {"kv", "signal"}  # they use it
    assert {s.action for s in other.plan.changes} == {"replace"}


def test_a_password_the_template_transforms_cannot_be_kept(monkeypatch) -> None:
    from corral.backends.deploy import carry

    start = seed(scaled_up().definition("demo"), version())
    answers = form_answers(start)
    _, stack = render_upgrade(version(), answers, start, "demo")
    assert stack.service("kv").environment["KV_PASSWORD"] == MASK  # used verbatim: kept
    real = carry.render

    # A template piping it through `upper`.
    def upper_case(version, answers, *, stack_name, **options):
        stack = real(version, answers, stack_name=stack_name, **options)
        kv = stack.service("kv")
        kv = dataclasses.replace(kv, environment={
            **kv.environment, "KV_PASSWORD": answers.values["KV_PASSWORD"].upper()})
        return dataclasses.replace(stack, services=tuple(
            kv if s.name == "kv" else s for s in stack.services))

    monkeypatch.setattr(carry, "render", upper_case)
    with pytest.raises(CatalogError, match="type the password again"):
        render_upgrade(version(), answers, start, "demo")


def test_a_deploy_without_passwords_has_none_to_keep() -> None:
    state = scaled_up()
    definition = state.definition("demo")
    bare = dataclasses.replace(definition, secret_tokens={}, legacy_digest="")
    assert seed(bare, version()).kept_secrets == frozenset()
    # A format 1 record said so with the digest of no password at all.
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    old = dataclasses.replace(bare, legacy_digest=empty)
    assert seed(old, version()).kept_secrets == frozenset()
    assert seed(dataclasses.replace(bare, legacy_digest="ab" * 32),
                version()).kept_secrets == frozenset({"KV_PASSWORD"})


def test_an_upgrade_can_drop_rancher_only_features_like_a_deploy() -> None:
    from corral.backends.deploy.carry import UpgradeSeed
    from corral.catalog.loader import load_catalog
    from tests.unit.catalog.test_rancher_corpus import CORPUS

    entry = next(e for e in load_catalog(CORPUS).entries if e.id == "agent-role")
    version = entry.versions[0]
    answers = resolve_answers(version.info.questions)
    upgrade = UpgradeSeed(stack="agents", generation=1)
    _, kept = render_upgrade(version, answers, upgrade, "agents")
    assert not kept.deployable  # refused, naming the flag, as before
    _, dropped = render_upgrade(version, answers, upgrade, "agents",
                                without_rancher_features=True)
    assert dropped.deployable and dropped.dropped
