"""Compliance evidence and exports (no Flask). ``EXPORTERS`` maps a format name to its exporter.

Adding a format is one module exposing ``EXPORTER`` plus one line here.
"""

from __future__ import annotations

from app.reports.exporters import csv_export, json_export, pdf_export, sarif_export, xlsx_export
from app.reports.exporters.base import Exporter

EXPORTERS: dict[str, Exporter] = {
    "pdf": pdf_export.EXPORTER,
    "xlsx": xlsx_export.EXPORTER,
    "csv": csv_export.EXPORTER,
    "json": json_export.EXPORTER,
    "sarif": sarif_export.EXPORTER,
}

__all__ = ["EXPORTERS", "Exporter"]
