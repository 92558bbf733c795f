"""Process tuning applied by the entry points."""

from __future__ import annotations

import json
import subprocess
import sys

from syncer.runtime import FULL_COLLECTION_EVERY


def test_the_cli_tunes_the_collector_before_running_a_command() -> None:
    probe = (
        "import gc, json; import syncer.cli as cli; "
        "cli.app = lambda: print(json.dumps([gc.get_freeze_count(), gc.get_threshold()])); cli.main()"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    frozen, (young, middle, full) = json.loads(out)
    assert frozen > 10_000  # the modules, schemas and metadata loaded at start
    assert (young, middle) == (700, 10)  # young collections as CPython's defaults: memory stays flat
    assert full == FULL_COLLECTION_EVERY > 10
