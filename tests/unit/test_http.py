"""The one HTTP client: retries, Retry-After, throttling, classification, redaction."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from adapters.errors import (
    AuthError,
    MalformedResponseError,
    NotFoundError,
    PaginationLoopError,
    PermanentError,
    TransientError,
)
from adapters.http import HttpClient, RateLimit, RetryPolicy, TokenBucket, parse_retry_after, redacted_url
from adapters.paging import guard_tokens, max_cursor
from tests.factories import make_feedback


def _client(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float], **kw: object
) -> HttpClient:
    return HttpClient(
        "https://vendor.test",
        system="vendor",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        retry=RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0),
        **kw,  # type: ignore[arg-type]
    )


def _sequence(
    *responses: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[str]]:
    seen: list[str] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def test_http_retries_429_honouring_retry_after() -> None:
    handler, seen = _sequence(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})
    )
    sleeps: list[float] = []
    client = _client(handler, sleeps, limits={"default": RateLimit(rate=100, burst=1)})
    assert client.get_json("/x") == {"ok": 1}
    assert len(seen) == 2
    assert sum(sleeps) >= 7  # the bucket was paused for the whole Retry-After
    assert client.statuses[429] == 1


def test_http_gives_up_on_a_retry_after_longer_than_the_policy_allows() -> None:
    handler, seen = _sequence(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(TransientError, match="429"):
        _client(handler, []).get_json("/x")
    assert len(seen) == 1


def test_http_retries_5xx_on_reads_then_fails_clearly() -> None:
    handler, seen = _sequence(*[httpx.Response(503) for _ in range(4)])
    with pytest.raises(TransientError, match="HTTP 503"):
        _client(handler, []).get_json("/x")
    assert len(seen) == 4


def test_http_never_blindly_resends_a_create_after_an_ambiguous_failure() -> None:
    handler, seen = _sequence(httpx.Response(500), httpx.Response(201, json={}))
    with pytest.raises(TransientError):
        _client(handler, []).post_json("/issue", {"a": 1})
    assert seen == ["POST /issue"]


def test_http_resends_a_create_rejected_with_429() -> None:
    handler, seen = _sequence(
        httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(201, json={"id": 1})
    )
    assert _client(handler, []).post_json("/issue", {"a": 1}) == {"id": 1}
    assert len(seen) == 2


def test_http_read_timeouts_are_retried_for_reads() -> None:
    handler, seen = _sequence(httpx.ReadTimeout("slow"), httpx.Response(200, json=[1]))
    assert _client(handler, []).get_json("/x") == [1]
    assert len(seen) == 2


def test_http_malformed_json_is_retried_then_reported() -> None:
    bad = [httpx.Response(200, content=b"{not json") for _ in range(4)]
    handler, seen = _sequence(*bad)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        _client(handler, []).get_json("/x")
    assert len(seen) == 4


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, AuthError, id="401-auth"),
        pytest.param(403, AuthError, id="403-auth"),
        pytest.param(404, NotFoundError, id="404-not-found"),
        pytest.param(400, PermanentError, id="400-permanent"),
    ],
)
def test_http_classifies_permanent_errors_without_retrying(status: int, error: type[Exception]) -> None:
    handler, seen = _sequence(httpx.Response(status, json={"message": "no"}))
    with pytest.raises(error):
        _client(handler, []).get_json("/x")
    assert len(seen) == 1


def test_token_bucket_spaces_requests_at_the_configured_rate() -> None:
    now = [0.0]
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(RateLimit(rate=5, burst=1), clock=lambda: now[0], sleep=sleep)
    for _ in range(11):
        bucket.acquire()
    assert now[0] == pytest.approx(2.0)  # 1 burst + 10 more at 5/s


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("3", 3.0, id="seconds"),
        pytest.param(None, None, id="absent"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="http-date-in-the-past"),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_redacted_url_hides_tokens_in_query() -> None:
    url = httpx.URL("https://v.test/a?access_token=abc123&page=2")
    assert "abc123" not in redacted_url(url)
    assert "page=2" in redacted_url(url)


def test_guard_tokens_stops_a_repeating_token() -> None:
    check = guard_tokens()
    check("a")
    check("b")
    with pytest.raises(PaginationLoopError, match="repeated"):
        check("a")


def test_max_cursor_takes_the_largest_position_not_the_last() -> None:
    items = [make_feedback(3), make_feedback(1), make_feedback(2)]
    best = max_cursor(items, None)
    assert best is not None
    assert best.id == "3"


def test_http_treats_a_redirect_as_an_error_not_success() -> None:
    handler, seen = _sequence(httpx.Response(307, headers={"Location": "/elsewhere"}))
    with pytest.raises(PermanentError, match="307"):
        _client(handler, []).post_json("/hook", {"text": "x"})
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b'{"a": [1, 2.5, "x"], "b": null}', {"a": [1, 2.5, "x"], "b": None}, id="plain"),
        pytest.param('{"t": "Ünïcode ✓ 日本"}'.encode(), {"t": "Ünïcode ✓ 日本"}, id="utf-8"),
        pytest.param(b'{"arr": NaN}', {"arr": float("nan")}, id="nan-as-the-standard-decoder-reads-it"),
        pytest.param(b'{"t": "a\\ud800b"}', {"t": "a\ud800b"}, id="lone-surrogate-escape"),
        pytest.param('{"t": "é"}'.encode("utf-16"), {"t": "é"}, id="utf-16-with-bom"),
    ],
)
def test_http_decodes_json_bodies_as_the_standard_library_does(body: bytes, expected: object) -> None:
    handler, _ = _sequence(httpx.Response(200, content=body))
    decoded = _client(handler, []).get_json("/x")
    assert repr(decoded) == repr(expected)  # repr: NaN is not equal to itself


def _tls_context(client: HttpClient) -> object:
    return client._client._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_http_clients_share_one_tls_context_built_once_per_process() -> None:
    first = HttpClient("https://a.vendor.test", system="a")
    second = HttpClient("https://b.vendor.test", system="b")
    assert _tls_context(first) is _tls_context(second)


def test_http_honours_ssl_cert_file_set_after_other_clients_were_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    HttpClient("https://a.vendor.test", system="a")
    empty = tmp_path / "no-certificates.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    with pytest.raises(ssl.SSLError):  # the file is read: it names no CA at all
        HttpClient("https://b.vendor.test", system="b")
