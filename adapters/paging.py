"""The one paginator idea: adapters yield `Page`s lazily; token loops are guarded."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Collection, Generator, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar, cast

from adapters.errors import PaginationLoopError
from mappings.models import Cursor

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reject:
    """A vendor record that could not be mapped; the engine dead-letters it and goes on."""

    record_id: str
    reason: str
    raw: str = ""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of mapped records plus the cursor the adapter proposes once the page is applied."""

    items: tuple[T, ...]
    cursor: Cursor | None = None
    rejects: tuple[Reject, ...] = field(default_factory=tuple)
    # how many records the whole pull will return, when the vendor says (first page only): progress/ETA
    total: int | None = None
    # kind -> record id -> version token of the records this page covers (see `KnownVersions`); the
    # engine remembers them in the transaction that stores the page, never before
    versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # records the vendor returned that were left out as already processed at this version
    skipped: int = 0
    # the vendor's clock when the FIRST query of this pull was answered (HTTP `Date`), if known: a
    # record stamped at least the index lag before it was visible to every query of the pull, which
    # lets the engine start the next pull right after the cursor instead of an overlap before it
    served_at: datetime | None = None
    # the adapter produced the next page(s) together with this one, and they follow at once: the
    # engine may gather them and read what they all name (accounts) in one go
    more: bool = False


# Given a record kind and {record id: version token}, the ids already processed at exactly that
# version. Adapters that accept one skip those records before any further (association, detail) read.
KnownVersions = Callable[[str, Mapping[str, str]], Collection[str]]


def nothing_known(kind: str, versions: Mapping[str, str]) -> Collection[str]:
    """The default: every record is read in full."""
    return ()


def max_cursor(items: Iterable[object], default: Cursor | None) -> Cursor | None:
    """The largest `(updated_at, id)` among items (the dlt rule: max seen, not last received)."""
    best = default
    for item in items:
        candidate = Cursor(item.updated_at, item.id)  # type: ignore[attr-defined]
        if best is None or candidate > best:
            best = candidate
    return best


def guard_tokens(max_pages: int = 100_000) -> Callable[[Hashable], None]:
    """Return a checker to call with each next-page token; raises when a token repeats or pages run away."""
    seen: set[Hashable] = set()

    def check(token: Hashable) -> None:
        if token in seen:
            raise PaginationLoopError(f"paging token repeated after {len(seen)} pages: {token!r}")
        if len(seen) >= max_pages:
            raise PaginationLoopError(f"page cap of {max_pages} reached")
        seen.add(token)

    return check


class Prefetch(Generic[T]):
    """A call started on a thread at once, its result (or its exception) taken later: a pager asks for
    the next page while its caller is still storing the current one. The thread runs in a copy of the
    caller's context, so log lines keep the run's bound fields."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._result: T | None = None
        self._error: Exception | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run, call), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self._result = call()
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, raised there unchanged
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._result)


_END = object()


def read_ahead(source: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """`source`'s items, produced on a thread up to `depth` ahead of the consumer: the vendor answers the
    next page's requests while the caller stores the current one. Order, items and the source's
    exception (raised in the caller's thread, at the point it occurred in the sequence) are unchanged;
    closing this iterator stops the producer after the item it is working on and closes `source`."""
    ready: queue.Queue[tuple[object, Exception | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object, error: Exception | None = None) -> bool:
        while not stop.is_set():
            try:
                ready.put((item, error), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not hand_over(item):
                    return
            hand_over(_END)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer's thread, raised there unchanged
            hand_over(_END, exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(produce,), daemon=True, name="read-ahead")
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()
