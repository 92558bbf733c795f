"""Dead letters and the run log (reached as `unit.audit`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from syncer.state.records import DeadLetter, RunRecord
from syncer.state.sql import chunks, utc_now
from syncer.state.tables import DeadLetterRow, RunRow


class AuditRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def dead_letter(
        self, org: str, system: str, record_id: str, stage: str, reason: str, payload: str = ""
    ) -> bool:
        """Record (or refresh) an open dead letter for this record and stage; True when newly opened."""
        now = utc_now()
        row = self._s.scalars(
            select(DeadLetterRow).where(
                DeadLetterRow.org == org,
                DeadLetterRow.system == system,
                DeadLetterRow.record_id == record_id,
                DeadLetterRow.stage == stage,
                DeadLetterRow.resolved_at.is_(None),
            )
        ).first()
        if row is None:
            self._s.add(
                DeadLetterRow(
                    org=org,
                    system=system,
                    record_id=record_id,
                    stage=stage,
                    reason=reason,
                    payload=payload[:20_000],
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            return True
        row.reason, row.attempts, row.updated_at = reason, row.attempts + 1, now
        return False

    def resolve_dead_letters(self, org: str, system: str, record_ids: Collection[str]) -> None:
        for chunk in chunks(sorted(record_ids)):
            self._s.execute(
                update(DeadLetterRow)
                .where(
                    DeadLetterRow.org == org,
                    DeadLetterRow.system == system,
                    DeadLetterRow.record_id.in_(chunk),
                    DeadLetterRow.resolved_at.is_(None),
                )
                .values(resolved_at=utc_now())
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
