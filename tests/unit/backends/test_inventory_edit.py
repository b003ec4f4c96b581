"""Inventory edits: comments survive, writes are atomic, bad edits change nothing."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from corral.backends.errors import InventoryError, UnknownHost
from corral.backends.inventory import edit as inventory_edit
from corral.backends.inventory import host_entry
from corral.backends.inventory import text as inventory_text
from corral.backends.inventory.edit import add_host, check_new_name, remove_host
from corral.backends.inventory.host_entry import HostEntry, parse_labels
from corral.backends.inventory.load import SshTarget, load_inventory

ANNOTATED = """\
# Our fleet. Ask ops before changing it.
hosts:
  # the edge box in rack 7
  - name: alpha
    ssh: deploy@10.0.0.1:22   # primary address
    labels: {zone: a}

  # media encoder
  - name: beta
    ssh: beta.example
    # labels: {gpu: "true"}   (not yet)

  - name: gamma
    ssh: gamma.example
    socket: /run/docker.sock

# end of inventory
"""


def write(tmp_path: Path, text: str, name: str = "inventory.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_add_appends_a_block_and_keeps_every_comment(tmp_path: Path) -> None:
    path = write(tmp_path, ANNOTATED)
    path.chmod(0o640)
    entry = HostEntry("delta", "root@10.0.0.4:2200", labels={"zone": "b", "rack": "7"},
                      socket="/var/run/docker.sock")
    inventory = add_host(path, entry)
    text = path.read_text()
    assert text.startswith(ANNOTATED.split("# end of inventory")[0])
    assert text.endswith(
        "    socket: /run/docker.sock\n"
        "\n"
        "  - name: delta\n"
        "    ssh: root@10.0.0.4:2200\n"
        "    socket: /var/run/docker.sock\n"
        "    labels: {zone: b, rack: '7'}\n"
        "\n"
        "# end of inventory\n"
    )
    assert inventory.names() == ["alpha", "beta", "gamma", "delta"]
    assert inventory.path == path
    delta = load_inventory(path).get("delta")
    assert delta.ssh == SshTarget("10.0.0.4", "root", 2200)
    assert delta.labels == {"zone": "b", "rack": "7"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_add_to_an_indentless_list_matches_its_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts:\n- name: a\n  ssh: a\n")
    add_host(path, HostEntry("b", "b", jump=("ops@bastion",)))
    assert path.read_text() == (
        "hosts:\n- name: a\n  ssh: a\n- name: b\n  ssh: b\n  jump: ops@bastion\n"
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("hosts: []   # none yet\n", "hosts: # none yet\n  - name: n\n    ssh: n\n"),
        ("hosts:\n", "hosts:\n  - name: n\n    ssh: n\n"),
        ("# only a comment\n", "# only a comment\nhosts:\n  - name: n\n    ssh: n\n"),
    ],
)
def test_add_to_an_empty_inventory_keeps_its_comments(
    tmp_path: Path, before: str, after: str
) -> None:
    path = write(tmp_path, before)
    add_host(path, HostEntry("n", "n"))
    assert path.read_text() == after


def test_flow_style_is_rewritten_in_block_style(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts: [{name: a, ssh: a, labels: {x: y}}]  # flow\n")
    inventory = add_host(path, HostEntry("b", "b"))
    assert inventory.names() == ["a", "b"]
    assert path.read_text() == (
        inventory_text.REWRITE_HEADER
        + "hosts:\n  - name: a\n    ssh: a\n    labels: {x: y}\n  - name: b\n    ssh: b\n"
    )


def test_missing_file_and_directory_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "config" / "corral" / "inventory.yaml"
    add_host(path, HostEntry("first", "u@first"))
    assert load_inventory(path).names() == ["first"]
    assert path.read_text().startswith(inventory_text.NEW_FILE_HEADER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_duplicate_name_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, ANNOTATED)
    with pytest.raises(InventoryError) as caught:
        add_host(path, HostEntry("beta", "other"))
    assert str(caught.value) == f"{path}:9: a host named 'beta' is already in the inventory"
    with pytest.raises(InventoryError):
        check_new_name(path, "beta")
    check_new_name(path, "new")
    check_new_name(tmp_path / "absent.yaml", "new")
    assert path.read_text() == ANNOTATED


def test_an_entry_the_loader_rejects_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, ANNOTATED)
    with pytest.raises(InventoryError) as caught:
        add_host(path, HostEntry("e", "e", identity=(str(tmp_path / "no-such-key"),)))
    assert str(caught.value).startswith(f"{path}: not changed:")
    assert "identity file" in str(caught.value)
    assert path.read_text() == ANNOTATED
    assert leftovers(tmp_path) == []


def test_a_broken_inventory_is_not_edited(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts:\n  - name: a\n    colour: red\n")
    with pytest.raises(InventoryError, match="unknown key 'colour'"):
        add_host(path, HostEntry("b", "b"))
    with pytest.raises(InventoryError, match="unknown key 'colour'"):
        remove_host(path, "a")


def test_a_failure_mid_write_leaves_the_original_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, ANNOTATED)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(inventory_edit.os, "fsync", full_disk)
    with pytest.raises(InventoryError) as caught:
        add_host(path, HostEntry("delta", "delta"))
    assert str(caught.value) == f"{path}: cannot write: No space left on device"
    assert path.read_text() == ANNOTATED
    assert leftovers(tmp_path) == []


def test_a_crash_before_the_rename_leaves_the_original_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, ANNOTATED)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(inventory_edit.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        remove_host(path, "beta")
    assert path.read_text() == ANNOTATED
    assert leftovers(tmp_path) == []


def test_a_concurrent_change_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, ANNOTATED)
    real_load = inventory_edit.load_inventory

    def load_while_someone_writes(target):
        if Path(target) != path:  # the temporary copy: the other writer strikes now
            path.write_text(ANNOTATED + "# edited elsewhere\n")
        return real_load(target)

    monkeypatch.setattr(inventory_edit, "load_inventory", load_while_someone_writes)
    with pytest.raises(InventoryError, match="changed by someone else"):
        add_host(path, HostEntry("delta", "delta"))
    assert path.read_text().endswith("# edited elsewhere\n")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "alpha",
            "# Our fleet. Ask ops before changing it.\nhosts:\n"
            "  # media encoder\n  - name: beta\n    ssh: beta.example\n"
            '    # labels: {gpu: "true"}   (not yet)\n\n'
            "  - name: gamma\n    ssh: gamma.example\n    socket: /run/docker.sock\n"
            "\n# end of inventory\n",
        ),
        (
            "beta",
            "# Our fleet. Ask ops before changing it.\nhosts:\n"
            "  # the edge box in rack 7\n  - name: alpha\n"
            "    ssh: deploy@10.0.0.1:22   # primary address\n    labels: {zone: a}\n\n"
            "  - name: gamma\n    ssh: gamma.example\n    socket: /run/docker.sock\n"
            "\n# end of inventory\n",
        ),
        (
            "gamma",
            "# Our fleet. Ask ops before changing it.\nhosts:\n"
            "  # the edge box in rack 7\n  - name: alpha\n"
            "    ssh: deploy@10.0.0.1:22   # primary address\n    labels: {zone: a}\n\n"
            "  # media encoder\n  - name: beta\n    ssh: beta.example\n"
            '    # labels: {gpu: "true"}   (not yet)\n'
            "\n# end of inventory\n",
        ),
    ],
    ids=["first", "middle", "last"],
)
def test_remove_cuts_the_host_and_its_comment(tmp_path: Path, name: str, expected: str) -> None:
    path = write(tmp_path, ANNOTATED)
    inventory = remove_host(path, name)
    assert path.read_text() == expected
    assert name not in inventory.names() and len(inventory.hosts) == 2


def test_remove_every_host_then_add_again(tmp_path: Path) -> None:
    path = write(tmp_path, ANNOTATED)
    for name in ("beta", "alpha", "gamma"):
        remove_host(path, name)
    assert load_inventory(path).hosts == ()
    assert path.read_text() == (
        "# Our fleet. Ask ops before changing it.\nhosts:\n\n# end of inventory\n"
    )
    add_host(path, HostEntry("again", "again"))
    assert load_inventory(path).names() == ["again"]


def test_remove_unknown_host_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, ANNOTATED)
    with pytest.raises(UnknownHost):
        remove_host(path, "omega")
    with pytest.raises(InventoryError, match="not found"):
        remove_host(tmp_path / "absent.yaml", "alpha")


def test_remove_an_anchored_host_falls_back_to_a_rewrite(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        hosts:
          - name: a
            ssh: a
            labels: &common {zone: a}
          - name: b
            ssh: b
            labels: *common
        """,
    )
    inventory = remove_host(path, "a")
    assert inventory.names() == ["b"] and inventory.hosts[0].labels == {"zone": "a"}
    assert path.read_text().startswith(inventory_text.REWRITE_HEADER)


def test_symlinked_inventory_edits_the_target(tmp_path: Path) -> None:
    target = write(tmp_path, ANNOTATED, "real.yaml")
    link = tmp_path / "inventory.yaml"
    link.symlink_to(target)
    add_host(link, HostEntry("delta", "delta"))
    assert link.is_symlink()
    assert "delta" in load_inventory(target).names()


def test_crlf_files_keep_their_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_bytes(b"hosts:\r\n  - name: a\r\n    ssh: a\r\n")
    add_host(path, HostEntry("b", "b"))
    assert path.read_bytes() == (
        b"hosts:\r\n  - name: a\r\n    ssh: a\r\n  - name: b\r\n    ssh: b\r\n"
    )


def test_entry_problems_name_each_field(tmp_path: Path) -> None:
    entry = HostEntry(
        "bad name", "user@", identity=(str(tmp_path / "nope"),), socket="run/docker.sock",
        labels={"bad key": "x"}, jump=("@@",),
    )
    assert set(entry.problems()) == {"name", "ssh", "identity", "socket", "labels", "jump"}
    assert HostEntry("ok", "root@10.0.0.1:22", labels={"zone": "a"}).problems() == {}


def test_parse_labels() -> None:
    assert parse_labels(["zone=a", " role = edge ", "", "empty="]) == {
        "zone": "a", "role": "edge", "empty": ""
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_labels(["zone"])
    with pytest.raises(ValueError):
        parse_labels(["=a"])


def test_written_identity_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "id_test").write_text("key")
    assert host_entry.identity_path("id_test") == str(tmp_path / "id_test")
    assert host_entry.identity_path("~/.ssh/id") == "~/.ssh/id"
    assert os.path.isabs(HostEntry("a", "a", identity=("id_test",)).to_spec().identity[0])


def test_form_fields_are_held_to_openssh_rules(tmp_path: Path) -> None:
    key = tmp_path / "id_test"
    key.write_text("k")
    key.chmod(0o644)
    entry = HostEntry("ok", "ro|ot@h", identity=(str(key),), jump=("b;id",))
    problems = entry.problems()
    assert "'|' is not allowed in a user name" in problems["ssh"]
    assert "';' is not allowed in a host name" in problems["jump"]
    assert problems["identity"].endswith(f"chmod 600 {key}")


def test_connecting_refuses_a_key_others_may_read(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from corral.backends.errors import UnprotectedKey
    from corral.backends.ssh.connect import check_keys

    key = tmp_path / "id_test"
    key.write_text("k")
    key.chmod(0o600)
    check_keys("h", (str(key),))
    key.chmod(0o604)
    with pytest.raises(UnprotectedKey, match=f"chmod 600 {key}"):
        check_keys("h", (str(key),))
    monkeypatch.setenv("HOME", str(tmp_path))
    check_keys("h", ())  # no default key at all
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_text("k")
    (tmp_path / ".ssh" / "id_rsa").chmod(0o644)
    with pytest.raises(UnprotectedKey, match="id_rsa"):
        check_keys("h", ())
