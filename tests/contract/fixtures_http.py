"""What the contract tests share: a strict respx router and the real HttpClient that never really sleeps.

Each system's tests keep their own base URL, rate limits and classifier and pass them in here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx

from adapters.http import HttpClient, RetryPolicy

THREE_TRIES = RetryPolicy(max_attempts=3)
FROZEN_AT = 1_700_000_000.0  # what a frozen transport's wall clock reads (unix seconds)


def respx_router() -> respx.MockRouter:
    """Fails the test on a request no route mocks and on a route that is never called."""
    return respx.mock(assert_all_called=True, assert_all_mocked=True)


def _no_sleep(_: float) -> None:
    return None


@contextmanager
def contract_http(
    base_url: str, *, system: str, token: str | None = None, **options: Any
) -> Iterator[HttpClient]:
    """The real HttpClient, closed on exit; `token` becomes a bearer header, and it never sleeps unless
    `sleep` is given. Other options go to HttpClient as they are."""
    if token is not None:
        options["headers"] = {"Authorization": f"Bearer {token}"}
    options.setdefault("sleep", _no_sleep)
    with HttpClient(base_url, system=system, **options) as client:
        yield client


@contextmanager
def frozen_http(
    base_url: str,
    *,
    system: str,
    transport: Callable[..., httpx.BaseTransport],
    sleeps: list[float],
    **options: Any,
) -> Iterator[HttpClient]:
    """`contract_http` for a vendor transport that reads rate-limit reset times: its clock reads
    `FROZEN_AT`, the client's monotonic clock reads 0, and every wait is recorded in `sleeps`."""
    frozen = transport(clock=lambda: FROZEN_AT)
    with contract_http(
        base_url, system=system, transport=frozen, sleep=sleeps.append, clock=lambda: 0.0, **options
    ) as client:
        yield client
