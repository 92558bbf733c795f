"""The feedback and cursor statements the store runs per page, built once: building a statement and
its cache key cost more than running it. Private to syncer.state (used by store.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from syncer.state.sql import DriverMany, Upsert
from syncer.state.tables import CURSORS, FEEDBACK, PAYLOADS

CURSOR = select(CURSORS.c.position).where(
    CURSORS.c.org == bindparam("org"), CURSORS.c.stream == bindparam("stream")
)
SAVE_CURSOR = Upsert(CURSORS, ("org", "stream"))
FEEDBACK_STATE = select(FEEDBACK.c.record_id, FEEDBACK.c.content_hash, FEEDBACK.c.group_key).where(
    FEEDBACK.c.org == bindparam("org"),
    FEEDBACK.c.system == bindparam("system"),
    FEEDBACK.c.record_id.in_(bindparam("ids", expanding=True)),
)
# `written_key` is what WE last wrote: a re-read (possibly stale, search lags) never overrides it
SAVE_FEEDBACK = Upsert(
    FEEDBACK,
    ("org", "system", "record_id"),
    update=[c.key for c in FEEDBACK.columns if c.key not in {"org", "system", "record_id", "written_key"}],
)
SAVE_PAYLOADS = Upsert(PAYLOADS, ("org", "system", "record_id"))
# a feedback record with its payload (every stored record has one: save_feedback writes both)
WITH_PAYLOAD = FEEDBACK.join(
    PAYLOADS,
    (PAYLOADS.c.org == FEEDBACK.c.org)
    & (PAYLOADS.c.system == FEEDBACK.c.system)
    & (PAYLOADS.c.record_id == FEEDBACK.c.record_id),
)
ACCOUNT_FEEDBACK = (
    select(
        FEEDBACK.c.system,
        FEEDBACK.c.record_id,
        FEEDBACK.c.account_id,
        FEEDBACK.c.group_key,
        PAYLOADS.c.payload,
    )
    .select_from(WITH_PAYLOAD)
    .where(FEEDBACK.c.org == bindparam("org"), FEEDBACK.c.account_id.in_(bindparam("ids", expanding=True)))
)


def by_record(table: Any) -> Any:
    """WHERE one record (org, system, record id), bound per row: for executemany updates."""
    c = table.c
    return (
        (c.org == bindparam("b_org"))
        & (c.system == bindparam("b_system"))
        & (c.record_id == bindparam("b_record_id"))
    )


# run for many records at once, by the driver's executemany
REFRESH_PAYLOAD = DriverMany(
    update(PAYLOADS).where(by_record(PAYLOADS)).values(payload=bindparam("b_payload"))
)
MARK_PENDING = DriverMany(update(FEEDBACK).where(by_record(FEEDBACK)).values(pending=True))
SET_WRITTEN_KEY = DriverMany(
    update(FEEDBACK).where(by_record(FEEDBACK)).values(written_key=bindparam("b_written_key"))
)

# a group's records without their payloads (StoredFeedback's fields but the payload), and payloads by id
MEMBER_COLUMNS = (
    FEEDBACK.c.system,
    FEEDBACK.c.record_id,
    FEEDBACK.c.group_key,
    FEEDBACK.c.content_hash,
    FEEDBACK.c.written_key,
    FEEDBACK.c.account_id,
)
PAYLOADS_OF = select(PAYLOADS.c.record_id, PAYLOADS.c.payload).where(
    PAYLOADS.c.org == bindparam("org"),
    PAYLOADS.c.system == bindparam("system"),
    PAYLOADS.c.record_id.in_(bindparam("ids", expanding=True)),
)
