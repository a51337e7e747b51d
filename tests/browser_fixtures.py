"""Browser tests: a live Vigil server in a thread and Playwright driving Debian's Chromium.

The test setup installs Chromium from Debian's packages when it is missing (Playwright's own
browser download needs the internet). Every page records console errors, uncaught exceptions and
CSP violations; a test that produced any fails, and a failing test leaves a screenshot in
``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from app.assets import ensure_assets
from app.config import ROOT
from app.db import Database

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Reports CSP violations to the console, where the page fixture collects them.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI);
});
"""


def ensure_chromium() -> Path:
    """Install Debian's Chromium if it is not there yet (the test setup's own step)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail("browser tests need /usr/bin/chromium: run `apt-get install chromium` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, capture_output=True)
    return CHROMIUM


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


class LiveServer:
    """A real HTTP server (werkzeug, threaded) serving one Vigil app on localhost."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        # localhost (not 127.0.0.1) so Chromium treats the origin as secure and keeps __Host- cookies.
        self.url = f"http://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    ensure_assets()
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live_app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A Vigil app on a fresh SQLite database, configured like the embedded default."""
    database = Database(sqlite_url)
    app = create_app(
        {
            "env": "test",
            "database_url": sqlite_url,
            "instance_path": tmp_path / "instance",
            "secret_key": "browser-test-secret-" + "y" * 40,
            "work_dir": tmp_path / "work",
            "scheduler_enabled": False,
        },
        database=database,
    )
    yield app
    database.dispose()


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(live_app).start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context and page; console errors and CSP violations fail the test."""
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.add_init_script(CSP_LISTENER)
    pg = context.new_page()
    problems: list[str] = []
    pg.on(
        "console",
        lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    pg.browser_problems = problems  # type: ignore[attr-defined]
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.nodeid)
        pg.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)
    context.close()
    if failed is not None and failed.passed:
        assert problems == [], "browser reported errors:\n" + "\n".join(problems)


@pytest.fixture
def assert_no_browser_problems(page: Any) -> Callable[[], None]:
    """Call inside a test to check for console errors / CSP violations at a given point."""

    def check() -> None:
        problems: list[str] = page.browser_problems
        assert problems == [], "browser reported errors:\n" + "\n".join(problems)

    return check


@pytest.fixture
def browser_login(page: Any, live_app: Flask) -> Callable[..., Any]:
    """``browser_login(role, projects=())``: create a user in the live server's database and sign in
    through the real form in the browser. Returns the created user's name."""
    from app.models import Project, ProjectMember, User
    from app.web.database import get_database
    from tests.auth_fixtures import DEFAULT_PASSWORD, password_hash_for

    counter = iter(range(1, 1000))

    def login(role: str, projects: tuple[str, ...] = ()) -> str:
        username = f"{role}-browser-{next(counter)}"
        with get_database(live_app).transaction() as db:
            user = User(username=username, password_hash=password_hash_for(DEFAULT_PASSWORD), role=role)
            db.add(user)
            db.flush()
            for name in projects:
                project = db.query(Project).filter_by(name=name).one()
                db.add(ProjectMember(project_id=project.id, user_id=user.id))
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", DEFAULT_PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, f"sign-in failed for {username}"
        return username

    return login
