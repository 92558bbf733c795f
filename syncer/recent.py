"""The feedback records a run stored, kept as models for the plan that follows in the same run.

Planning a group reads its members back from the store; for records this run has just stored, that
meant decoding and validating again the payload it had just written (a 10k-ticket first sync: ~10 %
of its CPU). The store stays the truth: a record enters only once the transaction that stored it has
committed, leaves when the store drops or dead-letters it, and everything is forgotten when stored
payloads are rewritten behind the cache (an account refresh). Bounded, oldest out, so memory stays
flat however big the pass; a record not held is simply read from the store.
"""

from __future__ import annotations

from collections.abc import Iterable

from mappings.feedback import Member

RECENT_LIMIT = 5_000  # ~2 KB each (a model, its account shared with the run cache): ~10 MB at most


class RecentRecords:
    """(system, record id) -> (feedback, account) exactly as stored, for at most `limit` records."""

    def __init__(self, limit: int = RECENT_LIMIT) -> None:
        self._limit = limit
        self._members: dict[tuple[str, str], Member] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._members

    def __len__(self) -> int:
        return len(self._members)

    def get(self, system: str, record_id: str) -> Member | None:
        return self._members.get((system, record_id))

    def keep(self, members: Iterable[Member]) -> None:
        """Records just committed, with the account their payload holds; the newest `limit` stay."""
        held = self._members
        for member in members:
            key = (member[0].system, member[0].id)
            held.pop(key, None)  # re-stored: it becomes the newest
            held[key] = member
        while len(held) > self._limit:
            del held[next(iter(held))]

    def forget(self, system: str, record_ids: Iterable[str]) -> None:
        for record_id in record_ids:
            self._members.pop((system, record_id), None)

    def clear(self) -> None:
        self._members.clear()
