"""`clean_text` skips its work for printable text; the shortcut must never change what it returns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mappings.models import _CONTROL, clean_text


def _slow(value: str) -> str:
    return _CONTROL.sub("", value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_clean_text_equals_the_full_cleaning(value: str) -> None:
    assert clean_text(value) == _slow(value)


def test_clean_text_examples() -> None:
    assert clean_text("支持导出 CSV 报表 🚀") == "支持导出 CSV 报表 🚀"
    assert clean_text("a\x00b\nc") == "ab\nc"
    assert clean_text("bad \udc80 half") == "bad \ufffd\ufffd\ufffd half"  # one per byte
