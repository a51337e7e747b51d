"""The CI gate: only open findings at or above the threshold block; exit codes 0 / 1 / 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.db import Database
from app.models import Category, Finding, FindingStatus, RunStatus, ScanRun, Severity
from app.services import gate
from app.services.actor import Actor
from tests.conftest import VigilRunner
from tests.reports.report_data import build_history, day

SYSTEM = Actor.system("test")


def test_accepted_false_positive_and_fixed_never_block(session: Session) -> None:
    objs = build_history(session)
    web = objs["web"]
    result = gate.evaluate(session, SYSTEM, web.id, "medium")  # type: ignore[attr-defined]
    # The medium finding is accepted by an exception: it does not block.
    assert result.passed and result.blocking_count == 0
    result = gate.evaluate(session, SYSTEM, web.id, "low")  # type: ignore[attr-defined]
    assert not result.passed and [b.title for b in result.blocking] == ["assert used"]
    objs["new_after"].status = FindingStatus.FALSE_POSITIVE  # type: ignore[attr-defined]
    session.flush()
    assert gate.evaluate(session, SYSTEM, web.id, "info").passed  # type: ignore[attr-defined]


def test_threshold_orders_severities(session: Session) -> None:
    objs = build_history(session)
    api = objs["api"]
    assert not gate.evaluate(session, SYSTEM, api.id, "high").passed  # type: ignore[attr-defined]
    assert gate.evaluate(session, SYSTEM, api.id, "critical").passed  # type: ignore[attr-defined]
    with pytest.raises(gate.GateError, match="fail_on must be one of"):
        gate.evaluate(session, SYSTEM, api.id, "severe")  # type: ignore[attr-defined]


def test_baseline_ratchet_blocks_only_newer_findings(session: Session) -> None:
    objs = build_history(session)
    web = objs["web"]
    baseline = ScanRun(
        project_id=web.id,
        scanner="bandit",
        status=RunStatus.SUCCEEDED,
        complete=True,  # type: ignore[attr-defined]
        queued_at=day(10),
        started_at=day(10),
        finished_at=day(10),
    )
    old = Finding(
        project_id=web.id,
        fingerprint="old-high",
        scanner="bandit",
        rule_id="B602",
        tool_rule_id="B602",  # type: ignore[attr-defined]
        category=Category.SECURITY,
        severity=Severity.HIGH,
        title="old debt",
        first_seen=day(5),
        last_seen=day(30),
    )
    session.add_all([baseline, old])
    session.flush()
    with pytest.raises(gate.GateError, match="no gate baseline"):
        gate.evaluate(session, SYSTEM, web.id, "low", "baseline")  # type: ignore[attr-defined]
    gate.set_baseline(session, SYSTEM, web.id, baseline.id)  # type: ignore[attr-defined]
    ratchet = gate.evaluate(session, SYSTEM, web.id, "low", "baseline")  # type: ignore[attr-defined]
    # "old debt" predates the baseline; only the day-25 finding is new since then.
    assert [b.title for b in ratchet.blocking] == ["assert used"]
    full = gate.evaluate(session, SYSTEM, web.id, "low")  # type: ignore[attr-defined]
    assert {b.title for b in full.blocking} == {"assert used", "old debt"}


def test_gate_cli_exit_codes(runner: VigilRunner, database: Database, tmp_path: Path) -> None:
    with database.transaction() as s:
        build_history(s)
    passing = runner.invoke(["gate", "web-portal", "--fail-on", "medium"])
    assert passing.exit_code == 0, passing.output
    assert passing.output.startswith("PASS")
    failing = runner.invoke(["gate", "payments-api", "--fail-on", "high"])
    assert failing.exit_code == 1 and failing.output.startswith("FAIL")
    assert "=HYPERLINK" in failing.output
    unknown = runner.invoke(["gate", "nope"])
    assert unknown.exit_code == 2 and "no project named" in unknown.output
    bad = runner.invoke(["gate", "payments-api", "--fail-on", "urgent"])
    assert bad.exit_code == 2 and "fail_on must be one of" in bad.output


def test_report_cli_writes_and_verifies(runner: VigilRunner, database: Database, tmp_path: Path) -> None:
    with database.transaction() as s:
        build_history(s)
    target = tmp_path / "report.xlsx"
    made = runner.invoke(["report", "--format", "xlsx", "--as-of", "2026-06-15", "-o", str(target)])
    assert made.exit_code == 0, made.output
    assert target.stat().st_size > 0 and "sha256" in made.output
    ok = runner.invoke(["report", "verify", str(target)])
    assert ok.exit_code == 0 and "genuine Vigil xlsx export" in ok.output
    target.write_bytes(target.read_bytes() + b"\0")
    altered = runner.invoke(["report", "verify", str(target)])
    assert altered.exit_code == 1 and "NOT a recorded Vigil export" in altered.output
