"""Dead letters and the run log (reached as `unit.audit`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from syncer.state.records import DeadLetter, RunRecord
from syncer.state.sql import chunks, execute, utc_now
from syncer.state.tables import DEAD_LETTERS, DeadLetterRow, RunRow


class AuditRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def dead_letter(
        self, org: str, system: str, record_id: str, stage: str, reason: str, payload: str = ""
    ) -> bool:
        """Record (or refresh) an open dead letter for this record and stage; True when newly opened."""
        return self.dead_letters(org, system, stage, [(record_id, reason, payload)]) == 1

    def dead_letters(self, org: str, system: str, stage: str, letters: Sequence[tuple[str, str, str]]) -> int:
        """`dead_letter` for many records of one stage, (record id, reason, payload) each: one lookup of
        their open letters and one write each for the new and the refreshed ones, not two statements
        per record (a page of bad records). Returns how many letters were newly opened."""
        latest = {record_id: (reason, payload) for record_id, reason, payload in letters}
        if not latest:
            return 0
        now = utc_now()
        found: dict[str, tuple[int, int]] = {}
        for chunk in chunks(sorted(latest)):
            params = {"b_org": org, "b_system": system, "b_stage": stage, "b_ids": chunk}
            found.update({rid: (i, n) for rid, i, n in execute(self._s, _OPEN_LETTERS, params).all()})
        added = [
            {
                "org": org,
                "system": system,
                "record_id": rid,
                "stage": stage,
                "reason": reason,
                "payload": payload[:20_000],
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
            }
            for rid, (reason, payload) in latest.items()
            if rid not in found
        ]
        refreshed = [
            {"b_id": found[rid][0], "b_reason": reason, "b_attempts": found[rid][1] + 1, "b_now": now}
            for rid, (reason, _) in latest.items()
            if rid in found
        ]
        if added:
            execute(self._s, _ADD_LETTER, added)
        if refreshed:
            execute(self._s, _REFRESH_LETTER, refreshed)
        return len(added)

    def resolve_dead_letters(self, org: str, system: str, record_ids: Collection[str]) -> None:
        now = utc_now()
        for chunk in chunks(sorted(record_ids)):
            execute(
                self._s, _RESOLVE_LETTERS, {"b_org": org, "b_system": system, "b_ids": chunk, "b_now": now}
            )

    def open_dead_letters(self, org: str, limit: int = 100) -> list[DeadLetter]:
        stmt = (
            select(DeadLetterRow)
            .where(DeadLetterRow.org == org, DeadLetterRow.resolved_at.is_(None))
            .order_by(DeadLetterRow.updated_at.desc(), DeadLetterRow.id)
            .limit(limit)
        )
        return [
            DeadLetter(r.id, r.system, r.record_id, r.stage, r.reason, r.attempts, r.updated_at)
            for r in self._s.scalars(stmt)
        ]

    def count_open_dead_letters(self, org: str) -> int:
        stmt = (
            select(func.count())
            .select_from(DeadLetterRow)
            .where(DeadLetterRow.org == org, DeadLetterRow.resolved_at.is_(None))
        )
        return int(self._s.scalar(stmt) or 0)

    def start_run(self, org: str, run_id: str, kind: str) -> None:
        self._s.add(RunRow(id=run_id, org=org, kind=kind, status="running", counts={}, started_at=utc_now()))

    def finish_run(
        self, run_id: str, status: str, counts: Mapping[str, Any], error: str | None = None
    ) -> None:
        self._s.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(status=status, counts=dict(counts), error=error, finished_at=utc_now())
        )

    def recent_runs(self, org: str, limit: int = 10) -> list[RunRecord]:
        stmt = select(RunRow).where(RunRow.org == org).order_by(RunRow.started_at.desc()).limit(limit)
        return [
            RunRecord(r.id, r.kind, r.status, r.started_at, r.finished_at, dict(r.counts or {}), r.error)
            for r in self._s.scalars(stmt)
        ]


# run for every page, built once: building a statement and its cache key cost more than running it
_OPEN_LETTERS = select(DEAD_LETTERS.c.record_id, DEAD_LETTERS.c.id, DEAD_LETTERS.c.attempts).where(
    DEAD_LETTERS.c.org == bindparam("b_org"),
    DEAD_LETTERS.c.system == bindparam("b_system"),
    DEAD_LETTERS.c.stage == bindparam("b_stage"),
    DEAD_LETTERS.c.record_id.in_(bindparam("b_ids", expanding=True)),
    DEAD_LETTERS.c.resolved_at.is_(None),
)
_ADD_LETTER = insert(DEAD_LETTERS)
_REFRESH_LETTER = (
    update(DEAD_LETTERS)
    .where(DEAD_LETTERS.c.id == bindparam("b_id"))
    .values(reason=bindparam("b_reason"), attempts=bindparam("b_attempts"), updated_at=bindparam("b_now"))
)
# Core, not the ORM's bulk update, which also searches the rows this unit loaded for matches
_RESOLVE_LETTERS = (
    update(DEAD_LETTERS)
    .where(
        DEAD_LETTERS.c.org == bindparam("b_org"),
        DEAD_LETTERS.c.system == bindparam("b_system"),
        DEAD_LETTERS.c.record_id.in_(bindparam("b_ids", expanding=True)),
        DEAD_LETTERS.c.resolved_at.is_(None),
    )
    .values(resolved_at=bindparam("b_now"))
)
