"""Everything read from the environment: service settings and secrets. Nothing else reads os.environ."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from syncer.errors import ConfigError


class ServiceSettings(BaseSettings):
    """`SYNCER_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SYNCER_", extra="ignore")

    database_url: str | None = None  # unset: a SQLite file ./syncer.db (the demo uses a temporary one)
    config_dir: Path = Path("orgs")
    log_level: str | None = None  # unset: INFO, or WARNING for the demo
    log_format: str | None = None  # json | console; unset: json, or console for the demo
    redis_url: str | None = None  # set: API budgets are shared by every replica (one per vendor account)
    lease_seconds: float = 300.0  # a dead worker's org lease expires after this; a live one renews it
    worker_heartbeat_seconds: float = 10.0  # `syncer worker`: how often a worker says it is alive
    worker_stalled_seconds: float = 30.0  # a worker silent this long is dead: its org runs are re-queued
    failpoint: str | None = None  # crash-test hook, see syncer/failpoints.py; never set in production
    # the web dashboard's basic auth (both or neither); *_file: e.g. /run/secrets/dashboard_password
    dashboard_user: str | None = None
    dashboard_user_file: Path | None = None
    dashboard_password: SecretStr | None = None
    dashboard_password_file: Path | None = None

    @property
    def database(self) -> str:
        return self.database_url or "sqlite:///syncer.db"


def read_secret(*, env: str | None, file: Path | None, where: str) -> SecretStr:
    """Read a secret named by config: from a file (e.g. /run/secrets/x) or an environment variable.

    `where` names the config file and key for the error message.
    """
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{where}: cannot read secret file {file}: {exc.strerror}; mount it or fix the path"
            ) from exc
        if not value:
            raise ConfigError(f"{where}: secret file {file} is empty")
        return SecretStr(value)
    if not env:
        raise ConfigError(
            f"{where}: no secret configured; set `token_env: SOME_ENV_VAR` or `token_file: /run/secrets/x`"
        )
    source = create_model(
        "SecretSource",
        __base__=BaseSettings,
        value=(SecretStr | None, Field(default=None, validation_alias=env)),
    )
    secret = source().value  # type: ignore[attr-defined]
    if secret is None or not secret.get_secret_value().strip():
        raise ConfigError(
            f"{where}: environment variable {env} is not set; export {env}=<token> before running"
        )
    return SecretStr(secret.get_secret_value().strip())
