"""Worktile open API (团队鉴权 tenant token) as a TRACKER: backlog items are tasks of one project.

What it does and how (see `adapters.worktile.client` for the shared facts about auth and paging):
- Items = tasks of `project_id` (optionally only of `task_type_id`, e.g. 需求); created one at a time with
  `POST /open-api/mission/tasks` `{project_id, task_type_id, title, description, priority,
  properties: {marker_property: marker}}`; updated with `PUT /open-api/mission/tasks/{id}`
  `{description, priority}` (title, state, assignee and milestone are R&D's and never written).
- Marker = a custom text property (`properties.{marker_property}`); found again by a scan of the project.
- Status = the task state: a name in `wont_do_state_names` (or a type in `wont_do_state_types`) is
  won't-do, a type in `done_state_types` (3) is done, in `in_progress_state_types` (2) in progress.
- Milestones = tasks of the milestone task type (里程碑) in `milestone_project_id` (default: the same
  project): title = name, `due.date` = due day (read in UTC+8 by default), a finished state = released,
  a won't-do state = archived. An item names its milestone in the `milestone_property` property (its text
  or option name); the name is resolved to the milestone task's id so alerts can find the waiting items.

Cost (nothing filters on the server): `iter_changed_items`, `find_by_markers` and `list_milestones` each
read the whole project, ⌈tasks/100⌉ requests (at the assumed 5 req/s, a 5,000-task project costs 50
requests, about 10 s, per pull), then filter on `updated_at` / the marker client-side. Stamps are whole
seconds, so the engine's overlap window re-reads the cursor's second and content hashes drop repeats.

Verified vs assumed:
- Seen in the apifox doc index (titles only, bodies not read): mission 任务 "创建任务",
  `get-project-tasks-by-page`, `get-tasks-by-ids`, 任务类型 (task types per project), 标签 (tag modes),
  "获取项目任务V2", task archive/activate. No version, sprint (迭代) or release endpoint is listed under
  the tenant mission API, hence milestones as tasks of a milestone type.
- Seen in third-party client code: `task_state {name, type}` with type 3 for every finished state
  (已完成 as well as closed/scrapped ones, hence won't-do by state name), top-level `state_type`,
  `due {date: epoch seconds, with_time}`, the web URL `https://{team}.worktile.com/mission/projects/
  {project}/tasks/{task}`, 429s (sometimes with an HTML body) under load.
- (unverified) the create/update body fields (`task_type_id`, `priority` as id or name, `description`
  as plain text rather than rich text), the answer `{"value": task}`, the 255-character title cap, the
  milestone property's value shape, state types 2 (in progress) and 4 (cancelled), rate limits.
- Not available as far as we could tell: an updated-since filter, a property filter (marker lookups
  scan), bulk creates, idempotency keys (a create whose answer is lost is adopted by marker next run),
  versions/sprints in the tenant API, writing tags by name (tags need ids from 标签模式; not used).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.errors import AuthError, MalformedResponseError, PermanentError, TransientError
from adapters.http import HttpClient
from adapters.paging import Page, Reject, max_cursor
from adapters.worktile.api import (
    PAGE_SIZE,
    TASKS,
    TASKS_BY_IDS,
    Raw,
    WorktileApi,
    chunks,
    items_of,
    log,
    one_of,
)
from adapters.worktile.records import SYSTEM, parse_stamp, text
from adapters.worktile.settings import WorktileTrackerSettings
from adapters.worktile.tracker_records import (
    prop_raw,
    to_backlog_item,
    to_milestone,
    trim_title,
    type_id,
)
from mappings.errors import MappingError
from mappings.models import BacklogDraft, BacklogItem, Cursor, Milestone, WriteResult

__all__ = ["WorktileTracker", "WorktileTrackerSettings"]


class WorktileTracker:
    """TrackerSink + TrackerSource for one Worktile project."""

    system = SYSTEM

    def __init__(
        self,
        http: HttpClient,
        settings: WorktileTrackerSettings,
        *,
        token: str,
        refresh: Callable[[], str] | None = None,
    ) -> None:
        self._api = WorktileApi(http, token=token, refresh=refresh)
        self._settings = settings
        self._size = max(1, min(settings.page_size, PAGE_SIZE))
        self._milestone_ids: dict[str, str] | None = None  # milestone name -> task id, per instance

    # -- TrackerSink ------------------------------------------------------------------------------
    def find_by_markers(self, markers: Collection[str]) -> Mapping[str, BacklogItem]:
        """Scan the project (no property filter is known) and match the marker property locally."""
        wanted = {m for m in markers if m}
        hits: dict[str, Raw] = {}
        if not wanted:
            return {}
        for raws in self._api.walk(self._settings.project_id, self._size):
            for raw in raws:
                marker = text(prop_raw(raw, self._settings.marker_property))
                if marker in wanted and marker not in hits and self._is_item(raw):
                    hits[marker] = raw
            if len(hits) == len(wanted):
                break
        found: dict[str, BacklogItem] = {}
        for marker, raw in hits.items():
            try:
                found[marker] = self._to_item(raw)
            except MappingError as exc:
                log.warning("worktile.marker_unreadable", marker=marker, reason=str(exc))
        return found

    def create_items(self, drafts: Sequence[tuple[str, BacklogDraft]]) -> Sequence[WriteResult]:
        """One `POST /open-api/mission/tasks` per draft (no bulk create is known); results in input order.

        A timeout or 5xx raises: the task may exist, and the engine adopts it by marker next run.
        """
        return [self._create_one(marker, draft) for marker, draft in drafts]

    def update_item(self, key: str, draft: BacklogDraft) -> BacklogItem:
        """PUT description and priority only (never title, state, assignee or milestone)."""
        body = {"description": draft.body, "priority": self._settings.priorities[draft.priority]}
        answer = self._api.call("PUT", f"{TASKS}/{key}", body=body)
        try:
            raw = one_of(answer, "update task")
        except MalformedResponseError:
            raw = self._get_one(key)
        return self._to_item(raw)

    # -- TrackerSource ----------------------------------------------------------------------------
    def iter_changed_items(self, since: Cursor) -> Iterator[Page[BacklogItem]]:
        """Items with `updated_at >= since`: a full scan of the project, filtered and sorted client-side.

        The whole project is read before the first page is yielded (there is no server-side filter or
        order), so pages are ascending by `(updated_at, id)` and each page's cursor is safe to save.
        """
        raws: list[Raw] = []
        milestones: list[Raw] = []
        for page in self._api.walk(self._settings.project_id, self._size):
            for raw in page:
                if self._is_milestone(raw):
                    milestones.append(raw)
                elif self._is_item(raw):
                    raws.append(raw)
        if self._settings.milestones_in == self._settings.project_id:
            self._milestone_ids = self._index(milestones)
        items, rejects = self._map_items(raws, since.updated_at)
        fresh = sorted(
            (i for i in items if i.updated_at >= since.updated_at), key=lambda i: (i.updated_at, i.id)
        )
        parts = list(chunks(fresh, self._size)) or [[]]
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            if not part and not (last and rejects):
                return
            yield Page(
                tuple(part),
                cursor=max_cursor(part, None),
                rejects=rejects if last else (),
                total=len(fresh) if n == 0 else None,
            )

    def list_milestones(self) -> Sequence[Milestone]:
        """Every task of the milestone type (里程碑), finished and cancelled ones included."""
        seen_at = datetime.now(UTC)
        raws = [
            raw
            for page in self._api.walk(self._settings.milestones_in, self._size)
            for raw in page
            if self._is_milestone(raw)
        ]
        self._milestone_ids = self._index(raws)
        milestones: list[Milestone] = []
        for raw in raws:
            try:
                milestones.append(to_milestone(raw, self._settings, seen_at))
            except MappingError as exc:
                log.warning("milestone.skipped", system=SYSTEM, task_id=raw.get("_id"), reason=str(exc))
        return tuple(milestones)

    # -- internals --------------------------------------------------------------------------------
    def _is_milestone(self, raw: Raw) -> bool:
        return type_id(raw) == self._settings.milestone_type_id

    def _is_item(self, raw: Raw) -> bool:
        kind = type_id(raw)
        wanted = self._settings.task_type_id
        return kind != self._settings.milestone_type_id and (wanted is None or kind == wanted)

    def _index(self, raws: Sequence[Raw]) -> dict[str, str]:
        """Milestone name -> task id (the first one wins when two share a name)."""
        index: dict[str, str] = {}
        for raw in raws:
            name, ident = text(raw.get("title")), raw.get("_id")
            if name and isinstance(ident, str):
                index.setdefault(name, ident)
        return index

    def _milestones(self, needed: bool) -> Mapping[str, str]:
        if self._milestone_ids is None and needed:
            self.list_milestones()
        return self._milestone_ids or {}

    def _to_item(self, raw: Raw) -> BacklogItem:
        needs = bool(text(prop_raw(raw, self._settings.milestone_property)))
        return to_backlog_item(raw, self._settings, self._milestones(needs))

    def _map_items(
        self, raws: Sequence[Raw], since: datetime
    ) -> tuple[list[BacklogItem], tuple[Reject, ...]]:
        """Mapped items, and rejects for the unreadable tasks not known to be older than `since`."""
        items: list[BacklogItem] = []
        rejects: list[Reject] = []
        for raw in raws:
            try:
                items.append(self._to_item(raw))
            except MappingError as exc:
                if _older(raw, since):
                    continue
                dump = json.dumps(raw, ensure_ascii=False, default=str)[:4000]
                rejects.append(Reject(str(raw.get("_id") or "?"), str(exc), dump))
        return items, tuple(rejects)

    def _get_one(self, key: str) -> Raw:
        answer = self._api.call("GET", TASKS_BY_IDS, params={"ids": key})
        for raw in items_of(answer, "get-tasks-by-ids"):
            if raw.get("_id") == key:
                return raw
        raise MalformedResponseError(f"worktile: task {key} answered without the task")

    def _create_one(self, marker: str, draft: BacklogDraft) -> WriteResult:
        s = self._settings
        body: dict[str, Any] = {
            "project_id": s.project_id,
            "title": trim_title(draft.title),
            "description": draft.body,
            "priority": s.priorities[draft.priority],
            "properties": {s.marker_property: marker},
        }
        if s.task_type_id:
            body["task_type_id"] = s.task_type_id
        try:
            answer = self._api.call("POST", TASKS, body=body)
        except (AuthError, TransientError):
            raise  # fatal, or ambiguous (the task may exist): the engine keeps the intent open
        except PermanentError as exc:  # refused as a whole (400, 404 project, ok:false): nothing created
            return WriteResult(ref=marker, error=f"worktile refused the task: {exc}")
        try:
            item = self._to_item(one_of(answer, "create task"))
        except MappingError as exc:
            raise MalformedResponseError(f"worktile: created task is unreadable: {exc}") from exc
        return WriteResult(ref=marker, remote_id=item.id, item=item)


def _older(raw: Raw, since: datetime) -> bool:
    try:
        return parse_stamp(raw.get("updated_at")) < since
    except MappingError:
        return False
