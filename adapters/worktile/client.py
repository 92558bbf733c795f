"""Worktile open API (团队鉴权 tenant token) as a CRM: tasks of one project as sales feedback.

Verified vs assumed (no official doc page could be read; the apifox doc index and third-party client
code were the only sources):
- Seen in the doc index (titles only): 团队鉴权 `tenant-access-token`, mission `get-projects-by-page`,
  `get-project-tasks-by-page`, "创建任务", task tags/types, webhooks. Request/response bodies: not read.
- Seen in third-party client code (working against `https://{team}.worktile.com`, unverified against the
  docs): `POST /open-api/tenant-access-token` with JSON `{client_id, client_secret}` answering
  `{"access_token"| "tenant_access_token", "expires_in"}`; the token passed as the `access_token` query
  parameter; `GET /open-api/mission/get-project-tasks-by-page?project_id&page_index&page_size` answering
  `{items, total, has_more}` with `page_index` 0-based; `GET /open-api/mission/get-tasks-by-ids`; a bad
  token answered as HTTP 200 `{"ok": false, "error_code": 1102|1103}` (sometimes HTTP 401); 429s
  (sometimes with an HTML body) under load. The V1 list may omit `properties` and `description`
  (that client merges the V2 `/mission/projects/{id}/tasks` list for properties).
- Assumed (shape invented, to be checked against a real team): the `ids` parameter of
  `get-tasks-by-ids` (comma-joined), `PUT /open-api/mission/tasks/{id}` with `{"properties": {...}}` to
  write task properties, `POST /open-api/mission/tasks` with `{project_id, title, description,
  assignee, properties}` to create a task, task timestamps as epoch seconds, rate limits (we assume a
  modest 5 req/s), token lifetime (we re-exchange once on an auth failure).
- Not available as far as we could tell: an updated-since filter (every pull is a full scan of the
  project, filtered client-side), bulk writes, idempotency keys for creates (alerts are adopted by a
  scan of the follow-up project before creating), a customer/account object (accounts are derived
  from the feedback task's customer property; owner = the task's assignee; tier/ARR/deal value unknown).
Retries and rate limiting live in `adapters.http.HttpClient`; the token call and the page walk shared
with the tracker (`adapters.worktile.tracker`) live in `adapters.worktile.api`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.errors import AuthError, NotFoundError, PermanentError
from adapters.http import HttpClient
from adapters.paging import Page, Reject, max_cursor
from adapters.worktile.api import (
    PAGE_SIZE,
    RATE_LIMITS,
    TASKS,
    TASKS_BY_IDS,
    Raw,
    WorktileApi,
    chunks,
    classify,
    fetch_token,
    items_of,
    log,
    one_of,
)
from adapters.worktile.records import SYSTEM, task_id, to_account, to_feedback
from adapters.worktile.settings import WorktileSettings as WorktileSettings
from mappings.errors import MappingError
from mappings.models import Account, Alert, Cursor, Feedback, FeedbackLink, WriteResult

__all__ = ["RATE_LIMITS", "WorktileCrm", "WorktileSettings", "classify", "fetch_token"]

IDS_LIMIT = 50  # (unverified) ids per get-tasks-by-ids call


class WorktileCrm:
    """Feedback tasks in; backlog links (one property update per task) and follow-up tasks out."""

    system = SYSTEM

    def __init__(
        self,
        http: HttpClient,
        settings: WorktileSettings | None = None,
        *,
        token: str,
        refresh: Callable[[], str] | None = None,
    ) -> None:
        # the token is re-exchanged once (`refresh`) when a call is refused as unauthorised
        self._api = WorktileApi(http, token=token, refresh=refresh)
        self._settings = settings or WorktileSettings()
        self._accounts: dict[str, Account] = {}

    # -- CrmSource --------------------------------------------------------------------------------
    def iter_changed_feedback(self, since: Cursor, until: datetime) -> Iterator[Page[Feedback]]:
        """Tasks with updated_at in `[since, until]`: a full scan (no updated-since filter), sorted.

        The whole project is read before the first page is yielded, so pages are ascending by
        `(updated_at, id)` and each page's newest stamp is a safe cursor (the last page's is the newest).
        """
        if until < since.updated_at:
            return
        items: list[Feedback] = []
        rejects: list[Reject] = []
        for tasks in self._walk(self._settings.project_id):
            page = self._feedback_page(tasks)
            items.extend(f for f in page.items if since.updated_at <= f.updated_at <= until)
            rejects.extend(page.rejects)
        items.sort(key=lambda f: (f.updated_at, f.id))
        if not items:
            if rejects:
                yield Page((), cursor=None, rejects=tuple(rejects))
            return
        parts = list(chunks(items, PAGE_SIZE))
        for n, chunk in enumerate(parts):
            yield Page(
                tuple(chunk),
                cursor=max_cursor(chunk, None),
                rejects=tuple(rejects) if n == len(parts) - 1 else (),
            )

    def get_feedback(self, ids: Collection[str]) -> Page[Feedback]:
        """Tasks by id (`get-tasks-by-ids`); ids of other projects and unknown ids are absent."""
        tasks: list[Raw] = []
        for chunk in chunks(list(dict.fromkeys(str(i) for i in ids if i)), IDS_LIMIT):
            answer = self._call("GET", TASKS_BY_IDS, params={"ids": ",".join(chunk)})
            tasks.extend(t for t in items_of(answer, "get-tasks-by-ids") if self._in_project(t))
        page = self._feedback_page(tasks)
        return Page(page.items, cursor=None, rejects=page.rejects)

    def get_accounts(self, ids: Collection[str]) -> Mapping[str, Account]:
        """Accounts derived from feedback tasks (id = name = the customer property, owner = assignee).

        Worktile has no customer object: ids not seen in this instance's reads cost one full scan.
        """
        wanted = list(dict.fromkeys(str(i) for i in ids if i))
        if any(i not in self._accounts for i in wanted):
            for tasks in self._walk(self._settings.project_id):
                self._feedback_page(tasks)
        return {i: self._accounts[i] for i in wanted if i in self._accounts}

    def iter_changed_accounts(self, since: Cursor, until: datetime) -> Iterator[Page[Account]]:
        """Nothing: accounts have no fields of their own in Worktile (they ride on feedback tasks)."""
        return iter(())

    # -- CrmSink ----------------------------------------------------------------------------------
    def link_feedback(self, links: Sequence[FeedbackLink]) -> Sequence[WriteResult]:
        """One property update per task (no bulk write is known)."""
        latest = {link.feedback_id: link for link in links}
        outcome = {fid: self._update_one(link) for fid, link in latest.items()}
        return [WriteResult(ref=link.feedback_id, error=outcome[link.feedback_id]) for link in links]

    # -- AlertSink --------------------------------------------------------------------------------
    def find_alerts(self, keys: Collection[str]) -> Mapping[str, str]:
        """Alert key -> task id, by a full scan of the follow-up project (no property filter is known)."""
        wanted = {k for k in keys if k}
        if not wanted:
            return {}
        prop = self._settings.alert_key_property
        found: dict[str, str] = {}
        for tasks in self._walk(self._settings.followup_project_id):
            for task in tasks:
                props = task.get("properties")
                key = props.get(prop) if isinstance(props, Mapping) else None
                if isinstance(key, str) and key in wanted and isinstance(task.get("_id"), str):
                    found.setdefault(key, task["_id"])
        return found

    def create_alerts(self, alerts: Sequence[Alert]) -> Sequence[WriteResult]:
        """One task per alert in the follow-up project, assigned to the owner; existing keys adopted.

        Creates carry no idempotency key: a scan of the follow-up project first adopts tasks a crashed
        run already made, and a create whose answer is lost is not retried (the next run adopts it).
        """
        latest = {alert.key: alert for alert in alerts}
        existing = self.find_alerts(latest)
        outcome: dict[str, WriteResult] = {}
        for key, alert in latest.items():
            if key in existing:
                outcome[key] = WriteResult(ref=key, remote_id=existing[key])
                continue
            outcome[key] = self._create_alert(alert)
        return [outcome[alert.key] for alert in alerts]

    # -- internals --------------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        return self._api.call(method, path, params=params, body=body)

    def _walk(self, project_id: str) -> Iterator[list[Raw]]:
        return self._api.walk(project_id)

    def _in_project(self, task: Raw) -> bool:
        project = task.get("project_id", task.get("project"))
        if isinstance(project, Mapping):
            project = project.get("_id")
        return project is None or project == self._settings.project_id

    def _feedback_page(self, tasks: list[Raw]) -> Page[Feedback]:
        items: list[Feedback] = []
        rejects: list[Reject] = []
        for task in tasks:
            try:
                items.append(to_feedback(task, self._settings))
                account = to_account(task, self._settings)
            except MappingError as exc:
                raw = json.dumps(task, ensure_ascii=False, default=str)[:2000]
                rejects.append(Reject(str(task.get("_id") or ""), str(exc), raw))
                continue
            if account is not None:
                known = self._accounts.get(account.id)
                if known is None or account.updated_at >= known.updated_at:
                    self._accounts[account.id] = account
        if rejects:
            log.warning("feedback.rejected", system=self.system, count=len(rejects))
        return Page(tuple(items), cursor=max_cursor(items, None), rejects=tuple(rejects))

    def _update_one(self, link: FeedbackLink) -> str | None:
        s = self._settings
        props = {
            s.backlog_key_property: link.backlog_key,
            s.backlog_url_property: link.backlog_url or None,
            s.backlog_status_property: link.status.value if link.status else None,
            s.backlog_milestone_property: link.milestone or None,
            s.backlog_due_property: link.due.isoformat() if link.due else None,
        }
        try:
            answer = self._call("PUT", f"{TASKS}/{link.feedback_id}", body={"properties": props})
        except AuthError:
            raise
        except PermanentError as exc:  # unknown task, a refused value: this task only
            return str(exc)
        one_of(answer, "update task")
        return None

    def _create_alert(self, alert: Alert) -> WriteResult:
        s = self._settings
        body = {
            "project_id": s.followup_project_id,
            "title": alert.subject,
            "description": alert.message,
            "assignee": alert.owner.id if alert.owner else None,
            "properties": {s.alert_key_property: alert.key, s.alert_customer_property: alert.account_id},
        }
        try:
            answer = self._call("POST", TASKS, body=body)
        except AuthError:
            raise
        except (PermanentError, NotFoundError) as exc:
            return WriteResult(ref=alert.key, error=str(exc))
        return WriteResult(ref=alert.key, remote_id=task_id(one_of(answer, "create task")))
