"""Optional HTTP basic auth for the dashboard; credentials come from the environment or secret files.

The dashboard shows customer names, revenue and error texts, so anything bound beyond 127.0.0.1 should
set `SYNCER_DASHBOARD_USER` and `SYNCER_DASHBOARD_PASSWORD` (or `*_FILE`, e.g. /run/secrets/...).
The password is a SecretStr from the moment it is read and is never logged or echoed.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from syncer.errors import ConfigError
from syncer.settings import ServiceSettings, read_secret


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    user: str
    password: SecretStr

    def accepts(self, authorization: str | None) -> bool:
        """True when an `Authorization: Basic ...` header carries exactly these credentials."""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = given.partition(":")
        # both compared in constant time, and both always compared: no early exit on a wrong user
        user_ok = secrets.compare_digest(user.encode(), self.user.encode())
        password_ok = secrets.compare_digest(password.encode(), self.password.get_secret_value().encode())
        return bool(sep) and user_ok and password_ok


def dashboard_credentials(settings: ServiceSettings) -> BasicCredentials | None:
    """The configured credentials, None when auth is off; ConfigError when only half is configured."""
    user: str | None = settings.dashboard_user
    if settings.dashboard_user_file is not None:
        where = "SYNCER_DASHBOARD_USER_FILE"
        user = read_secret(env=None, file=settings.dashboard_user_file, where=where).get_secret_value()
    password = settings.dashboard_password
    if settings.dashboard_password_file is not None:
        where = "SYNCER_DASHBOARD_PASSWORD_FILE"
        password = read_secret(env=None, file=settings.dashboard_password_file, where=where)
    if user is None and password is None:
        return None
    if not user or password is None or not password.get_secret_value():
        raise ConfigError(
            "dashboard basic auth: set both SYNCER_DASHBOARD_USER and SYNCER_DASHBOARD_PASSWORD "
            "(or their *_FILE variants), or neither"
        )
    return BasicCredentials(user.strip(), password)


class BasicAuthMiddleware:
    """Answers 401 (with a `WWW-Authenticate` challenge) to any HTTP request without the credentials."""

    def __init__(self, app: ASGIApp, credentials: BasicCredentials) -> None:
        self._app, self._credentials = app, credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            raw = headers.get(b"authorization")
            if not self._credentials.accepts(raw.decode("latin-1") if raw is not None else None):
                denied = PlainTextResponse(
                    "Authentication required.",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="syncer dashboard", charset="UTF-8"'},
                )
                await denied(scope, receive, send)
                return
        await self._app(scope, receive, send)
