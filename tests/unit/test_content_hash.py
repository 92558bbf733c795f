"""Content hashes are stored: the same record must hash the same across releases and code paths."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from syncer.records import content_hash, content_unchanged, dumped_hash, legacy_hash, to_payload
from tests.factories import make_feedback

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


LEGACY = "f5eda6f1d4dcf646b15139652504f630d5c93a88ac71ddaf6cdc5988b8255112"  # stored before the "~" hashes


def test_content_hash_is_the_one_this_release_stores() -> None:
    # changing it makes every record stored since look edited once (see content_unchanged)
    fb = make_feedback(body="Need CSV — 中文 😀", backlog_key="PROD-1")
    assert content_hash(fb) == "~88318248ee344f92719e4b5be14453202d2df386866a8d31a42a346244e4cd3"
    assert len(content_hash(fb)) == 64  # the stored column's size


def test_legacy_hash_is_the_one_stored_by_earlier_releases() -> None:
    fb = make_feedback(body="Need CSV — 中文 😀", backlog_key="PROD-1")
    assert legacy_hash(fb.model_dump(mode="json")) == LEGACY


def test_a_record_stored_by_an_earlier_release_is_unchanged_until_it_changes() -> None:
    fb = make_feedback(body="Need CSV — 中文 😀", backlog_key="PROD-1")
    dumped, digest = fb.model_dump(mode="json"), content_hash(fb)
    assert content_unchanged(LEGACY, digest, dumped)
    assert content_unchanged(digest, digest, dumped)
    edited = make_feedback(body="Need CSV — 中文 😀!", backlog_key="PROD-1").model_dump(mode="json")
    assert not content_unchanged(LEGACY, dumped_hash(edited), edited)
    assert not content_unchanged(digest, dumped_hash(edited), edited)
    assert not content_unchanged(None, digest, dumped)  # never stored
    assert not content_unchanged("", digest, dumped)


def test_content_hash_ignores_what_we_write_back_and_the_stamp() -> None:
    fb = make_feedback()
    echoed = fb.model_copy(
        update={"backlog_key": "PROD-9", "backlog_status": "done", "updated_at": fb.updated_at + timedelta(1)}
    )
    assert content_hash(echoed) == content_hash(fb)
    assert content_hash(fb.model_copy(update={"body": fb.body + "!"})) != content_hash(fb)


@given(title=texts.filter(str.strip), body=texts, requested_by=texts)
def test_dumped_hash_and_payload_match_the_models(title: str, body: str, requested_by: str) -> None:
    fb = make_feedback(title=title, body=body, requested_by=requested_by)
    dumped = fb.model_dump(mode="json")
    assert dumped_hash(dumped) == content_hash(fb)
    assert to_payload(dumped, None) == to_payload(fb, None)
    assert content_unchanged(legacy_hash(dumped), dumped_hash(dumped), dumped)
