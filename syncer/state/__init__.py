"""The state store: the only package that imports SQLAlchemy."""

from syncer.state.store import DeadLetter, Link, RunRecord, StateStore, StoredFeedback, Unit

__all__ = ["DeadLetter", "Link", "RunRecord", "StateStore", "StoredFeedback", "Unit"]
