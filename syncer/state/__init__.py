"""The state store: the only package that imports SQLAlchemy."""

from syncer.state.records import DeadLetter, Link, RunRecord, StoredFeedback
from syncer.state.store import StateStore, StateStoreError, Unit

__all__ = ["DeadLetter", "Link", "RunRecord", "StateStore", "StateStoreError", "StoredFeedback", "Unit"]
