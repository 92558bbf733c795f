"""Repository behaviour on SQLite and on the local PostgreSQL (the `store` fixture runs both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, inspect

from mappings.models import Cursor
from syncer.state import Link, StateStore, StoredFeedback
from syncer.state.migrate import downgrade, upgrade

T = datetime(2026, 3, 1, tzinfo=UTC)


def _fb(record_id: str, group: str = "fp:a", h: str = "h1", written: str | None = None) -> StoredFeedback:
    return StoredFeedback(
        "hubspot", record_id, group, h, {"feedback": {"id": record_id}, "account": None}, written
    )


def _link(group: str, key: str, marker: str = "") -> Link:
    return Link(
        group,
        marker or f"m-{group}",
        "jira",
        key,
        f"https://j/browse/{key}",
        "d1",
        "Title",
        2,
        1000.0,
        "high",
        signature=f"{key}|open||",
    )


def test_cursor_round_trips_and_never_moves_backwards(store: StateStore) -> None:
    with store.unit() as unit:
        unit.save_cursor("acme", "feedback", Cursor(T, "9"))
        unit.save_cursor("acme", "feedback", Cursor(T - timedelta(seconds=1), "99"))
    with store.unit() as unit:
        assert unit.get_cursor("acme", "feedback") == Cursor(T, "9")
        unit.save_cursor("acme", "feedback", Cursor(T, "10"))
    with store.unit() as unit:
        assert unit.get_cursor("acme", "feedback") == Cursor(T, "10")
        assert unit.get_cursor("other", "feedback") is None


def test_cursor_never_moves_backwards_within_one_unit(store: StateStore) -> None:
    with store.unit() as unit:
        unit.save_cursor("acme", "feedback", Cursor(T, "1"))
    with store.unit() as unit:  # the stored cursor is read, moved, then read again in the same unit
        unit.save_cursor("acme", "feedback", Cursor(T, "9"))
        unit.save_cursor("acme", "feedback", Cursor(T, "5"))
        assert unit.get_cursor("acme", "feedback") == Cursor(T, "9")
    with store.unit() as unit:
        assert unit.get_cursor("acme", "feedback") == Cursor(T, "9")


def test_feedback_upsert_pending_groups_and_members(store: StateStore) -> None:
    with store.unit() as unit:
        unit.save_feedback("acme", [_fb("1", "fp:a"), _fb("2", "fp:a"), _fb("3", "fp:b")])
        unit.save_feedback("acme", [_fb("3", "fp:b", h="h2")])
    with store.unit() as unit:
        assert unit.pending_groups("acme") == ["fp:a", "fp:b"]
        assert unit.pending_groups("acme", after="fp:a") == ["fp:b"]
        assert unit.feedback_state("acme", "hubspot", ["1", "3", "404"]) == {
            "1": ("h1", "fp:a"),
            "3": ("h2", "fp:b"),
        }
        members = unit.group_members("acme", ["fp:a"])
        assert sorted(m.record_id for m in members["fp:a"]) == ["1", "2"]
        unit.clear_pending("acme", ["fp:a"])
    with store.unit() as unit:
        assert unit.pending_groups("acme") == ["fp:b"]
        assert unit.pending_group_count("acme") == 1


def test_unlinked_feedback_lists_records_not_showing_their_item(store: StateStore) -> None:
    with store.unit() as unit:
        unit.save_feedback(
            "acme", [_fb("1", "fp:a"), _fb("2", "fp:a", written="PROD-1|open||"), _fb("3", "fp:b")]
        )
        unit.links.save("acme", [_link("fp:a", "PROD-1")])
    with store.unit() as unit:
        due = unit.unlinked_feedback("acme")
        assert [(f.record_id, link.item_key) for f, link in due] == [("1", "PROD-1")]
        unit.set_written_keys("acme", "hubspot", {"1": "PROD-1|open||"})
    with store.unit() as unit:
        assert unit.unlinked_feedback("acme") == []


def test_links_upsert_keeps_one_row_per_group(store: StateStore) -> None:
    with store.unit() as unit:
        unit.links.save("acme", [_link("fp:a", "PROD-1")])
        unit.links.save("acme", [_link("fp:a", "PROD-2")])
    with store.unit() as unit:
        assert unit.links.count("acme") == 1
        assert list(unit.links.get("acme", ["fp:a", "fp:z"])) == ["fp:a"]
        assert [link.item_key for link in unit.links.top("acme")] == ["PROD-2"]


def test_intents_pending_until_applied(store: StateStore) -> None:
    with store.unit() as unit:
        unit.intents.record("acme", "create_item", {"m1": "fp:a", "m2": "fp:b"})
    with store.unit() as unit:
        assert set(unit.intents.pending("acme", ["m1", "m2", "m3"])) == {"m1", "m2"}
        unit.intents.mark("acme", {"m1": "PROD-1"})
        unit.intents.mark("acme", {"m2": "refused"}, state="failed")
    with store.unit() as unit:
        assert unit.intents.pending("acme", ["m1", "m2"]) == {}


def test_dead_letters_open_refresh_and_resolve(store: StateStore) -> None:
    with store.unit() as unit:
        assert unit.audit.dead_letter("acme", "hubspot", "7", "map", "no company") is True
        assert unit.audit.dead_letter("acme", "hubspot", "7", "map", "still no company") is False
    with store.unit() as unit:
        [letter] = unit.audit.open_dead_letters("acme")
        assert (letter.record_id, letter.reason, letter.attempts) == ("7", "still no company", 2)
        unit.audit.resolve_dead_letters("acme", "hubspot", ["7"])
    with store.unit() as unit:
        assert unit.audit.count_open_dead_letters("acme") == 0


def test_dead_letters_of_a_page_open_new_letters_and_refresh_open_ones_of_their_stage(
    store: StateStore,
) -> None:
    with store.unit() as unit:
        unit.audit.dead_letter("acme", "hubspot", "1", "map", "no company")
        unit.audit.dead_letter("acme", "hubspot", "2", "pull", "not JSON")  # another stage: its own letter
    with store.unit() as unit:
        letters = [("1", "still no company", "{}"), ("2", "no company", "{}"), ("3", "no company", "{}")]
        assert unit.audit.dead_letters("acme", "hubspot", "map", letters) == 2  # 2 and 3 are new
        assert unit.audit.dead_letters("acme", "hubspot", "map", []) == 0
    with store.unit() as unit:
        shown = {(d.record_id, d.stage): (d.reason, d.attempts) for d in unit.audit.open_dead_letters("acme")}
    assert shown == {
        ("1", "map"): ("still no company", 2),
        ("2", "map"): ("no company", 1),
        ("2", "pull"): ("not JSON", 1),
        ("3", "map"): ("no company", 1),
    }


def test_runs_are_recorded_with_counts(store: StateStore) -> None:
    with store.unit() as unit:
        unit.audit.start_run("acme", "r1", "run")
    with store.unit() as unit:
        unit.audit.finish_run("r1", "ok", {"items_created": 3})
    with store.unit() as unit:
        [run] = unit.audit.recent_runs("acme")
        assert (run.status, run.counts["items_created"], run.finished_at is not None) == ("ok", 3, True)


def test_migrations_run_from_empty_and_down_again(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade(engine)
    assert {"cursors", "feedback_records", "backlog_links", "intents", "dead_letters", "runs"} <= set(
        inspect(engine).get_table_names()
    )
    downgrade(engine, "base")
    assert "backlog_links" not in inspect(engine).get_table_names()
    upgrade(engine)
    engine.dispose()


def test_item_state_survives_a_draft_update_and_feeds_the_signature(store: StateStore) -> None:
    with store.unit() as unit:
        unit.links.save("acme", [_link("fp:a", "PROD-1")])
        unit.links.update_item_states("acme", {"PROD-1": ("done", "100", "PROD-1|done|2.4|2026-04-01")})
        unit.links.save("acme", [_link("fp:a", "PROD-1")])  # a later draft update
    with store.unit() as unit:
        link = unit.links.by_items("acme", ["PROD-1"])["PROD-1"]
        assert (link.item_status, link.milestone_id, link.signature) == (
            "done",
            "100",
            "PROD-1|done|2.4|2026-04-01",
        )
        assert [x.item_key for x in unit.links.in_milestones("acme", ["100"])] == ["PROD-1"]


def test_refresh_accounts_rewrites_snapshots_and_marks_groups_pending(store: StateStore) -> None:
    row = StoredFeedback("hubspot", "1", "fp:a", "h", {"feedback": {}, "account": {"arr": 1}}, None, "c1")
    with store.unit() as unit:
        unit.save_feedback("acme", [row], pending=False)
    with store.unit() as unit:
        assert unit.refresh_accounts("acme", {"c1": {"arr": 1}}) == 0  # unchanged: nothing to do
        assert unit.refresh_accounts("acme", {"c1": {"arr": 2}}) == 1
    with store.unit() as unit:
        assert unit.pending_groups("acme") == ["fp:a"]
        assert unit.group_members("acme", ["fp:a"])["fp:a"][0].payload["account"] == {"arr": 2}


def test_alert_outbox_enqueues_once_and_tracks_sending(store: StateStore) -> None:
    from tests.factories import make_alert

    first, second = make_alert(key="al-1"), make_alert(key="al-2")
    with store.unit() as unit:
        assert unit.milestones.enqueue("acme", [first, second], "crm_task") == 2
        assert unit.milestones.enqueue("acme", [first], "crm_task") == 0
    with store.unit() as unit:
        assert [o.alert.key for o in unit.milestones.to_send("acme")] == ["al-1", "al-2"]
        unit.milestones.mark("acme", "attempted", {"al-1": None})
        unit.milestones.mark("acme", "sent", {"al-2": "task-9"})
    with store.unit() as unit:
        assert [(o.alert.key, o.state) for o in unit.milestones.to_send("acme")] == [("al-1", "attempted")]
        assert unit.milestones.count_alerts("acme") == 1
        assert unit.milestones.enqueue("acme", [second], "crm_task") == 0  # sent stays sent, never twice


def test_milestone_snapshots_round_trip(store: StateStore) -> None:
    from tests.factories import make_milestone

    with store.unit() as unit:
        unit.milestones.save_snapshots("acme", [make_milestone(id="100"), make_milestone(id="200", due=None)])
        unit.milestones.save_snapshots("acme", [make_milestone(id="100", name="2.4 LTS")])
    with store.unit() as unit:
        snaps = unit.milestones.snapshots("acme")
        assert snaps["100"].name == "2.4 LTS"
        assert snaps["200"].due is None


def test_account_snapshots_come_from_each_accounts_newest_record(store: StateStore) -> None:
    def row(record_id: str, account: str, arr: int) -> StoredFeedback:
        payload = {"feedback": {}, "account": {"id": account, "arr": arr}}
        return StoredFeedback("hubspot", record_id, "fp:a", "h", payload, None, account)

    with store.unit() as unit:
        assert not unit.has_feedback("acme")
        unit.save_feedback("acme", [row("1", "c1", 10), row("2", "c1", 20), row("3", "c2", 30)])
        unit.save_feedback("other", [row("9", "c3", 90)])
    with store.unit() as unit:
        found = unit.account_snapshots("acme", ["c1", "c2", "c3", "c4"])
        assert unit.has_feedback("acme")

    assert found == {"c1": {"id": "c1", "arr": 20}, "c2": {"id": "c2", "arr": 30}}
