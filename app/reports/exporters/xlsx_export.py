"""XLSX workbook, one sheet per section.

Sections are shaped with pandas and every sheet is streamed row by row into xlsxwriter's
constant-memory mode: ``DataFrame.to_excel`` writes column by column (which constant-memory mode
cannot take) and is several times slower on the findings sheet. Every text cell passes through
the formula guard, and xlsxwriter is told never to turn strings into formulas or links.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pandas as pd
import xlsxwriter

from app.reports.cells import guard
from app.reports.compliance import ComplianceData
from app.reports.exporters.base import Exporter
from app.reports.exporters.csv_export import COLUMNS as FINDING_COLUMNS

WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def _frame(rows: list[Any]) -> pd.DataFrame:
    records = [
        {k: guard(v) for k, v in (r if isinstance(r, dict) else dataclasses.asdict(r)).items()} for r in rows
    ]
    return pd.DataFrame.from_records(records)


def _summary(data: ComplianceData) -> pd.DataFrame:
    rows: list[tuple[str, Any]] = [
        ("As of", data.as_of.isoformat(timespec="seconds")),
        ("Period start", data.period_start.isoformat(timespec="seconds")),
        ("Projects", ", ".join(data.projects)),
        ("New findings in period", data.new_in_period),
        ("Fixed findings in period", data.fixed_in_period),
        (
            "Mean time to fix (days)",
            data.mean_time_to_fix_days if data.mean_time_to_fix_days is not None else "",
        ),
        ("Project/scanner pairs never successfully scanned", len(data.coverage_gaps)),
        ("Active accepted risks", len(data.accepted_risks)),
    ]
    for severity, count in data.open_by_severity.items():
        rows.append((f"Open {severity}", count))
        rows.append((f"Overdue {severity}", data.overdue_by_severity.get(severity, 0)))
    return pd.DataFrame([(k, guard(v)) for k, v in rows], columns=["Measure", "Value"])


def _write_frame(book: Any, name: str, frame: pd.DataFrame) -> None:
    sheet = book.add_worksheet(name)
    sheet.write_row(0, 0, [str(c) for c in frame.columns])
    for index, row in enumerate(frame.itertuples(index=False), start=1):
        sheet.write_row(index, 0, [guard(v) for v in row])


def render(data: ComplianceData) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS)
    _write_frame(book, "Summary", _summary(data))
    _write_frame(book, "Coverage", _frame(data.coverage))
    sheet = book.add_worksheet("Open findings")
    sheet.write_row(0, 0, FINDING_COLUMNS)
    for index, finding in enumerate(data.open_findings, start=1):
        sheet.write_row(index, 0, [guard(getattr(finding, c)) for c in FINDING_COLUMNS])
    _write_frame(book, "Accepted risks", _frame(data.accepted_risks))
    _write_frame(book, "Ended exceptions", _frame(data.ended_exceptions))
    _write_frame(book, "Trend", pd.DataFrame(data.trend))
    _write_frame(
        book, "Audit", pd.DataFrame(sorted(data.audit_summary.items()), columns=["Action", "Events"])
    )
    book.close()
    return buffer.getvalue()


EXPORTER = Exporter(
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsx",
    render,
    "One sheet per section",
)
