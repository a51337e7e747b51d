"""What an exporter is: a format name, a media type and a function from report data to bytes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.reports.compliance import ComplianceData


@dataclass(frozen=True)
class Exporter:
    name: str
    media_type: str
    extension: str
    render: Callable[[ComplianceData], bytes]
    description: str = ""
