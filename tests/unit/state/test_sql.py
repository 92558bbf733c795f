"""The JSON columns' codec: orjson where it agrees with the stdlib, the stdlib where it does not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.responses import loads_json
from syncer.state import StateStore
from syncer.state.sql import json_dumps
from syncer.state.statements import SAVE_FEEDBACK, SAVE_PAYLOADS


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"feedback": {"id": "7", "title": "Café ✓ 日本"}, "account": None}, id="payload"),
        pytest.param({"arr": 1.5, "n": -3, "ok": True, "tags": ["a", "b"]}, id="scalars"),
        pytest.param({1: "int key"}, id="int-key"),
        pytest.param({"big": 2**70}, id="int-beyond-64-bits"),
        pytest.param({"lone": "\ud800"}, id="lone-surrogate"),
    ],
)
def test_json_dumps_reads_back_as_the_stdlib_would(value: Any) -> None:
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"a": [1, 2.5, null, "\\u00e9"]}', id="stdlib-written"),
        pytest.param('{"arr": NaN}', id="nan-written-by-the-stdlib"),
    ],
)
def test_json_loads_reads_what_the_stdlib_wrote(text: str) -> None:
    assert repr(loads_json(text)) == repr(json.loads(text))


def test_json_dumps_rejects_what_the_stdlib_rejects() -> None:
    with pytest.raises(TypeError):
        json_dumps({"at": datetime(2026, 1, 1, tzinfo=UTC)})


_RAW = {
    "feedback": "SELECT * FROM feedback_records ORDER BY org, system, record_id",
    "payloads": "SELECT * FROM feedback_payloads ORDER BY org, system, record_id",
}


def _raw_rows(store: StateStore, table: str) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (the driver's own values, no SQLAlchemy types)."""
    with store.session() as session:
        return [tuple(r) for r in session.connection().exec_driver_sql(_RAW[table])]


def _feedback_rows(org: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "org": org,
            "system": "hubspot",
            "record_id": str(i),
            "group_key": f"fp:{i % 3}",
            "account_id": None if i % 2 else f"c{i}",
            "content_hash": "~" + "a" * 63,
            "written_key": None,
            "pending": bool(i % 2),
            "updated_at": datetime(2026, 3, 1, 9, i, 30, 123456, tzinfo=UTC),
        }
        for i in range(n)
    ]


def test_driver_executemany_writes_what_sqlalchemy_writes(store: StateStore) -> None:
    payloads = [
        {
            "org": r["org"],
            "system": "hubspot",
            "record_id": r["record_id"],
            "payload": {"feedback": {"t": "Café ✓ 日本"}, "n": i},
        }
        for i, r in enumerate(_feedback_rows("driver", 3))
    ]
    with store.session() as session, session.begin():
        SAVE_FEEDBACK(session, _feedback_rows("driver", 3))  # the driver's executemany
        SAVE_PAYLOADS(session, payloads)
        for row in _feedback_rows("orm", 3):  # one row at a time: SQLAlchemy's own parameter processing
            SAVE_FEEDBACK(session, [row])
        for row in payloads:
            SAVE_PAYLOADS(session, [{**row, "org": "orm"}])

    feedback = _raw_rows(store, "feedback")
    assert [r[1:] for r in feedback if r[0] == "driver"] == [r[1:] for r in feedback if r[0] == "orm"]
    stored = _raw_rows(store, "payloads")
    assert [r[1:] for r in stored if r[0] == "driver"] == [r[1:] for r in stored if r[0] == "orm"]
    with store.unit() as unit:  # and they read back as models' values
        assert unit.feedback_state("driver", "hubspot", ["0", "1", "2"]) == unit.feedback_state(
            "orm", "hubspot", ["0", "1", "2"]
        )


def test_driver_executemany_leaves_rows_needing_defaults_to_sqlalchemy(store: StateStore) -> None:
    rows = [
        {k: v for k, v in r.items() if k != "pending"} for r in _feedback_rows("acme", 3)
    ]  # default: pending

    with store.session() as session, session.begin():
        SAVE_FEEDBACK(session, rows)

    with store.unit() as unit:
        assert unit.pending_group_count("acme") == 3
