"""What one pass did, in numbers a user can check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class PassCounts:
    name: str = "run"
    feedback_pulled: int = 0
    feedback_changed: int = 0
    feedback_ignored: int = 0
    groups_planned: int = 0
    items_created: int = 0
    items_updated: int = 0
    items_adopted: int = 0
    items_deferred: int = 0
    links_written: int = 0
    alerts_created: int = 0
    alerts_queued: int = 0
    alerts_adopted: int = 0
    accounts_refreshed: int = 0
    dead_letters_replayed: int = 0
    dead_letters: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # the org was busy (another run holds its lease): nothing was done
    interrupted: bool = False  # a stop was requested; the pass ended at a safe boundary

    def public(self) -> dict[str, int | str]:
        """The stable JSON shape of the CLI (`--json`)."""
        return {
            "name": self.name,
            "items_created": self.items_created,
            "items_updated": self.items_updated,
            "alerts_created": self.alerts_created,
            "dead_letters": self.dead_letters,
            "requests": self.requests,
        }

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.dead_letters > 0
