"""Engine-side helpers over neutral records: content hashes, markers, stored payloads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.responses import sorted_json
from mappings.models import STORED, Account, BacklogDraft, Feedback, FeedbackLink, ItemStatus

# fields we write back ourselves, or that move without a real change: excluded from the content hash
_VOLATILE = {"updated_at", "backlog_key", "backlog_status", "backlog_milestone", "backlog_due"}


# a content hash of this release: marked, so that a hash stored by an earlier release (64 hex digits of
# the standard library's JSON) is known for what it is and compared in its own format
HASH_MARK = "~"


def content_hash(fb: Feedback) -> str:
    """Hash of what matters in a feedback record; a re-read of an unchanged record hashes the same."""
    return dumped_hash(fb.model_dump(mode="json"))


def dumped_hash(dumped: Mapping[str, Any]) -> str:
    """`content_hash` of a record already dumped (`model_dump(mode="json")`): one dump, hash and payload.
    Canonical JSON by orjson (`sorted_json`): the standard library's took ~7 % of a first sync's CPU."""
    digest = hashlib.sha256(sorted_json(_hashed(dumped))).hexdigest()
    return HASH_MARK + digest[: 64 - len(HASH_MARK)]  # the stored column holds 64 characters


def legacy_hash(dumped: Mapping[str, Any]) -> str:
    """The content hash releases before `HASH_MARK` stored (the standard library's JSON)."""
    text = json.dumps(_hashed(dumped), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def content_unchanged(stored: str | None, digest: str, dumped: Mapping[str, Any]) -> bool:
    """Whether a record stored with hash `stored` is unchanged now that it hashes to `digest`. A hash
    stored by an earlier release is compared in its own format, so an upgrade makes no record look
    edited (it would be stored and re-planned again for nothing); it is replaced when the record changes."""
    if not stored:
        return False
    if stored.startswith(HASH_MARK):
        return stored == digest
    return stored == legacy_hash(dumped)


def _hashed(dumped: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dumped.items() if k not in _VOLATILE}


def link_signature(
    key: str | None, status: str | None, milestone: str | None, due: date | None
) -> str | None:
    """What a feedback record shows (or should show) of its item: compared to decide on a write-back."""
    if not key:
        return None
    return f"{key}|{status or ''}|{milestone or ''}|{due.isoformat() if due else ''}"


def link_from_signature(feedback_id: str, signature: str, url: str) -> FeedbackLink:
    """The write-back for one feedback record, from its group's signature."""
    key, status, milestone, due = (signature.split("|") + ["", "", "", ""])[:4]
    return FeedbackLink(
        feedback_id=feedback_id,
        backlog_key=key,
        backlog_url=url,
        status=ItemStatus(status) if status in ItemStatus._value2member_map_ else None,
        milestone=milestone or None,
        due=date.fromisoformat(due) if due else None,
    )


def shown_signature(fb: Feedback) -> str | None:
    return link_signature(fb.backlog_key, fb.backlog_status, fb.backlog_milestone, fb.backlog_due)


def draft_hash(draft: BacklogDraft) -> str:
    return hashlib.sha256(draft.model_dump_json().encode()).hexdigest()


def marker_for(org: str, group_key: str) -> str:
    """The deterministic marker every remote object for this group carries (our op key)."""
    return hashlib.sha256(f"{org}\x1f{group_key}".encode()).hexdigest()[:16]


def to_payload(
    fb: Feedback | Mapping[str, Any],
    account: Account | None,
    account_json: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the store keeps of a record (given as a model or already dumped); `account_json` is an
    account already dumped (shared by a page)."""
    if account_json is None and account is not None:
        account_json = account.model_dump(mode="json")
    feedback = fb.model_dump(mode="json") if isinstance(fb, Feedback) else dict(fb)
    return {"feedback": feedback, "account": account_json}


def from_payload(payload: Mapping[str, Any]) -> tuple[Feedback, Account | None]:
    """A stored record and its account, validated as models again but not cleaned again (`STORED`)."""
    account = payload.get("account")
    return (
        Feedback.model_validate(payload["feedback"], context=STORED),
        Account.model_validate(account, context=STORED) if account else None,
    )
