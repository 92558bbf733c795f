from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.feedback import (
    FeedbackFilter,
    PriorityWeights,
    customer_value,
    fingerprint,
    group_feedback,
    group_key,
    is_product_feedback,
    prioritise,
    priority_score,
)
from mappings.models import Priority, Urgency
from tests.factories import make_account, make_feedback

WEIGHTS = PriorityWeights()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Export reports to CSV", "export reports to csv", id="case"),
        pytest.param("Export reports to CSV", "Export reports, to CSV!!", id="punctuation"),
        pytest.param("Export reports to CSV", "  Export   reports to CSV ", id="whitespace"),
        pytest.param("Export reports to CSV", "CSV export of reports", id="word-order-and-stopwords"),
        pytest.param("Export reports to CSV", "Feature request: Export reports to CSV", id="prefix-fr"),
        pytest.param("Export reports to CSV", "FR: Request: export reports to CSV", id="stacked-prefixes"),
        pytest.param("Export reports to CSV", "Ｅｘｐｏｒｔ ｒｅｐｏｒｔｓ ｔｏ ＣＳＶ", id="full-width"),
        pytest.param("支持导出 CSV 报表", "CSV 报表导出", id="zh-order"),
        pytest.param("支持导出 CSV 报表", "需求：支持导出CSV报表", id="zh-prefix-fullwidth-colon"),
        pytest.param("单点登录（SSO）支持", "希望单点登录(SSO)", id="zh-brackets-filler"),
        pytest.param("单点登录（SSO）支持", "请 单点登录 SSO", id="zh-please"),
        pytest.param("移动端离线模式", "增加移动端离线模式", id="zh-add-filler"),
    ],
)
def test_fingerprint_equal_for_cosmetic_variants(a: str, b: str) -> None:
    assert fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Export reports to CSV", "Export reports to PDF", id="different-format"),
        pytest.param("支持导出 CSV 报表", "支持导入 CSV 报表", id="zh-export-vs-import"),
        pytest.param("Dark mode", "Dark mode for mobile", id="extra-word"),
        pytest.param("Frontend performance", "ontend performance", id="fr-is-not-a-prefix-inside-a-word"),
    ],
)
def test_fingerprint_differs_for_different_requests(a: str, b: str) -> None:
    assert fingerprint(a) != fingerprint(b)


def test_group_key_prefers_explicit_hint() -> None:
    a = make_feedback(1, title="Export to CSV", group_hint="FR-12")
    b = make_feedback(2, title="Something else entirely", group_hint=" fr-12 ")
    assert group_key(a) == group_key(b) == "hint:fr-12"


def test_group_feedback_merges_customers_asking_for_the_same() -> None:
    fbs = [
        make_feedback(1, account_id="c1", title="Export reports to CSV"),
        make_feedback(2, account_id="c2", title="FR: CSV export of reports"),
        make_feedback(3, account_id="c3", title="Dark mode"),
    ]
    groups = group_feedback(fbs)
    assert sorted(len(members) for members in groups.values()) == [1, 2]


def test_group_feedback_drops_repeated_records() -> None:
    fb = make_feedback(1)
    assert [len(m) for m in group_feedback([fb, fb]).values()] == [1]


@pytest.mark.parametrize(
    ("rule", "category", "pipeline", "title", "expected"),
    [
        pytest.param(FeedbackFilter(), "BILLING_ISSUE", "0", "x", True, id="no-rule-accepts-all"),
        pytest.param(
            FeedbackFilter(categories=("FEATURE_REQUEST",)), "FEATURE_REQUEST", "0", "x", True, id="cat-in"
        ),
        pytest.param(
            FeedbackFilter(categories=("FEATURE_REQUEST",)), "BILLING_ISSUE", "0", "x", False, id="cat-out"
        ),
        pytest.param(FeedbackFilter(pipelines=("7",)), "FEATURE_REQUEST", "0", "x", False, id="pipeline-out"),
        pytest.param(FeedbackFilter(exclude_categories=("SPAM",)), "SPAM", "0", "x", False, id="excluded"),
        pytest.param(FeedbackFilter(), "FEATURE_REQUEST", "0", "   ", False, id="blank-title"),
    ],
)
def test_is_product_feedback(
    rule: FeedbackFilter, category: str, pipeline: str, title: str, expected: bool
) -> None:
    fb = make_feedback(1, category=category, pipeline=pipeline, title=title)
    assert is_product_feedback(fb, rule) is expected


@pytest.mark.parametrize(
    ("tier", "arr", "expected"),
    [
        pytest.param("smb", 0, 1.0, id="smb-no-arr"),
        pytest.param("enterprise", 0, 3.0, id="enterprise-no-arr"),
        pytest.param("enterprise", 200_000, 9.0, id="enterprise-200k"),
        pytest.param("Mid-Market", 100_000, 4.0, id="tier-case-insensitive"),
        pytest.param("martian", 0, 1.0, id="unknown-tier-default"),
    ],
)
def test_customer_value(tier: str, arr: float, expected: float) -> None:
    assert customer_value(make_account(tier=tier, arr=arr), WEIGHTS) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("urgency", "tier", "arr", "expected"),
    [
        pytest.param(Urgency.LOW, "smb", 0, Priority.LOWEST, id="small-quiet"),
        pytest.param(Urgency.MEDIUM, "smb", 100_000, Priority.LOW, id="small-medium"),
        pytest.param(Urgency.HIGH, "mid-market", 100_000, Priority.MEDIUM, id="mid-loud"),
        pytest.param(Urgency.HIGH, "enterprise", 500_000, Priority.HIGH, id="big-loud"),
        pytest.param(Urgency.CRITICAL, "enterprise", 2_000_000, Priority.HIGHEST, id="big-critical"),
    ],
)
def test_prioritise_single_account(urgency: Urgency, tier: str, arr: float, expected: Priority) -> None:
    members = [(make_feedback(1, urgency=urgency), make_account(tier=tier, arr=arr))]
    assert prioritise(members, WEIGHTS) is expected


def test_priority_score_counts_each_account_once_at_its_highest_urgency() -> None:
    acct = make_account(tier="smb", arr=0)
    members = [
        (make_feedback(1, urgency=Urgency.LOW), acct),
        (make_feedback(2, urgency=Urgency.HIGH), acct),
    ]
    assert priority_score(members, WEIGHTS) == pytest.approx(3.0)


def test_priority_grows_with_more_accounts() -> None:
    one = [(make_feedback(1, account_id="a"), make_account(id="a", tier="smb", arr=0))]
    many = one + [
        (make_feedback(i, account_id=f"a{i}"), make_account(id=f"a{i}", tier="smb", arr=0))
        for i in range(2, 8)
    ]
    assert priority_score(many, WEIGHTS) > priority_score(one, WEIGHTS)


titles = st.sampled_from(["Export reports to CSV", "CSV export", "Dark mode", "支持导出 CSV 报表", "SSO"])


@given(st.lists(st.tuples(st.integers(1, 40), titles), max_size=30, unique_by=lambda t: t[0]))
def test_group_feedback_ignores_order(spec: list[tuple[int, str]]) -> None:
    fbs = [make_feedback(n, title=title) for n, title in spec]
    assert group_feedback(fbs) == group_feedback(list(reversed(fbs)))


words = st.sampled_from(["export", "CSV", "reports", "dark", "mode", "导出", "报表", "SSO", "audit", "log"])


@given(st.lists(words, min_size=1, max_size=6))
def test_fingerprint_ignores_word_order_case_and_punctuation(ws: list[str]) -> None:
    assert fingerprint(" ".join(ws)) == fingerprint(", ".join(reversed(ws)).upper() + "!")
