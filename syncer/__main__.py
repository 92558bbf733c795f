"""`python -m syncer` runs the CLI."""

from syncer.cli import app

app()
