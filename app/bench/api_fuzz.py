"""Schemathesis against every operation of the API: the long run of ``vigil bench api-fuzz``.

The same runner serves the short CI test (tests/api/test_openapi.py) with a few examples per
operation and the long benchmark run with hundreds, so both apply exactly the same checks: a 5xx is
a failure, and every response must match the OpenAPI document. Two schemathesis checks are left
out on purpose: ``ignored_auth`` (the key is always valid here; missing or bad keys are covered by
the access tests) and ``positive_data_acceptance`` (some schema-valid values are refused on meaning,
such as a future ``as_of`` date, and 400 is the right answer there).

schemathesis and hypothesis are test extras, so they are imported inside the functions: the rest of
Vigil never needs them.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app import create_app
from app.bench.seed import seed
from app.db import Database
from app.errors import VigilError
from app.migrate import upgrade
from app.models import Finding
from app.services import api_keys as api_key_service
from app.services.actor import Actor
from app.web.api.openapi import document

BASE_URL = "https://localhost/api/v1"
SCOPES = ("read", "gate", "upload", "scan")
# Distinct failures kept per operation: one bug tends to fail hundreds of examples the same way.
MAX_FAILURES_PER_OPERATION = 5
MISSING_EXTRAS = "schemathesis and hypothesis are needed: pip install -e '.[test]'"


class MissingExtras(VigilError):
    """The test extras are not installed: ``vigil`` prints the one-line message and exits 2."""


@dataclass(frozen=True)
class Failure:
    """One distinct way an operation failed; ``status`` is None when an exception escaped the app."""

    method: str
    path: str
    status: int | None
    detail: str
    reproduction: str


@dataclass
class OperationResult:
    """Examples run on one operation, how many failed, and the distinct failures kept."""

    method: str
    path: str
    examples: int = 0
    failed_examples: int = 0
    failures: list[Failure] = field(default_factory=list)


def _load_extras() -> tuple[Any, Any]:
    try:
        import hypothesis
        import schemathesis
    except ImportError:
        raise MissingExtras(MISSING_EXTRAS) from None
    return hypothesis, schemathesis


def _describe(exc: BaseException) -> str:
    """The first line of each schemathesis check failure (a group holds several)."""
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    titles = [(str(getattr(part, "title", "") or part).splitlines() or ["check failed"])[0] for part in parts]
    return "; ".join(dict.fromkeys(titles))


def fuzz_app(
    app: Any, key: str, examples: int, log: Callable[[str], None] | None = None
) -> list[OperationResult]:
    """Run schemathesis with ``examples`` examples on every documented operation of ``app``.

    Failures are collected rather than raised so one broken operation does not hide the others.
    """
    _, schemathesis = _load_extras()
    schema = schemathesis.openapi.from_dict(document())
    results: list[OperationResult] = []
    for operation in schema.get_all_operations():
        result = _fuzz_operation(app, key, examples, operation.ok())
        results.append(result)
        if log is not None:
            log(operation_line(result))
    return results


def _fuzz_operation(app: Any, key: str, examples: int, op: Any) -> OperationResult:
    hypothesis, _ = _load_extras()
    from schemathesis.checks import ignored_auth, positive_data_acceptance

    headers = {"Authorization": f"Bearer {key}"}
    shown = {"Authorization": "Bearer $VIGIL_API_KEY"}  # the reproduction never prints the key
    result = OperationResult(op.method.upper(), op.path)
    seen: set[tuple[int | None, str]] = set()

    def record(case: Any, status: int | None, detail: str) -> None:
        result.failed_examples += 1
        if (status, detail) in seen or len(seen) >= MAX_FAILURES_PER_OPERATION:
            return
        seen.add((status, detail))
        reproduction = case.as_curl_command(headers=shown, base_url=BASE_URL)
        result.failures.append(Failure(result.method, result.path, status, detail, reproduction))

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
    )
    @hypothesis.given(case=op.as_strategy())
    def check(case: Any) -> None:
        result.examples += 1
        try:
            response = case.call(app=app, base_url=BASE_URL, headers=headers)
        except Exception as exc:  # noqa: BLE001 - an exception escaping the app is a server error too
            record(case, None, f"unhandled {type(exc).__name__}: {exc}")
            return
        if response.status_code >= 500:
            record(case, response.status_code, "server error")
            return
        try:
            case.validate_response(
                response, headers=headers, excluded_checks=[ignored_auth, positive_data_acceptance]
            )
        except (AssertionError, BaseExceptionGroup) as exc:
            record(case, response.status_code, _describe(exc))

    check()
    return result


def operation_line(result: OperationResult) -> str:
    return (
        f"{result.method:<6} {result.path:<45} {result.examples:>6} examples"
        f" {result.failed_examples:>5} failures"
    )


def report(results: list[OperationResult]) -> list[str]:
    """The summary line, then each distinct failure with its reproduction."""
    examples = sum(r.examples for r in results)
    failed = sum(r.failed_examples for r in results)
    lines = [f"{len(results)} operations, {examples:,} examples, {failed:,} failures"]
    for result in results:
        for failure in result.failures:
            status = failure.status if failure.status is not None else "exception"
            lines.append(f"FAIL {failure.method} {failure.path}: {status} - {failure.detail}")
            lines.append(f"     {failure.reproduction}")
    return lines


def _prepare(url: str | None, log: Callable[[str], None]) -> tuple[str, Path]:
    """Migrate, and seed a small realistic data set unless the database already holds findings."""
    folder = Path(tempfile.mkdtemp(prefix="vigil-bench-api-fuzz-"))
    url = url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.reader() as s:
            present = int(s.scalar(select(func.count()).select_from(Finding)) or 0)
        if present:
            log(f"using the {present:,} findings already in the database")
        else:
            summary = seed(database, projects=5, findings=3000, days=30)
            log(f"seeded {summary.projects} projects, {summary.findings:,} findings")
    finally:
        database.dispose()
    return url, folder


def run(
    *, examples: int, database_url: str | None = None, log: Callable[[str], None] = print
) -> list[OperationResult]:
    """Prepare a database and an API key (read, gate, upload, scan), then fuzz every operation."""
    _load_extras()  # fail before migrating and seeding when the extras are missing
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # PDF progress, per page, per example
    url, folder = _prepare(database_url, log)
    database = Database(url)
    try:
        with database.transaction() as s:
            key = api_key_service.create(
                s,
                Actor.cli(),
                name=f"api-fuzz-{secrets.token_hex(4)}",
                scopes=SCOPES,
                expires_days=1,
            ).secret
        app = create_app(
            {
                "database_url": url,
                "secret_key": secrets.token_urlsafe(48),
                "scheduler_enabled": False,
                "instance_path": folder / "instance",
                "work_dir": folder / "work",
            },
            database=database,
        )
        started = time.perf_counter()
        results = fuzz_app(app, key, examples, log)
        log(f"fuzzed in {time.perf_counter() - started:,.0f} s")
        return results
    finally:
        database.dispose()
