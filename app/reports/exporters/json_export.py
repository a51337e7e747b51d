"""JSON with every section of the report (the machine-readable evidence)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from app.reports.compliance import ComplianceData
from app.reports.exporters.base import Exporter

SCHEMA_VERSION = 1


def to_dict(data: ComplianceData) -> dict[str, Any]:
    body = dataclasses.asdict(data)
    body["coverage_gaps"] = [dataclasses.asdict(row) for row in data.coverage_gaps]
    return {"vigil_report": SCHEMA_VERSION, **body}


def render(data: ComplianceData) -> bytes:
    return orjson.dumps(to_dict(data), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


EXPORTER = Exporter("json", "application/json", "json", render, "Every section, machine-readable")
