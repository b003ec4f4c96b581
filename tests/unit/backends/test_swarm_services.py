"""A stack spec as Swarm services: each translation item (pure), and the service record."""

from __future__ import annotations

import dataclasses
import json

import pytest

from corral.backends import labels as L
from corral.backends.swarm.services import read_record, record_labels, spec_hash, translate
from corral.backends.swarm.services.engine import diff
from corral.backends.swarm.services.translate import probe_command
from corral.catalog import load_catalogs, resolve_answers
from corral.catalog.render import render
from corral.catalog.spec import (
    ComposeHealthcheck,
    HealthCheck,
    Link,
    Mount,
    Network,
    Port,
    Service,
    UpgradeStrategy,
    Volume,
    VolumesFrom,
)
from tests.support.plan import stack, svc

SECRET = "s3cretpass"


def one(service, **stack_fields) -> dict:
    result = translate(stack(service, **stack_fields))
    assert result.ok, result.refusals
    return result.services[0].spec


def test_name_labels_and_overlay_follow_docker_stack() -> None:
    result = translate(stack(svc("web"), name="shop"))
    spec = result.services[0].spec
    assert spec["Name"] == "shop_web"
    for labels in (spec["Labels"], spec["TaskTemplate"]["ContainerSpec"]["Labels"]):
        assert labels[L.STACK] == "shop" and labels[L.SERVICE] == "web"
        assert labels["com.docker.stack.namespace"] == "shop"
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "shop_default", "Aliases": ["web"]}]
    assert result.network["Name"] == "shop_default" and result.network["Driver"] == "overlay"
    assert result.network["Attachable"] and result.network["Options"] == {}
    assert translate(stack(svc("web")), encrypted=True).network["Options"] == {"encrypted": ""}
    asked = dataclasses.replace(stack(svc("web")), networks=(
        Network("default", driver_opts={"encrypted": "true"}),))
    assert translate(asked).network["Options"] == {"encrypted": ""}


def test_scale_is_replicas_and_global_is_global_mode() -> None:
    assert one(svc("web", scale=3))["Mode"] == {"Replicated": {"Replicas": 3}}
    assert one(svc("agent", is_global=True))["Mode"] == {"Global": {}}
    assert translate(stack(svc("agent", is_global=True))).services[0].replicas is None


def test_host_label_rules_are_node_label_constraints() -> None:
    result = translate(stack(svc("db", rules=("host_label role=db", "host_label_ne zone=b"))))
    placement = result.services[0].spec["TaskTemplate"]["Placement"]
    assert placement["Constraints"] == ["node.labels.role==db", "node.labels.zone!=b"]
    assert result.node_labels == {"role", "zone"}


def test_soft_host_rules_are_dropped_with_a_warning() -> None:
    result = translate(stack(svc("db", rules=("host_label_soft role=db",))))
    assert "Placement" not in result.services[0].spec["TaskTemplate"]
    assert any("soft rule host_label_soft role=db dropped" in w for w in result.warnings)


def test_anti_affinity_to_itself_is_swarm_spreading_or_one_per_node() -> None:
    soft = svc("web", rules=(f"container_label_soft_ne {L.RANCHER_SERVICE}=st/web",))
    assert "Placement" not in one(soft)["TaskTemplate"]
    hard = svc("web", rules=(f"container_label_ne {L.RANCHER_SERVICE}=st/web",))
    assert one(hard)["TaskTemplate"]["Placement"] == {"MaxReplicas": 1}


def test_co_location_is_refused_naming_the_service() -> None:
    result = translate(stack(svc("web", rules=("container_label app=db",))))
    assert result.refusals == ("web: container_label app=db: Swarm cannot place a task by"
                               " where other tasks run",)
    soft = translate(stack(svc("web", rules=("container_soft other",))))
    assert soft.ok and any("soft rule container_soft other dropped" in w
                           for w in soft.warnings)
    shared = translate(stack(svc("a", volumes_from=(VolumesFrom("service", "b"),)), svc("b")))
    assert shared.refusals == ("a: volumes_from: Swarm cannot share another task's volumes",)


def test_upgrade_strategy_is_update_config_with_rollback() -> None:
    spec = one(svc("web", upgrade_strategy=UpgradeStrategy(True, 2, 3000)))
    assert spec["UpdateConfig"] == {"Parallelism": 2, "Delay": 3_000_000_000,
                                    "FailureAction": "rollback", "Monitor": 5_000_000_000,
                                    "MaxFailureRatio": 0, "Order": "start-first"}
    assert spec["RollbackConfig"]["FailureAction"] == "pause"
    assert spec["RollbackConfig"]["Order"] == "start-first"
    default = one(svc("web"))["UpdateConfig"]
    assert (default["Parallelism"], default["Order"]) == (1, "stop-first")


def test_health_checks_become_the_container_health_check() -> None:
    compose = ComposeHealthcheck(("CMD", "true"), interval=2, timeout=1, retries=2,
                                 start_period=0)
    spec = one(svc("web", healthcheck=compose))
    assert spec["TaskTemplate"]["ContainerSpec"]["Healthcheck"] == {
        "Test": ["CMD", "true"], "Interval": 2_000_000_000, "Timeout": 1_000_000_000,
        "StartPeriod": 0, "Retries": 2}
    assert one(svc("web", healthcheck=ComposeHealthcheck(disable=True)))[
        "TaskTemplate"]["ContainerSpec"]["Healthcheck"] == {"Test": ["NONE"]}
    rancher = HealthCheck(port=80, request_line='GET "/health" "HTTP/1.0"', path="/health",
                          interval=2000, response_timeout=1000, unhealthy_threshold=3,
                          initializing_timeout=5000)
    result = translate(stack(svc("web", health_check=rancher)))
    check = result.services[0].spec["TaskTemplate"]["ContainerSpec"]["Healthcheck"]
    assert check["Test"][0] == "CMD-SHELL" and "nc -w 1 127.0.0.1 80" in check["Test"][1]
    assert (check["Interval"], check["Retries"], check["StartPeriod"]) == (
        2_000_000_000, 3, 5_000_000_000)
    # The update watches a new task long enough for its health check to judge it.
    assert result.services[0].spec["UpdateConfig"]["Monitor"] >= 5_000_000_000 + 3 * 2 * 10**9
    assert any("inside the container" in w for w in result.warnings)
    assert probe_command(HealthCheck(port=6379)) == "nc -w 2 127.0.0.1 6379 </dev/null"


def test_ports_default_to_host_mode_and_dnsrr_and_the_spec_may_choose_ingress() -> None:
    spec = one(svc("web", ports=(8080,)))
    assert spec["EndpointSpec"] == {"Mode": "dnsrr", "Ports": [
        {"Protocol": "tcp", "TargetPort": 8080, "PublishMode": "host", "PublishedPort": 8080}]}
    ingress = one(svc("web", ports=(8080,),
                      labels={"io.corral.swarm.publish_mode": "ingress"}))
    assert ingress["EndpointSpec"]["Mode"] == "vip"
    assert ingress["EndpointSpec"]["Ports"][0]["PublishMode"] == "ingress"
    assert "io.corral.swarm.publish_mode" not in ingress["TaskTemplate"]["ContainerSpec"][
        "Labels"]
    bad = translate(stack(svc("web", ports=(80,), labels={
        "io.corral.swarm.publish_mode": "ingress", "io.corral.swarm.endpoint_mode": "dnsrr"})))
    assert bad.refusals == ("web: ingress ports need endpoint_mode vip (dnsrr: publish in host"
                            " mode)",)
    picked = one(svc("web", ports=(), extra={"deploy": {"endpoint_mode": "vip"}}))
    assert picked["EndpointSpec"] == {"Mode": "vip"}
    engine_port = one(Service(name="web", image="x", ports=(Port(80, "tcp", None, None, True),)))
    assert "PublishedPort" not in engine_port["EndpointSpec"]["Ports"][0]
    crowded = translate(stack(svc("web", scale=3, ports=(80,))))
    assert any("3 replicas publish host port 80" in w for w in crowded.warnings)


def test_named_volumes_are_per_node_and_networks_one_overlay() -> None:
    st = stack(svc("kv", volumes=(Mount("named", "data", "/data"),
                                  Mount("anonymous", None, "/tmp/x"),
                                  Mount("bind", "/srv", "/srv", "ro"))))
    st = st.__class__(name=st.name, entry="e", version="1", services=st.services,
                      volumes=(Volume("data", driver="local"),))
    result = translate(st)
    mounts = result.services[0].spec["TaskTemplate"]["ContainerSpec"]["Mounts"]
    assert mounts[0]["Type"] == "volume" and mounts[0]["Source"] == "st_data"
    assert mounts[0]["VolumeOptions"]["DriverConfig"]["Name"] == "local"
    assert mounts[1] == {"Type": "volume", "Target": "/tmp/x", "ReadOnly": False}
    assert mounts[2] == {"Type": "bind", "Source": "/srv", "Target": "/srv", "ReadOnly": True}
    assert any("data are per node" in w for w in result.warnings)
    assert any("/srv must exist on every node" in w for w in result.warnings)
    local = translate(stack(svc("web", volumes=(Mount("local", "/home/x/conf", "/c"),))))
    assert "does not ship files" in local.refusals[0]


def test_link_aliases_are_names_on_the_overlay() -> None:
    result = translate(stack(svc("web", links=(Link("kv", "db"),)), svc("kv")))
    kv = next(s for s in result.services if s.name == "kv").spec
    assert kv["TaskTemplate"]["Networks"][0]["Aliases"] == ["db", "kv"]


@pytest.fixture(scope="module")
def demo():
    version = load_catalogs([]).find("webrtc-demo").find_version(None)
    answers = resolve_answers(version.info.questions, sets=[f"KV_PASSWORD={SECRET}"])
    return render(version, answers, stack_name="demo"), answers


def test_passwords_stay_in_the_task_env_never_in_labels_or_the_hash(demo) -> None:
    st, answers = demo
    kept = st.__class__(**{**{f: getattr(st, f) for f in st.__dataclass_fields__},
                           "services": tuple(s for s in st.services
                                             if s.name in ("kv", "signal"))})
    result = translate(kept)
    assert result.ok, result.refusals
    kv = next(s for s in result.services if s.name == "kv")
    assert f"KV_PASSWORD={SECRET}" in kv.spec["TaskTemplate"]["ContainerSpec"]["Env"]
    labels = {**kv.spec["Labels"], **record_labels(kept, answers, 3)}
    assert SECRET not in json.dumps(labels)
    other = kept.__class__(**{**{f: getattr(kept, f) for f in kept.__dataclass_fields__},
                              "secrets": frozenset({"another"})})
    # The hash is computed with the password masked: it says nothing about it.
    assert kv.spec_hash == spec_hash(kv.spec, kept.secrets)
    assert spec_hash(kv.spec, kept.secrets) != spec_hash(kv.spec, other.secrets)
    record = read_record(labels)
    assert record is not None and record.generation == 3 and record.entry == kept.entry
    assert "KV_PASSWORD" not in record.data["answers"]
    # The full demo runs: its sidekick is a global service on the media nodes.
    demo = translate(st)
    assert demo.ok, demo.refusals
    recorder = next(s for s in demo.services if s.name == "media-recorder")
    assert recorder.replicas is None and recorder.spec["Mode"] == {"Global": {}}
    assert recorder.spec["TaskTemplate"]["Placement"] == {
        "Constraints": ["node.labels.role==media"]}


def test_the_hash_ignores_replicas_and_the_diff_never_shows_a_password() -> None:
    three, five = one(svc("web", scale=3)), one(svc("web", scale=5))
    assert spec_hash(three) == spec_hash(five)
    assert spec_hash(three) != spec_hash(one(svc("web", scale=3, user="nobody")))
    old = one(svc("web", environment={"PW": "old-pw", "A": "1"}))
    new = one(svc("web", environment={"PW": SECRET, "A": "2"}))
    lines = diff(old, new, frozenset({SECRET}))
    assert "TaskTemplate.ContainerSpec.Env.A: 1 -> 2" in lines
    assert "TaskTemplate.ContainerSpec.Env.PW: (password) changed" in lines
    assert "old-pw" not in "".join(lines) and SECRET not in "".join(lines)


def test_a_sidekick_runs_global_on_its_primarys_nodes_unless_it_shares_its_task() -> None:
    primary = svc("media", scale=2, sidekicks=("rec",),
                  rules=("host_label role=media", "host_label_soft zone=a"))
    result = translate(stack(primary, svc("rec", sidekick_of="media")))
    assert result.ok, result.refusals
    media, rec = (next(s for s in result.services if s.name == n) for n in ("media", "rec"))
    assert media.replicas == 2 and media.spec["Mode"] == {"Replicated": {"Replicas": 2}}
    assert rec.replicas is None and rec.spec["Mode"] == {"Global": {}}
    assert rec.spec["TaskTemplate"]["Placement"] == {"Constraints": ["node.labels.role==media"]}
    assert any(w.startswith("rec: sidekick of media: a global service") for w in result.warnings)
    # The primary's soft rule is warned about once, with the primary.
    assert [w.split(":")[0] for w in result.warnings if "soft rule" in w] == ["media"]
    shared = translate(stack(svc("media", sidekicks=("rec",)),
                             svc("rec", sidekick_of="media",
                                 volumes_from=(VolumesFrom("service", "media"),))))
    assert shared.refusals == ("rec: volumes_from: Swarm cannot share another task's volumes",)
