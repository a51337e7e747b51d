"""The login page in a real Chromium: served assets load, htmx starts, nothing breaks the CSP."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_login_page_loads_without_console_errors_or_csp_violations(page: Any) -> None:
    response = page.goto("/login")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.locator("h1").inner_text().startswith("Sign in")
    # htmx was served by Vigil itself and picked up its configuration from the meta tag.
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.evaluate("() => htmx.config.allowEval") is False
    assert page.evaluate("() => htmx.config.includeIndicatorStyles") is False
