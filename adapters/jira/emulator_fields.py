"""The Jira emulator's issue/version model, field validation and JSON rendering (split from emulator.py).

Error texts follow what Jira Cloud answers in `{"errorMessages": [...], "errors": {field: msg}}`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.emulation import ORJSONResponse
from adapters.jira.records import adf_from_text, adf_to_text, format_jira_time


@dataclass
class EmuIssue:
    id: int
    key: str
    project: str
    created_ms: int
    updated_ms: int
    summary: str = ""
    description: dict[str, Any] | None = None
    issuetype: str = "Story"
    labels: list[str] = field(default_factory=list)
    priority: str = "Medium"
    custom: dict[str, Any] = field(default_factory=dict)
    status: str = "To Do"
    resolution: str | None = None
    fix_versions: list[int] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> EmuIssue:
        """A copy sharing nothing mutable: what `copy.deepcopy` gives, a JSON round trip of the JSON
        fields being many times cheaper on a long ADF description."""
        return replace(
            self,
            description=_json_copy(self.description),
            labels=list(self.labels),
            custom=_json_copy(self.custom),
            fix_versions=list(self.fix_versions),
            properties=_json_copy(self.properties),
        )


def _json_copy(value: Any) -> Any:
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError:  # not plain JSON (an int beyond 64 bits, say)
        return copy.deepcopy(value)


@dataclass
class EmuVersion:
    id: int
    name: str
    description: str = ""
    release_date: str | None = None
    start_date: str | None = None
    released: bool = False
    archived: bool = False


PROJECT_ID = 10000
CUSTOM = {
    "customfield_10050": "Requesting accounts",
    "customfield_10051": "ARR",
    "customfield_10052": "Open deal value",
}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
ISSUE_TYPES = [
    {"id": "10001", "name": "Story", "subtask": False, "description": "A user story."},
    {"id": "10002", "name": "Bug", "subtask": False, "description": "A problem."},
    {"id": "10003", "name": "Task", "subtask": False, "description": "A task."},
]
# status name -> (id, category key, category id, category name, colour)
STATUSES = {
    "To Do": ("10000", "new", 2, "To Do", "blue-gray"),
    "In Progress": ("3", "indeterminate", 4, "In Progress", "yellow"),
    "Done": ("10001", "done", 3, "Done", "green"),
}
RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002", "Won't Fix": "10003"}
_EDITABLE = frozenset({"summary", "description", "labels", "priority", "fixVersions", *CUSTOM})
_CREATABLE = _EDITABLE | {"project", "issuetype"}


def _field(fid: str, name: str, schema: dict[str, Any], custom: bool = False) -> dict[str, Any]:
    clause = [fid, f"cf[{fid.split('_')[-1]}]", name] if custom else [fid]
    return {
        "id": fid, "key": fid, "name": name, "custom": custom, "orderable": True, "navigable": True,
        "searchable": True, "clauseNames": clause, "schema": schema,
    }  # fmt: skip


_FLOAT = "com.atlassian.jira.plugin.system.customfieldtypes:float"
FIELDS = [
    _field("summary", "Summary", {"type": "string", "system": "summary"}),
    _field("description", "Description", {"type": "string", "system": "description"}),
    _field("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
    _field("priority", "Priority", {"type": "priority", "system": "priority"}),
    _field("status", "Status", {"type": "status", "system": "status"}),
    _field("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}),
    _field("project", "Project", {"type": "project", "system": "project"}),
    _field("fixVersions", "Fix versions", {"type": "array", "items": "version", "system": "fixVersions"}),
    _field("resolution", "Resolution", {"type": "resolution", "system": "resolution"}),
    _field("created", "Created", {"type": "datetime", "system": "created"}),
    _field("updated", "Updated", {"type": "datetime", "system": "updated"}),
    *(
        _field(fid, name, {"type": "number", "custom": _FLOAT, "customId": int(fid[12:])}, custom=True)
        for fid, name in CUSTOM.items()
    ),
]  # fmt: skip


def error_body(
    status: int, messages: Iterable[str] = (), errors: Mapping[str, str] | None = None
) -> ORJSONResponse:
    return ORJSONResponse({"errorMessages": list(messages), "errors": dict(errors or {})}, status)


def _named(value: Any, known: Iterable[tuple[str, str]]) -> str | None:
    """Resolve `{"name": ...}` or `{"id": ...}` against (id, name) pairs; the name, or None."""
    if not isinstance(value, dict):
        return None
    for ident, name in known:
        if value.get("name") == name or str(value.get("id")) == ident:
            return name
    return None


def _versions(value: Any, versions: Mapping[int, EmuVersion]) -> list[int] | None:
    if not isinstance(value, list):
        return None
    ids: list[int] = []
    for ref in value:
        match = [v.id for v in versions.values() if isinstance(ref, dict) and ref.get("name") == v.name]
        match += [
            v.id for v in versions.values() if isinstance(ref, dict) and str(ref.get("id")) == str(v.id)
        ]
        if not match:
            return None
        ids.append(match[0])
    return ids


def _is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and isinstance(value.get("content"), list)


def _set_one(
    issue: EmuIssue, name: str, value: Any, v: str, versions: Mapping[int, EmuVersion]
) -> str | None:
    """Apply one field; an error message when the value is invalid."""
    if name == "summary":
        if not isinstance(value, str) or not value.strip():
            return "You must specify a summary of the issue."
        if len(value) > 255 or "\n" in value:
            return "Summary must be less than 255 characters and on one line."
        issue.summary = value
    elif name == "description":
        if v == "3" and value is not None and not _is_adf(value):
            return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        if v != "3" and value is not None and not isinstance(value, str):
            return "Operation value must be a string"
        issue.description = adf_from_text(value) if isinstance(value, str) else value
    elif name == "labels":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            return "Operation value must be an array of strings"
        bad = next((x for x in value if not x or len(x) > 255 or any(c.isspace() for c in x)), None)
        if bad is not None:
            return f"The label '{bad}' contains spaces which is invalid."
        issue.labels = list(dict.fromkeys(value))
    elif name == "priority":
        chosen = _named(value, ((str(n), p) for n, p in enumerate(PRIORITIES, 1)))
        if chosen is None:
            return "The priority selected is invalid."
        issue.priority = chosen
    elif name == "issuetype":
        chosen = _named(value, ((t["id"], t["name"]) for t in ISSUE_TYPES))  # type: ignore[misc]
        if chosen is None:
            return "The issue type selected is invalid."
        issue.issuetype = chosen
    elif name == "project":
        ok = isinstance(value, dict) and (
            str(value.get("key", "")).upper() == issue.project or str(value.get("id")) == str(PROJECT_ID)
        )
        if not ok:
            return "Specify a valid project ID or key"
    elif name == "fixVersions":
        ids = _versions(value, versions)
        if ids is None:
            return "Version name or id is not valid"
        issue.fix_versions = ids
    elif name in CUSTOM:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return "Operation value must be a number"
        issue.custom[name] = value
    return None


def set_fields(
    issue: EmuIssue, fields: Mapping[str, Any], v: str, versions: Mapping[int, EmuVersion], *, creating: bool
) -> dict[str, str]:
    """Apply `fields`; returns Jira's per-field errors (empty when all applied)."""
    allowed = _CREATABLE if creating else _EDITABLE
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if name not in allowed:
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            continue
        problem = _set_one(issue, name, value, v, versions)
        if problem:
            errors[name] = problem
    if creating:
        required = {
            "project": "Specify a valid project ID or key",
            "summary": "You must specify a summary of the issue.",
            "issuetype": "Specify an issue type",
        }
        errors.update({k: msg for k, msg in required.items() if k not in fields and k not in errors})
    return errors


def _label_ops(current: list[str], ops: Any) -> list[str] | None:
    labels = list(current)
    if not isinstance(ops, list):
        return None
    for op in ops:
        if not isinstance(op, dict) or len(op) != 1:
            return None
        ((verb, value),) = op.items()
        if verb == "add" and value not in labels:
            labels.append(value)
        elif verb == "remove":
            labels = [x for x in labels if x != value]
        elif verb == "set" and isinstance(value, list):
            labels = list(value)
        elif verb not in ("add", "remove"):
            return None
    return labels


def apply_update(
    issue: EmuIssue, body: Mapping[str, Any], v: str, versions: Mapping[int, EmuVersion]
) -> dict[str, str]:
    """PUT /issue/{key}: `fields` (set) and `update` (add/remove/set operations); errors by field."""
    fields = body.get("fields") or {}
    update = body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        return {"fields": "Expected objects for 'fields' and 'update'."}
    errors = set_fields(issue, fields, v, versions, creating=False)
    for name, ops in update.items():
        if name in fields:
            errors[name] = f"Field '{name}' cannot be set in both 'fields' and 'update'."
        elif name == "labels":
            labels = _label_ops(issue.labels, ops)
            problem = (
                "Invalid label operation." if labels is None else _set_one(issue, name, labels, v, versions)
            )
            if problem:
                errors[name] = problem
        elif name == "fixVersions" and isinstance(ops, list):
            names: list[Any] = [versions[vid].name for vid in issue.fix_versions]
            for op in ops:
                verb, ref = next(iter(op.items())) if isinstance(op, dict) and op else ("?", None)
                name_of = ref.get("name") if isinstance(ref, dict) else None
                names = [n for n in names if n != name_of] if verb == "remove" else [*names, name_of]
            problem = _set_one(issue, "fixVersions", [{"name": n} for n in dict.fromkeys(names)], v, versions)
            if problem:
                errors[name] = problem
        elif (
            name in _EDITABLE
            and isinstance(ops, list)
            and all(isinstance(o, dict) and "set" in o for o in ops)
        ):
            for op in ops:
                problem = _set_one(issue, name, op["set"], v, versions)
                if problem:
                    errors[name] = problem
        else:
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
    return errors


def _render_versions(
    issue: EmuIssue, versions: Mapping[int, EmuVersion], base: str, v: str
) -> list[dict[str, Any]]:
    """fixVersions as an issue carries them: the version's summary, read live (a rename shows at once)."""
    out = []
    for vid in issue.fix_versions:
        ver = versions[vid]
        item: dict[str, Any] = {
            "self": f"{base}/rest/api/{v}/version/{ver.id}", "id": str(ver.id),
            "description": ver.description, "name": ver.name, "archived": ver.archived,
            "released": ver.released,
        }  # fmt: skip
        if ver.release_date:
            item["releaseDate"] = ver.release_date
        out.append(item)
    return out


def render_issue(
    issue: EmuIssue,
    versions: Mapping[int, EmuVersion],
    *,
    base: str,
    v: str,
    wanted: set[str] | None,
    project_id: int,
) -> dict[str, Any]:
    """Issue JSON as GET /issue and search return it; `wanted` None = all fields, else that subset."""
    status = STATUSES[issue.status]
    desc: Any = (
        issue.description if v == "3" else (adf_to_text(issue.description) if issue.description else None)
    )
    every: dict[str, Any] = {
        "summary": issue.summary,
        "description": desc,
        "labels": list(issue.labels),
        "status": {
            "self": f"{base}/rest/api/{v}/status/{status[0]}", "id": status[0], "name": issue.status,
            "statusCategory": {"id": status[2], "key": status[1], "name": status[3], "colorName": status[4]},
        },
        "priority": {"self": f"{base}/rest/api/{v}/priority/{PRIORITIES.index(issue.priority) + 1}",
                     "id": str(PRIORITIES.index(issue.priority) + 1), "name": issue.priority},
        "issuetype": next(t for t in ISSUE_TYPES if t["name"] == issue.issuetype),
        "project": {"id": str(project_id), "key": issue.project, "name": f"{issue.project} product"},
        "created": stamp(issue.created_ms),
        "updated": stamp(issue.updated_ms),
        "fixVersions": _render_versions(issue, versions, base, v),
        "resolution": {"id": RESOLUTIONS.get(issue.resolution, "10000"), "name": issue.resolution}
        if issue.resolution else None,
        **{fid: issue.custom.get(fid) for fid in CUSTOM},
    }  # fmt: skip
    out: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": str(issue.id),
        "self": f"{base}/rest/api/{v}/issue/{issue.id}",
        "key": issue.key,
    }
    chosen = every if wanted is None else {k: val for k, val in every.items() if k in wanted}
    if wanted is None or chosen:
        out["fields"] = chosen
    return out


def render_version(ver: EmuVersion, base: str, v: str, project_id: int, now: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{base}/rest/api/{v}/version/{ver.id}", "id": str(ver.id), "name": ver.name,
        "description": ver.description, "archived": ver.archived, "released": ver.released,
        "projectId": project_id,
    }  # fmt: skip
    if ver.start_date:
        out["startDate"] = ver.start_date
    if ver.release_date:
        due = datetime.strptime(ver.release_date, "%Y-%m-%d").replace(tzinfo=UTC)
        out["releaseDate"] = ver.release_date
        out["userReleaseDate"] = due.strftime("%d/%b/%y")
        out["overdue"] = not ver.released and due.date() < datetime.fromtimestamp(now, UTC).date()
    return out


def stamp(ms: int) -> str:
    return format_jira_time(datetime.fromtimestamp(ms / 1000, UTC).replace(microsecond=(ms % 1000) * 1000))
