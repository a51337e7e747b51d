"""PDF through WeasyPrint from the same HTML body as the web view, charts as inline SVG.

WeasyPrint gets a URL fetcher that only serves files from ``static/``: rendering a report never
makes a network request, even if a finding's text contains a URL (the product runs air-gapped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from app.config import ROOT
from app.reports.compliance import ComplianceData
from app.reports.exporters.base import Exporter
from app.reports.rendering import render_html

STATIC = (ROOT / "static").resolve()


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme != "file":
                raise ValueError(f"reports never fetch {parsed.scheme or 'relative'} URLs")
            path = Path(unquote(parsed.path)).resolve()
            if not path.is_relative_to(STATIC):
                raise ValueError("reports may only load files from static/")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols={"file"}, timeout=5)


def render(data: ComplianceData) -> bytes:
    from weasyprint import HTML

    document = HTML(string=render_html(data), base_url=STATIC.as_uri() + "/", url_fetcher=_fetcher())
    pdf: bytes = document.write_pdf()
    return pdf


EXPORTER = Exporter("pdf", "application/pdf", "pdf", render, "Compliance report for auditors")
