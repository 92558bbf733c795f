"""Links: which tracker item answers which feedback group, what we rendered into it, and the item's
tracker state (status, milestone) as last seen."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from syncer.state.records import ITEM_STATE, Link
from syncer.state.sql import chunks, upsert, utc_now
from syncer.state.tables import LinkRow


class LinkRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, org: str, group_keys: Collection[str]) -> dict[str, Link]:
        links: dict[str, Link] = {}
        for chunk in chunks(sorted(group_keys)):
            stmt = select(LinkRow).where(LinkRow.org == org, LinkRow.group_key.in_(chunk))
            links.update({row.group_key: _link(row) for row in self._s.scalars(stmt)})
        return links

    def save(self, org: str, links: Sequence[Link]) -> None:
        """Upsert what we rendered; the item's tracker state (status, milestone) is kept on conflict."""
        now = utc_now()
        rows = [{"org": org, **_link_columns(link), "created_at": now, "updated_at": now} for link in links]
        keep = ITEM_STATE | {"org", "group_key", "created_at"}
        drafted = [c for c in (rows[0] if rows else {}) if c not in keep]
        upsert(self._s, LinkRow, rows, ("org", "group_key"), update=drafted)

    def update_item_states(self, org: str, states: Mapping[str, tuple[str, str | None, str]]) -> None:
        """item key -> (status, milestone id, signature) as last seen in the tracker."""
        if not states:
            return
        stmt = (
            update(LinkRow)
            .where(LinkRow.org == org, LinkRow.item_key == bindparam("b_item_key"))
            .values(
                item_status=bindparam("b_status"),
                milestone_id=bindparam("b_milestone"),
                signature=bindparam("b_signature"),
                updated_at=utc_now(),
            )
        )
        params = [
            {"b_item_key": key, "b_status": status, "b_milestone": milestone, "b_signature": signature}
            for key, (status, milestone, signature) in sorted(states.items())
        ]
        self._s.flush()  # rows added in this unit must exist before a connection-level statement
        self._s.connection().execute(stmt, params)

    def by_items(self, org: str, item_keys: Collection[str]) -> dict[str, Link]:
        found: dict[str, Link] = {}
        for chunk in chunks(sorted(item_keys)):
            stmt = select(LinkRow).where(LinkRow.org == org, LinkRow.item_key.in_(chunk))
            found.update({row.item_key: _link(row) for row in self._s.scalars(stmt)})
        return found

    def in_milestones(self, org: str, milestone_ids: Collection[str]) -> list[Link]:
        links: list[Link] = []
        for chunk in chunks(sorted(milestone_ids)):
            stmt = select(LinkRow).where(LinkRow.org == org, LinkRow.milestone_id.in_(chunk))
            links.extend(_link(row) for row in self._s.scalars(stmt))
        return sorted(links, key=lambda link: link.item_key)

    def top(self, org: str, limit: int = 10) -> list[Link]:
        stmt = (
            select(LinkRow)
            .where(LinkRow.org == org)
            .order_by(LinkRow.account_count.desc(), LinkRow.total_arr.desc(), LinkRow.item_key)
            .limit(limit)
        )
        return [_link(row) for row in self._s.scalars(stmt)]

    def count(self, org: str) -> int:
        return int(self._s.scalar(select(func.count()).select_from(LinkRow).where(LinkRow.org == org)) or 0)


# LinkRow's columns in the order of Link's fields
LINK_COLUMNS = (
    LinkRow.group_key,
    LinkRow.marker,
    LinkRow.tracker,
    LinkRow.item_key,
    LinkRow.item_url,
    LinkRow.draft_hash,
    LinkRow.title,
    LinkRow.account_count,
    LinkRow.total_arr,
    LinkRow.priority,
    LinkRow.open_deal_value,
    LinkRow.item_status,
    LinkRow.milestone_id,
    LinkRow.signature,
)


def _link(row: LinkRow) -> Link:
    return Link(*(getattr(row, column.key) for column in LINK_COLUMNS))


def _link_columns(link: Link) -> dict[str, Any]:
    values = {column.key: getattr(link, column.key) for column in LINK_COLUMNS}
    return {**values, "title": link.title[:300]}
