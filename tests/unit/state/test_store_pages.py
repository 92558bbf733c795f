"""The write-back and apply reads return whole values, page by page (SQLite and PostgreSQL)."""

from __future__ import annotations

from syncer.state import Link, StateStore, StoredFeedback


def _fb(record_id: str, group: str, written: str | None = None, account: str | None = "c1") -> StoredFeedback:
    payload = {"feedback": {"id": record_id, "title": "Ünïcode ✓"}, "account": {"id": account}}
    return StoredFeedback("hubspot", record_id, group, f"h{record_id}", payload, written, account)


def _link(group: str, key: str) -> Link:
    return Link(
        group, f"m-{group}", "jira", key, f"https://j/browse/{key}", "d1", "Title", 2, 1000.0, "high",
        250.0, "open", "10001", f"{key}|open|2.4|",
    )  # fmt: skip


def test_unlinked_feedback_pages_in_record_id_order_with_whole_links(store: StateStore) -> None:
    links = {"fp:a": _link("fp:a", "PROD-1"), "fp:b": _link("fp:b", "PROD-2")}
    records = [_fb(f"{n:03d}", "fp:a" if n % 2 else "fp:b") for n in range(1, 8)]
    records.append(_fb("008", "fp:a", written="PROD-1|open|2.4|"))  # shows its item already
    records.append(_fb("009", "fp:c"))  # no item yet
    with store.unit() as unit:
        unit.save_feedback("acme", list(reversed(records)))
        unit.links.save("acme", list(links.values()))
    seen: list[tuple[str, Link]] = []
    after = ""
    with store.unit() as unit:
        while page := unit.unlinked_feedback("acme", after=after, limit=3):
            assert len(page) <= 3
            seen += [(f.record_id, link) for f, link in page]
            after = page[-1][0].record_id
    assert [rid for rid, _ in seen] == [f"{n:03d}" for n in range(1, 8)]
    assert all(link == links["fp:a" if int(rid) % 2 else "fp:b"] for rid, link in seen)


def test_group_members_carry_payload_written_key_and_account(store: StateStore) -> None:
    with store.unit() as unit:
        unit.save_feedback(
            "acme", [_fb("1", "fp:a", written="PROD-1|open||"), _fb("2", "fp:a", account=None)]
        )
        unit.save_feedback("acme", [_fb("3", "fp:b")])
    with store.unit() as unit:
        members = unit.group_members("acme", ["fp:a", "fp:z"])
    assert members["fp:z"] == []
    assert sorted(members["fp:a"], key=lambda s: s.record_id) == [
        _fb("1", "fp:a", written="PROD-1|open||"),
        _fb("2", "fp:a", account=None),
    ]
