"""Alembic migrations on SQLite and PostgreSQL (the `database_url` fixture runs both): from an empty
database, from the previous revision with data in it, down to nothing and up again, and the ORM models
agreeing with what the migrations build (autogenerate finds nothing to do)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, select

from mappings.feedback import group_key
from mappings.models import Cursor
from syncer.records import content_hash, shown_signature, to_payload
from syncer.state import Link, StateStore, StoredFeedback
from syncer.state.lease import OrgLease
from syncer.state.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from syncer.state.tables import Base
from tests.factories import make_account, make_alert, make_feedback, make_milestone

SCRIPTS = ScriptDirectory.from_config(alembic_config())
HEAD = SCRIPTS.get_current_head()
PREVIOUS = SCRIPTS.get_revision(HEAD).down_revision if HEAD else None
STAMP = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _differences(engine: Engine) -> list[object]:
    """What `alembic revision --autogenerate` would put in a new migration."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                # SQLite reflects a '' server default as the SQL literal "''" and alembic reports that as
                # a change; PostgreSQL compares defaults faithfully
                "compare_server_default": connection.dialect.name == "postgresql",
            },
        )
        return list(compare_metadata(context, Base.metadata))


def test_the_revision_history_is_one_straight_line() -> None:
    assert [head_revision()] == SCRIPTS.get_heads() == [HEAD]
    assert PREVIOUS is not None
    revisions = [r.revision for r in SCRIPTS.walk_revisions()]
    assert revisions == sorted(revisions, reverse=True), "revision ids sort in migration order"


def test_from_an_empty_database_to_head(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert _tables(engine) == set(Base.metadata.tables)
    upgrade(engine)  # safe to call on every start
    assert current_revision(engine) == HEAD


def test_models_and_migrations_agree_at_head(engine: Engine) -> None:
    upgrade(engine)
    assert _differences(engine) == []


def test_every_step_goes_down_and_up_again(engine: Engine) -> None:
    order = [r.revision for r in reversed(list(SCRIPTS.walk_revisions()))]
    for revision in order:
        upgrade(engine, revision)
        assert current_revision(engine) == revision
    for revision in reversed(order):
        assert current_revision(engine) == revision
        downgrade(engine, "-1")
    assert current_revision(engine) is None
    assert _tables(engine) == set()
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert _differences(engine) == []


def _save_feedback_as_0006_did(engine: Engine, rows: list[StoredFeedback]) -> None:
    """Feedback rows as revision 0006 stored them: the payload inline (0007 moved it to its own table)."""
    table = Table("feedback_records", MetaData(), autoload_with=engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {"org": "acme", "system": r.system, "record_id": r.record_id, "group_key": r.group_key,
                 "account_id": r.account_id, "content_hash": r.content_hash, "payload": dict(r.payload),
                 "written_key": r.written_key, "pending": True, "updated_at": now}
                for r in rows
            ],
        )  # fmt: skip


def _inline_payloads(engine: Engine) -> dict[str, object]:
    """record id -> the payload kept in feedback_records (revision 0006 and before)."""
    table = Table("feedback_records", MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        return dict(connection.execute(select(table.c.record_id, table.c.payload)).all())


def _seed_previous_revision(store: StateStore, engine: Engine) -> None:
    """What a running deployment has in its state store: feedback, a linked item, cursors, a milestone
    snapshot, an alert in the outbox, a dead letter and the audit of a finished run."""
    account = make_account()
    feedback = [make_feedback(n, title="Export reports to CSV") for n in (1, 2)]
    feedback.append(make_feedback(3, title="需求：CSV报表导出", account_id="c2"))
    rows = [
        StoredFeedback(
            fb.system,
            fb.id,
            group_key(fb),
            content_hash(fb),
            to_payload(fb, account),
            shown_signature(fb),
            fb.account_id,
        )
        for fb in feedback
    ]
    group = rows[0].group_key
    link = Link(group, "syncer-0123456789abcdef", "jira", "PROD-7", "https://acme.atlassian.net/browse/PROD-7",
                "d" * 64, "Export reports to CSV", 2, 750_000.0, "high", 12_500.0, "open", "100",
                "PROD-7|open|2.4|2026-04-01")  # fmt: skip
    _save_feedback_as_0006_did(engine, rows)
    with store.unit() as unit:
        unit.clear_pending("acme", [group])
        unit.links.save("acme", [link])
        unit.save_cursor("acme", "feedback", Cursor(STAMP, "3"))
        unit.save_cursor("acme", "backfill:2024-01-01", Cursor(STAMP - timedelta(days=30), "1"))
        unit.milestones.save_snapshots("acme", [make_milestone(id="100")])
        assert unit.milestones.enqueue("acme", [make_alert(key="al-1")], "crm_task") == 1
        unit.audit.dead_letter("acme", "hubspot", "9", "map", "no associated account/company")
        unit.audit.start_run("acme", "run-1", "run")
        unit.audit.finish_run("run-1", "partial", {"items_created": 1, "dead_letters": 1})
        unit.intents.record("acme", "create_item", {"syncer-0123456789abcdef": group})
        unit.intents.mark("acme", {"syncer-0123456789abcdef": "PROD-7"})


def _assert_seeded_data(store: StateStore, payloads: bool = True) -> None:
    with store.unit() as unit:
        assert unit.get_cursor("acme", "feedback") == Cursor(STAMP, "3")
        assert unit.get_cursor("acme", "backfill:2024-01-01") == Cursor(STAMP - timedelta(days=30), "1")
        assert unit.feedback_state("acme", "hubspot", ["1", "2", "3"]).keys() == {"1", "2", "3"}
        assert unit.pending_group_count("acme") == 1  # the Chinese ticket's group is still to be applied
        [link] = unit.links.top("acme")
        assert (link.item_key, link.milestone_id) == ("PROD-7", "100")
        assert link.signature == "PROD-7|open|2.4|2026-04-01"
        assert unit.links.by_items("acme", ["PROD-7"])["PROD-7"].open_deal_value == 12_500.0
        if payloads:  # (revision 0006 keeps them where this code no longer looks)
            members = unit.group_members("acme", [link.group_key])[link.group_key]
            assert sorted(m.record_id for m in members) == ["1", "2"]
            assert members[0].payload["account"]["name"] == "Acme Corp"
        assert unit.milestones.snapshots("acme")["100"].name == "2.4"
        assert [o.alert.key for o in unit.milestones.to_send("acme")] == ["al-1"]
        [letter] = unit.audit.open_dead_letters("acme")
        assert (letter.record_id, letter.stage) == ("9", "map")
        [run] = unit.audit.recent_runs("acme")
        assert (run.status, run.counts["items_created"]) == ("partial", 1)
        assert unit.intents.pending("acme", ["syncer-0123456789abcdef"]) == {}


def test_from_the_previous_revision_with_data_to_head(database_url: str, engine: Engine) -> None:
    assert PREVIOUS is not None
    upgrade(engine, PREVIOUS)
    before = _tables(engine)
    store = StateStore(database_url)
    try:
        _seed_previous_revision(store, engine)
        store.migrate()  # what every command does on start
        assert current_revision(engine) == HEAD
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("feedback_records")}
        assert "ix_feedback_record" in indexes, f"{HEAD} adds the record index"
        _assert_seeded_data(store)
        # leases (0004) still work after the upgrade: one run per org across processes
        first = OrgLease(store, "acme", "host-a:1")
        second = OrgLease(store, "acme", "host-b:2")
        assert first.acquire() is True
        assert second.acquire() is False
        assert second.holder_now() == "host-a:1"
        first.release()
        assert second.acquire() is True
        second.release()
        # and back down: the data of the older tables survives a downgrade too
        downgrade(engine, PREVIOUS)
        assert _tables(engine) == before
        _assert_seeded_data(store, payloads=False)
        inline = _inline_payloads(engine)
        assert sorted(inline) == ["1", "2", "3"], "payloads were lost by the downgrade"
        assert inline["3"]["feedback"]["title"] == "需求：CSV报表导出"  # type: ignore[index]
        store.migrate()
        assert current_revision(engine) == HEAD
    finally:
        store.dispose()
