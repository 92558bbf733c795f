"""Run Alembic migrations programmatically (no alembic.ini needed at runtime)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


MIGRATION_LOCK = 7_362_001  # pg_advisory_lock key: replicas starting together migrate one at a time


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade; on PostgreSQL under an advisory lock so concurrent starters don't race."""
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this version of syncer ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


class MigrationError(Exception):
    """The database could not be reached or migrated; the message names it (password hidden)."""


def migrate_url(url: str) -> tuple[str, str | None, str | None, str | None]:
    """Migrate the database at `url`: returns (shown url, revision before, after, head)."""
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url)
    try:
        before, target = current_revision(engine), head_revision()
        if before != target:
            upgrade(engine)
        return shown, before, current_revision(engine), target
    except SQLAlchemyError as exc:
        raise MigrationError(f"migration failed on {shown}: {exc}") from exc
    finally:
        engine.dispose()
