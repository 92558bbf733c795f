"""Links: which tracker item answers which feedback group, what we rendered into it, and the item's
tracker state (status, milestone) as last seen."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from syncer.state.records import ITEM_STATE, Link
from syncer.state.sql import chunks, execute, upsert, utc_now
from syncer.state.tables import LINKS, LinkRow


class LinkRepo:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, org: str, group_keys: Collection[str]) -> dict[str, Link]:
        links: dict[str, Link] = {}
        for chunk in chunks(sorted(group_keys)):
            stmt = select(*LINK_COLUMNS).where(LINKS.c.org == org, LINKS.c.group_key.in_(chunk))
            links.update({link.group_key: link for link in self._links(stmt)})
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
        execute(self._s, stmt, params)

    def by_items(self, org: str, item_keys: Collection[str]) -> dict[str, Link]:
        found: dict[str, Link] = {}
        for chunk in chunks(sorted(item_keys)):
            stmt = select(*LINK_COLUMNS).where(LINKS.c.org == org, LINKS.c.item_key.in_(chunk))
            found.update({link.item_key: link for link in self._links(stmt)})
        return found

    def in_milestones(self, org: str, milestone_ids: Collection[str]) -> list[Link]:
        links: list[Link] = []
        for chunk in chunks(sorted(milestone_ids)):
            stmt = select(*LINK_COLUMNS).where(LINKS.c.org == org, LINKS.c.milestone_id.in_(chunk))
            links.extend(self._links(stmt))
        return sorted(links, key=lambda link: link.item_key)

    def top(self, org: str, limit: int = 10) -> list[Link]:
        li = LINKS.c
        stmt = (
            select(*LINK_COLUMNS)
            .where(li.org == org)
            .order_by(li.account_count.desc(), li.total_arr.desc(), li.item_key)
            .limit(limit)
        )
        return self._links(stmt)

    def count(self, org: str) -> int:
        return int(self._s.scalar(select(func.count()).select_from(LinkRow).where(LinkRow.org == org)) or 0)

    def _links(self, stmt: Select[Any]) -> list[Link]:
        """Links from plain columns (LINK_COLUMNS), not ORM rows: no entity loading, no identity map."""
        return [Link(*row) for row in execute(self._s, stmt).all()]


# the links table's columns in the order of Link's fields
LINK_COLUMNS = (
    LINKS.c.group_key,
    LINKS.c.marker,
    LINKS.c.tracker,
    LINKS.c.item_key,
    LINKS.c.item_url,
    LINKS.c.draft_hash,
    LINKS.c.title,
    LINKS.c.account_count,
    LINKS.c.total_arr,
    LINKS.c.priority,
    LINKS.c.open_deal_value,
    LINKS.c.item_status,
    LINKS.c.milestone_id,
    LINKS.c.signature,
)


def _link_columns(link: Link) -> dict[str, Any]:
    values = {column.key: getattr(link, column.key) for column in LINK_COLUMNS}
    return {**values, "title": link.title[:300]}
