"""Record versions: under which version token each pulled record was last processed (the echo filter)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from syncer.state.sql import Upsert, chunks, execute
from syncer.state.tables import RECORD_VERSIONS, RecordVersionRow


class VersionRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def known(self, org: str, system: str, kind: str, versions: Mapping[str, str]) -> set[str]:
        """The ids among `versions` whose stored version equals the given one (nothing new to read)."""
        found: set[str] = set()
        for chunk in chunks(sorted(versions)):
            params = {"org": org, "system": system, "kind": kind, "ids": chunk}
            found.update(
                rid for rid, version in execute(self._s, _KNOWN, params).all() if versions.get(rid) == version
            )
        return found

    def save(self, org: str, system: str, kind: str, versions: Mapping[str, str]) -> None:
        """Remember these versions as processed; call it in the transaction that stores their effect."""
        rows = [
            {"org": org, "system": system, "kind": kind, "record_id": rid, "version": v}
            for rid, v in sorted(versions.items())
        ]
        _SAVE(self._s, rows)

    def forget(self, org: str, system: str | None = None) -> None:
        """Drop remembered versions (a rescan re-reads everything anyway; this keeps the table honest)."""
        stmt = delete(RecordVersionRow).where(RecordVersionRow.org == org)
        if system is not None:
            stmt = stmt.where(RecordVersionRow.system == system)
        self._s.execute(stmt)


# run for every page, built once: building a statement and its cache key cost more than running it
_KNOWN = select(RECORD_VERSIONS.c.record_id, RECORD_VERSIONS.c.version).where(
    RECORD_VERSIONS.c.org == bindparam("org"),
    RECORD_VERSIONS.c.system == bindparam("system"),
    RECORD_VERSIONS.c.kind == bindparam("kind"),
    RECORD_VERSIONS.c.record_id.in_(bindparam("ids", expanding=True)),
)
_SAVE = Upsert(RECORD_VERSIONS, ("org", "system", "kind", "record_id"))
