"""singer's tap-hubspot 4.5 extracting the tickets stream from the emulator, in a venv of its own.

The venv (bench/.venv-tap) is created on first use from the package index pip is configured with;
the tap runs as a subprocess through bench/tap_wrapper.py, which points `tap_hubspot.BASE_URL` at the
emulator. Discovery writes the catalog once; we select the `tickets` stream and all its fields (what
`meltano select tap-hubspot tickets "*"` would do). Each sync run reads the previous run's STATE.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.hubspot.emulator_v4 import REFRESH_TOKEN

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-tap"
WRAPPER = HERE / "tap_wrapper.py"
TAP_VERSION = "4.5.0"
_FETCHED = re.compile(r"Fetched (\d+) raw tickets records")


@dataclass(frozen=True)
class TapPass:
    records: int  # RECORD messages emitted (after the tap's client-side updatedAt filter)
    fetched: int  # tickets read from the API (the tap logs it); every run reads them all
    state: dict[str, Any]


def tap_python() -> Path:
    """The venv's interpreter, creating the venv and installing the tap on first use."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import tap_hubspot"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    print(f"creating {VENV} with tap-hubspot=={TAP_VERSION} ...", file=sys.stderr, flush=True)
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "pip"), "install", "-q", f"tap-hubspot=={TAP_VERSION}"]
    subprocess.run(pip, check=True)
    return python


class TapRunner:
    """One tap configuration (config and catalog files under `workdir`) against one emulator."""

    def __init__(self, hub_url: str, workdir: Path) -> None:
        self.hub_url, self.workdir = hub_url, workdir
        self.python = tap_python()
        self.config = workdir / "tap-config.json"
        config = {
            "client_id": "bench-client",
            "client_secret": "bench-client-secret",
            "redirect_uri": "http://127.0.0.1/oauth-callback",
            "refresh_token": REFRESH_TOKEN,
            "start_date": "2000-01-01T00:00:00Z",
            "request_timeout": 60,
        }
        self.config.write_text(json.dumps(config), encoding="utf-8")
        self.catalog = workdir / "tap-catalog.json"

    def discover(self) -> None:
        """`--discover`, then select the tickets stream and every field of it."""
        out, _ = self._tap("--discover")
        catalog = json.loads(out)
        for stream in catalog["streams"]:
            chosen = stream["tap_stream_id"] == "tickets"
            for entry in stream["metadata"]:
                entry["metadata"]["selected"] = chosen
        self.catalog.write_text(json.dumps(catalog), encoding="utf-8")

    def sync(self, state: dict[str, Any] | None) -> TapPass:
        args = ["--properties", str(self.catalog)]  # 4.5 reads the catalog from --properties
        if state:
            state_file = self.workdir / "tap-state.json"
            state_file.write_text(json.dumps(state), encoding="utf-8")
            args += ["--state", str(state_file)]
        records, last_state = 0, state or {}
        out, log = self._tap(*args)
        fetched = sum(int(m.group(1)) for m in _FETCHED.finditer(log))
        for line in out.splitlines():
            message = json.loads(line)
            if message.get("type") == "RECORD":
                records += 1
            elif message.get("type") == "STATE":
                last_state = message["value"]
        return TapPass(records, fetched, last_state)

    def _tap(self, *args: str) -> tuple[str, str]:
        """(stdout: singer messages, stderr: the tap's log)."""
        command = [str(self.python), str(WRAPPER), self.hub_url, "--config", str(self.config), *args]
        run = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.workdir)
        if run.returncode != 0:
            raise RuntimeError(f"tap-hubspot failed ({run.returncode}): {run.stderr[-2000:]}")
        return run.stdout, run.stderr
