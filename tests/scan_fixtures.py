"""Fixtures for scan, scheduler and worker tests: fake scanners, projects, and CLI subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import ROOT, Settings, load_settings
from app.db import Database
from app.models import Project
from app.services import projects
from app.services.actor import Actor
from tests import fake_scanners

FAKES = fake_scanners.FAKES
REDIS_URL = os.environ.get("VIGIL_TEST_REDIS_URL", "")


def write_fake_config(folder: Path, **config: Any) -> None:
    (folder / fake_scanners.CONFIG).write_text(json.dumps(config))


@pytest.fixture
def fakes() -> Iterator[tuple[str, ...]]:
    """The fake scanners, registered for this test only."""
    added = fake_scanners.register()
    yield FAKES
    fake_scanners.unregister(added)


@pytest.fixture
def scan_settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "env": "test",
            "database_url": database_url,
            "instance_path": tmp_path / "instance",
            "secret_key": "s" * 40,
            "work_dir": tmp_path / "work",
            "worker_threads": 2,
            "redis_url": "",
        },
        environ={},
    )


@pytest.fixture
def make_project(database: Database, tmp_path: Path, fakes: tuple[str, ...]) -> Callable[..., Project]:
    """A project on a fresh local folder scanned by the fake scanners."""
    counter = iter(range(1, 1000))

    def make(name: str | None = None, *, findings: int = 2, **fields: Any) -> Project:
        number = next(counter)
        folder = tmp_path / f"repo{number}"
        folder.mkdir()
        write_fake_config(folder, findings=findings)
        fields.setdefault("scanners", list(FAKES))
        with database.transaction() as session:
            project = projects.add_project(
                session, Actor.system("test"), name=name or f"proj{number}", local_path=str(folder), **fields
            )
        return project

    return make


def project_folder(project: Project) -> Path:
    assert project.local_path is not None
    return Path(project.local_path)


def vigil_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        {
            "VIGIL_ENV": "test",
            "VIGIL_DATABASE_URL": settings.database_url,
            "VIGIL_INSTANCE_PATH": str(settings.instance_path),
            "VIGIL_SECRET_KEY": settings.secret_key,
            "VIGIL_WORK_DIR": str(settings.scans_dir),
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def spawn_vigil(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A real ``vigil`` process with the fake scanners registered (stdout+stderr to ``log``)."""
    code = "import tests.fake_scanners as f; f.register(); from app.cli import main; main()"
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=str(ROOT)
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test started; any still alive at the end are killed (by their own pid)."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
