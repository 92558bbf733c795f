"""Process-wide tuning for sync work, applied once at start by every entry point (the CLI, bench/)."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move everything loaded so far (modules, pydantic schemas, SQLAlchemy metadata, settings) out of
    the garbage collector's reach: it lives as long as the process, yet every full collection walked
    it again — a pass over 10k records runs several, ~10 % of its CPU (bench/). Collection of what a
    run allocates is unchanged (same thresholds), so memory behaves as before."""
    gc.freeze()
