"""`clean_text` skips its work for clean text (`is_clean`); the shortcut must never change what it returns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mappings.models import _CONTROL, clean_text, is_clean


def _slow(value: str) -> str:
    return _CONTROL.sub("", value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_clean_text_equals_the_full_cleaning(value: str) -> None:
    assert clean_text(value) == _slow(value)


def test_clean_text_examples() -> None:
    assert clean_text("支持导出 CSV 报表 🚀") == "支持导出 CSV 报表 🚀"
    assert clean_text("a\x00b\nc") == "ab\nc"
    assert clean_text("bad \udc80 half") == "bad \ufffd\ufffd\ufffd half"  # one per byte


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_is_clean_says_whether_cleaning_changes_the_text(value: str) -> None:
    assert is_clean(value) == (_slow(value) == value)


def test_a_multiline_body_is_clean_and_passed_on_as_it_is() -> None:
    body = "Line one\nline two\twith a tab\r\n中文 😀"
    assert is_clean(body)
    assert clean_text(body) is body
    assert not is_clean("a\x00b")
    assert not is_clean("bad \udc80 half")
