"""Settings read from ``VIGIL_*`` environment variables.

One frozen object is built at start-up and handed to every subsystem, so the web app, the CLI,
the scheduler and the workers all agree on the same configuration and nothing reads ``os.environ``
later. Production refuses to start on a missing or well-known secret key: a forged session cookie
would give an attacker the security team's whole list of weaknesses.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from app.errors import VigilError

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: templates/, static/ and migrations/ live beside app/."""

ENVIRONMENTS = ("development", "production", "test")

WELL_KNOWN_SECRETS = frozenset(
    {
        "",
        "dev",
        "development",
        "secret",
        "secret-key",
        "secret_key",
        "changeme",
        "change-me",
        "please-change-me",
        "vigil",
        "test",
        "default",
        "password",
        "admin",
    }
)
MIN_SECRET_LENGTH = 32


class ConfigError(VigilError, RuntimeError):
    """A configuration problem the operator must fix; its message is one line meant for humans."""


@dataclass(frozen=True)
class Settings:
    """Every tunable of Vigil. Field names map to ``VIGIL_<NAME>`` environment variables."""

    env: str = "development"
    instance_path: Path = ROOT / "instance"
    database_url: str = ""
    secret_key: str = ""
    # Encrypts TOTP secrets at rest; empty: derived from secret_key (see app.security.secret_box).
    totp_key: str = ""
    redis_url: str = ""
    log_level: str = "INFO"
    # Web
    cookie_secure: bool = True
    trusted_proxies: int = 0
    max_upload_mb: int = 200
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    fresh_auth_minutes: int = 15
    login_lockout_failures: int = 5
    login_lockout_minutes: int = 15
    require_totp: bool | None = None
    # Scanning
    work_dir: Path | None = None
    scan_timeout_seconds: int = 1800
    scan_output_cap_mb: int = 512
    scan_memory_mb: int = 4096
    scan_cpu_seconds: int = 3600
    worker_threads: int = 2
    # Scheduling
    scheduler_enabled: bool = True
    default_schedule: str = "0 2 * * *"
    misfire_grace_seconds: int = 6 * 3600
    advisory_max_age_days: int = 7
    raw_output_retention_days: int = 90
    # Notifications
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_from: str = ""
    webhook_url: str = ""
    # Accepted risks: longest allowed expiry per severity (days), review window, stale threshold.
    exception_max_days: str = "critical=30,high=90,medium=180,low=365,info=365"
    exception_review_days: int = 14
    exception_stale_scans: int = 5
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def totp_required(self) -> bool:
        """Second factor is enforced for admins and approvers in production unless overridden."""
        return self.is_production if self.require_totp is None else self.require_totp

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def scans_dir(self) -> Path:
        return self.work_dir or (self.instance_path / "work")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _coerce(raw: str, current: Any, name: str) -> Any:
    if isinstance(current, bool) or name in {"require_totp"}:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"VIGIL_{name.upper()} must be true or false, got {raw!r}")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"VIGIL_{name.upper()} must be a whole number, got {raw!r}") from None
    if isinstance(current, Path) or name in {"work_dir"}:
        return Path(raw).expanduser()
    return raw


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build settings from the environment, then apply explicit overrides (tests, CLI flags)."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        raw = environ.get(f"VIGIL_{f.name.upper()}")
        if raw is not None and raw != "":
            values[f.name] = _coerce(raw, getattr(settings, f.name), f.name)
    extra: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key in {f.name for f in fields(Settings)}:
            values[key] = value
        else:
            extra[key] = value
    if extra:
        values["extra"] = extra
    settings = replace(settings, **values)
    if settings.env not in ENVIRONMENTS:
        raise ConfigError(f"VIGIL_ENV must be one of {', '.join(ENVIRONMENTS)}, got {settings.env!r}")
    settings = replace(settings, instance_path=Path(settings.instance_path).resolve())
    if not settings.database_url:
        settings = replace(settings, database_url=f"sqlite:///{settings.instance_path / 'vigil.db'}")
    return replace(settings, secret_key=_resolve_secret(settings))


def _check_strong(name: str, key: str) -> None:
    """Refuse a missing, well-known or short key: production secrets must be random."""
    if key.strip().lower() in WELL_KNOWN_SECRETS:
        raise ConfigError(
            f"{name} is missing or a well-known default; production needs a random key "
            f"of at least {MIN_SECRET_LENGTH} characters (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{name} is too short for production: {len(key)} characters, at least {MIN_SECRET_LENGTH} needed"
        )


def _resolve_secret(settings: Settings) -> str:
    key = settings.secret_key
    if settings.is_production:
        _check_strong("VIGIL_SECRET_KEY", key)
        if settings.totp_key:
            _check_strong("VIGIL_TOTP_KEY", settings.totp_key)
        return key
    if key:
        return key
    return _instance_secret(settings.instance_path)


def _instance_secret(instance_path: Path) -> str:
    """Outside production, keep a generated key in the instance folder so sessions survive restarts."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
