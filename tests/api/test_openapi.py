"""The OpenAPI document describes exactly the /api/v1 routes, and the API survives schemathesis."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app.bench import api_fuzz
from app.db import Database
from app.web.api.openapi import document
from tests.reports.report_data import build_history


def _flask_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    return routes


def test_document_lists_every_api_route_and_nothing_else(app: Flask, client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json["openapi"] == "3.1.0"  # type: ignore[index]
    documented = {(path, method) for path, ops in document()["paths"].items() for method in ops}
    assert documented == _flask_routes(app)


def test_schemathesis_finds_no_server_error(
    app: Flask, database: Database, make_api_key: Callable[..., str]
) -> None:
    with database.transaction() as s:
        build_history(s)
    key = make_api_key(list(api_fuzz.SCOPES))
    results = api_fuzz.fuzz_app(app, key, examples=25)
    assert {(r.method.lower(), r.path) for r in results} == {
        (method, path) for path, ops in document()["paths"].items() for method in ops
    }
    assert all(r.examples > 0 for r in results)
    assert api_fuzz.report(results)[1:] == []


def test_schemathesis_reports_a_server_error_with_its_reproduction(
    app: Flask, database: Database, make_api_key: Callable[..., str]
) -> None:
    key = make_api_key(["read"])
    with database.engine.begin() as conn:  # a broken database: reading a scan run fails
        conn.execute(text("ALTER TABLE scan_run RENAME TO scan_run_gone"))
    results = api_fuzz.fuzz_app(app, key, examples=3)
    run_state = next(r for r in results if r.path == "/scans/{run_id}")
    assert run_state.failed_examples == run_state.examples > 0
    lines = api_fuzz.report(results)
    assert "FAIL GET /scans/{run_id}: 500 - server error" in lines
    assert any(line.strip().startswith("curl -X GET") and "/api/v1/scans/" in line for line in lines)
    assert key not in "\n".join(lines)
