"""The Salesforce config section and its builder: secret from the environment, throttling classifier."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import ValidationError

from adapters.errors import RateLimitedError
from mappings.models import Cursor
from syncer.config import HubSpotConfig, JiraConfig, OrgConfig
from syncer.systems.salesforce import SalesforceConfig, build
from tests.contract.salesforce.conftest import fixture

INSTANCE = "https://acme.my.salesforce.com"


def _org() -> OrgConfig:
    tracker = JiraConfig(system="jira", base_url="https://acme.atlassian.net", email="a@b.c", project="PROD")
    return OrgConfig(org="acme", crm=HubSpotConfig(system="hubspot"), tracker=tracker)


def test_salesforce_config_defaults_and_validation() -> None:
    section = SalesforceConfig(system="salesforce", instance_url=f"{INSTANCE}/", token_env="SF_TOKEN")

    assert section.instance_url == INSTANCE
    assert section.api_version == "v61.0"
    assert section.fields.backlog_key == "Syncer_Backlog_Key__c"
    assert (
        SalesforceConfig(system="salesforce", instance_url=INSTANCE, api_version="62.0").api_version
        == "v62.0"
    )
    with pytest.raises(ValidationError):
        SalesforceConfig(system="salesforce", instance_url="ftp://acme")
    with pytest.raises(ValidationError):
        SalesforceConfig(system="salesforce", instance_url=INSTANCE, api_version="latest")


def test_build_reads_token_and_treats_request_limit_as_throttling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_TOKEN", "00Dxx!secret")
    section = SalesforceConfig(
        system="salesforce",
        instance_url=INSTANCE,
        token_env="SF_TOKEN",
        api_version="v62.0",
        fields={"feedback_object": "Feedback__c", "subject": "Title__c"},
    )
    crm, http = build(_org(), section, None)
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(f"{INSTANCE}/services/data/v62.0/query").mock(
            return_value=httpx.Response(403, json=fixture("error_request_limit.json"))
        )
        http._sleep = lambda s: None  # noqa: SLF001 - the builder's client sleeps for real between retries
        with pytest.raises(RateLimitedError):
            list(crm.iter_changed_feedback(Cursor.epoch(), Cursor.epoch().updated_at))
    http.close()

    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer 00Dxx!secret"
    assert "FROM Feedback__c" in request.url.params["q"]
    assert "Title__c" in request.url.params["q"]
    assert crm.system == http.system == "salesforce"
