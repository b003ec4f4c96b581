"""The diagnostics bundle's scrubbing and size caps, without hosts."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from corral.backends.deploy import Scrubber
from corral.tui.cli.diag import Bundle


def test_secrets_keys_and_url_credentials_are_masked() -> None:
    scrub = Scrubber()
    scrub.add("pw-1234")
    scrub.add("ab")  # too short to scrub everywhere
    text = scrub.text("login pw-1234 at https://ops:hunter22@reg.example/v2 ab\n"
                      "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3\n-----END OPENSSH PRIVATE"
                      " KEY-----\nDB_PASSWORD=x9 api_key: 'k'\n")
    assert "pw-1234" not in text and "hunter22" not in text and "AAAAB3" not in text
    assert "https://ops:********@reg.example" in text and " ab\n" in text
    assert "DB_PASSWORD=********" in text and "api_key: ********" in text
    data = scrub.data({"Password": "x", "labels": {"a": "pw-1234"}, "n": 3})
    assert data == {"Password": "********", "labels": {"a": "********"}, "n": 3}


def test_files_are_capped_and_the_manifest_says_so(tmp_path: Path) -> None:
    bundle = Bundle(300 * 1024, Scrubber())  # 300 KiB, of which the manifest keeps 256
    bundle.add("a.log", "old line\n" * 5000 + "newest line\n", tail=True)
    bundle.add("b.json", "x" * 100)
    for index in range(10):
        bundle.add(f"c{index}.log", "y" * 20_000)
    output = tmp_path / "out.tar.gz"
    bundle.write(output)
    with tarfile.open(output) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    manifest = json.loads(files.pop("corral-diag/manifest.json"))
    first = manifest["files"][0]
    assert first["truncated"] and first["original_size"] > first["size"]
    assert files["corral-diag/a.log"].endswith(b"newest line\n")
    assert files["corral-diag/a.log"].startswith(b"[corral diag: cut to")
    assert sum(len(d) for d in files.values()) <= 300 * 1024 - 256 * 1024
    assert manifest["omitted"] and manifest["omitted"][0]["why"] == "bundle size cap"
    assert oct(output.stat().st_mode & 0o777) == "0o600"
