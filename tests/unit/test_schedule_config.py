from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncer.config import load_org_config
from syncer.errors import ConfigError
from tests.unit.test_config import GOOD


def _write(tmp_path: Path, schedule: object | None) -> Path:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    if schedule is not None:
        data["schedule"] = schedule
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_org_config_schedule_defaults_to_every_15_minutes(tmp_path: Path) -> None:
    assert load_org_config(_write(tmp_path, None)).schedule == "*/15 * * * *"


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param("0 3 * * 1-5", id="weekday-nights"),
        pytest.param("*/5 * * * *", id="every-5-minutes"),
        pytest.param("@hourly", id="alias"),
    ],
)
def test_org_config_schedule_accepts_cron(tmp_path: Path, schedule: str) -> None:
    assert load_org_config(_write(tmp_path, schedule)).schedule == schedule


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        pytest.param("every 15 minutes", "5 fields", id="prose"),
        pytest.param("61 * * * *", "5 fields", id="minute-out-of-range"),
        pytest.param("* * * *", "5 fields", id="four-fields"),
        pytest.param("*/5 * * * * *", "5 fields", id="seconds-field"),
        pytest.param("0 0 30 2 *", "never fires", id="30-february"),
    ],
)
def test_org_config_schedule_rejects_bad_cron_naming_file_key_and_fix(
    tmp_path: Path, schedule: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_org_config(_write(tmp_path, schedule))
    message = str(info.value)
    assert str(tmp_path / "acme.yaml") in message
    assert "schedule:" in message
    assert expected in message
    assert "fix:" in message
