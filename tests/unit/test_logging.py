from __future__ import annotations

import io
import json

import structlog

from syncer.logging import REDACTED, Redactor, configure_logging


def test_redactor_drops_sensitive_keys_and_scrubs_values() -> None:
    redactor = Redactor()
    redactor.register(["tok-123456"])
    event = {
        "event": "http.sent",
        "authorization": "Bearer tok-123456",
        "headers": {"Authorization": "Basic Ym90OnRvay0xMjM0NTY=", "Accept": "application/json"},
        "url": "https://x/api?access_token=tok-123456",
        "note": "sent Bearer abcdefghijkl to the server",
    }
    cleaned = redactor(None, "info", dict(event))
    text = json.dumps(cleaned)
    assert "tok-123456" not in text
    assert "Ym90OnRvay0xMjM0NTY=" not in text
    assert "abcdefghijkl" not in text
    assert cleaned["authorization"] == REDACTED
    assert cleaned["headers"]["Accept"] == "application/json"


def test_configure_logging_writes_redacted_json_lines() -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream)
    from syncer.logging import REDACTOR

    REDACTOR.register(["very-secret-token"])
    structlog.get_logger("t").info(
        "thing.happened", token="very-secret-token", detail="very-secret-token inside"
    )
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "thing.happened"
    assert "very-secret-token" not in stream.getvalue()
