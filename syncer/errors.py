"""Errors raised by the service layer."""

from __future__ import annotations


class ConfigError(Exception):
    """A config file or setting is wrong; the message names the file, the key and the fix."""
