"""Vigil scans itself (issue 11 item 4): CI runs the real scan of this repository through Vigil.

The first test is the CI step: every scanner of ``.vigil-dogfood.toml`` runs over the committed tree through
the normal scan path, the accepted risks go through the four-eyes exception service, and the gate
must find no open high or critical finding. It runs on SQLite only: it checks Vigil's code, not the
database backends, which the rest of the suite covers. The other tests drive ``vigil dogfood`` on a
tiny git repository, where detect-secrets takes a second.
"""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.config import ROOT, Settings, load_settings
from app.db import Database
from app.models import ExceptionState, Finding, FindingStatus, RiskException, Severity, utcnow
from app.services.actor import Actor
from app.services.advisories import import_advisories
from app.services.dogfood import DogfoodError, run_dogfood
from app.services.dogfood_config import CONFIG_NAME, DogfoodConfigError, load, parse
from tests.conftest import TEST_SECRET, VigilRunner

ADVISORY_FIXTURES = ROOT / "tests" / "fixtures" / "advisories" / "osv-v2"
BLOCKING = {Severity.HIGH.value, Severity.CRITICAL.value}


def _settings(url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "env": "test",
            "database_url": url,
            "instance_path": tmp_path / "instance",
            "secret_key": TEST_SECRET,
            "work_dir": tmp_path / "work",
            "redis_url": "",
        },
        environ={},
    )


def test_vigil_scans_itself_and_the_gate_passes(sqlite_url: str, tmp_path: Path) -> None:
    config = load(ROOT / CONFIG_NAME)
    assert config.exclusions and all(e.reason for e in config.exclusions)
    database = Database(sqlite_url)
    # No real advisory data offline: the fixture store makes osv run through its real path over
    # pyproject.toml (whose ranges can only give "not pinned" info findings).
    with database.transaction() as session:
        import_advisories(session, Actor.system("test"), ADVISORY_FIXTURES)

    report = run_dogfood(database, _settings(sqlite_url, tmp_path), config, ROOT)

    assert {run.scanner for run in report.runs} == set(config.scanners) and not report.skipped
    assert report.runs_ok, [(r.scanner, r.status, r.error) for r in report.runs]
    assert report.gate is not None and report.gate.passed, report.gate.blocking if report.gate else None
    assert not BLOCKING & set(report.counts.get("open", {}))
    assert report.passed and not report.unexplained
    with database.reader() as session:
        accepted = session.scalars(
            select(Finding).where(
                Finding.project_id == report.project_id,
                Finding.status == FindingStatus.ACCEPTED,
                Finding.severity.in_([Severity.HIGH, Severity.CRITICAL]),
            )
        ).all()
        for finding in accepted:
            exc = session.get(RiskException, finding.exception_id)
            assert exc is not None and exc.state is ExceptionState.ACTIVE and exc.justification.strip()
            assert exc.requested_by_id != exc.decided_by_id
        paths = session.scalars(select(Finding.path).where(Finding.project_id == report.project_id)).all()
    excluded = tuple(f"{e.path}/" for e in config.exclusions)
    assert not [p for p in paths if p and p.startswith(excluded)]

    # Again on the same database with an edited entry: the rest is kept, the edited one replaced.
    first = config.accepted[0]
    edited = dataclasses.replace(first, justification=first.justification + " Reviewed again.")
    again = dataclasses.replace(config, scanners=("ruff",), accepted=(edited, *config.accepted[1:]))
    second = run_dogfood(database, _settings(sqlite_url, tmp_path), again, ROOT)
    assert len(second.revoked) == len(first.paths)
    assert {a.exception_id for a in second.accepted} >= {
        a.exception_id for a in report.accepted if a.entry != 1
    }
    assert second.passed


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


ACCEPT = """
[[accept]]
rule = "detect-secrets:Secret Keyword"
paths = ["tests/test_login.py"]
justification = "A throw-away password of a test user."
mitigation = "Only this test file."
owner = "maintainer"
requested_by = "maintainer"
approved_by = "{approver}"
expires = {expires}
"""


# What the tiny repository's files hold: made-up values detect-secrets must find there.
FAKE_TEST_PASSWORD = 'password = "correct-horse-battery-9"\n'  # pragma: allowlist secret
FAKE_SAMPLE_KEY = 'api_key = "sample-key-4f9a8b7c6d5e"\n'  # pragma: allowlist secret


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Path:
    """A git repository with one fake credential in a test and a vulnerable sample folder."""
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "samples").mkdir()
    (repo / "tests" / "test_login.py").write_text(FAKE_TEST_PASSWORD)
    (repo / "samples" / "settings.py").write_text(FAKE_SAMPLE_KEY)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "fixture")
    return repo


def _write_config(repo: Path, accept: str = "") -> Path:
    path = repo.parent / CONFIG_NAME
    path.write_text(
        '[project]\nname = "tiny"\nscanners = ["detect-secrets"]\n\n'
        '[[exclude]]\npath = "samples"\nreason = "Deliberately vulnerable sample."\n' + accept
    )
    return path


def test_cli_fails_on_an_unaccepted_secret_and_passes_once_it_is_accepted(
    runner: VigilRunner, tiny_repo: Path
) -> None:
    config = _write_config(tiny_repo)
    failed = runner.invoke(["dogfood", "--repo", str(tiny_repo), "--config", str(config)])
    assert failed.exit_code == 1, failed.output
    assert "gate (fail on high): fail" in failed.output and "tests/test_login.py:1" in failed.output
    assert "samples/" not in failed.output

    expires = (utcnow() + timedelta(days=30)).date().isoformat()
    _write_config(tiny_repo, ACCEPT.format(approver="lead", expires=expires))
    passed = runner.invoke(["dogfood", "--repo", str(tiny_repo), "--config", str(config)])
    assert passed.exit_code == 0, passed.output
    assert "detect-secrets:Secret Keyword in tests/test_login.py: 1 finding(s)" in passed.output
    assert "maintainer (analyst), lead (approver)" in passed.output
    assert "dogfood: pass" in passed.output


def test_an_expired_entry_is_refused_with_its_number(
    sqlite_url: str, tmp_path: Path, tiny_repo: Path
) -> None:
    expired = (utcnow() - timedelta(days=1)).date().isoformat()
    config = load(_write_config(tiny_repo, ACCEPT.format(approver="lead", expires=expired)))
    with pytest.raises(DogfoodError, match=r"accept entry 1 .*expir"):
        run_dogfood(Database(sqlite_url), _settings(sqlite_url, tmp_path), config, tiny_repo)


def test_an_entry_that_expired_on_a_kept_database_fails_even_before_the_expiry_job(
    sqlite_url: str, tmp_path: Path, tiny_repo: Path, frozen_clock: Any
) -> None:
    expires = (utcnow() + timedelta(days=30)).date().isoformat()
    config = load(_write_config(tiny_repo, ACCEPT.format(approver="lead", expires=expires)))
    database, settings = Database(sqlite_url), _settings(sqlite_url, tmp_path)
    assert run_dogfood(database, settings, config, tiny_repo).passed
    frozen_clock.travel(timedelta(days=31))
    with pytest.raises(DogfoodError, match=r"accept entry 1 .*expir"):
        run_dogfood(database, settings, config, tiny_repo)


def test_a_folder_that_is_not_a_git_tree_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    config = load(_write_config(tmp_path / "plain"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(DogfoodError, match="not a git work tree"):
        run_dogfood(Database(sqlite_url), _settings(sqlite_url, tmp_path), config, tmp_path / "plain")


GOOD_ENTRY = ACCEPT.format(approver="lead", expires="2027-01-31")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[project]\nname = "x"\nscanners = ["ruff"]\n[[exclude]]\npath = "samples"\n',
            "exclude entry 1: reason",
        ),
        (
            '[project]\nname = "x"\nscanners = ["ruff"]\n[[exclude]]\npath = "../up"\nreason = "r"\n',
            "relative",
        ),
        ('[project]\nname = "x"\nscanners = []\n', "at least one scanner"),
        ('[project]\nname = "x"\nscanners = ["ruff"]\nfail_on = "severe"\n', "fail_on"),
        (
            '[project]\nname = "x"\nscanners = ["ruff"]\n' + GOOD_ENTRY.replace("lead", "maintainer"),
            "two different",
        ),
        (
            '[project]\nname = "x"\nscanners = ["ruff"]\n'
            + GOOD_ENTRY.replace("A throw-away password of a test user.", "  "),
            "justification",
        ),
        (
            '[project]\nname = "x"\nscanners = ["ruff"]\n' + GOOD_ENTRY.replace("2027-01-31", '"soon"'),
            "a date",
        ),
        ("[project\n", "not valid TOML"),
    ],
)
def test_bad_dogfood_files_are_refused_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(DogfoodConfigError, match=message):
        parse(text)


def test_the_committed_file_gives_every_decision_a_reason_and_two_people() -> None:
    config = load(ROOT / CONFIG_NAME)
    assert {"tests/samples", "app/demo/sample_project", "tests/fixtures"} <= {
        e.path for e in config.exclusions
    }
    for risk in config.accepted:
        assert risk.justification and risk.mitigation and risk.requested_by != risk.approved_by
