"""The compose corpus against the lab: every file plans (or fails with a clean
error), its services planned with their replica counts and, where `lab_hosts`
says, on the hosts whose labels its placement constraints name; the
ones marked `deploy: true` in their `expect.yml` deploy together and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from corral.backends import labels as L
from tests.support.deploy import corral_on
from tests.support.lab import Lab
from tests.support.lab_cli import engine

pytestmark = pytest.mark.lab

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "compose"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def expect_of(case: str) -> dict:
    return yaml.safe_load((CORPUS / case / "expect.yml").read_text()) or {}


def test_every_corpus_file_plans_or_fails_cleanly(lab: Lab, monkeypatch) -> None:
    for name in ("TAG", "GREETING", "DEBUG", "EMPTY", "CORPUS_TOKEN", "UNSET_CORPUS_VAR"):
        monkeypatch.delenv(name, raising=False)
    failures = []
    for case in CASES:
        expect = expect_of(case)
        args = [f"--profile={p}" for p in expect.get("profiles") or ()]
        result = corral_on(lab, "plan", str(CORPUS / case / "docker-compose.yml"),
                           "--stack", f"cc{case[:2]}", "--json", *args)
        assert "Traceback" not in result.stderr, (case, result.stderr)
        if "error" in expect:
            if result.returncode == 0 or expect["error"] not in result.stderr:
                failures.append((case, result.returncode, result.stderr[-300:]))
        elif result.returncode == 0:
            steps = json.loads(result.stdout)["steps"]
            planned = [step["service"] for step in steps]
            for service, allowed in (expect.get("lab_hosts") or {}).items():
                placed = {step["host"] for step in steps if step["service"] == service}
                if not placed or not placed <= set(allowed):
                    failures.append((case, f"{service} placed on {placed}, not {allowed}"))
            for service, fields in (expect.get("services") or {}).items():
                if service in planned and "scale" in fields \
                        and planned.count(service) != fields["scale"]:
                    failures.append((case, f"{service}: {planned.count(service)} replicas"))
                elif service not in planned:
                    failures.append((case, f"{service} not planned: {planned}"))
            for service in expect.get("absent") or ():
                if service in planned:
                    failures.append((case, f"{service} planned though left out"))
        elif not expect.get("plan_fails"):
            failures.append((case, result.returncode, result.stderr[-300:]))
        elif result.returncode != 0:
            # A plan the lab cannot place (a constraint no lab host meets) says so
            # in one line naming the reason.
            assert expect["plan_fails"] in result.stderr, (case, result.stderr)
    assert not failures, failures


def test_the_corpus_files_that_should_run_deploy_together_and_run(lab: Lab) -> None:
    """Every file marked `deploy: true` in its `expect.yml` (those whose services keep
    running, and that exercise what the engine does: ports, volumes, tmpfs, sysctls,
    limits, global, init/ulimits/devices, depends_on, secrets and configs, logging)
    deploys as its own stack, and each service's containers run; then all are removed.

    In-process, one after the other: separate processes at once cost more on two
    cores (each imports Corral and connects anew): measured 110 s against 57 s for 11 files.
    """
    deployed = {case: f"cc{case[:2]}" for case in CASES if expect_of(case).get("deploy")}
    try:
        for case, stack in deployed.items():
            result = corral_on(lab, "deploy", str(CORPUS / case / "docker-compose.yml"),
                               "--stack", stack, "--yes")
            assert result.returncode == 0, (case, result.stderr[-600:])
        running: dict[str, dict[str, int]] = {stack: {} for stack in deployed.values()}
        for host in lab.hosts:
            for container in engine(host.socket).containers.list(
                    filters={"label": L.STACK, "status": "running"}):
                counts = running.get(container.labels.get(L.STACK, ""))
                if counts is not None:
                    service = container.labels.get(L.SERVICE, "")
                    counts[service] = counts.get(service, 0) + 1
        missing = []
        for case, stack in deployed.items():
            expect = expect_of(case)
            services = expect.get("services") or {}
            for service in expect.get("running") or list(services):
                wanted = services.get(service, {}).get("scale", 1)
                if services.get(service, {}).get("scheduling.is_global"):
                    wanted = len(lab.hosts)
                if running[stack].get(service, 0) != wanted:
                    missing.append((case, service, running[stack], wanted))
        assert not missing, missing
    finally:
        removed = {case: corral_on(lab, "rm", stack, "--yes", "--volumes")
                   for case, stack in deployed.items()}
    assert not {case: r.stderr for case, r in removed.items() if r.returncode}
