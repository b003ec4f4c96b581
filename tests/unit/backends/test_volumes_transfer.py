"""The refusals around a volume transfer, and the helper container's lifetime, with a fake engine.

Nothing here reaches a host: the fake records every call the transfer makes,
so each test can say what reached the engine and what never did.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from corral.backends import guard
from corral.backends import labels as L
from corral.backends.errors import ActionRefused, BackendError, DockerApiError, NotFound
from corral.backends.volumes import (
    HELPER_LABEL,
    HELPER_PREFIX,
    check_archive,
    copy_volume,
    export_volume,
    import_volume,
)


def tar_bytes(*names: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        root = tarfile.TarInfo(".")
        root.type = tarfile.DIRTYPE
        tar.addfile(root)
        for name in names:
            info = tarfile.TarInfo(f"./{name}")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    return buffer.getvalue()


class FakeResponse:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.closed = False
        self.raw = self

    def stream(self, size: int, decode_content: bool = False):
        for start in range(0, len(self.body), size):
            yield self.body[start:start + size]

    def close(self) -> None:
        self.closed = True


class FakeApi:
    """The docker-py APIClient surface the transfers use."""

    def __init__(self, volumes: dict[str, dict], containers: list[dict], images: list[dict],
                 contents: dict[str, bytes] | None = None, fail_put: bool = False) -> None:
        self.volumes = volumes
        self.containers_ = containers
        self.images_ = images
        self.contents = contents or {}
        self.fail_put = fail_put
        self.calls: list[tuple] = []
        self.helpers: dict[str, str] = {}  # id -> volume
        self.responses: list[FakeResponse] = []

    def inspect_volume(self, name: str) -> dict:
        if name not in self.volumes:
            raise NotFound(f"no such volume: {name}")
        return {"Name": name, "Labels": self.volumes[name]}

    def containers(self, all: bool, filters: dict) -> list[dict]:
        wanted = filters["volume"]
        return [c for c in self.containers_
                if any(m.get("Name") == wanted for m in c.get("Mounts", []))]

    def images(self) -> list[dict]:
        return self.images_

    def create_host_config(self, **kwargs) -> dict:
        return kwargs

    def create_container(self, image: str, **kwargs) -> dict:
        self.calls.append(("create", image, kwargs["name"], kwargs["labels"],
                           kwargs["host_config"]["binds"]))
        (volume, bind), = kwargs["host_config"]["binds"].items()
        helper = f"helper{len(self.helpers)}"
        self.helpers[helper] = volume
        return {"Id": helper}

    def remove_container(self, helper: str, force: bool, v: bool) -> None:
        assert v is False, "a helper's removal must never take the volume with it"
        self.calls.append(("remove", helper))

    def create_volume(self, name: str) -> None:
        self.calls.append(("create_volume", name))
        self.volumes[name] = {}

    def remove_volume(self, name: str) -> None:
        self.calls.append(("remove_volume", name))
        del self.volumes[name]

    def put_archive(self, helper: str, path: str, data) -> bool:
        body = b"".join(data)
        self.calls.append(("put", self.helpers[helper], path, len(body)))
        if self.fail_put:
            raise DockerApiError("no space left on device")
        return True

    def _url(self, template: str, helper: str) -> str:
        return helper

    def _get(self, helper: str, params: dict, stream: bool, headers: dict) -> FakeResponse:
        assert headers == {"Accept-Encoding": "identity"}
        self.calls.append(("get", self.helpers[helper], params["path"]))
        response = FakeResponse(self.contents.get(self.helpers[helper], tar_bytes()))
        self.responses.append(response)
        return response

    def _raise_for_status(self, response: FakeResponse) -> None:
        pass


class FakeSession:
    def __init__(self, api: FakeApi, name: str = "lab1", readonly: bool = False) -> None:
        self.name = name
        self.readonly = readonly
        self.client = type("Client", (), {"api": api})()

    def call(self, method, *args, **kwargs):
        return method(self.client, *args, **kwargs)


def running(name: str, volume: str, rw: bool = True, state: str = "running") -> dict:
    return {"Names": [f"/{name}"], "Id": name * 4, "ImageID": f"sha256:{name}-image",
            "State": state, "Labels": {},
            "Mounts": [{"Type": "volume", "Name": volume, "RW": rw}]}


IMAGES = [{"Id": "sha256:big", "Size": 900}, {"Id": "sha256:small", "Size": 5}]


@pytest.fixture
def seen() -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    guard.add_observer(lambda m, outcome, detail: events.append((m.verb, outcome)))
    return events


def good_archive(tmp_path: Path) -> Path:
    path = tmp_path / "data.tar"
    path.write_bytes(tar_bytes("a", "b"))
    return path


def test_export_refuses_while_a_running_container_writes_naming_it(tmp_path: Path) -> None:
    api = FakeApi({"data": {}}, [running("db-1", "data"), running("reader", "data", rw=False)],
                  IMAGES)
    with pytest.raises(ActionRefused) as caught:
        export_volume(FakeSession(api), "data", tmp_path / "x.tar")
    assert str(caught.value).startswith("lab1: volume data is mounted read-write by running"
                                        " container db-1; refusing to export data")
    assert "--live" in str(caught.value)
    assert not [call for call in api.calls if call[0] == "create"]
    assert not (tmp_path / "x.tar").exists()


def test_a_stopped_writer_or_a_read_only_reader_does_not_stop_an_export(tmp_path: Path,
                                                                          seen) -> None:
    api = FakeApi({"data": {}}, [running("db-1", "data", state="exited"),
                                 running("reader", "data", rw=False)], IMAGES,
                  contents={"data": tar_bytes("a")})
    result = export_volume(FakeSession(api), "data", tmp_path / "x.tar")
    assert (tmp_path / "x.tar").read_bytes() == tar_bytes("a")
    assert (tmp_path / "x.tar").stat().st_mode & 0o777 == 0o600
    assert result.bytes == len(tar_bytes("a"))
    create = next(call for call in api.calls if call[0] == "create")
    # The image of a container using the volume (surely on the host), mounted read-only.
    assert create[1] == "sha256:db-1-image"
    assert create[2].startswith(f"{HELPER_PREFIX}data-")
    assert create[3] == {HELPER_LABEL: "data"}
    assert create[4] == {"data": {"bind": "/corral-volume", "mode": "ro"}}
    assert api.calls[-1] == ("remove", "helper0")
    assert all(response.closed for response in api.responses)
    assert seen == [("volume.export", "ok")]


def test_live_exports_anyway(tmp_path: Path) -> None:
    api = FakeApi({"data": {}}, [running("db-1", "data")], IMAGES)
    assert export_volume(FakeSession(api), "data", tmp_path / "x.tar", live=True).live


def test_export_of_a_missing_volume(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="lab1: no volume nope"):
        export_volume(FakeSession(FakeApi({}, [], IMAGES)), "nope", tmp_path / "x.tar")


def test_read_only_refuses_before_the_engine_is_asked(tmp_path: Path, seen) -> None:
    api = FakeApi({"data": {}}, [], IMAGES)
    guard.enter_readonly("--readonly")
    with pytest.raises(ActionRefused, match=r"read-only \(--readonly\): refusing to "
                                            r"volume.export data on lab1"):
        export_volume(FakeSession(api), "data", tmp_path / "x.tar")
    with pytest.raises(ActionRefused, match="refusing to volume.import"):
        import_volume(FakeSession(api), "data", check_archive(good_archive(tmp_path)))
    with pytest.raises(ActionRefused, match="refusing to volume.copy"):
        copy_volume(FakeSession(api), "data", FakeSession(api, "lab2"), "data")
    assert api.calls == []
    assert seen == [("volume.export", "refused"), ("volume.import", "refused"),
                    ("volume.copy", "refused")]


def test_a_read_only_session_refuses_too(tmp_path: Path) -> None:
    api = FakeApi({"data": {}}, [], IMAGES)
    with pytest.raises(ActionRefused, match="read-only: refusing to volume.copy"):
        copy_volume(FakeSession(api), "data", FakeSession(api, "lab2", readonly=True), "data")
    assert api.calls == []


def test_import_creates_a_missing_volume_from_the_smallest_image(tmp_path: Path, seen) -> None:
    api = FakeApi({}, [], IMAGES)
    archive = check_archive(good_archive(tmp_path))
    result = import_volume(FakeSession(api), "fresh", archive,
                           confirm=lambda question: pytest.fail("a new volume asks nothing"))
    assert result.created and result.bytes == archive.file_bytes
    assert api.calls[0] == ("create_volume", "fresh")
    assert api.calls[1][1] == "sha256:small"
    assert api.calls[1][4] == {"fresh": {"bind": "/corral-volume", "mode": "rw"}}
    assert api.calls[2:] == [("put", "fresh", "/corral-volume", archive.file_bytes),
                             ("remove", "helper0")]
    assert seen == [("volume.import", "ok")]


def test_import_into_a_volume_with_files_asks_and_a_no_writes_nothing(tmp_path: Path,
                                                                        seen) -> None:
    api = FakeApi({"data": {}}, [], IMAGES, contents={"data": tar_bytes("old")})
    questions: list[str] = []
    with pytest.raises(ActionRefused, match="lab1: volume data already holds files; not "
                                            "confirmed"):
        import_volume(FakeSession(api), "data", check_archive(good_archive(tmp_path)),
                      confirm=lambda question: questions.append(question) or False)
    assert questions and "volume data on lab1 already holds files" in questions[0]
    assert not [call for call in api.calls if call[0] == "put"]
    assert api.calls[-1] == ("remove", "helper0")
    assert "data" in api.volumes  # an existing volume is never removed
    assert seen == [("volume.import", "failed")]


def test_import_into_an_empty_volume_asks_nothing(tmp_path: Path) -> None:
    api = FakeApi({"data": {}}, [], IMAGES)  # its archive holds `.` only
    import_volume(FakeSession(api), "data", check_archive(good_archive(tmp_path)),
                  confirm=lambda question: pytest.fail("an empty volume asks nothing"))
    assert ("put", "data", "/corral-volume", len(tar_bytes("a", "b"))) in api.calls


def test_import_refuses_a_writer_and_corral_records(tmp_path: Path) -> None:
    archive = check_archive(good_archive(tmp_path))
    api = FakeApi({"data": {}}, [running("db-1", "data")], IMAGES)
    with pytest.raises(ActionRefused, match="running container db-1; refusing to write"):
        import_volume(FakeSession(api), "data", archive)
    api = FakeApi({"corral-stack.web.2": {L.RECORD: "web"}}, [], IMAGES)
    with pytest.raises(ActionRefused, match="holds a stack's record"):
        import_volume(FakeSession(api), "corral-stack.web.2", archive)
    assert api.calls == []


def test_a_failed_import_removes_its_helper_and_the_volume_it_created(tmp_path: Path,
                                                                       seen) -> None:
    api = FakeApi({}, [], IMAGES, fail_put=True)
    with pytest.raises(BackendError, match="no space left"):
        import_volume(FakeSession(api), "fresh", check_archive(good_archive(tmp_path)))
    assert api.calls[-2:] == [("remove", "helper0"), ("remove_volume", "fresh")]
    assert seen == [("volume.import", "failed")]


def test_a_host_without_images_is_a_clear_error(tmp_path: Path) -> None:
    api = FakeApi({}, [], [])
    with pytest.raises(BackendError, match="no image on this host to make a volume helper"):
        import_volume(FakeSession(api), "fresh", check_archive(good_archive(tmp_path)))
    assert api.calls == [("create_volume", "fresh"), ("remove_volume", "fresh")]


def test_copy_streams_source_into_target_and_removes_both_helpers(seen) -> None:
    source = FakeApi({"data": {}}, [], IMAGES, contents={"data": tar_bytes("a", "b")})
    target = FakeApi({}, [], IMAGES)
    result = copy_volume(FakeSession(source), "data", FakeSession(target, "lab3"), "data")
    assert (result.source, result.target, result.created) == ("lab1/data", "lab3/data", True)
    assert result.bytes == len(tar_bytes("a", "b"))
    assert source.calls[-2:] == [("get", "data", "/corral-volume/."), ("remove", "helper0")]
    assert ("put", "data", "/corral-volume", result.bytes) in target.calls
    assert target.calls[-1] == ("remove", "helper0")
    assert seen == [("volume.copy", "ok")]


def test_copy_refuses_a_writer_on_either_side() -> None:
    source = FakeApi({"data": {}}, [running("app-1", "data")], IMAGES)
    target = FakeApi({"data": {}}, [running("app-2", "data")], IMAGES)
    with pytest.raises(ActionRefused, match="lab1: .* container app-1; refusing to copy data"):
        copy_volume(FakeSession(source), "data", FakeSession(target, "lab3"), "data")
    source.containers_ = []
    with pytest.raises(ActionRefused, match="lab3: .* container app-2; refusing to write"):
        copy_volume(FakeSession(source), "data", FakeSession(target, "lab3"), "data")
    assert [c for c in source.calls + target.calls if c[0] == "create"] == []


def test_copy_onto_itself_is_refused() -> None:
    api = FakeApi({"data": {}}, [], IMAGES)
    with pytest.raises(ActionRefused, match="copied onto itself"):
        copy_volume(FakeSession(api), "data", FakeSession(api), "data")
    assert api.calls == []
