"""What the Worktile CRM and tracker adapters share: the token exchange, the call with the token in the
query (re-exchanged once when refused), the 200-with-`ok: false` error classification, the paged
project-task walk and the readers of `{items}` / `{value}` answers.

Facts and assumptions (all from third-party client code, none read in the official docs) are listed in
`adapters.worktile.client` (CRM) and `adapters.worktile.tracker` (tracker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
import structlog

from adapters.errors import AuthError, MalformedResponseError
from adapters.http import ErrorKind, HttpClient, RateLimit, classify_status
from adapters.paging import guard_tokens
from adapters.worktile.records import error_code

TOKEN_PATH = "/open-api/tenant-access-token"  # noqa: S105 (a path, not a secret)
TASKS_PAGE = "/open-api/mission/get-project-tasks-by-page"
TASKS_BY_IDS = "/open-api/mission/get-tasks-by-ids"
TASKS = "/open-api/mission/tasks"
PAGE_SIZE = 100  # (unverified) page_size cap
AUTH_CODES = frozenset({1102, 1103})  # access_token malformed / invalid or expired (seen in client code)
RATE_LIMITS: Mapping[str, RateLimit] = {"default": RateLimit(rate=5.0, burst=5)}  # (unverified)

Raw = dict[str, Any]

log = structlog.get_logger("syncer.worktile")


def classify(response: httpx.Response) -> ErrorKind | None:
    """HTTP status first; a 200 with `{"ok": false}` is an error too (auth codes -> AUTH)."""
    kind = classify_status(response)
    if kind is not None or response.status_code != 200:
        return kind
    try:
        body = response.json()
    except ValueError:
        return None  # the caller's JSON decoding reports it
    if isinstance(body, Mapping) and body.get("ok") is False:
        return ErrorKind.AUTH if error_code(body) in AUTH_CODES else ErrorKind.PERMANENT
    return None


def fetch_token(http: HttpClient, client_id: str, client_secret: str) -> str:
    """Exchange the app's client id/secret for a tenant access token."""
    answer = http.post_json(
        TOKEN_PATH, {"client_id": client_id, "client_secret": client_secret}, idempotent=True
    )
    token = None
    if isinstance(answer, Mapping):
        token = answer.get("access_token") or answer.get("tenant_access_token")
    if not isinstance(token, str) or not token:
        raise MalformedResponseError("worktile tenant-access-token: no access_token in the answer")
    return token


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def items_of(answer: object, what: str) -> list[Raw]:
    """The task objects of a list answer (`items`, or `value` in V2-style answers)."""
    if isinstance(answer, Mapping):
        found = answer.get("items", answer.get("value"))
        if isinstance(found, list):
            return [t for t in found if isinstance(t, dict)]
    raise MalformedResponseError(f"worktile {what}: response has no items list")


def one_of(answer: object, what: str) -> Raw:
    """The task of a single-task answer (`{"value": task}`, `{"data": task}` or the task itself)."""
    if isinstance(answer, Mapping):
        value = answer.get("value", answer.get("data", answer))
        if isinstance(value, dict) and isinstance(value.get("_id"), str):
            return value
    raise MalformedResponseError(f"worktile {what}: response has no task")


class WorktileApi:
    """Calls with the tenant token as the `access_token` query parameter; one re-exchange on refusal."""

    def __init__(self, http: HttpClient, *, token: str, refresh: Callable[[], str] | None = None) -> None:
        self.http = http
        self._token = token
        self._refresh = refresh

    def call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        idempotent = method != "POST"
        for attempt in (1, 2):
            query = {**(params or {}), "access_token": self._token}
            try:
                return self.http.request_json(
                    method, path, params=query, json_body=body, idempotent=idempotent
                )
            except AuthError:
                if attempt == 2 or self._refresh is None:
                    raise
                log.info("worktile.token_refresh", system="worktile")
                self._token = self._refresh()
        raise AssertionError("unreachable")  # pragma: no cover

    def walk(self, project_id: str, page_size: int = PAGE_SIZE) -> Iterator[list[Raw]]:
        """Every page of `get-project-tasks-by-page` (0-based page_index) until `has_more` is false.

        Without `has_more` a short page ends the walk. A server that ignores `page_index` (the same
        tasks again) or a runaway walk raises `PaginationLoopError` (guard_tokens on the page's ids).
        """
        check = guard_tokens()
        index = 0
        while True:
            params = {"project_id": project_id, "page_index": index, "page_size": page_size}
            answer = self.call("GET", TASKS_PAGE, params=params)
            tasks = items_of(answer, "get-project-tasks-by-page")
            if not tasks:
                return
            check((project_id, tuple(str(t.get("_id")) for t in tasks)))
            yield tasks
            more = answer.get("has_more") if isinstance(answer, Mapping) else None
            if not (more if isinstance(more, bool) else len(tasks) >= page_size):
                return
            index += 1
