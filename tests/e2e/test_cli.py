"""The `syncer` command as a user runs it: a real subprocess against the emulators."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.e2e.conftest import TOKEN, Stack

PYTHON = sys.executable


def _syncer(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "syncer", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update({"SYNCER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PYTHONPATH": str(Path.cwd())})
    env.update(extra)
    return env


def _org_dir(stack: Stack, tmp_path: Path) -> Path:
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    data = {
        "org": "acme",
        "crm": {"system": "hubspot", "base_url": stack.hubspot_url, "token_env": "ACME_HUBSPOT_TOKEN"},
        "tracker": {
            "system": "jira",
            "base_url": stack.jira_url,
            "email": "bot@example.com",
            "token_env": "ACME_JIRA_TOKEN",
            "project": "PROD",
        },
    }
    (orgs / "acme.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return orgs


def test_cli_run_prints_one_json_pass_and_never_logs_secrets(stack: Stack, tmp_path: Path) -> None:
    orgs = _org_dir(stack, tmp_path)
    env = _env(tmp_path, ACME_HUBSPOT_TOKEN=TOKEN, ACME_JIRA_TOKEN=TOKEN, SYNCER_LOG_LEVEL="DEBUG")

    result = _syncer(["run", "--org", "acme", "--config-dir", str(orgs), "--json"], env, tmp_path)

    assert result.returncode == 1, result.stderr  # the seeded orphan tickets are dead letters
    summary = json.loads(result.stdout)
    [one] = summary["passes"]
    assert set(one) == {
        "name",
        "items_created",
        "items_updated",
        "alerts_created",
        "dead_letters",
        "requests",
    }
    assert one["items_created"] == len(stack.jira.issues()) > 0
    assert '"event": "http.responded"' in result.stderr, "debug logs should show the HTTP traffic"
    assert TOKEN not in result.stderr + result.stdout
    basic = base64.b64encode(f"bot@example.com:{TOKEN}".encode()).decode()
    assert basic not in result.stderr + result.stdout  # nor the encoded Basic credentials


def test_cli_status_shows_runs_items_and_dead_letters(stack: Stack, tmp_path: Path) -> None:
    orgs = _org_dir(stack, tmp_path)
    env = _env(tmp_path, ACME_HUBSPOT_TOKEN=TOKEN, ACME_JIRA_TOKEN=TOKEN)
    _syncer(["run", "--org", "acme", "--config-dir", str(orgs)], env, tmp_path)

    result = _syncer(["status", "--org", "acme", "--json"], env, tmp_path)

    status = json.loads(result.stdout)
    assert status["backlog_items"] == len(stack.jira.issues())
    assert status["dead_letters"] > 0
    assert status["runs"][0]["status"] == "partial"
    human = _syncer(["status", "--org", "acme"], env, tmp_path)
    assert "Dead letters" in human.stdout
    assert "no associated account/company" in human.stdout


def test_cli_missing_token_exits_2_naming_the_env_var(stack: Stack, tmp_path: Path) -> None:
    orgs = _org_dir(stack, tmp_path)
    result = _syncer(
        ["run", "--org", "acme", "--config-dir", str(orgs)], _env(tmp_path, ACME_JIRA_TOKEN="x"), tmp_path
    )
    assert result.returncode == 2
    assert "ACME_HUBSPOT_TOKEN is not set" in result.stderr
    assert "acme.yaml" in result.stderr


def test_cli_validate_exits_2_naming_file_key_and_fix(tmp_path: Path) -> None:
    orgs = tmp_path / "orgs"
    orgs.mkdir()
    (orgs / "bad.yaml").write_text(
        "org: bad\ncrm: {system: hubspot}\ntracker: {system: jira, email: a@b.c}\n"
    )
    result = _syncer(["validate", str(orgs)], _env(tmp_path), tmp_path)
    assert result.returncode == 2
    for fragment in ("bad.yaml", "tracker.project", "fix: add it"):
        assert fragment in result.stderr


def test_cli_validate_accepts_the_examples(tmp_path: Path) -> None:
    result = _syncer(["validate", str(Path.cwd() / "examples" / "orgs")], _env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "acme.yaml" in result.stdout


def test_cli_unknown_org_exits_2(tmp_path: Path) -> None:
    (tmp_path / "orgs").mkdir()
    result = _syncer(
        ["run", "--org", "nobody", "--config-dir", str(tmp_path / "orgs")], _env(tmp_path), tmp_path
    )
    assert result.returncode == 2
    assert "no config for org 'nobody'" in result.stderr


def test_cli_demo_json_creates_then_repeats_with_no_change(tmp_path: Path) -> None:
    result = _syncer(["demo", "--json"], _env(tmp_path, SYNCER_DATABASE_URL=""), tmp_path)
    assert result.returncode == 0, result.stderr
    passes = json.loads(result.stdout)["passes"]
    first, repeat, edited, repeat2, planned, shipped, last = passes
    assert 0 < first["items_created"] < 600
    for quiet in (repeat, repeat2):
        assert (quiet["items_created"], quiet["items_updated"], quiet["alerts_created"]) == (0, 0, 0)
    assert (edited["items_created"], edited["items_updated"]) == (0, 1)
    assert planned["alerts_created"] > 0
    assert shipped["alerts_created"] > 0
    assert (last["items_created"], last["items_updated"], last["alerts_created"], last["dead_letters"]) == (
        0,
        0,
        0,
        0,
    )


def test_cli_status_speaks_chinese_for_a_zh_cn_org(stack: Stack, tmp_path: Path) -> None:
    orgs = _org_dir(stack, tmp_path)
    config = yaml.safe_load((orgs / "acme.yaml").read_text())
    config["locale"] = "zh-CN"
    (orgs / "acme.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    env = _env(tmp_path, ACME_HUBSPOT_TOKEN=TOKEN, ACME_JIRA_TOKEN=TOKEN)
    _syncer(["run", "--org", "acme", "--config-dir", str(orgs)], env, tmp_path)

    human = _syncer(["status", "--org", "acme", "--config-dir", str(orgs)], env, tmp_path)

    assert human.returncode == 0, human.stderr
    for phrase in ("已关联", "最近运行", "需求排行", "客户数", "死信（需要处理）"):
        assert phrase in human.stdout


def test_cli_dry_run_shows_the_plan_then_rescan_is_a_dry_run_until_apply(
    stack: Stack, tmp_path: Path
) -> None:
    orgs = _org_dir(stack, tmp_path)
    env = _env(tmp_path, ACME_HUBSPOT_TOKEN=TOKEN, ACME_JIRA_TOKEN=TOKEN)
    args = ["--org", "acme", "--config-dir", str(orgs)]

    dry = _syncer(["run", *args, "--dry-run", "--json"], env, tmp_path)
    assert dry.returncode == 0, dry.stderr
    body = json.loads(dry.stdout)
    assert body["dry_run"] is True
    assert len(body["plan"]["creates"]) == body["passes"][0]["items_created"] > 0
    assert stack.jira.issues() == [], "a dry run created Jira issues"

    assert _syncer(["run", *args], env, tmp_path).returncode in (0, 1)  # 1: seeded bad records
    created = len(stack.jira.issues())
    assert created == len(body["plan"]["creates"]), "the real run did something else than planned"
    rescan = _syncer(["rescan", *args], env, tmp_path)  # a dry run by default, shown as tables
    assert rescan.returncode == 0, rescan.stderr
    assert "Items to update" in rescan.stdout
    assert "Nothing was written" in rescan.stdout
    assert "syncer rescan --org acme --apply" in rescan.stdout
    applied = _syncer(["rescan", *args, "--apply", "--json"], env, tmp_path)
    assert json.loads(applied.stdout)["passes"][0]["items_created"] == 0
    assert len(stack.jira.issues()) == created


def test_cli_unreachable_state_database_is_one_clear_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://syncer:hunter2-secret@127.0.0.1:9/state"  # port 9: nothing listens
    result = _syncer(["status", "--org", "acme"], _env(tmp_path, SYNCER_DATABASE_URL=url), tmp_path)
    assert result.returncode == 1
    assert "state database postgresql+psycopg://syncer:***@127.0.0.1:9/state" in result.stderr
    assert "check SYNCER_DATABASE_URL" in result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
