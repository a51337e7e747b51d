"""Checklist items 22-25, 27, 28: CSRF and cross-origin refusal, the JSON API and cookies, headers,
templates without inline code, caching, and the generic error page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.db import Database
from app.models import Role
from app.web.access import public
from tests.auth_fixtures import get_csrf

HTTPS = "https://localhost"


def _admin_pages(admin: FlaskClient) -> dict[str, Any]:
    user_id = admin.user.id  # type: ignore[attr-defined]
    anonymous = admin.application.test_client()
    pages = {"/login": anonymous.get("/login", base_url=HTTPS)}
    paths = [
        "/account",
        "/account/password",
        "/account/totp",
        "/reauth",
        "/admin/users",
        f"/admin/users/{user_id}",
        "/admin/apikeys",
        "/admin/audit",
        "/admin/users/999999",  # the 404 page
    ]
    pages.update({path: admin.get(path, base_url=HTTPS) for path in paths})
    assert all(r.status_code in (200, 404) for r in pages.values()), {
        p: r.status_code for p, r in pages.items()
    }
    return pages


def test_checklist_22_csrf_and_cross_origin_refused(logged_in: Callable[..., FlaskClient]) -> None:
    client = logged_in(Role.ANALYST)
    token = client.csrf()  # type: ignore[attr-defined]
    htmx = {"HX-Request": "true"}
    no_token = client.post("/account/totp/start", headers=htmx, base_url=HTTPS)
    assert no_token.status_code == 400
    wrong_token = client.post(
        "/account/totp/start", headers={**htmx, "X-CSRFToken": "forged"}, base_url=HTTPS
    )
    assert wrong_token.status_code == 400
    with_token = {**htmx, "X-CSRFToken": token}
    cross_site = client.post(
        "/account/totp/start", headers={**with_token, "Sec-Fetch-Site": "cross-site"}, base_url=HTTPS
    )
    assert cross_site.status_code == 403
    foreign_referer = client.post(
        "/account/totp/start", headers={**with_token, "Referer": "https://evil.example/x"}, base_url=HTTPS
    )
    assert foreign_referer.status_code == 403
    foreign_origin = client.post(
        "/account/totp/start", headers={**with_token, "Origin": "https://evil.example"}, base_url=HTTPS
    )
    assert foreign_origin.status_code == 403
    same_origin = client.post(
        "/account/totp/start",
        headers={
            **with_token,
            "Sec-Fetch-Site": "same-origin",
            "Origin": HTTPS,
            "Referer": f"{HTTPS}/account",
        },
        base_url=HTTPS,
    )
    assert same_origin.status_code == 200
    assert "<html" not in same_origin.get_data(as_text=True)  # htmx got the fragment


def test_checklist_23_api_ignores_session_cookies(
    app: Flask, logged_in: Callable[..., FlaskClient], make_api_key: Callable[..., str]
) -> None:
    admin = logged_in(Role.ADMIN)
    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/") and not r.arguments]
    assert api_rules
    for rule in api_rules:
        if rule.endpoint.endswith("openapi"):
            continue
        response = admin.get(rule.rule)
        assert response.status_code == 401, rule.rule
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.is_json and "Set-Cookie" not in response.headers
    key = make_api_key(["read"])
    ok = admin.get("/api/v1/exceptions", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200


def test_checklist_24_security_headers_on_every_html_response(
    logged_in: Callable[..., FlaskClient], app_config: dict[str, Any], database: Database
) -> None:
    admin = logged_in(Role.ADMIN)
    for path, response in _admin_pages(admin).items():
        assert response.mimetype == "text/html", path
        csp = response.headers["Content-Security-Policy"]
        directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";")}
        assert directives["script-src"] == "script-src 'self'", path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert directives["object-src"] == "object-src 'none'"
        assert directives["base-uri"] == "base-uri 'none'"
        assert directives["frame-ancestors"] == "frame-ancestors 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        hsts = response.headers["Strict-Transport-Security"]
        assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000 and "includeSubDomains" in hsts  # type: ignore[union-attr]
    production = create_app(
        {**app_config, "env": "production", "secret_key": "p" * 48}, database=database
    ).test_client()
    plain = production.get("/login")  # even over plain HTTP behind a TLS-terminating proxy
    assert "max-age=63072000" in plain.headers["Strict-Transport-Security"]


def test_checklist_25_no_inline_code_and_strict_htmx_config(logged_in: Callable[..., FlaskClient]) -> None:
    admin = logged_in(Role.ADMIN)
    for path, response in _admin_pages(admin).items():
        html = response.get_data(as_text=True)
        assert "hx-on" not in html, path
        assert not re.search(r"""=\s*["']\s*js:""", html), path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html and "<style" not in html, path
        assert re.search(r"\son[a-z]+\s*=", html) is None, path
        meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html)
        assert meta is not None, path
        config = meta.group(1)
        for setting in (
            '"allowEval":false',
            '"includeIndicatorStyles":false',
            '"allowScriptTags":false',
            '"historyCacheSize":0',
        ):
            assert setting in config, (path, setting)


def test_checklist_27_no_store_and_vary_on_fragments(logged_in: Callable[..., FlaskClient]) -> None:
    admin = logged_in(Role.ADMIN)
    for path in ("/account", "/admin/users", "/admin/apikeys", "/admin/audit"):
        full = admin.get(path)
        assert full.status_code == 200
        assert "no-store" in full.headers["Cache-Control"], path
        fragment = admin.get(path, headers={"HX-Request": "true"})
        assert "HX-Request" in fragment.headers.get("Vary", ""), path
        assert "no-store" in fragment.headers["Cache-Control"]
        body = fragment.get_data(as_text=True)
        assert "<html" not in body and len(body) < len(full.get_data(as_text=True)), path


def test_checklist_28_unhandled_error_is_generic_with_request_id(
    app_config: dict[str, Any], database: Database
) -> None:
    app = create_app(app_config, database=database)

    @public
    def boom() -> str:
        raise RuntimeError("SELECT password_hash FROM app_user WHERE secret = 'x'")

    app.add_url_rule("/boom", "boom", boom)
    client = app.test_client()
    response = client.get("/boom", headers={"X-Request-ID": "req-12345678"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "req-12345678" in body and "Internal Server Error" in body
    for leak in ("Traceback", "RuntimeError", "SELECT", "password_hash", "app_user", 'File "'):
        assert leak not in body
    assert app.debug is False and app.config["DEBUG"] is False
    as_json = client.get("/boom", headers={"Accept": "application/json"})
    assert as_json.status_code == 500 and as_json.json == {
        "error": "Internal Server Error",
        "detail": "Something went wrong on our side. Quote the request id to your administrator.",
        "request_id": as_json.headers["X-Request-ID"],
    }


def test_csrf_token_is_per_session(client: FlaskClient, logged_in: Callable[..., FlaskClient]) -> None:
    """A token lifted from one session is useless in another."""
    alice = logged_in(Role.VIEWER)
    bob = logged_in(Role.VIEWER)
    stolen = get_csrf(alice)
    assert bob.post("/account/totp/start", data={"csrf_token": stolen}).status_code == 400
    assert bob.post("/account/totp/start", data={"csrf_token": get_csrf(bob)}).status_code == 200
