"""JSON with every section of the report (the machine-readable evidence)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from app.reports.compliance import ComplianceData
from app.reports.exporters.base import Exporter

SCHEMA_VERSION = 1


def to_dict(data: ComplianceData) -> dict[str, Any]:
    """Top-level sections; orjson serialises the nested dataclasses itself (much faster than asdict)."""
    body = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    body["coverage_gaps"] = data.coverage_gaps
    return {"vigil_report": SCHEMA_VERSION, **body}


def render(data: ComplianceData) -> bytes:
    return orjson.dumps(to_dict(data), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


EXPORTER = Exporter("json", "application/json", "json", render, "Every section, machine-readable")
