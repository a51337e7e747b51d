"""An auditor's path in a real browser: open the reports page, look at the report, download a PDF."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.web.database import get_database
from tests.reports.report_data import build_history

pytestmark = pytest.mark.browser


def test_view_and_download_report(page: Any, live_app: Flask, browser_login: Callable[..., str]) -> None:
    with get_database(live_app).transaction() as db:
        build_history(db)
    browser_login("viewer", projects=("web-portal",))
    page.goto("/reports")
    page.check("input[name=project][value='2']")
    page.click("button[name=view]")
    page.wait_for_load_state()
    assert "view=1" in page.url
    assert page.locator("article.report h1").inner_text() == "Compliance report"
    assert page.locator("article.report").inner_text().count("web-portal") >= 1
    page.select_option("#format", "pdf")
    with page.expect_download() as info:
        page.click("form.report-export button[type=submit]")
    download = info.value
    assert download.suggested_filename.startswith("vigil-") and download.suggested_filename.endswith(".pdf")
    path = download.path()
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
