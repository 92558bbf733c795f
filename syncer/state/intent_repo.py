"""Intents: every remote create is journaled before the call and completed after it, so a run that
died in between finds the intent and looks for the object instead of creating a second one."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from syncer.state.sql import chunks, execute, utc_now
from syncer.state.tables import IntentRow


class IntentRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def record(self, org: str, kind: str, targets: Mapping[str, str]) -> None:
        """op key -> target; recorded (and committed by the caller) before the remote call."""
        now = utc_now()
        existing: dict[str, IntentRow] = {}
        for chunk in chunks(sorted(targets)):
            stmt = select(IntentRow).where(IntentRow.org == org, IntentRow.op_key.in_(chunk))
            existing.update({row.op_key: row for row in self._s.scalars(stmt)})
        for op_key, target in targets.items():
            row = existing.get(op_key)
            if row is None:
                self._s.add(
                    IntentRow(
                        org=org,
                        op_key=op_key,
                        kind=kind,
                        target=target,
                        state="pending",
                        attempts=1,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                row.state, row.attempts, row.updated_at = "pending", row.attempts + 1, now

    def pending(self, org: str, op_keys: Collection[str]) -> dict[str, datetime]:
        """op key -> when first recorded, for intents that never completed."""
        found: dict[str, datetime] = {}
        for chunk in chunks(sorted(op_keys)):
            stmt = select(IntentRow.op_key, IntentRow.created_at).where(
                IntentRow.org == org, IntentRow.op_key.in_(chunk), IntentRow.state == "pending"
            )
            found.update({op_key: created for op_key, created in self._s.execute(stmt)})
        return found

    def mark(self, org: str, results: Mapping[str, str], state: str = "applied") -> None:
        """Complete intents (`state="failed"` when the vendor refused the element outright)."""
        if not results:
            return
        stmt = (
            update(IntentRow)
            .where(IntentRow.org == org, IntentRow.op_key == bindparam("b_op_key"))
            .values(state=state, result=bindparam("b_result"), updated_at=utc_now())
        )
        params = [{"b_op_key": k, "b_result": r[:300]} for k, r in sorted(results.items())]
        execute(self._s, stmt, params)
