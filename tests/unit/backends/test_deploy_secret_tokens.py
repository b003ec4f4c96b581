"""Tokens stand for passwords in configuration hashes; format 1 records still work."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import zlib

import pytest

from corral.backends import labels as L
from corral.backends.deploy.body import config_hash
from corral.backends.deploy.gather import FleetState
from corral.backends.deploy.prepare import prepare
from corral.backends.deploy.record import decode, encode
from corral.backends.deploy.stacks import scaled
from tests.support.catalog_pilot import PASSWORD
from tests.support.deployed import HoldingFleet, deployed
from tests.support.plan_pilot import HOSTS, demo

#: What Corral before format 2 stored: sha256 of the password answers.
DIGEST = hashlib.sha256(PASSWORD.encode()).hexdigest()


def test_the_record_holds_random_tokens_only_where_a_password_is_used() -> None:
    stack, answers = demo()
    state = deployed(stack, answers, HOSTS)
    definition = state.definition("demo")
    assert set(definition.secret_tokens) == {"kv", "signal"}  # the services that use it
    raw = zlib.decompress(base64.b64decode(encode(definition)[L.DEFINITION])).decode()
    data = json.loads(raw)
    assert data["format"] == 2 and "secrets_digest" not in data
    assert PASSWORD not in raw and DIGEST not in raw and DIGEST[:16] not in raw
    again = deployed(stack, answers, HOSTS).definition("demo")
    assert again.secret_tokens != definition.secret_tokens  # random, not from the password


def legacy(state: FleetState) -> FleetState:
    """`state` as Corral before format 2 left it: a digest in the record and in the hashes."""
    definition = state.definition("demo")
    raw = json.loads(zlib.decompress(base64.b64decode(encode(definition)[L.DEFINITION])))
    raw.update(format=1, secrets_digest=DIGEST)
    del raw["secret_tokens"]
    labels = {**encode(definition),
              L.DEFINITION: base64.b64encode(zlib.compress(json.dumps(raw).encode())).decode()}
    old = decode(labels)
    assert old.legacy_digest == DIGEST and not old.secret_tokens and old.holds_secrets
    hashes = {s.name: config_hash(old.stack, s, DIGEST) for s in old.stack.services
              if s.name in old.secret_tokens or s.name in definition.secret_tokens}
    hosts = [dataclasses.replace(h, containers=tuple(
        dataclasses.replace(c, labels={**c.labels, L.CONFIG_HASH: hashes[c.labels[L.SERVICE]]})
        if c.labels.get(L.SERVICE) in hashes else c for c in h.containers))
        for h in state.hosts]
    records = [dataclasses.replace(r, definition=old) for r in state.records]
    return FleetState(hosts, records)


def test_a_format_1_stack_is_reconciled_untouched() -> None:
    stack, answers = demo()
    state = legacy(deployed(stack, answers, HOSTS))
    record = state.definition("demo")
    prepared = prepare(None, record.stack, record=record, state=state)  # type: ignore[arg-type]
    assert prepared.no_op  # its containers are recognised by the digest, in memory


def test_a_format_1_stack_gets_tokens_at_its_next_write() -> None:
    stack, answers = demo()
    state = legacy(deployed(stack, answers, HOSTS))
    record = state.definition("demo")
    bigger = scaled(record, "media", 3)
    prepared = prepare(None, bigger, record=record, state=state)  # type: ignore[arg-type]
    assert set(prepared.definition.secret_tokens) == {"kv", "signal"}
    assert not prepared.definition.legacy_digest
    assert DIGEST not in json.dumps(encode(prepared.definition))
    # Re-keyed once: what uses the password is recreated (filled from its containers).
    assert {s.service for s in prepared.plan.changes if s.action == "replace"} == {"kv",
                                                                                 "signal"}
    assert prepared.from_record
    assert {v for _, v in prepared.stale_records} == {"corral-stack.demo.1"}
    # An upgrade typing the password re-keys too (no token to keep).
    typed = prepare(HoldingFleet(PASSWORD), stack, answers, state=state,  # type: ignore[arg-type]
                    upgrade=True)
    assert set(typed.definition.secret_tokens) == {"kv", "signal"}
    assert DIGEST not in json.dumps(encode(typed.definition))


def test_a_rerun_whose_first_apply_made_no_container_keeps_the_tokens() -> None:
    stack, answers = demo()
    state = deployed(stack, answers, HOSTS)
    empty = FleetState([dataclasses.replace(h, containers=()) for h in state.hosts],
                       state.records)  # interrupted after the records, before containers
    fleet = HoldingFleet("nothing-holds-this")
    again = prepare(fleet, stack, answers, state=empty)  # type: ignore[arg-type]
    assert again.definition.secret_tokens == state.definition("demo").secret_tokens
    assert again.definition.generation == 1 and fleet.asked == 0


def test_a_record_that_inflates_past_its_bound_is_unreadable_not_a_memory_hog() -> None:
    bomb = base64.b64encode(zlib.compress(b"{" + b" " * (64 * 1024 * 1024), 9)).decode()
    assert len(bomb) < 200_000
    with pytest.raises(ValueError, match="inflates past 8 MiB"):
        decode({L.DEFINITION: bomb})
