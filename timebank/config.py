"""Settings read from the environment (``TIMEBANK_*``), documented in README."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./timebank.db"
# Only ever used in development, where a restart logging everybody out is harmless.
_DEV_SECRET = secrets.token_urlsafe(32)


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    env: str = "production"
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Upgrade the schema at start; on by default in development only.
    auto_upgrade: bool = False
    run_scheduler: bool = True
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "timebank@localhost"
    smtp_tls: str = "none"  # none | starttls | tls
    base_url: str = "http://127.0.0.1:8000"

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def load_settings(environ: dict[str, str] | None = None, *, env: str | None = None) -> Settings:
    """Read settings; ``env`` overrides TIMEBANK_ENV (``serve --demo`` means development)."""
    e = os.environ if environ is None else environ
    mode = env or e.get("TIMEBANK_ENV") or "production"
    if mode not in {"development", "production"}:
        raise ConfigError(f"TIMEBANK_ENV must be 'development' or 'production', not {mode!r}")
    secret = e.get("TIMEBANK_SECRET_KEY", "")
    if not secret:
        if mode != "development":
            raise ConfigError(
                "TIMEBANK_SECRET_KEY is not set: set it to a long random string "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
                "or use TIMEBANK_ENV=development on a machine of your own"
            )
        secret = _DEV_SECRET
    elif len(secret) < 16:
        raise ConfigError("TIMEBANK_SECRET_KEY is too short: use at least 16 characters")
    smtp_tls = e.get("TIMEBANK_SMTP_TLS", "none")
    if smtp_tls not in {"none", "starttls", "tls"}:
        raise ConfigError("TIMEBANK_SMTP_TLS must be one of none, starttls, tls")
    port = _int("TIMEBANK_PORT", e.get("TIMEBANK_PORT"), 8000)
    host = e.get("TIMEBANK_HOST", "127.0.0.1")
    return Settings(
        database_url=e.get("TIMEBANK_DATABASE_URL") or DEFAULT_DATABASE_URL,
        env=mode,
        secret_key=secret,
        host=host,
        port=port,
        auto_upgrade=_flag(e.get("TIMEBANK_AUTO_UPGRADE"), mode == "development"),
        run_scheduler=_flag(e.get("TIMEBANK_SCHEDULER"), True),
        smtp_host=e.get("TIMEBANK_SMTP_HOST", ""),
        smtp_port=_int("TIMEBANK_SMTP_PORT", e.get("TIMEBANK_SMTP_PORT"), 25),
        smtp_user=e.get("TIMEBANK_SMTP_USER", ""),
        smtp_password=e.get("TIMEBANK_SMTP_PASSWORD", ""),
        smtp_from=e.get("TIMEBANK_SMTP_FROM", "timebank@localhost"),
        smtp_tls=smtp_tls,
        base_url=e.get("TIMEBANK_BASE_URL") or f"http://{host}:{port}",
    )
