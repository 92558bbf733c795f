from __future__ import annotations

from datetime import date

import pytest

from mappings.alerts import Waiting, alert_key, effective_event, fan_out
from mappings.models import AlertEvent, AlertItem, MilestoneState
from tests.factories import make_account, make_feedback, make_milestone

TODAY = date(2026, 3, 1)
ITEM_A = AlertItem(key="PROD-1", title="Export reports to CSV", url="https://j/browse/PROD-1")
ITEM_B = AlertItem(key="PROD-2", title="Dark mode")


def _waiting(account_id: str, item: AlertItem, fb_id: int, promise: date | None = None) -> Waiting:
    account = make_account(id=account_id, name=f"Account {account_id}")
    return Waiting(account, item, (make_feedback(fb_id, account_id=account_id, promised_date=promise),))


@pytest.mark.parametrize(
    ("event", "due", "promise", "shipped", "expected"),
    [
        pytest.param(AlertEvent.SLIPPED, date(2026, 5, 1), None, TODAY, AlertEvent.SLIPPED, id="no-promise"),
        pytest.param(
            AlertEvent.SLIPPED,
            date(2026, 5, 1),
            date(2026, 4, 1),
            TODAY,
            AlertEvent.AT_RISK,
            id="slip-past-promise",
        ),
        pytest.param(
            AlertEvent.SLIPPED,
            date(2026, 5, 1),
            date(2026, 6, 1),
            TODAY,
            AlertEvent.SLIPPED,
            id="slip-still-within-promise",
        ),
        pytest.param(
            AlertEvent.SLIPPED, None, date(2026, 6, 1), TODAY, AlertEvent.AT_RISK, id="date-removed"
        ),
        pytest.param(
            AlertEvent.SCHEDULED,
            date(2026, 7, 1),
            date(2026, 6, 1),
            TODAY,
            AlertEvent.AT_RISK,
            id="scheduled-after-promise",
        ),
        pytest.param(
            AlertEvent.RELEASED, None, date(2026, 6, 1), TODAY, AlertEvent.KEPT, id="shipped-in-time"
        ),
        pytest.param(
            AlertEvent.RELEASED, None, date(2026, 2, 1), TODAY, AlertEvent.RELEASED, id="shipped-late"
        ),
        pytest.param(
            AlertEvent.DUE_SOON,
            date(2026, 3, 5),
            date(2026, 2, 1),
            TODAY,
            AlertEvent.DUE_SOON,
            id="due-soon-unchanged",
        ),
    ],
)
def test_effective_event(event, due, promise, shipped, expected) -> None:  # type: ignore[no-untyped-def]
    assert effective_event(event, due, promise, shipped) is expected


def test_fan_out_sends_one_alert_per_account_listing_all_its_items() -> None:
    milestone = make_milestone(state=MilestoneState.RELEASED)
    waiting = [_waiting("c1", ITEM_A, 1), _waiting("c1", ITEM_B, 2), _waiting("c2", ITEM_A, 3)]
    alerts = fan_out("acme", AlertEvent.RELEASED, milestone, waiting, today=TODAY)
    assert [(a.account_id, [i.key for i in a.items]) for a in alerts] == [
        ("c1", ["PROD-1", "PROD-2"]),
        ("c2", ["PROD-1"]),
    ]
    first = alerts[0]
    assert first.owner is not None
    assert first.feedback_ids == ("1", "2")
    assert first.subject == "Shipped: 2.4 (Account c1)"
    assert "PROD-2: Dark mode" in first.message
    assert "What to do:" in first.message


def test_fan_out_turns_a_slip_into_at_risk_only_for_accounts_whose_promise_is_missed() -> None:
    milestone = make_milestone(due=date(2026, 5, 1))
    waiting = [
        _waiting("c1", ITEM_A, 1, promise=date(2026, 4, 15)),
        _waiting("c2", ITEM_A, 2, promise=date(2026, 6, 1)),
        _waiting("c3", ITEM_A, 3),
    ]
    alerts = fan_out(
        "acme", AlertEvent.SLIPPED, milestone, waiting, today=TODAY, previous_due=date(2026, 4, 1)
    )
    assert [(a.account_id, a.event) for a in alerts] == [
        ("c1", AlertEvent.AT_RISK),
        ("c2", AlertEvent.SLIPPED),
        ("c3", AlertEvent.SLIPPED),
    ]
    assert alerts[0].promised == date(2026, 4, 15)
    assert "promise of 2026-04-15" in alerts[0].subject
    assert "moved from 2026-04-01 to 2026-05-01" in alerts[1].subject


def test_alert_keys_are_stable_and_distinguish_dates() -> None:
    a = alert_key("acme", "100", AlertEvent.SLIPPED, "c1", date(2026, 5, 1))
    assert a == alert_key("acme", "100", AlertEvent.SLIPPED, "c1", date(2026, 5, 1))
    assert a != alert_key("acme", "100", AlertEvent.SLIPPED, "c1", date(2026, 6, 1))
    assert a != alert_key("acme", "100", AlertEvent.SLIPPED, "c2", date(2026, 5, 1))


def test_fan_out_is_deterministic_in_any_order() -> None:
    milestone = make_milestone()
    waiting = [_waiting("c2", ITEM_A, 3), _waiting("c1", ITEM_B, 2), _waiting("c1", ITEM_A, 1)]
    forward = fan_out("acme", AlertEvent.DUE_SOON, milestone, waiting, today=TODAY)
    assert forward == fan_out("acme", AlertEvent.DUE_SOON, milestone, list(reversed(waiting)), today=TODAY)


def test_fan_out_speaks_chinese_for_a_zh_cn_org() -> None:
    milestone = make_milestone(name="核心模块测试完成", due=date(2026, 5, 1))
    waiting = [_waiting("c1", ITEM_A, 1, promise=date(2026, 4, 15)), _waiting("c2", ITEM_B, 2)]
    at_risk, slipped = fan_out(
        "acme",
        AlertEvent.SLIPPED,
        milestone,
        waiting,
        today=TODAY,
        previous_due=date(2026, 4, 1),
        locale="zh-CN",
    )
    assert (
        at_risk.subject
        == "风险：对Account c1承诺的 2026-04-15 可能无法兑现——核心模块测试完成 现计划于 2026-05-01"
    )
    assert slipped.subject == "延期：核心模块测试完成 从 2026-04-01 推迟到 2026-05-01（Account c2）"
    assert "Account c2提出的需求：" in slipped.message
    assert "建议：请尽快与客户沟通新的时间" in slipped.message
