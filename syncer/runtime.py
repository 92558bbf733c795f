"""Process-wide tuning for sync work, applied once at start by every entry point (the CLI, bench/)."""

from __future__ import annotations

import gc

# Full collections happen when gen1 has been collected this many times (CPython's default: 10) and the
# objects promoted since the last one reach a quarter of the long-lived heap. A pass keeps whole pages
# (vendor JSON, models, rows) alive across young collections, so promotions came fast: a full
# collection every ~1.5 s of a 10k pass, each walking the run's caches again (~10 % of its CPU).
# Young collections keep CPython's defaults. Big cyclic garbage must not wait for a full collection:
# HTTP responses are freed by reference counting (adapters/http.py `_unbind_stream`), and what a run
# leaves (its adapters, engine and caches refer to each other) is collected when it ends
# (`collect_run_garbage`). Peak RSS of a 100k-ticket first sync: 171-173 MB before, 170 MB after.
FULL_COLLECTION_EVERY = 100


def tune_gc() -> None:
    """Move everything loaded so far (modules, pydantic schemas, SQLAlchemy metadata, settings) out of
    the collector's reach — it lives as long as the process, yet every full collection walked it again —
    and make full collections rarer (`FULL_COLLECTION_EVERY`). Call it once every module is imported."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def collect_run_garbage() -> None:
    """Free what a finished run left: its adapters, engine and per-run caches (every account of the
    org, say) hold references to each other, so only a full collection frees them, and full
    collections are rare (`FULL_COLLECTION_EVERY`): a long-running scheduler or worker would otherwise
    carry one run's caches into the next org's run."""
    gc.collect()
