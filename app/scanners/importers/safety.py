"""safety's legacy ``--json`` output: a list of ``[package, affected, installed, description, id]``.

The format carries no CVE field; CVE ids mentioned in the description become aliases so the finding
joins the same alias group as pip-audit's or osv-scanner's report of the same advisory.
"""

from __future__ import annotations

import re
from typing import Any

from app.scanners.base import ReportError
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import dependency_finding
from app.scanners.importers.fields import as_list, text
from app.scanners.importers.levels import level

FORMAT = "safety"
_CVE_RE = re.compile(r"\bCVE-\d{4}-\d{4,}\b")


def sniff(doc: Any) -> bool:
    return (
        isinstance(doc, list)
        and bool(doc)
        and isinstance(doc[0], list)
        and len(doc[0]) == 5
        and all(isinstance(v, str) for v in doc[0])
    )


def parse(doc: Any) -> ParsedReport:
    findings = []
    for index, row in enumerate(as_list(doc, FORMAT, "report")):
        if not isinstance(row, list) or len(row) < 5:
            raise ReportError(
                FORMAT, f"entry {index} should be [package, affected, installed, description, id]"
            )
        package, affected, installed, description, safety_id = (text(v) for v in row[:5])
        advisory = f"pyup.io-{safety_id}" if safety_id else "unknown"
        findings.append(
            dependency_finding(
                scanner=FORMAT,
                advisory=advisory,
                aliases=_CVE_RE.findall(description),
                package=package or None,
                version=installed or None,
                severity=level(FORMAT, None),
                summary=description.splitlines()[0][:300] if description else "",
                message=description,
                extras={"affected": affected},
            )
        )
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=findings)


IMPORTER = Importer(
    name=FORMAT, scanner=FORMAT, media="json", sniff=sniff, parse=parse, description="safety legacy JSON"
)
