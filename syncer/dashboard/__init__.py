"""The read-only web dashboard (`syncer dashboard`, and `/` of `syncer schedule`)."""

from syncer.dashboard.app import dashboard_app
from syncer.dashboard.auth import BasicCredentials, dashboard_credentials

__all__ = ["BasicCredentials", "dashboard_app", "dashboard_credentials"]
