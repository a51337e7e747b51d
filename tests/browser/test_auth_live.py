"""Sign-in against a real HTTP server: every route guarded, lockout, headers, and a real browser."""

from __future__ import annotations

import http.client
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter

from app.models import Role, User
from app.web.access import route_policy
from app.web.database import get_database
from tests.auth_fixtures import DEFAULT_PASSWORD, password_hash_for
from tests.browser_fixtures import LiveServer

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _request(server: LiveServer, method: str, path: str, **kwargs: Any) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, **kwargs)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _user(app: Flask, username: str, role: Role) -> None:
    with get_database(app).transaction() as db:
        db.add(
            User(
                username=username,
                display_name=username,
                password_hash=password_hash_for(DEFAULT_PASSWORD),
                role=role,
            )
        )


def test_live_server_guards_every_route_and_sends_headers(live_server: LiveServer, live_app: Flask) -> None:
    checked = 0
    for rule in live_app.url_map.iter_rules():
        kind, _ = route_policy(live_app, rule.endpoint)
        if kind == "public" or "GET" not in (rule.methods or ()):
            continue
        values = {
            name: 1 if isinstance(rule._converters[name], IntegerConverter) else "x"
            for name in rule.arguments
        }
        built = rule.build(values, append_unknown=False)
        assert built is not None
        response = _request(live_server, "GET", built[1])
        if kind == "api":
            assert response.status == 401, built[1]
        else:
            assert response.status == 302 and "/login" in (response.getheader("Location") or ""), built[1]
        checked += 1
    assert checked > 10
    login_page = _request(live_server, "GET", "/login")
    csp = login_page.getheader("Content-Security-Policy") or ""
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert login_page.getheader("X-Content-Type-Options") == "nosniff"
    assert login_page.getheader("Referrer-Policy") == "strict-origin-when-cross-origin"
    assert login_page.getheader("Cache-Control") == "no-store"


def test_live_server_locks_after_six_wrong_passwords(live_server: LiveServer, live_app: Flask) -> None:
    _user(live_app, "erin", Role.ANALYST)
    first = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    first.request("GET", "/login")
    page = first.getresponse()
    html = page.read().decode()
    cookie = (page.getheader("Set-Cookie") or "").split(";", 1)[0]
    token = CSRF_RE.search(html)
    assert cookie.startswith("__Host-session=") and token is not None
    body = urlencode({"username": "erin", "password": "wrong password 12345", "csrf_token": token.group(1)})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    statuses = [_request(live_server, "POST", "/login", body=body, headers=headers).status for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 401, 429]
    right = urlencode({"username": "erin", "password": DEFAULT_PASSWORD, "csrf_token": token.group(1)})
    assert _request(live_server, "POST", "/login", body=right, headers=headers).status == 429


@pytest.mark.browser
def test_sign_in_change_password_and_sign_out_in_a_browser(page: Any, live_app: Flask) -> None:
    _user(live_app, "frank", Role.APPROVER)
    page.goto("/login")
    assert page.locator(".banner-warning").inner_text().startswith("This installation does not enforce")
    page.fill("#username", "frank")
    page.fill("#password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url
    page.goto("/account/password")
    page.fill("#current_password", DEFAULT_PASSWORD)
    page.fill("#new_password", "a much longer browser passphrase 2026")
    page.fill("#confirm_password", "a much longer browser passphrase 2026")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector(".form-ok")
    page.goto("/account")
    page.click("header button[type=submit]")  # Sign out
    page.wait_for_url("**/login")
    page.goto("/account")
    assert "/login" in page.url
