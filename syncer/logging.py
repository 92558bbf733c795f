"""structlog setup: JSON lines on stderr, with a redaction processor that keeps secrets out of logs."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

_SENSITIVE_KEY = re.compile(r"(authorization|token|secret|password|api[_-]?key|cookie|session_id)", re.I)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
REDACTED = "[redacted]"


class Redactor:
    """Drops values under sensitive keys and scrubs known secret values and auth schemes from strings."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def register(self, secrets: Iterable[str]) -> None:
        self._secrets.update(s for s in secrets if len(s) >= 4)

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)
        if isinstance(value, dict):
            return {k: REDACTED if _SENSITIVE_KEY.search(str(k)) else self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        return value

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event):
            if _SENSITIVE_KEY.search(key):
                event[key] = REDACTED
            else:
                event[key] = self.scrub(event[key])
        return event


REDACTOR = Redactor()


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time of writing (it may be swapped, e.g. by test runners)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Configure structlog (and quiet the stdlib loggers of httpx/uvicorn that would bypass redaction)."""
    for noisy in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            REDACTOR,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
