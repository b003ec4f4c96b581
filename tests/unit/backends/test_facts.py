"""Pure helpers behind `corral hosts` and `corral ps`."""

from __future__ import annotations

import pytest

from corral.backends.engine.facts import container_row, format_ports, parse_engine_time
from corral.backends.labels import stack_and_service
from corral.backends.ssh.session import Backoff
from corral.tui.present.table import format_table


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, (None, None)),
        (None, (None, None)),
        ({"io.corral.stack": "s", "io.corral.service": "web"}, ("s", "web")),
        ({"com.docker.compose.project": "p", "com.docker.compose.service": "db"}, ("p", "db")),
        ({"io.rancher.stack.name": "r", "io.rancher.stack_service.name": "r/lb"}, ("r", "lb")),
        (
            {"com.docker.stack.namespace": "sw", "com.docker.swarm.service.name": "sw_api"},
            ("sw", "api"),
        ),
        ({"com.docker.compose.project": "p"}, ("p", None)),
        (
            {"io.corral.stack": "mine", "com.docker.compose.project": "theirs"},
            ("mine", None),
        ),
    ],
)
def test_stack_and_service_from_labels(labels, expected) -> None:
    assert stack_and_service(labels) == expected


def test_engine_time_with_nanoseconds() -> None:
    assert parse_engine_time("1970-01-01T00:00:01.500000123Z") == pytest.approx(1.5)
    assert parse_engine_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_engine_time("1970-01-01T00:00:02.25+00:00") == pytest.approx(2.25)
    assert parse_engine_time("") is None
    assert parse_engine_time("yesterday") is None


def test_ports_published_first_without_duplicates() -> None:
    ports = [
        {"PrivatePort": 80, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 53, "Type": "udp"},
    ]
    assert format_ports(ports) == ["0.0.0.0:8080->80/tcp", "53/udp", "80/tcp"]


def test_container_row_from_engine_listing() -> None:
    row = container_row(
        "h1",
        {
            "Id": "0123456789abcdef",
            "Names": ["/web-1"],
            "Image": "corral-lab/web:1",
            "State": "running",
            "Status": "Up 2 minutes",
            "Ports": [],
            "Labels": {"io.corral.stack": "shop", "io.corral.service": "web"},
            "Created": 10,
        },
    )
    assert (row.host, row.id, row.name, row.stack, row.service) == (
        "h1", "0123456789ab", "web-1", "shop", "web",
    )
    assert row.to_dict()["ports"] == []


def test_backoff_doubles_up_to_its_limit() -> None:
    delays = Backoff(first=1, limit=4).delays()
    values = [next(delays) for _ in range(5)]
    for value, nominal in zip(values, [1, 2, 4, 4, 4], strict=True):
        assert 0.8 * nominal <= value <= 1.2 * nominal


def test_text_table_aligns_and_shows_missing_values() -> None:
    text = format_table(("A", "LONGER"), [("x", None), ("yyyy", 3)])
    assert text.splitlines() == ["A     LONGER", "x     -", "yyyy  3"]
