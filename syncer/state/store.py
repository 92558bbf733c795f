"""A narrow repository over the state tables: intent-revealing methods, our models in and out."""

from __future__ import annotations

from collections.abc import Collection, Container, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from adapters.responses import loads_json
from mappings.models import Cursor
from syncer.state import statements as q
from syncer.state.audit_repo import AuditRepo
from syncer.state.intent_repo import IntentRepo
from syncer.state.link_repo import LINK_COLUMNS, LinkRepo
from syncer.state.milestone_repo import MilestoneRepo
from syncer.state.records import DeadLetter, Link, StoredFeedback
from syncer.state.sql import chunks, execute, json_dumps, upsert, utc_now
from syncer.state.tables import (
    CURSORS,
    DIRTY_GROUPS,
    FEEDBACK,
    LINKS,
    PAYLOADS,
    DeadLetterRow,
    DirtyGroupRow,
    FeedbackRow,
    LinkRow,
)
from syncer.state.version_repo import VersionRepo

WAL_CHECKPOINT_PAGES = 10_000  # ~40 MB of 4 KiB pages between SQLite checkpoints


class StateStoreError(Exception):
    """The state database cannot be reached or refused to work (connection refused or lost, locked)."""


class StateStore:
    """Owns the database engine; hands out units of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        # a SQLite file cannot drop a connection: pinging it before every unit of work only costs
        sqlite = make_url(url).get_backend_name() == "sqlite"
        self._engine: Engine = create_engine(
            url,
            future=True,
            pool_pre_ping=not sqlite,
            json_serializer=json_dumps,
            json_deserializer=loads_json,
        )
        if sqlite:
            event.listen(self._engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to call on every start)."""
        from syncer.state.migrate import upgrade

        with self._unavailable_as_error():
            upgrade(self._engine)

    def session(self) -> Session:
        """A bare session, for the few callers (leases) that need their own statements."""
        return self._sessions()

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._unavailable_as_error(), self._sessions() as session, session.begin():
            yield Unit(session, self._engine.dialect.name)

    @contextmanager
    def _unavailable_as_error(self) -> Iterator[None]:
        """The driver's "cannot connect / connection lost / database locked" becomes one error of ours
        that names the database (password hidden) and what to check."""
        try:
            yield
        except OperationalError as exc:
            shown = make_url(self.url).render_as_string(hide_password=True)
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise StateStoreError(
                f"state database {shown}: {reason} -> check SYNCER_DATABASE_URL and that the database "
                "is running; work done so far is committed and the next run resumes"
            ) from exc

    def dispose(self) -> None:
        self._engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # WAL mode syncs to disk only at checkpoints; the default (every 1,000 pages, ~4 MB) checkpointed
    # a 10k-record first sync several times over, each time copying pages the next unit rewrote again
    # (issue 9: commits took half as long with fewer). The WAL file is cut back to 64 MB after one.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
    cursor.close()


class Unit:
    """The repository methods, bound to one session/transaction."""

    def __init__(self, session: Session, dialect: str) -> None:
        self._s, self._dialect = session, dialect
        self.milestones = MilestoneRepo(session)
        self.audit = AuditRepo(session)
        self.versions = VersionRepo(session)
        self.links = LinkRepo(session)
        self.intents = IntentRepo(session)

    # -- cursors ------------------------------------------------------------------------------------
    def get_cursor(self, org: str, stream: str) -> Cursor | None:
        position = execute(self._s, q.CURSOR, {"org": org, "stream": stream}).scalar()
        return Cursor.from_str(position) if position is not None else None

    def save_cursor(self, org: str, stream: str, cursor: Cursor) -> None:
        """Never moves a cursor backwards."""
        current = self.get_cursor(org, stream)
        if current is not None and cursor <= current:
            return
        row = {"org": org, "stream": stream, "position": cursor.to_str(), "updated_at": utc_now()}
        q.SAVE_CURSOR(self._s, [row])

    def delete_cursor(self, org: str, stream: str) -> None:
        execute(self._s, delete(CURSORS).where(CURSORS.c.org == org, CURSORS.c.stream == stream))

    # -- feedback -----------------------------------------------------------------------------------
    def feedback_state(self, org: str, system: str, ids: Collection[str]) -> dict[str, tuple[str, str]]:
        """record id -> (content hash, group key) for the ids we have seen before."""
        found: dict[str, tuple[str, str]] = {}
        for chunk in chunks(sorted(ids)):
            params = {"org": org, "system": system, "ids": chunk}
            found.update(
                {rid: (h, group) for rid, h, group in execute(self._s, q.FEEDBACK_STATE, params).all()}
            )
        return found

    def has_feedback(self, org: str) -> bool:
        """Whether any feedback record of this org is stored (dead-lettered ones included)."""
        return (
            execute(self._s, select(FEEDBACK.c.record_id).where(FEEDBACK.c.org == org).limit(1)).first()
            is not None
        )

    def forget_feedback(self, org: str, system: str, record_ids: Collection[str]) -> None:
        for chunk in chunks(sorted(record_ids)):
            for table in (FEEDBACK, PAYLOADS):
                c = table.c
                execute(
                    self._s, delete(table).where(c.org == org, c.system == system, c.record_id.in_(chunk))
                )

    def mark_groups_dirty(self, org: str, group_keys: Collection[str]) -> None:
        now = utc_now()
        rows = [{"org": org, "group_key": key, "created_at": now} for key in sorted(set(group_keys))]
        upsert(self._s, DIRTY_GROUPS, rows, ("org", "group_key"), update=())

    def mark_linked_groups_dirty(self, org: str) -> int:
        """Every group with a backlog item is re-planned by the next apply (a rescan); returns how many."""
        keys = list(self._s.scalars(select(LinkRow.group_key).where(LinkRow.org == org)))
        self.mark_groups_dirty(org, keys)
        return len(keys)

    def save_feedback(self, org: str, records: Sequence[StoredFeedback], pending: bool = True) -> None:
        """Upsert changed records; `pending` ones wait until their group is applied."""
        now = utc_now()
        rows = [
            {
                "org": org,
                "system": r.system,
                "record_id": r.record_id,
                "group_key": r.group_key,
                "content_hash": r.content_hash,
                "written_key": r.written_key,
                "account_id": r.account_id,
                "pending": pending,
                "updated_at": now,
            }
            for r in records
        ]
        q.SAVE_FEEDBACK(self._s, rows)
        payloads = [
            {"org": org, "system": r.system, "record_id": r.record_id, "payload": dict(r.payload)}
            for r in records
        ]
        q.SAVE_PAYLOADS(self._s, payloads)

    def set_written_keys(self, org: str, system: str, keys: Mapping[str, str | None]) -> None:
        """One executemany for the whole batch (a round trip per record dominated write-back time)."""
        if not keys:
            return
        params = [
            {"b_org": org, "b_system": system, "b_record_id": rid, "b_written_key": key}
            for rid, key in sorted(keys.items())
        ]
        q.SET_WRITTEN_KEY(self._s, params)

    def pending_groups(self, org: str, after: str = "", limit: int = 200) -> list[str]:
        """Groups with changed (or lost) feedback not yet applied, in key order, after `after` (keyset)."""
        stmt = (
            select(FeedbackRow.group_key)
            .where(FeedbackRow.org == org, FeedbackRow.pending.is_(True), FeedbackRow.group_key > after)
            .group_by(FeedbackRow.group_key)
            .order_by(FeedbackRow.group_key)
            .limit(limit)
        )
        dirty = (
            select(DirtyGroupRow.group_key)
            .where(DirtyGroupRow.org == org, DirtyGroupRow.group_key > after)
            .order_by(DirtyGroupRow.group_key)
            .limit(limit)
        )
        return sorted(set(self._s.scalars(stmt)) | set(self._s.scalars(dirty)))[:limit]

    def pending_group_count(self, org: str) -> int:
        dirty = select(DirtyGroupRow.group_key).where(DirtyGroupRow.org == org)
        pending = select(FeedbackRow.group_key).where(FeedbackRow.org == org, FeedbackRow.pending.is_(True))
        stmt = select(func.count()).select_from(pending.union(dirty).subquery())
        return int(self._s.scalar(stmt) or 0)

    def group_sizes(self, org: str, group_keys: Collection[str]) -> dict[str, int]:
        """group key -> how many feedback records it holds (groups without any are absent)."""
        sizes: dict[str, int] = {}
        for chunk in chunks(sorted(group_keys)):
            stmt = (
                select(FeedbackRow.group_key, func.count())
                .where(FeedbackRow.org == org, FeedbackRow.group_key.in_(chunk))
                .group_by(FeedbackRow.group_key)
            )
            sizes.update({key: int(n) for key, n in self._s.execute(stmt)})
        return sizes

    def group_members(
        self, org: str, group_keys: Collection[str], loaded: Container[tuple[str, str]] = frozenset()
    ) -> dict[str, list[StoredFeedback]]:
        """group key -> its stored records. Those in `loaded` ((system, record id): the caller holds
        them as models already) come with an empty payload: decoding payloads was most of this read."""
        members: dict[str, list[StoredFeedback]] = {k: [] for k in group_keys}
        rows: list[Any] = []
        for chunk in chunks(sorted(group_keys)):
            # plain columns, not ORM rows: no identity map for thousands of records read once
            stmt = select(*q.MEMBER_COLUMNS).where(FEEDBACK.c.org == org, FEEDBACK.c.group_key.in_(chunk))
            rows += execute(self._s, stmt).all()
        wanted: dict[str, list[str]] = {}
        for system, record_id, *_ in rows:
            if (system, record_id) not in loaded:
                wanted.setdefault(system, []).append(record_id)
        payloads: dict[tuple[str, str], Mapping[str, Any]] = {}
        for system, ids in wanted.items():
            for ids_chunk in chunks(sorted(ids)):
                params = {"org": org, "system": system, "ids": ids_chunk}
                payloads.update(
                    {(system, rid): p for rid, p in execute(self._s, q.PAYLOADS_OF, params).all()}
                )
        for system, record_id, group, digest, written, account in rows:
            key = (system, record_id)
            if key in payloads or key in loaded:
                members[group].append(
                    StoredFeedback(system, record_id, group, digest, payloads.get(key, {}), written, account)
                )
        return members

    def clear_pending(self, org: str, group_keys: Collection[str]) -> None:
        f, d = FEEDBACK.c, DIRTY_GROUPS.c
        for chunk in chunks(sorted(group_keys)):
            execute(self._s, delete(DIRTY_GROUPS).where(d.org == org, d.group_key.in_(chunk)))
            execute(
                self._s, update(FEEDBACK).where(f.org == org, f.group_key.in_(chunk)).values(pending=False)
            )

    def unlinked_feedback(
        self, org: str, after: str = "", limit: int = 1000
    ) -> list[tuple[StoredFeedback, Link]]:
        """Feedback whose CRM record does not show its group's backlog key yet (write-back due).

        The feedback's payload is not loaded (it is returned empty): the write-back needs only which
        record shows what, and decoding every linked record's payload dominated a first sync's
        write-back."""
        f, li = FEEDBACK.c, LINKS.c
        stmt = (
            select(
                f.system, f.record_id, f.group_key, f.content_hash, f.written_key, f.account_id, *LINK_COLUMNS
            )
            .join(LINKS, (li.org == f.org) & (li.group_key == f.group_key))
            .where(
                f.org == org,
                f.record_id > after,
                (f.written_key.is_(None)) | (f.written_key != li.signature),
            )
            .order_by(f.record_id)
            .limit(limit)
        )
        # plain columns, not ORM rows, and one Link per group: a page holds many records of few groups
        links: dict[str, Link] = {}
        due: list[tuple[StoredFeedback, Link]] = []
        for row in execute(self._s, stmt).all():
            system, rid, group, digest, written, account = row[:6]
            link = links.get(group)
            if link is None:
                values: tuple[Any, ...] = tuple(row[6:])  # LINK_COLUMNS, in Link's field order
                link = links[group] = Link(*values)
            due.append((StoredFeedback(system, rid, group, digest, {}, written, account), link))
        return due

    # -- links --------------------------------------------------------------------------------------
    def account_snapshot(self, org: str, account_id: str) -> Mapping[str, Any] | None:
        """The latest stored snapshot of an account (from any of its feedback records)."""
        f = FEEDBACK.c
        stmt = (
            select(PAYLOADS.c.payload)
            .select_from(q.WITH_PAYLOAD)
            .where(f.org == org, f.account_id == account_id)
            .order_by(f.updated_at.desc())
            .limit(1)
        )
        payload = self._s.scalar(stmt)
        account = payload.get("account") if payload else None
        return account if isinstance(account, dict) else None

    def account_snapshots(self, org: str, account_ids: Collection[str]) -> dict[str, Mapping[str, Any]]:
        """account id -> its stored snapshot (from the account's newest feedback record), two indexed
        queries per 500 accounts (no N+1). Joined in one statement, SQLite walked every feedback row of
        the org once per call, however few accounts were asked for."""
        f = FEEDBACK.c
        found: dict[str, Mapping[str, Any]] = {}
        for chunk in chunks(sorted(account_ids)):
            newest = dict(
                execute(
                    self._s,
                    select(f.account_id, func.max(f.record_id))
                    .where(f.org == org, f.account_id.in_(chunk))
                    .group_by(f.account_id),
                ).all()
            )
            rows = execute(
                self._s,
                select(f.account_id, f.record_id, PAYLOADS.c.payload)
                .select_from(q.WITH_PAYLOAD)
                .where(f.org == org, f.record_id.in_(sorted(set(newest.values())))),
            ).all()
            for account_id, record_id, payload in rows:
                account = payload.get("account") if payload else None
                if account_id and newest.get(account_id) == record_id and isinstance(account, dict):
                    found[account_id] = account
        return found

    def waiting_accounts(self, org: str, milestone_id: str) -> int:
        """How many distinct accounts wait on an item in this milestone."""
        groups = [link.group_key for link in self.links.in_milestones(org, [milestone_id])]
        if not groups:
            return 0
        stmt = select(func.count(func.distinct(FeedbackRow.account_id))).where(
            FeedbackRow.org == org, FeedbackRow.group_key.in_(groups), FeedbackRow.account_id.is_not(None)
        )
        return int(self._s.scalar(stmt) or 0)

    def refresh_accounts(self, org: str, accounts: Mapping[str, Mapping[str, Any]]) -> int:
        """Replace the account snapshot in every feedback record of these accounts and mark their
        groups pending (ARR or deals changed: revenue must be re-rendered). Returns rows changed."""
        changed: list[dict[str, Any]] = []
        for chunk in chunks(sorted(accounts)):
            found = execute(self._s, q.ACCOUNT_FEEDBACK, {"org": org, "ids": chunk}).all()
            for system, rid, account_id, group, payload in found:
                snapshot = dict(accounts[account_id or ""])
                if payload.get("account") != snapshot and group != "dead:":
                    refreshed = {**payload, "account": snapshot}
                    changed.append(
                        {"b_org": org, "b_system": system, "b_record_id": rid, "b_payload": refreshed}
                    )
        if changed:
            q.REFRESH_PAYLOAD(self._s, changed)
            q.MARK_PENDING(self._s, [{k: v for k, v in c.items() if k != "b_payload"} for c in changed])
        return len(changed)

    # -- intents ------------------------------------------------------------------------------------
    def reopen_for_retry(self, org: str, letters: Sequence[DeadLetter]) -> None:
        """Resolve these dead letters and reset what they block, so the next pass tries them again:
        forget dead feedback (it is re-read by id), mark failed groups pending, clear failed write-backs,
        put failed alerts back in the outbox. A failure that recurs opens a fresh dead letter."""
        by_stage: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_stage.setdefault(letter.stage, []).append(letter)
        for letter in by_stage.get("map", []) + by_stage.get("pull", []):
            self._s.execute(
                delete(FeedbackRow).where(
                    FeedbackRow.org == org,
                    FeedbackRow.system == letter.system,
                    FeedbackRow.record_id == letter.record_id,
                )
            )
        groups = [d.record_id for d in by_stage.get("create", []) + by_stage.get("update", [])]
        for chunk in chunks(sorted(groups)):
            self._s.execute(
                update(FeedbackRow)
                .where(FeedbackRow.org == org, FeedbackRow.group_key.in_(chunk))
                .values(pending=True)
            )
        for letter in by_stage.get("writeback", []):
            self.set_written_keys(org, letter.system, {letter.record_id: None})
        alerts = {d.record_id: None for d in by_stage.get("alert", [])}
        self.milestones.mark(org, "pending", alerts)
        for letter in letters:
            self._s.execute(
                update(DeadLetterRow).where(DeadLetterRow.id == letter.id).values(resolved_at=utc_now())
            )
