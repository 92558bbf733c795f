"""The `tracker: {system: github}` section and its builder: headers, token handling, validation."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import respx

from syncer.config import OrgConfig, parse_org_config
from syncer.systems.github import GitHubConfig, build

TOKEN = "ghp-contract-token-0123456789"  # noqa: S105 - a test credential


def org(tmp_path: Path) -> OrgConfig:
    data = {
        "org": "acme",
        "crm": {"system": "hubspot", "token_env": "UNUSED"},
        "tracker": {
            "system": "jira",
            "base_url": "https://x.atlassian.net",
            "email": "a@b.c",
            "project": "PROD",
        },
    }
    return parse_org_config(tmp_path / "acme.yaml", data)


def section(tmp_path: Path, **overrides: object) -> GitHubConfig:
    token_file = tmp_path / "gh-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    values: dict[str, object] = {
        "system": "github",
        "owner": "acme",
        "repo": "product",
        "token_file": str(token_file),
        "base_url": "https://ghe.example.com/api/v3/",
    }
    values.update(overrides)
    return GitHubConfig.model_validate(values)


def test_build_sends_github_headers_under_the_ghes_prefix(tmp_path: Path) -> None:
    tracker, http = build(org(tmp_path), section(tmp_path), None)
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.get("https://ghe.example.com/api/v3/repos/acme/product/milestones").respond(
            200, json=[]
        )
        assert tracker.list_milestones() == ()
    headers = route.calls[0].request.headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert tracker.system == "github"
    http.close()


def test_build_follows_link_under_the_ghes_prefix(tmp_path: Path) -> None:
    tracker, http = build(org(tmp_path), section(tmp_path), None)
    base = "https://ghe.example.com/api/v3"
    nxt = f'<{base}/repositories/9/milestones?state=all&page=2>; rel="next"'
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        one = {"number": 1, "title": "v1", "state": "open", "updated_at": "2024-05-01T00:00:00Z"}
        router.get(f"{base}/repos/acme/product/milestones").respond(200, json=[one], headers={"Link": nxt})
        second = router.get(f"{base}/repositories/9/milestones").respond(200, json=[])
        assert [m.name for m in tracker.list_milestones()] == ["v1"]
    assert second.calls[0].request.url.path == "/api/v3/repositories/9/milestones"
    http.close()


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"owner": "acme/evil"}, id="owner-with-slash"),
        pytest.param({"project": "PROD"}, id="unknown-key"),
        pytest.param({"system": "jira"}, id="wrong-system"),
    ],
)
def test_config_rejects(tmp_path: Path, overrides: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        section(tmp_path, **overrides)
