from __future__ import annotations

import pytest

from mappings.feedback import PriorityWeights
from mappings.models import Priority, Urgency
from mappings.render import RenderOptions, display_title, money, render_draft
from tests.factories import make_account, make_feedback

WEIGHTS = PriorityWeights()
OPTIONS = RenderOptions()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Feature request:  Export  to CSV", "Export to CSV", id="prefix"),
        pytest.param("需求：支持导出 CSV 报表", "支持导出 CSV 报表", id="zh-prefix"),
        pytest.param("Dark mode", "Dark mode", id="plain"),
    ],
)
def test_display_title(raw: str, expected: str) -> None:
    assert display_title(raw) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        pytest.param(950, "$950", id="units"),
        pytest.param(12_500, "$12.5k", id="k"),
        pytest.param(1_250_000, "$1.2M", id="m"),
    ],
)
def test_money(amount: float, expected: str) -> None:
    assert money(amount) == expected


def _members() -> list[tuple]:
    big = make_account(id="c1", name="Acme Corp", tier="enterprise", arr=1_000_000)
    small = make_account(id="c2", name="上海云杉科技有限公司", tier="smb", arr=20_000)
    return [
        (make_feedback(2, account_id="c2", title="CSV export of reports", body="导出报表给财务"), small),
        (make_feedback(1, account_id="c1", title="FR: Export reports to CSV", urgency=Urgency.HIGH), big),
    ]


def test_render_draft_carries_accounts_revenue_and_quotes() -> None:
    draft = render_draft(_members(), WEIGHTS, OPTIONS)
    assert draft.title == "Export reports to CSV"
    assert draft.account_count == 2
    assert draft.total_arr == 1_020_000
    assert "Requested by 2 accounts · ARR $1.0M" in draft.body
    assert draft.body.index("Acme Corp") < draft.body.index("上海云杉科技有限公司")  # biggest customer first
    assert "> 导出报表给财务" in draft.body
    assert draft.labels == ("customer-feedback",)
    assert draft.priority is Priority.HIGHEST


def test_render_draft_is_order_independent() -> None:
    members = _members()
    assert render_draft(members, WEIGHTS, OPTIONS) == render_draft(list(reversed(members)), WEIGHTS, OPTIONS)


def test_render_draft_caps_body_and_says_how_many_were_left_out() -> None:
    acct = make_account()
    members = [(make_feedback(i, account_id=f"a{i}", body="x" * 500), acct) for i in range(1, 200)]
    draft = render_draft(members, WEIGHTS, RenderOptions(max_body_chars=5_000))
    assert len(draft.body) <= 5_000
    assert "more requests" in draft.body


def test_render_draft_counts_unknown_accounts_separately() -> None:
    members = [(make_feedback(1, account_id=None), None), (make_feedback(2, account_id=None), None)]
    draft = render_draft(members, WEIGHTS, OPTIONS)
    assert draft.account_count == 2
    assert "(unknown account)" in draft.body


def test_render_draft_rejects_empty_group() -> None:
    with pytest.raises(ValueError, match="empty group"):
        render_draft([], WEIGHTS, OPTIONS)


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        pytest.param(
            ["bulk of edit contacts", "Bulk edit of contacts", "Bulk edit of contacts!!"],
            "Bulk edit of contacts",
            id="most-common-wins",
        ),
        pytest.param(
            ["Ｅｍａｉｌ ｔｅｍｐｌａｔｅ ｅｄｉｔｏｒ！！"],
            "Email template editor",
            id="full-width-and-bangs",
        ),
        pytest.param(["dark mode", "Dark mode"], "Dark mode", id="tie-prefers-capitalised"),
    ],
)
def test_render_draft_picks_a_clean_representative_title(titles: list[str], expected: str) -> None:
    members = [(make_feedback(i, title=t), make_account()) for i, t in enumerate(titles, start=1)]
    assert render_draft(members, WEIGHTS, OPTIONS).title == expected


def test_render_draft_prefers_a_well_cased_spelling() -> None:
    titles = ["SCHEDULED REPORT EMAILS", "SCHEDULED REPORT EMAILS", "Scheduled report emails"]
    members = [(make_feedback(i, title=t), make_account()) for i, t in enumerate(titles, start=1)]
    assert render_draft(members, WEIGHTS, OPTIONS).title == "Scheduled report emails"


def test_render_draft_in_chinese() -> None:
    draft = render_draft(_members(), WEIGHTS, RenderOptions(locale="zh-CN"))
    assert draft.body.startswith("2 个客户提出 · 年度收入 $1.0M")
    assert "优先级得分" in draft.body
