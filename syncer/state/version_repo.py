"""Record versions: under which version token each pulled record was last processed (the echo filter)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from syncer.state.sql import chunks, upsert
from syncer.state.tables import RecordVersionRow


class VersionRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def known(self, org: str, system: str, kind: str, versions: Mapping[str, str]) -> set[str]:
        """The ids among `versions` whose stored version equals the given one (nothing new to read)."""
        found: set[str] = set()
        for chunk in chunks(sorted(versions)):
            stmt = select(RecordVersionRow.record_id, RecordVersionRow.version).where(
                RecordVersionRow.org == org,
                RecordVersionRow.system == system,
                RecordVersionRow.kind == kind,
                RecordVersionRow.record_id.in_(chunk),
            )
            found.update(rid for rid, version in self._s.execute(stmt) if versions.get(rid) == version)
        return found

    def save(self, org: str, system: str, kind: str, versions: Mapping[str, str]) -> None:
        """Remember these versions as processed; call it in the transaction that stores their effect."""
        rows = [
            {"org": org, "system": system, "kind": kind, "record_id": rid, "version": v}
            for rid, v in sorted(versions.items())
        ]
        upsert(self._s, RecordVersionRow.__table__, rows, ("org", "system", "kind", "record_id"))

    def forget(self, org: str, system: str | None = None) -> None:
        """Drop remembered versions (a rescan re-reads everything anyway; this keeps the table honest)."""
        stmt = delete(RecordVersionRow).where(RecordVersionRow.org == org)
        if system is not None:
            stmt = stmt.where(RecordVersionRow.system == system)
        self._s.execute(stmt)
