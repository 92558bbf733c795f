"""A fixed CPU workload timed on the benchmark machine, so throughput figures recorded on different
machines can be compared: the machines sessions and CI runners get differ several-fold in speed, and
one machine's speed drifts by a third within minutes (noisy neighbours), which no code change explains.

Standard library only, and never edited: its result must not move when syncer's code or its
dependencies do. It exercises what a pass spends its CPU on: JSON both ways, hashing, dict and string
building, SQLite statements."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time

ROWS = 20_000


def reference_seconds(rounds: int = 3) -> float:
    """CPU seconds of the workload on this machine (the best of `rounds`: least disturbed)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        workload()
        best = min(best, time.process_time() - start)
    return round(best, 3)


def workload() -> str:
    """The workload; returns a digest of what it computed (the same on every machine)."""
    records = [
        {
            "id": str(n),
            "title": f"Feedback {n}",
            "body": "word " * (n % 50),
            "n": n,
            "tags": ["a", str(n % 7)],
        }
        for n in range(ROWS)
    ]
    decoded = json.loads(json.dumps(records))
    hashes = [hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest() for r in decoded]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, hash TEXT, body TEXT)")
    db.executemany(
        "INSERT INTO t VALUES (?, ?, ?)",
        [(r["id"], h, r["body"]) for r, h in zip(decoded, hashes, strict=True)],
    )
    (count,) = db.execute("SELECT count(*) FROM t WHERE hash > ?", ("8",)).fetchone()
    db.close()
    return hashlib.sha256(f"{count}:{hashes[-1]}".encode()).hexdigest()
