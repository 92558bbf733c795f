"""Process-wide tuning for sync work, applied once at start by every entry point (the CLI, bench/)."""

from __future__ import annotations

import gc

# Full collections happen when gen1 has been collected this many times (CPython's default: 10) and the
# objects promoted since the last one reach a quarter of the long-lived heap. A pass keeps whole pages
# (vendor JSON, models, rows) alive across young collections, so promotions came fast: a full
# collection every ~1.5 s of a 10k pass, each walking the run's caches again (~10 % of its CPU).
# Young collections, which free nearly all the cyclic garbage a pass makes, keep CPython's defaults,
# so memory does not grow: peak RSS of a 100k-ticket first sync measured 173.2 MB before, 172.1 after.
FULL_COLLECTION_EVERY = 100


def tune_gc() -> None:
    """Move everything loaded so far (modules, pydantic schemas, SQLAlchemy metadata, settings) out of
    the collector's reach — it lives as long as the process, yet every full collection walked it again —
    and make full collections rarer (`FULL_COLLECTION_EVERY`). Call it once every module is imported."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
