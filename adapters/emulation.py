"""What every bundled emulator shares: serving in a thread, a request log, fault knobs, a rate window.

Emulators are real HTTP servers on 127.0.0.1 (Starlette apps run by uvicorn in a background thread),
so the demo, the end-to-end tests and the benchmarks exercise the real client, retries included.
Only emulators import this module; adapter clients never do.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.responses import loads_json


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as received; its body is decoded only when a test or the bench reads it (the handler
    decodes it anyway: decoding every body twice cost an emulator ~5 % of its time)."""

    method: str
    path: str
    query: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        """The JSON body (None if empty; the text if it is not JSON)."""
        return _decode(self.raw)


class RequestLog:
    """Every request an emulator received, so tests can assert exactly what a client sent."""

    def __init__(self) -> None:
        self._entries: list[RecordedRequest] = []
        self._statuses: Counter[int] = Counter()
        self._lock = threading.Lock()

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def answered(self, status: int) -> None:
        """Count one response status (0: the connection was dropped without an answer)."""
        with self._lock:
            self._statuses[status] += 1

    def statuses(self) -> Counter[int]:
        """How many answers of each status the vendor routes gave (throttling included)."""
        with self._lock:
            return Counter(self._statuses)

    def entries(self, method: str | None = None, path_prefix: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [
                e
                for e in self._entries
                if (method is None or e.method == method) and e.path.startswith(path_prefix)
            ]

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        return len(self.entries(method, path_prefix))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._statuses.clear()


@dataclass
class Faults:
    """Knobs a test turns to make the next requests misbehave; each queued fault fires once.

    Count knobs (`malformed`, `slow`, `stall`, `drop`, `drop_after`) affect the next N requests under
    `path_prefix`. `slow` waits `delay_s` before handling (the server never acts while the client waits);
    `stall` handles the request, then holds the answer `delay_s` (the write lands, the client may time
    out); `drop` closes the connection without an answer before handling, `drop_after` after handling.
    """

    latency_s: float = 0.0
    statuses: deque[int] = field(default_factory=deque)  # answer the next requests with these statuses
    retry_after: str | None = "1"  # Retry-After sent with a queued 429/503
    malformed: int = 0  # answer the next N requests with 200 and a body that is not JSON
    slow: int = 0
    stall: int = 0
    delay_s: float = 1.0
    drop: int = 0
    drop_after: int = 0
    path_prefix: str = ""  # only requests under this path are affected

    def take_status(self, path: str) -> int | None:
        if self.statuses and path.startswith(self.path_prefix):
            return self.statuses.popleft()
        return None

    def take_malformed(self, path: str) -> bool:
        return self.take("malformed", path)

    def take(self, knob: str, path: str) -> bool:
        """Consume one of the count knob `knob` for a request to `path`; True if it fires."""
        left = int(getattr(self, knob))
        if left > 0 and path.startswith(self.path_prefix):
            setattr(self, knob, left - 1)
            return True
        return False


class SlidingWindow:
    """At most `limit` hits per `window_s` seconds; `hit` returns seconds to wait when over."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def hit(self) -> float | None:
        with self._lock:
            now = self._clock()
            while self._hits and now - self._hits[0] >= self.window_s:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                return self.window_s - (now - self._hits[0])
            self._hits.append(now)
            return None


def emulator_app(
    name: str,
    routes: Sequence[BaseRoute],
    log: RequestLog,
    faults: Faults,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Wrap vendor routes with request logging, fault injection and `/_emulator/*` admin routes; every
    answer carries HTTP `Date` from the emulator's `clock`, as a vendor's answers carry its own."""

    async def requests_view(request: Request) -> Response:
        return JSONResponse([e.__dict__ for e in log.entries()])

    async def faults_view(request: Request) -> Response:
        body = await request.json()
        faults.latency_s = float(body.get("latency_s", faults.latency_s))
        faults.statuses.extend(int(s) for s in body.get("statuses", []))
        for knob in ("malformed", "slow", "stall", "drop", "drop_after"):
            setattr(faults, knob, getattr(faults, knob) + int(body.get(knob, 0)))
        faults.delay_s = float(body.get("delay_s", faults.delay_s))
        faults.path_prefix = str(body.get("path_prefix", faults.path_prefix))
        return JSONResponse({"ok": True})

    admin = [
        Route("/_emulator/requests", requests_view, methods=["GET"]),
        Route("/_emulator/faults", faults_view, methods=["POST"]),
    ]
    app = Starlette(routes=[*admin, *routes])

    app.add_middleware(_RecordAndMisbehave, name=name, faults=faults, log=log)
    app.add_middleware(_DropConnections, faults=faults, log=log)  # sees uvicorn's `receive`
    app.add_middleware(_VendorDate, clock=clock)
    app.state.vendor_date = True  # ServedApp leaves uvicorn's own Date header out
    return app


class _VendorDate:
    """HTTP `Date` from the emulator's clock, on every answer (faults included). The engine compares it
    with record stamps (settled cursors; where a first sync starts the account stream), so an emulator
    whose clock is skewed must skew both, like a vendor whose servers' clock is off."""

    def __init__(self, app: ASGIApp, clock: Callable[[], float]) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", email.utils.formatdate(self.clock(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_dated)


class ORJSONResponse(JSONResponse):
    """A JSON answer rendered by orjson: the same compact UTF-8 JSON, several times cheaper to render."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits, which the standard library renders
            return super().render(content)


class _RecordAndMisbehave:
    """Pure ASGI layer: log each vendor request, then apply the queued faults other than dropping.

    Pure ASGI rather than Starlette's BaseHTTPMiddleware, whose task group and body stream per request
    cost more than most emulated handlers.
    """

    def __init__(self, app: ASGIApp, name: str, faults: Faults, log: RequestLog) -> None:
        self.app, self.name, self.faults, self.log = app, name, faults, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        path = request.url.path
        if path.startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        raw = await request.body()
        self.log.add(RecordedRequest(request.method, path, dict(request.query_params), raw))
        answer = await self._misbehave_or_call(scope, _replay(raw, receive), path)
        self.log.answered(answer[0]["status"])
        for message in answer:
            await send(message)

    async def _misbehave_or_call(self, scope: Scope, receive: Receive, path: str) -> list[Message]:
        """The messages of the answer: an injected one, or the app's (held `delay_s` when stalled)."""
        faults = self.faults
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        if faults.take("slow", path):
            await asyncio.sleep(faults.delay_s)
        status = faults.take_status(path)
        if status is not None:
            headers = (
                {"Retry-After": faults.retry_after} if faults.retry_after and status in (429, 503) else {}
            )
            body = {"message": f"{self.name} emulator: injected {status}"}
            return await _messages(JSONResponse(body, status, headers=headers), scope, receive)
        if faults.take_malformed(path):
            malformed = Response(b'{"results": [ truncated', 200, media_type="application/json")
            return await _messages(malformed, scope, receive)
        answer = await _messages(self.app, scope, receive)
        if faults.take("stall", path):
            await asyncio.sleep(faults.delay_s)
        return answer


async def _messages(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    """What `app` sends for one request, kept rather than sent, so that faults can hold or drop it."""
    sent: list[Message] = []

    async def keep(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, keep)
    if not sent or sent[0]["type"] != "http.response.start":
        raise RuntimeError("No response returned.")
    return sent


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already read body to the app once, then listens for a disconnect."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


class _DropConnections:
    """Pure ASGI layer that aborts the TCP connection without an HTTP answer (`drop`, `drop_after`).

    Raising from an ASGI app before the response starts makes uvicorn answer 500, so the socket is
    aborted instead; uvicorn does not expose it, but its `receive` is a method of the request cycle
    that holds the transport. The client sees `httpx.RemoteProtocolError` ("Server disconnected").
    """

    def __init__(self, app: ASGIApp, faults: Faults, log: RequestLog) -> None:
        self.app, self.faults, self.log = app, faults, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        if self.faults.take("drop", path):
            query = dict(Request(scope).query_params)
            self.log.add(RecordedRequest(scope["method"], path, query, await _read_body(receive)))
            self.log.answered(0)
            await _abort(receive)
            return
        if not self.faults.take("drop_after", path):
            await self.app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)  # handled (and logged), the answer is never sent
        await _abort(receive)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


async def _abort(receive: Receive) -> None:
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise RuntimeError("the emulator server does not expose its transport: cannot drop connections")
    transport.abort()
    await asyncio.sleep(0)  # let uvicorn see the disconnect before the app returns


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return loads_json(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


class ServedApp:
    """An ASGI app served by uvicorn on 127.0.0.1 in a daemon thread; `url` is known once started."""

    def __init__(self, app: Starlette, port: int = 0, host: str = "127.0.0.1") -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            date_header=not getattr(app.state, "vendor_date", False),  # emulators date their answers
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"emulator:{port}", daemon=True)
        self._host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"emulator could not start on {self._host}:{self.port}")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
