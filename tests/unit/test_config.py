from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncer.config import load_org_config
from syncer.errors import ConfigError
from syncer.settings import read_secret

GOOD = {
    "org": "acme",
    "crm": {"system": "hubspot", "token_env": "ACME_HUBSPOT_TOKEN"},
    "tracker": {
        "system": "jira",
        "base_url": "https://acme.atlassian.net",
        "email": "bot@acme.com",
        "token_env": "ACME_JIRA_TOKEN",
        "project": "PROD",
    },
}


def _write(tmp_path: Path, data: object, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_load_org_config_accepts_a_minimal_file(tmp_path: Path) -> None:
    config = load_org_config(_write(tmp_path, GOOD))
    assert config.org == "acme"
    assert config.crm.feedback.categories == ("FEATURE_REQUEST",)
    assert config.tracker.project == "PROD"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda d: d["tracker"].pop("project"),
            ["tracker.project", "Field required", "add it"],
            id="missing-key",
        ),
        pytest.param(
            lambda d: d["crm"].update(tokn_env="X"),
            ["crm.tokn_env", "remove it or check its spelling"],
            id="typo",
        ),
        pytest.param(
            lambda d: d["tracker"].update(project="prod"),
            ["tracker.project", "Jira project key"],
            id="bad-project-key",
        ),
        pytest.param(lambda d: d["crm"].update(system="zoho"), ["crm", "system"], id="unknown-system"),
        pytest.param(
            lambda d: (
                d["priority"].update(arr_unit=0) if "priority" in d else d.update(priority={"arr_unit": 0})
            ),
            ["priority.arr_unit", "greater than 0"],
            id="bad-number",
        ),
    ],
)
def test_load_org_config_names_file_key_and_fix(tmp_path: Path, mutate, expected: list[str]) -> None:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    mutate(data)
    with pytest.raises(ConfigError) as info:
        load_org_config(_write(tmp_path, data))
    message = str(info.value)
    assert str(tmp_path / "acme.yaml") in message
    for fragment in expected:
        assert fragment in message


def test_load_org_config_reports_yaml_syntax_with_line(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text("org: acme\ncrm: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"acme.yaml: line \d+, column \d+: not valid YAML"):
        load_org_config(path)


def test_load_org_config_requires_org_to_match_file_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rename the file to acme.yaml"):
        load_org_config(_write(tmp_path, GOOD, "other.yaml"))


def test_read_secret_names_the_missing_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_JIRA_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="environment variable ACME_JIRA_TOKEN is not set"):
        read_secret(env="ACME_JIRA_TOKEN", file=None, where="orgs/acme.yaml: tracker.token_env")


def test_read_secret_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ACME_JIRA_TOKEN", " s3cret \n")
    assert read_secret(env="ACME_JIRA_TOKEN", file=None, where="x").get_secret_value() == "s3cret"
    secret_file = tmp_path / "token"
    secret_file.write_text("from-file\n")
    assert read_secret(env=None, file=secret_file, where="x").get_secret_value() == "from-file"


def test_read_secret_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read secret file .*mount it or fix the path"):
        read_secret(env=None, file=tmp_path / "nope", where="orgs/acme.yaml: crm.token_file")
