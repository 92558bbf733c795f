"""Process tuning applied by the entry points."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_freezes_its_startup_heap_before_running_a_command() -> None:
    probe = "import gc; import syncer.cli as cli; cli.app = lambda: print(gc.get_freeze_count()); cli.main()"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert int(out) > 10_000  # the modules, schemas and metadata loaded at start
