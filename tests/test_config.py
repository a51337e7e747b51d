"""Settings from the environment; production refuses unsafe secrets with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_settings


def test_defaults_use_sqlite_in_instance_folder(tmp_path: Path) -> None:
    settings = load_settings(environ={"VIGIL_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'vigil.db'}"
    assert len(settings.secret_key) >= 32
    # The generated development key is kept, so sessions survive a restart.
    assert load_settings(environ={"VIGIL_INSTANCE_PATH": str(tmp_path)}).secret_key == settings.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("secret", ["", "changeme", "secret", "short-but-random-1234"])
def test_production_refuses_missing_or_weak_secret(tmp_path: Path, secret: str) -> None:
    env = {"VIGIL_ENV": "production", "VIGIL_SECRET_KEY": secret, "VIGIL_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ=env)
    message = str(excinfo.value)
    assert "VIGIL_SECRET_KEY" in message and "\n" not in message


def test_production_accepts_strong_secret(tmp_path: Path) -> None:
    env = {
        "VIGIL_ENV": "production",
        "VIGIL_SECRET_KEY": "k" * 20 + "Zq9" * 10,
        "VIGIL_INSTANCE_PATH": str(tmp_path),
    }
    settings = load_settings(environ=env)
    assert settings.is_production and settings.totp_required


def test_bad_values_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VIGIL_MAX_UPLOAD_MB"):
        load_settings(environ={"VIGIL_MAX_UPLOAD_MB": "lots", "VIGIL_INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match="VIGIL_ENV"):
        load_settings(environ={"VIGIL_ENV": "staging", "VIGIL_INSTANCE_PATH": str(tmp_path)})


def test_postgres_url_uses_psycopg3(tmp_path: Path) -> None:
    from app.db import normalize_url

    assert normalize_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalize_url("postgresql+psycopg2://u@h/db").startswith("postgresql+psycopg://")
