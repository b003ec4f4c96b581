"""The Rancher catalog corpus against the lab: every version planned, three deployed.

Each stack version of tests/corpus/rancher is planned on the three lab hosts:
those that should deploy get a plan, the others a one-line refusal naming
why (a load balancer, a Rancher-only feature and `--without-rancher-features`).
With the flag the Rancher-only items are dropped and named in the plan. The
database stack, the shared-sidekick stack and the function-set stack are
deployed and checked running; the service question then resolves to the
deployed database.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from corral.backends import labels as L
from corral.catalog.loader import load_catalog
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine
from tests.unit.catalog.test_rancher_corpus import ANSWERS, CORPUS, EXPECTED

pytestmark = pytest.mark.lab

SECRETS = [value for answers in ANSWERS.values() for value in answers.values()]


def corral(lab: Lab, *args: str) -> subprocess.CompletedProcess:
    result = corral_on(lab, *args)
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    return result


def versions() -> list[tuple[str, str, str]]:
    """(entry id, folder, version string) of every stack version of the corpus."""
    return [(e.id, v.revision, v.version) for e in load_catalog(CORPUS).entries
            if e.kind == "stack" for v in e.versions]


def source(entry_id: str, version: str, stack: str) -> list[str]:
    sets = [f"{k}={v}" for k, v in ANSWERS.get(entry_id, {}).items()]
    return [entry_id, "--version", version, "--stack", stack, "--catalog", str(CORPUS),
            *(arg for item in sets for arg in ("--set", item))]


def stack_name(entry_id: str, folder: str) -> str:
    if entry_id == "corpus-db":
        return "corpus-db"  # the service question's default names it
    return f"c-{entry_id.replace('/', '-')}-{folder}"


def running(lab: Lab, stack: str) -> dict[str, list[str]]:
    """service -> hosts of its running containers."""
    found: dict[str, list[str]] = {}
    for host in lab.hosts:
        for container in engine(host.socket).containers.list(
                filters={"label": f"{L.STACK}={stack}"}):
            found.setdefault(container.labels[L.SERVICE], []).append(host.name)
    return found


def test_every_version_is_planned_or_refused_by_name(lab: Lab) -> None:
    seen = 0
    for entry_id, folder, version in versions():
        if entry_id == "service-question":
            continue  # planned after its database is deployed
        result = corral(lab, "plan", *source(entry_id, version, stack_name(entry_id, folder)),
                        "--json")
        seen += 1
        if EXPECTED[(entry_id, folder)]:
            assert result.returncode == 0, (entry_id, folder, result.stderr)
            plan = json.loads(result.stdout)
            assert plan["steps"] and all(s["action"] == "create" for s in plan["steps"])
            continue
        assert result.returncode == 1 and result.stdout == "", (entry_id, folder)
        error = result.stderr.strip().splitlines()[-1]
        assert "cannot be deployed" in error, error
        assert "--without-rancher-features drops" in error
        dropped = corral(lab, "plan", *source(entry_id, version, stack_name(entry_id, folder)),
                         "--without-rancher-features")
        assert dropped.returncode == 0, dropped.stderr
        assert "Dropped (only a Rancher server provides them):" in dropped.stdout
    assert seen >= 20


def test_three_stacks_deploy_and_run(lab: Lab) -> None:
    for entry_id, folder, version in versions():
        if entry_id not in ("corpus-db", "sidekick-shared", "functions") or folder != "0":
            continue
        result = corral(lab, "deploy", *source(entry_id, version, stack_name(entry_id, folder)),
                        "--yes")
        assert result.returncode == 0, (entry_id, result.stderr)
    shared = running(lab, "c-sidekick-shared-0")
    assert sorted(shared) == ["web", "web-data", "worker", "worker-data"]
    assert sorted(shared["web"]) == sorted(shared["web-data"]) and len(shared["web"]) == 2
    assert shared["worker"] == shared["worker-data"]
    assert list(running(lab, "c-functions-0")) == ["app"]
    assert list(running(lab, "corpus-db")) == ["db"]


def test_the_service_question_resolves_to_the_deployed_database(lab: Lab) -> None:
    (version,) = [v for e, f, v in versions() if e == "service-question"]
    result = corral(lab, "plan", *source("service-question", version, "c-service-q"))
    assert result.returncode == 0, result.stderr
    assert "question DB_SERVICE: corpus-db/db is corpus-db-db-1 on" in result.stdout
    missing = corral(lab, "plan", *source("service-question", version, "c-service-q"),
                     "--set", "DB_SERVICE=corpus-db/nope")
    assert missing.returncode == 1
    assert "question DB_SERVICE names service corpus-db/nope: stack corpus-db has no service" \
        " nope" in missing.stderr


def test_cleanup(lab: Lab) -> None:
    for stack in ("corpus-db", "c-sidekick-shared-0", "c-functions-0"):
        assert corral(lab, "rm", stack, "--yes").returncode == 0
