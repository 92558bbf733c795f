"""The Jiandaoyun config section and its builder."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from syncer.systems.jiandaoyun import JiandaoyunConfig, settings_for

SECTION = {
    "system": "jiandaoyun",
    "token_env": "JDY_KEY",
    "app_id": "app1",
    "feedback_entry_id": "fb",
    "customer_entry_id": "cu",
    "followup_entry_id": "fu",
    "fields": {"title": "_widget_1432728651402", "alert_key": "_widget_1432728651999"},
}


def test_config_maps_to_settings() -> None:
    section = JiandaoyunConfig.model_validate(SECTION)
    s = settings_for(section)
    assert section.base_url == "https://api.jiandaoyun.com"
    assert section.feedback.categories == ("功能需求",)
    assert (s.app_id, s.feedback_entry_id, s.customer_entry_id, s.followup_entry_id) == (
        "app1",
        "fb",
        "cu",
        "fu",
    )
    assert s.title_field == "_widget_1432728651402"
    assert s.alert_key_field == "_widget_1432728651999"
    assert s.backlog_key_field == "_widget_backlog_key"


def test_config_rejects_unknown_fields_and_plain_http() -> None:
    with pytest.raises(ValidationError):
        JiandaoyunConfig.model_validate({**SECTION, "bogus": 1})
    with pytest.raises(ValidationError):
        JiandaoyunConfig.model_validate({**SECTION, "base_url": "http://api.jiandaoyun.com"})
    with pytest.raises(ValidationError):
        JiandaoyunConfig.model_validate({**SECTION, "overlap_seconds": 5})
