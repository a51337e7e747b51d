"""The OpenAPI document describes exactly the /api/v1 routes, and the API survives schemathesis."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import ignored_auth, positive_data_acceptance

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
    key = make_api_key(["read", "gate", "upload"])
    schema = schemathesis.openapi.from_dict(document())
    failures: list[str] = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def check(case: Any) -> None:
            response = case.call(
                app=app, base_url="https://localhost/api/v1", headers={"Authorization": f"Bearer {key}"}
            )
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            # Auth is always a real key here (missing/invalid keys are covered by the access tests), and
            # some schema-valid values are refused on meaning (a future as_of date): 400 is right there.
            case.validate_response(response, excluded_checks=[ignored_auth, positive_data_acceptance])

        check()
    assert failures == []
