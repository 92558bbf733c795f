"""ORM tables (SQLAlchemy 2.0 typed declarative). Private to syncer.state; migrations mirror them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on SQLite (which forgets zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime}


class CursorRow(Base):
    __tablename__ = "cursors"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column()


class FeedbackRow(Base):
    """Last seen version of each feedback record, with the account it belonged to then. Its payload
    lives in `feedback_payloads`: `pending` and `written_key` change once or twice per record in a
    sync, and SQLite rewrites a whole row to change one column."""

    __tablename__ = "feedback_records"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    system: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    # the backlog key the CRM record shows (what we last wrote there, or what sales typed)
    written_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # True until the record's group has been planned and applied: survives crashes
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        Index("ix_feedback_group", "org", "group_key"),
        Index("ix_feedback_pending", "org", "pending"),
        Index("ix_feedback_account", "org", "account_id"),
        Index("ix_feedback_record", "org", "record_id"),  # write-back pages in record id order
    )


class FeedbackPayloadRow(Base):
    """The stored content of a feedback record (`{"feedback": ..., "account": ...}`), written when the
    record changes, read when its group is rendered."""

    __tablename__ = "feedback_payloads"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    system: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)


class LinkRow(Base):
    """One backlog item per feedback group, with the marker it carries remotely."""

    __tablename__ = "backlog_links"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    marker: Mapped[str] = mapped_column(String(64))
    tracker: Mapped[str] = mapped_column(String(50))
    item_key: Mapped[str] = mapped_column(String(100))
    item_url: Mapped[str] = mapped_column(String(500), default="")
    draft_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    account_count: Mapped[int] = mapped_column(Integer, default=0)
    total_arr: Mapped[float] = mapped_column(default=0.0)
    priority: Mapped[str] = mapped_column(String(20), default="")
    open_deal_value: Mapped[float] = mapped_column(default=0.0, server_default="0")
    # the item as last seen in the tracker (for item events and the status write-back)
    item_status: Mapped[str] = mapped_column(String(20), default="", server_default="")
    milestone_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # what every feedback record of this group should show: key|status|milestone|due
    signature: Mapped[str] = mapped_column(String(400), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        UniqueConstraint("org", "marker", name="uq_links_marker"),
        Index("ix_links_milestone", "org", "milestone_id"),
        Index("ix_links_item", "org", "item_key"),  # item events and status write-back look up by key
    )


class MilestoneRow(Base):
    """The last snapshot of each tracker milestone, to detect scheduled/slipped/released."""

    __tablename__ = "milestones"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    milestone_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tracker: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(300))
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column()


class AlertRow(Base):
    """The alert outbox: one row per alert key, ever. Written before sending, completed after."""

    __tablename__ = "alerts"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(30))
    milestone_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    account_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))  # pending | attempted | sent | failed
    channel: Mapped[str] = mapped_column(String(30))
    remote_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        Index("ix_alerts_state", "org", "state"),
        Index("ix_alerts_milestone", "org", "milestone_id"),
    )


class IntentRow(Base):
    """A remote write we are about to make (or made): recorded before the call, completed after."""

    __tablename__ = "intents"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    op_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20))  # pending | applied | failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    result: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org: Mapped[str] = mapped_column(String(100))
    system: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[str] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_dead_letters_open", "org", "system", "record_id", "stage"),)


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # running | ok | failed
    counts: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_runs_org_started", "org", "started_at"),)


class DirtyGroupRow(Base):
    """A group that lost a member (regrouped or dead-lettered): its item must be re-rendered, even if
    no feedback record of the group changed (or none is left)."""

    __tablename__ = "dirty_groups"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    created_at: Mapped[datetime] = mapped_column()


class LeaseRow(Base):
    """Who is syncing an org right now: at most one holder; an expired lease can be taken over."""

    __tablename__ = "leases"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column()


class RecordVersionRow(Base):
    """The version token (an adapter's opaque fingerprint of a vendor record) under which we last
    processed a pulled record: a re-read at the same version — typically the echo of our own
    write-back — is skipped by the adapter before any further read (see syncer/ingest.py)."""

    __tablename__ = "record_versions"
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    system: Mapped[str] = mapped_column(String(50), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))


def _core(row: type[Base]) -> Table:
    return Base.metadata.tables[row.__tablename__]


# The tables the hot paths read and write with Core statements: plain columns and rows skip the ORM's
# entity loading, identity map and bulk-update bookkeeping, which cost more than the SQL itself
FEEDBACK = _core(FeedbackRow)
PAYLOADS = _core(FeedbackPayloadRow)
LINKS = _core(LinkRow)
CURSORS = _core(CursorRow)
DIRTY_GROUPS = _core(DirtyGroupRow)
DEAD_LETTERS = _core(DeadLetterRow)
RECORD_VERSIONS = _core(RecordVersionRow)
