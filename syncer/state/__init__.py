"""The state store: the only package that imports SQLAlchemy."""

from syncer.state.records import DeadLetter, Link, RunRecord, StoredFeedback
from syncer.state.store import StateStore, Unit

__all__ = ["DeadLetter", "Link", "RunRecord", "StateStore", "StoredFeedback", "Unit"]
