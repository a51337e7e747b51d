"""CSV of the open findings, guarded against formula injection, streamed row by row."""

from __future__ import annotations

import csv
import io

from app.reports.cells import guard
from app.reports.compliance import ComplianceData
from app.reports.exporters.base import Exporter

COLUMNS = (
    "id",
    "project",
    "scanner",
    "rule_id",
    "severity",
    "category",
    "title",
    "path",
    "line",
    "package",
    "advisory_ids",
    "first_seen",
    "sla_due_at",
    "overdue",
    "age_days",
)


def render(data: ComplianceData) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([guard(getattr(f, c)) for c in COLUMNS] for f in data.open_findings)
    return buffer.getvalue().encode("utf-8")


EXPORTER = Exporter("csv", "text/csv; charset=utf-8", "csv", render, "Open findings, one row each")
