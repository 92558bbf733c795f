"""The Redmine config section and builder: the API key goes in X-Redmine-API-Key and into the redactor."""

from __future__ import annotations

import httpx
import pytest
import respx

from syncer.config import OrgConfig
from syncer.systems.redmine import RedmineConfig, build


@respx.mock
def test_build_sends_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDMINE_KEY", "s3cret")
    section = RedmineConfig.model_validate(
        {"system": "redmine", "base_url": "https://rm.example.com/", "token_env": "REDMINE_KEY",
         "project": "product", "marker_field_id": 4, "priorities": {"high": 5}}
    )  # fmt: skip
    config = OrgConfig.model_construct(org="acme", source=None)
    tracker, http = build(config, section, None)
    route = respx.get("https://rm.example.com/projects/product/versions.json").mock(
        return_value=httpx.Response(200, json={"versions": [], "total_count": 0})
    )
    assert tracker.list_milestones() == ()
    assert route.calls[0].request.headers["X-Redmine-API-Key"] == "s3cret"
    assert tracker.system == http.system == "redmine"
    http.close()


def test_config_rejects_a_missing_marker_field() -> None:
    with pytest.raises(ValueError, match="marker_field_id"):
        RedmineConfig.model_validate({"system": "redmine", "base_url": "x", "project": "p"})
