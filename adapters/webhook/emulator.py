"""A webhook receiver that records what it got (Slack answers 200 with body `ok`)."""

from __future__ import annotations

import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from adapters.emulation import Faults, RequestLog, emulator_app


class WebhookEmulator:
    def __init__(self) -> None:
        self.log, self.faults = RequestLog(), Faults()
        self._posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.app: Starlette = emulator_app(
            "webhook", [Route("/hook", self._hook, methods=["POST"])], self.log, self.faults
        )

    async def _hook(self, request: Request) -> Response:
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            return PlainTextResponse("invalid_payload", 400)
        with self._lock:
            self._posts.append(body)
        return PlainTextResponse("ok")

    def posts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._posts)
