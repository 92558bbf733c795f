"""The JSON columns' codec: orjson where it agrees with the stdlib, the stdlib where it does not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.responses import loads_json
from syncer.state.sql import json_dumps


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"feedback": {"id": "7", "title": "Café ✓ 日本"}, "account": None}, id="payload"),
        pytest.param({"arr": 1.5, "n": -3, "ok": True, "tags": ["a", "b"]}, id="scalars"),
        pytest.param({1: "int key"}, id="int-key"),
        pytest.param({"big": 2**70}, id="int-beyond-64-bits"),
        pytest.param({"lone": "\ud800"}, id="lone-surrogate"),
    ],
)
def test_json_dumps_reads_back_as_the_stdlib_would(value: Any) -> None:
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"a": [1, 2.5, null, "\\u00e9"]}', id="stdlib-written"),
        pytest.param('{"arr": NaN}', id="nan-written-by-the-stdlib"),
    ],
)
def test_json_loads_reads_what_the_stdlib_wrote(text: str) -> None:
    assert repr(loads_json(text)) == repr(json.loads(text))


def test_json_dumps_rejects_what_the_stdlib_rejects() -> None:
    with pytest.raises(TypeError):
        json_dumps({"at": datetime(2026, 1, 1, tzinfo=UTC)})
