"""Create bodies, configuration hashes and stack records (pure parts of the deploy)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from corral.backends import labels as L
from corral.backends.deploy.body import (
    config_hash,
    instantiate,
    replica_volumes,
    template,
    unmask,
)
from corral.backends.deploy.record import (
    decode,
    definition_of,
    encode,
    record_name,
    stack_from_dict,
)
from corral.backends.deploy.stacks import scaled
from corral.backends.errors import UnknownStack
from corral.catalog import load_catalogs, resolve_answers
from corral.catalog.render import render
from corral.catalog.spec import MASK, ComposeHealthcheck, Mount, Volume, VolumesFrom
from tests.support.plan import stack, svc

SECRET = "s3cretpass"


@pytest.fixture(scope="module")
def demo():
    version = load_catalogs([]).find("webrtc-demo").find_version(None)
    answers = resolve_answers(version.info.questions, sets=[f"KV_PASSWORD={SECRET}"])
    return render(version, answers, stack_name="demo"), answers


def test_stack_round_trips_through_plain_data(demo) -> None:
    st, _ = demo
    assert stack_from_dict(st.to_dict(reveal_secrets=True)) == st
    assert stack_from_dict(json.loads(json.dumps(st.to_dict(reveal_secrets=True)))) == st


def test_record_holds_no_password_and_reads_back(demo) -> None:
    st, answers = demo
    definition = definition_of(st, answers, 4, 123.0)
    labels = encode(definition)
    assert labels[L.RECORD] == "demo" and labels[L.GENERATION] == "4"
    back = decode(labels)
    text = json.dumps(back.to_dict())
    assert SECRET not in text and SECRET not in json.dumps(labels)
    assert back.same_as(definition) and back.generation == 4
    assert "KV_PASSWORD" not in back.answers and back.secret_names == ("KV_PASSWORD",)
    assert back.stack.service("kv").environment["KV_PASSWORD"] == MASK
    assert record_name("demo", 4) == "corral-stack.demo.4"


def test_unreadable_record_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unreadable"):
        decode({L.DEFINITION: "not base64 zlib"})


def test_hash_is_the_same_from_the_answers_and_from_the_record(demo) -> None:
    st, answers = demo
    back = decode(encode(definition_of(st, answers, 1, 0.0)))
    for service in st.services:
        assert config_hash(st, service, "t0") == config_hash(
            back.stack, back.stack.service(service.name), "t0")


def test_hash_changes_with_the_token_only_where_a_password_is_used(demo) -> None:
    st, _ = demo
    version = load_catalogs([]).find("webrtc-demo").find_version(None)
    answers = resolve_answers(version.info.questions, sets=["KV_PASSWORD=another-pass"])
    other = render(version, answers, stack_name="demo")
    # Nothing in the hash derives from the password: the token stands for it.
    assert config_hash(st, st.service("kv"), "t1") == config_hash(other, other.service("kv"),
                                                                  "t1")
    assert config_hash(st, st.service("kv"), "t1") != config_hash(st, st.service("kv"), "t2")
    assert config_hash(st, st.service("media"), "t1") == config_hash(st, st.service("media"),
                                                                     "t2")


def test_hash_ignores_catalog_version_and_replica(demo) -> None:
    st, _ = demo
    newer = dataclasses.replace(st, version="1.0.1")
    assert config_hash(st, st.service("kv")) == config_hash(newer, newer.service("kv"))
    assert "io.corral.replica" not in template(st, st.service("kv"))["Labels"]


def test_instantiate_names_peers_on_the_host(demo) -> None:
    st, _ = demo
    name, body, extra = instantiate(st, st.service("signal"), 2, {"kv": "demo-kv-1"}, "abc")
    assert name == "demo-signal-2" and extra == []
    assert body["Labels"][L.REPLICA] == "2" and body["Labels"][L.CONFIG_HASH] == "abc"
    assert body["Labels"][L.RANCHER_SERVICE] == "demo/signal"
    endpoint = body["NetworkingConfig"]["EndpointsConfig"]["demo_default"]
    assert endpoint == {"Aliases": ["signal"], "Links": ["demo-kv-1:kv"]}
    assert body["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert not any(key.startswith("_") for key in (*body, *body["HostConfig"]))
    _, alone, _ = instantiate(st, st.service("signal"), 1, {}, "abc")
    assert "Links" not in alone["NetworkingConfig"]["EndpointsConfig"]["demo_default"]


def test_instantiate_volumes_and_shared_namespaces() -> None:
    st = stack(svc("data", volumes=(Mount("named", "db", "/db"), Mount("anonymous", None, "/t"))),
               svc("app", volumes_from=(VolumesFrom("service", "data", "ro"),),
                   network_mode="service:data"))
    _, data, _ = instantiate(st, st.service("data"), 1, {}, "h")
    assert data["HostConfig"]["Binds"] == ["db:/db:rw"]
    assert data["Volumes"] == {"/t": {}}
    _, app, _ = instantiate(st, st.service("app"), 1, {"data": "st-data-1"}, "h")
    assert app["HostConfig"]["VolumesFrom"] == ["st-data-1:ro"]
    assert app["HostConfig"]["NetworkMode"] == "container:st-data-1"
    assert "NetworkingConfig" not in app


def test_per_container_volumes_are_one_per_replica() -> None:
    st = dataclasses.replace(
        stack(svc("db", scale=2, volumes=(Mount("named", "data", "/data"),
                                          Mount("named", "shared", "/shared")))),
        volumes=(Volume("data", per_container=True), Volume("shared")))
    db = st.service("db")
    binds = [instantiate(st, db, index, {}, "h")[1]["HostConfig"]["Binds"] for index in (1, 2)]
    assert binds == [["st_data_db-1:/data:rw", "st_shared:/shared:rw"],
                     ["st_data_db-2:/data:rw", "st_shared:/shared:rw"]]
    assert replica_volumes(st, db, 2) == {("data", "db-2"), ("shared", "")}


def test_compose_healthcheck_restart_and_extras() -> None:
    st = stack(svc("a", healthcheck=ComposeHealthcheck(("CMD", "true"), 2.0, 1.0, 3, 0.5),
                   extra={"mem_limit": "64m", "init": True}, restart="on-failure:3"),
               svc("once", start_once=True))
    _, body, _ = instantiate(st, st.service("a"), 1, {}, "h")
    assert body["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 2_000_000_000,
                                   "Timeout": 1_000_000_000, "StartPeriod": 500_000_000,
                                   "Retries": 3}
    assert body["HostConfig"]["Memory"] == 64 * 2**20 and body["HostConfig"]["Init"] is True
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    _, once, _ = instantiate(st, st.service("once"), 1, {}, "h")
    assert once["HostConfig"]["RestartPolicy"] == {"Name": "no"}


def test_unmask_copies_passwords_from_a_sibling(demo) -> None:
    st, answers = demo
    back = decode(encode(definition_of(st, answers, 1, 0.0)))
    _, body, _ = instantiate(back.stack, back.stack.service("kv"), 2, {}, "h")
    sibling = {"Env": [f"KV_PASSWORD={SECRET}", "PATH=/bin"], "Labels": {}}
    assert f"KV_PASSWORD={SECRET}" in unmask(body, sibling)["Env"]
    with pytest.raises(ValueError, match="KV_PASSWORD"):
        unmask(body, {"Env": []})
    # Another service's variable of the same name serves for the environment only.
    assert f"KV_PASSWORD={SECRET}" in unmask(body, sibling, same_service=False)["Env"]
    command = {"Cmd": ["sh", "-c", f"serve {MASK}"], "Env": [], "Labels": {}}
    with pytest.raises(ValueError, match="cannot recover"):
        unmask(command, {"Cmd": ["other"]}, same_service=False)
    assert unmask(command, {"Cmd": ["sh", "-c", f"serve {SECRET}"]})["Cmd"][2] == (
        f"serve {SECRET}")


def test_scaled_changes_a_service_and_its_sidekicks(demo) -> None:
    st, answers = demo
    definition = definition_of(st, answers, 1, 0.0)
    bigger = scaled(definition, "media", 3)
    assert bigger.service("media").scale == bigger.service("media-recorder").scale == 3
    for bad, message in (("nope", "no service"), ("media-recorder", "sidekick"),
                         ("log-shipper", "global")):
        with pytest.raises(UnknownStack, match=message):
            scaled(definition, bad, 2)
