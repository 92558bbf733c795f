"""The error hierarchy every adapter raises; the engine catches these types, never message text."""

from __future__ import annotations


class SyncError(Exception):
    """Base of everything an adapter raises on purpose."""


class TransientError(SyncError):
    """Worth retrying later: timeouts, dropped connections, 5xx, throttling."""


class RateLimitedError(TransientError):
    """The vendor said slow down; `retry_after` is its hint in seconds, when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedResponseError(TransientError):
    """A 2xx answer whose body is not the JSON the vendor documents."""


class PermanentError(SyncError):
    """Retrying the same request will fail the same way (4xx other than throttling)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(PermanentError):
    """Credentials missing, wrong or lacking a scope (401/403)."""


class NotFoundError(PermanentError):
    """The object does not exist (404)."""


class PaginationLoopError(SyncError):
    """A paging token repeated or the page cap was hit: the vendor is looping, stop before we spin."""


class BatchItemError(PermanentError):
    """One element of a batch call was rejected while the others went through."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index
