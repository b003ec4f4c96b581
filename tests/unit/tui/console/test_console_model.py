"""Pure pieces of the console: filters, the container store, problem rules, grouping."""

from __future__ import annotations

from corral.backends.engine.facts import ContainerRow
from corral.backends.engine.watch import EngineEvent, Removed, Snapshot, Stale, Upsert
from corral.tui.console.model.store import ContainerStore
from corral.tui.console.views.base import compile_filter
from corral.tui.console.views.containers import health_of, health_summary, is_problem, uptime_of
from corral.tui.console.views.stacks import group_stacks


def row(host="h1", cid="c1", name="web", state="running", status="Up 2 minutes",
        stack=None, service=None) -> ContainerRow:
    return ContainerRow(host=host, id=cid, name=name, image="img", state=state, status=status,
                        ports=[], stack=stack, service=service, created=0, labels={})


def test_filter_is_a_case_insensitive_regex_and_bang_inverts() -> None:
    pattern, inverted = compile_filter("WEB-[0-9]")
    assert pattern.search("lab1 web-1") and not inverted
    pattern, inverted = compile_filter("!web")
    assert pattern.search("web") and inverted
    assert compile_filter("") == (None, False)
    assert compile_filter("!") == (None, False)
    pattern, _ = compile_filter("a[b")  # not a regex: matched literally
    assert pattern.search("xa[by") and not pattern.search("ab")


def test_store_applies_snapshots_upserts_removals_and_staleness() -> None:
    store = ContainerStore()
    store.put(Snapshot("h1", [row(cid="a"), row(cid="b")]))
    store.put(Snapshot("h2", [row(host="h2", cid="c")]))
    store.put(Upsert("h1", row(cid="a", state="exited")))
    store.put(Removed("h1", "b"))
    store.put(Stale("h2", "lost"))
    store.put(EngineEvent("h1", 1.0, "container", "die", "web", {}))
    assert store.drain() == (True, True)
    assert set(store.rows) == {"h1/a", "h2/c"}
    assert store.rows["h1/a"].state == "exited"
    assert store.stale == {"h2": "lost"}
    assert [(seq, e.action) for seq, e in store.events] == [(1, "die")]
    # A fresh snapshot replaces the host's rows and clears its staleness.
    store.put(Snapshot("h2", []))
    store.drain()
    assert set(store.rows) == {"h1/a"} and store.stale == {}
    assert store.drain() == (False, False)


def test_only_containers_that_come_go_or_change_state_count_for_the_health_pass() -> None:
    store = ContainerStore()
    store.put(Snapshot("h1", [row(cid="a", status="Up 2 minutes (healthy)")]))
    store.drain()
    assert store.take_placement_change() and not store.take_placement_change()
    store.put(Upsert("h1", row(cid="a", status="Up 2 minutes (unhealthy)"), health_only=True))
    assert store.drain() == (True, False)  # the row shows it ...
    assert not store.take_placement_change()  # ... the health pass has nothing new to read
    for update in (Upsert("h1", row(cid="a", state="exited")), Removed("h1", "a"),
                   Stale("h1", "lost")):
        store.put(update)
        store.drain()
        assert store.take_placement_change(), update
    store.put(Snapshot("h1", [row(cid="b")]))
    store.drain()
    store.take_placement_change()
    assert store.forget_host("h1") and store.take_placement_change()


def test_health_uptime_and_problems() -> None:
    healthy = row(status="Up 5 minutes (healthy)")
    assert health_of(healthy) == "healthy" and uptime_of(healthy) == "5m"
    listed = ContainerRow(**{**healthy.__dict__, "listed_at": 1000.0})
    assert uptime_of(listed, now=1000.0 + 3600) == "1h"  # keeps counting after listing
    assert uptime_of(row(status="Up About an hour")) == "1h"
    assert uptime_of(row(status="Up Less than a second")) == "0s"
    starting = row(status="Up 1 second (health: starting)")
    assert health_of(starting) == "starting"
    assert uptime_of(row(state="exited", status="Exited (0) 1 minute ago")) == ""
    assert not is_problem(row(state="exited", status="Exited (0) 1 minute ago"), set())
    assert is_problem(row(state="exited", status="Exited (137) 1 minute ago"), set())
    assert is_problem(row(state="restarting", status="Restarting (1) 2 seconds ago"), set())
    assert is_problem(row(status="Up 1 hour (unhealthy)"), set())
    assert is_problem(row(cid="x"), {"h1/x"})
    assert not is_problem(healthy, set())


def test_corral_health_checks_show_where_the_engine_has_none() -> None:
    checked = {"h1/web": "unhealthy", "h2/web": "healthy"}
    assert health_of(row(), checked) == "unhealthy"
    assert health_of(row(host="h2"), checked) == "healthy"
    assert health_of(row(host="h3"), checked) == ""  # names are per host
    # The engine's own healthcheck, where there is one, is what the row shows.
    assert health_of(row(status="Up 1 hour (healthy)"), checked) == "healthy"
    assert is_problem(row(), set(), checked) and not is_problem(row(host="h2"), set(), checked)


def test_health_summary_counts_and_shows_the_worst() -> None:
    rows = [row(host="h1"), row(host="h2"), row(host="h3", status="Up 1 hour (healthy)")]
    summary = health_summary(rows, {"h1/web": "unhealthy", "h2/web": "healthy"})
    assert summary.plain == "2 healthy, 1 unhealthy" and summary.style == "red"
    assert health_summary(rows[1:], {"h2/web": "healthy"}).style == "green"
    assert health_summary(rows[:1]).plain == ""  # no check: nothing to say


def test_group_stacks_by_stack_and_service() -> None:
    groups = group_stacks([
        row(cid="1", stack="shop", service="web"),
        row(cid="2", host="h2", stack="shop", service="web"),
        row(cid="3", stack="shop", service="db"),
        row(cid="4"),
    ])
    assert sorted(groups) == ["shop/db", "shop/web"]
    assert [c.id for c in groups["shop/web"].containers] == ["1", "2"]


def test_a_history_is_merged_by_time_and_bounded() -> None:
    from corral.backends.engine.watch import History
    from corral.tui.console.model.store import EVENT_HISTORY

    store = ContainerStore()
    store.put(EngineEvent("h1", 5_000.0, "container", "start", "live", {}))
    past = [EngineEvent("h2", float(t), "container", "die", f"old{t}", {})
            for t in range(EVENT_HISTORY + 10)]
    store.put(History("h2", past))
    assert store.drain() == (False, True)
    assert len(store.events) == EVENT_HISTORY
    # Newest first, the live one on top; the oldest of the history are what the bound dropped.
    assert store.events[0][1].actor == "live"
    assert store.events[-1][1].actor == "old11"
    assert len({seq for seq, _ in store.events}) == EVENT_HISTORY
