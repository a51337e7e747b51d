"""Imports end to end: the service, `vigil import` and the upload API; checklist 36 (exactly once)."""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.db import Database
from app.models import AuditEvent, CountSnapshot, Finding, Project, ScanRun
from app.scanners.base import ReportError
from app.services.actor import Actor
from app.services.imports import import_report
from tests.ingestion_helpers import count, sarif_report

# The module, not the function of the same name that app.ingestion re-exports.
ingest_module = importlib.import_module("app.ingestion.ingest")

RESULTS = [
    ("python.eval", "shop/views.py", 10, "eval(request.args['q'])"),
    ("python.eval", "shop/views.py", 40, "eval(request.args['q'])"),
    ("python.pickle", "shop/cache.py", 7, "pickle.loads(blob)"),
]


def _project(database: Database, name: str = "shop") -> int:
    with database.transaction() as s:
        project = Project(name=name, local_path=f"/srv/{name}")
        s.add(project)
        s.flush()
        return project.id


def _import(database: Database, project_id: int, path: Path) -> object:
    with database.transaction() as s:
        return import_report(s, Actor.cli(), project_id, path)


def test_import_service_creates_run_and_findings(database: Database, tmp_path: Path) -> None:
    pid = _project(database)
    result = _import(database, pid, sarif_report(tmp_path / "r.sarif", RESULTS))
    assert result.summary.new == 3 and not result.duplicate  # type: ignore[attr-defined]
    with database.reader() as s:
        run = s.scalars(select(ScanRun)).one()
        assert (run.scanner, run.report_format, run.count_new, run.status.value) == (
            "semgrep",
            "sarif",
            3,
            "succeeded",
        )
        assert count(s, CountSnapshot) > 0


def test_checklist_36_same_report_twice_is_one_run_changing_only_last_seen(
    database: Database, tmp_path: Path
) -> None:
    pid = _project(database)
    report = sarif_report(tmp_path / "r.sarif", RESULTS)
    _import(database, pid, report)
    with database.reader() as s:
        before = {f.id: (f.status, f.first_seen, f.last_seen, f.line) for f in s.scalars(select(Finding))}
        snapshots = count(s, CountSnapshot)
    second = _import(database, pid, report)
    assert second.duplicate and second.summary.new == 0  # type: ignore[attr-defined]
    with database.reader() as s:
        assert count(s, ScanRun) == 1
        after = {f.id: (f.status, f.first_seen, f.last_seen, f.line) for f in s.scalars(select(Finding))}
        assert count(s, CountSnapshot) == snapshots
    assert after.keys() == before.keys()
    for fid, (status, first_seen, last_seen, line) in after.items():
        assert (status, first_seen, line) == before[fid][:2] + (before[fid][3],)
        assert last_seen >= before[fid][2]


def test_checklist_36_retry_after_forced_mid_import_failure_is_exactly_once(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _project(database)
    report = sarif_report(tmp_path / "r.sarif", RESULTS)

    def crash(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("disk full while writing the snapshot")

    # The findings, detections and run are already written when the snapshot step fails.
    monkeypatch.setattr(ingest_module, "write_snapshot", crash)
    with pytest.raises(RuntimeError):
        _import(database, pid, report)
    with database.reader() as s:
        assert (count(s, ScanRun), count(s, Finding), count(s, AuditEvent)) == (0, 0, 0)
    monkeypatch.undo()
    result = _import(database, pid, report)
    assert result.summary.new == 3  # type: ignore[attr-defined]
    _import(database, pid, report)
    with database.reader() as s:
        assert count(s, ScanRun) == 1 and count(s, Finding) == 3


def test_bad_report_is_one_error_and_writes_nothing(database: Database, tmp_path: Path) -> None:
    pid = _project(database)
    bad = tmp_path / "bad.json"
    bad.write_text('{"runs": [', encoding="utf-8")
    with pytest.raises(ReportError):
        _import(database, pid, bad)
    with database.reader() as s:
        assert count(s, ScanRun) == 0


def test_vigil_import_cli(runner: object, database: Database, tmp_path: Path) -> None:
    pid = _project(database, "cli-shop")
    report = sarif_report(tmp_path / "r.sarif", RESULTS)
    out = runner.invoke(["import", "--project", "cli-shop", str(report)])  # type: ignore[attr-defined]
    assert out.exit_code == 0, out.output
    assert "new 3, unchanged 0, reopened 0, fixed 0, suppressed 0" in out.output
    again = runner.invoke(["import", "--project", "cli-shop", "--json", str(report)])  # type: ignore[attr-defined]
    assert again.exit_code == 0 and '"duplicate": true' in again.output
    subset = sarif_report(tmp_path / "s.sarif", RESULTS[:1])
    third = runner.invoke(["import", "--project", "cli-shop", str(subset)])  # type: ignore[attr-defined]
    assert "fixed 2" in third.output
    bad = tmp_path / "bad.sarif"
    bad.write_text("{not json", encoding="utf-8")
    failed = runner.invoke(["import", "--project", "cli-shop", str(bad)])  # type: ignore[attr-defined]
    assert failed.exit_code == 2
    assert failed.output.strip().startswith("error: ") and len(failed.output.strip().splitlines()) == 1
    unknown = runner.invoke(["import", "--project", "nope", str(report)])  # type: ignore[attr-defined]
    assert unknown.exit_code == 2 and "no project named" in unknown.output
    with database.reader() as s:
        statuses = sorted(f.status.value for f in s.scalars(select(Finding).where(Finding.project_id == pid)))
        assert statuses == ["fixed", "fixed", "open"]


def _upload(client: FlaskClient, pid: int, key: str | None, body: bytes, **kw: object) -> object:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = {"report": (io.BytesIO(body), "report.sarif")}
    return client.post(f"/api/v1/projects/{pid}/imports", data=data, headers=headers, **kw)


def test_upload_api_needs_upload_key_and_is_idempotent(
    client: FlaskClient, database: Database, make_api_key: Callable[..., str], tmp_path: Path
) -> None:
    pid = _project(database)
    body = sarif_report(tmp_path / "r.sarif", RESULTS).read_bytes()
    assert _upload(client, pid, None, body).status_code == 401  # type: ignore[attr-defined]
    read_key = make_api_key(["read"])
    assert _upload(client, pid, read_key, body).status_code == 403  # type: ignore[attr-defined]
    other = _project(database, "other")
    scoped = make_api_key(["upload"], projects=[other])
    assert _upload(client, pid, scoped, body).status_code == 404  # type: ignore[attr-defined]
    key = make_api_key(["upload"])
    first = _upload(client, pid, key, body)
    assert first.status_code == 201 and first.json["new"] == 3  # type: ignore[attr-defined]
    second = _upload(client, pid, key, body)
    assert second.status_code == 200 and second.json["duplicate"] is True  # type: ignore[attr-defined]
    assert second.json["run_id"] == first.json["run_id"]  # type: ignore[attr-defined]
    with database.reader() as s:
        assert count(s, ScanRun) == 1 and count(s, Finding) == 3
        run = s.scalars(select(ScanRun)).one()
        assert run.api_key_id is not None and run.trigger.value == "api"


def test_upload_api_refuses_large_wrong_type_and_malformed(
    app_config: dict[str, Any], database: Database, make_api_key: Callable[..., str]
) -> None:
    client = create_app({**app_config, "max_upload_mb": 1}, database=database).test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    pid = _project(database)
    key = make_api_key(["upload"])
    auth = {"Authorization": f"Bearer {key}"}
    wrong = client.post(
        f"/api/v1/projects/{pid}/imports", data=b"{}", headers=auth, content_type="application/json"
    )
    assert wrong.status_code == 415
    big = _upload(client, pid, key, b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert big.status_code == 413  # type: ignore[attr-defined]
    malformed = _upload(client, pid, key, b'{"version": "2.1.0", "runs": [{"results": [1, 2')
    assert malformed.status_code == 400  # type: ignore[attr-defined]
    assert "sarif" in malformed.json["detail"].lower() or "json" in malformed.json["detail"].lower()  # type: ignore[attr-defined]
    with database.reader() as s:
        assert count(s, ScanRun) == 0
