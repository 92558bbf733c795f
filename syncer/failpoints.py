"""Named failpoints: places where an operator's test can make the process die, to prove crash safety.

`SYNCER_FAILPOINT=create.remote_done` (optionally `name:N` for the N-th hit) makes the process kill
itself with SIGKILL when the engine reaches that point — no cleanup, no `finally`, exactly like an
OOM kill or a pulled plug. Unset (the default), a failpoint costs one comparison. In-process tests
inject their own `Failpoint` callable instead (for example one that raises).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

Failpoint = Callable[[str], None]

POINTS = (
    "pull.page_saved",  # a page of feedback and its cursor are committed
    "accounts.refreshed",  # a page of account snapshots (and its cursor) committed, groups not re-rendered
    "create.intent_recorded",  # create intents committed, the tracker not yet called
    "create.remote_done",  # the tracker created the items, our state does not know yet
    "create.batch_saved",  # one batch of creates fully recorded (more may follow: mid-run)
    "apply.done",  # all groups applied, write-back not started
    "writeback.remote_done",  # the CRM shows the links, our state does not know yet
    "alerts.remote_done",  # the CRM has the alerts, the outbox still says attempted
)


def no_failpoint(_name: str) -> None:
    return None


def kill_at(spec: str | None) -> Failpoint:
    """A failpoint that SIGKILLs this process at `name` (or at its N-th hit with `name:N`)."""
    if not spec:
        return no_failpoint
    name, _, nth = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(POINTS)}")
    remaining = [int(nth) if nth else 1]

    def hit(point: str) -> None:
        if point != name:
            return
        remaining[0] -= 1
        if remaining[0] <= 0:
            os.kill(os.getpid(), signal.SIGKILL)

    return hit
