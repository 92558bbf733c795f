"""Run singer's tap-hubspot 4.5 against an emulator instead of api.hubapi.com.

Runs in bench/.venv-tap's interpreter (the tap's pins never touch the project venv), so it imports
nothing of ours. Usage: `tap_wrapper.py BASE_URL <tap-hubspot arguments>`.

The tap reads every URL from the module constant `tap_hubspot.BASE_URL`. Its stream list is cut to
`tickets`, the only stream compared: discovery would otherwise read the property definitions of
contacts, companies and deals through legacy v1/v2 endpoints the emulator does not serve.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def main() -> None:
    base_url, args = sys.argv[1].rstrip("/"), sys.argv[2:]
    tap: Any = importlib.import_module("tap_hubspot")
    tap.BASE_URL = base_url
    tap.STREAMS[:] = [s for s in tap.STREAMS if s.tap_stream_id == "tickets"]
    sys.argv = ["tap-hubspot", *args]
    tap.main()


if __name__ == "__main__":
    main()
