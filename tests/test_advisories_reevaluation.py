"""Done-when: pinned requirements and a uv.lock give the expected findings offline, and importing a
newer advisory set opens and closes findings through ingestion without any scan."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.models import (
    ExceptionScope,
    ExceptionState,
    Finding,
    FindingStatus,
    Project,
    RiskException,
    RunTrigger,
    ScanRun,
    User,
)
from app.services import advisories as service
from app.services.actor import Actor

FIXTURES = Path(__file__).parent / "fixtures" / "advisories"
ADMIN = Actor.cli()
NOW = datetime(2024, 3, 2, 12, 0, tzinfo=UTC)


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.json")):
            archive.write(path, path.name)
    return target


def _projects(session: Session) -> tuple[int, int]:
    shop = Project(name="shop", local_path=str(FIXTURES / "projects" / "reqs"))
    api = Project(name="api", local_path=str(FIXTURES / "projects" / "uv"))
    session.add_all([shop, api])
    session.flush()
    for project in (shop, api):
        run = ScanRun(project_id=project.id, scanner="osv", trigger=RunTrigger.MANUAL)
        session.add(run)
        session.flush()
        service.scan_checkout(session, project, Path(project.local_path or ""), run)
    return shop.id, api.id


def _open(session: Session, project_id: int) -> dict[str, Finding]:
    rows = session.scalars(
        select(Finding).where(Finding.project_id == project_id, Finding.status != FindingStatus.FIXED)
    ).all()
    return {f"{f.package}:{f.rule_id}": f for f in rows}


def test_new_advisories_open_and_close_findings_without_a_scan(database: Database, tmp_path: Path) -> None:
    with database.transaction() as session:
        service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
        shop, api = _projects(session)

    first = service.reevaluate_all(database, ADMIN, now=NOW)
    assert (first.projects, first.new, first.fixed) == (2, 8, 0)
    with database.reader() as session:
        shop_open = _open(session, shop)
        assert set(shop_open) == {
            "cryptography:CVE-2023-50782",
            "django:CVE-2023-31047",
            "flask:CVE-2023-30861",
            "jinja2:CVE-2019-10906",
            "protobuf:GHSA-mixd-eco0-0001",
            "requests:CVE-2023-32681",
        }
        django = shop_open["django:CVE-2023-31047"]
        assert django.advisory_ids == ["CVE-2023-31047", "GHSA-r3xc-prgr-mg9p", "PYSEC-2023-80"]
        assert django.fixed_versions == ["3.2.19", "4.1.9", "4.2.1"]
        assert django.severity == "critical" and django.category == "dependency" and django.scanner == "osv"
        api_open = _open(session, api)
        assert set(api_open) == {"django:CVE-2023-31047", "requests:CVE-2023-32681"}
        assert api_open["django:CVE-2023-31047"].installed_version == "4.1.7"
        runs = session.scalars(select(ScanRun).where(ScanRun.id.in_(first.run_ids))).all()
        assert {(r.trigger, r.scanner, r.status.value) for r in runs} == {
            (RunTrigger.ADVISORY, "osv", "succeeded")
        }

    with database.transaction() as session:
        service.import_advisories(session, ADMIN, _zip(FIXTURES / "osv-v2", tmp_path / "all.zip"))
    second = service.reevaluate_all(database, ADMIN, now=NOW + timedelta(days=1))
    # flask's advisory was withdrawn; urllib3 got one: pinned in uv.lock, unpinned in requirements.txt
    assert (second.new, second.fixed) == (2, 1)
    with database.reader() as session:
        shop_open = _open(session, shop)
        assert "flask:CVE-2023-30861" not in shop_open
        assert shop_open["urllib3:osv-unpinned"].severity == "info"
        assert shop_open["requests:CVE-2023-32681"].fixed_versions == ["2.31.0"]
        flask = session.scalar(select(Finding).where(Finding.project_id == shop, Finding.package == "flask"))
        assert flask is not None and flask.status == FindingStatus.FIXED
        api_open = _open(session, api)
        urllib3 = api_open["urllib3:CVE-2023-43804"]
        assert urllib3.fixed_versions == ["1.26.17", "2.0.6"]
        assert urllib3.severity == "high"  # CVSS v4 base score 8.7
        assert urllib3.extras["direct"] is False


def test_exception_on_an_advisory_that_gains_a_fix_is_flagged(session: Session) -> None:
    service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    shop, api = _projects(session)
    requester = User(username="ann", password_hash="x")
    approver = User(username="bob", password_hash="x")
    session.add_all([requester, approver])
    session.flush()
    exception = RiskException(
        scope=ExceptionScope.ADVISORY,
        project_id=shop,
        advisory_id="CVE-2023-32681",
        aliases=["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"],
        package="requests",
        justification="proxies are not used",
        owner="ann",
        state=ExceptionState.ACTIVE,
        requested_by_id=requester.id,
        decided_by_id=approver.id,
        expires_at=NOW + timedelta(days=60),
    )
    session.add(exception)
    session.flush()
    first = service.reevaluate_all(session, ADMIN, now=NOW)
    assert first.flagged_exceptions == []
    accepted = session.scalar(
        select(Finding).where(Finding.package == "requests", Finding.project_id == shop)
    )
    assert accepted is not None and accepted.status == FindingStatus.ACCEPTED

    finding_exception = RiskException(
        scope=ExceptionScope.FINDING,
        project_id=api,
        finding_id=session.scalar(
            select(Finding.id).where(Finding.package == "requests", Finding.project_id == api)
        ),
        justification="internal network only",
        owner="ann",
        state=ExceptionState.ACTIVE,
        requested_by_id=requester.id,
        decided_by_id=approver.id,
        expires_at=NOW + timedelta(days=60),
    )
    session.add(finding_exception)
    session.flush()

    summary = service.import_advisories(session, ADMIN, FIXTURES / "osv-v2")
    assert summary.gained_fixes["CVE-2023-32681"] == ["2.31.0"]
    assert summary.flagged_exceptions == [exception.id, finding_exception.id]
    for flagged in (exception, finding_exception):
        session.refresh(flagged)
        assert flagged.needs_review
        assert flagged.review_reason == "the advisory now has a fixed version: 2.31.0"
    second = service.reevaluate_all(session, ADMIN, now=NOW + timedelta(days=1))
    assert second.flagged_exceptions == []  # already flagged, not twice


def test_reevaluation_limited_to_projects_using_changed_packages(session: Session) -> None:
    service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    shop, api = _projects(session)
    sbom = Project(name="frontend", local_path=str(FIXTURES / "projects" / "sbom"))
    session.add(sbom)
    session.flush()
    service.scan_checkout(session, sbom, FIXTURES / "projects" / "sbom")
    assert service.reevaluate_all(session, ADMIN, now=NOW).projects == 3
    changed = service.import_advisories(session, ADMIN, FIXTURES / "osv-v2").changed_packages
    limited = service.reevaluate_all(session, ADMIN, packages=changed, now=NOW + timedelta(days=1))
    runs = session.scalars(select(ScanRun.project_id).where(ScanRun.id.in_(limited.run_ids))).all()
    assert sorted(runs) == sorted([shop, api])  # the SBOM project uses none of requests/flask/urllib3
    assert (limited.new, limited.fixed) == (2, 1)


def test_unchanged_result_is_recorded_without_reingesting(session: Session) -> None:
    service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    shop, api = _projects(session)
    first = service.reevaluate_all(session, ADMIN, now=NOW)
    again = service.reevaluate_all(session, ADMIN, now=NOW + timedelta(hours=1))
    assert (first.projects, first.unchanged, again.projects, again.unchanged) == (2, 0, 0, 2)
    assert again.findings == first.findings == 8
    version = service.store_status(session).version
    latest = session.scalars(
        select(ScanRun).where(ScanRun.trigger == RunTrigger.ADVISORY).order_by(ScanRun.id.desc()).limit(2)
    ).all()
    assert {(r.project_id, r.ruleset_version, r.status.value, r.count_unchanged) for r in latest} == {
        (shop, version, "succeeded", 6),
        (api, version, "succeeded", 2),
    }
    # A scan in between: the next re-evaluation ingests again (there is no earlier result to trust).
    service.scan_checkout(
        session, session.get(Project, api), FIXTURES / "projects" / "uv", _scan_run(session, api)
    )
    third = service.reevaluate_all(session, ADMIN, now=NOW + timedelta(hours=2))
    assert (third.projects, third.unchanged) == (1, 1)


def _scan_run(session: Session, project_id: int) -> ScanRun:
    run = ScanRun(project_id=project_id, scanner="osv", trigger=RunTrigger.SCHEDULE)
    session.add(run)
    session.flush()
    return run


def test_nothing_to_reevaluate_without_inventories(session: Session) -> None:
    service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    summary = service.reevaluate_all(session, ADMIN)
    assert (summary.projects, summary.findings, summary.run_ids) == (0, 0, [])
