"""Request bodies: orjson's encoding must be the bytes httpx's `json=` would have sent."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapters.responses import encode_json

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)))
)
bodies = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
)


def as_httpx_sends(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@given(st.dictionaries(st.text(), bodies, max_size=6))
def test_encode_json_matches_httpx(body: dict[str, Any]) -> None:
    sent = encode_json(body)
    assert sent is not None
    assert json.loads(sent) == json.loads(as_httpx_sends(body))  # floats may be spelt differently


def test_encode_json_sends_what_orjson_refuses_as_httpx_would() -> None:
    body = {"big": 2**70, 7: "int key"}
    assert encode_json(body) == as_httpx_sends(body)


def test_encode_json_of_no_body_is_no_body() -> None:
    assert encode_json(None) is None
