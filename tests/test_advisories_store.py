"""The advisory store on a real database: incremental import, withdrawal, status, inventories, CLI."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.advisories.inventory import collect
from app.advisories.osv import AdvisoryError
from app.models import (
    ActorType,
    Advisory,
    AdvisoryImport,
    AdvisoryPackage,
    AuditEvent,
    DependencyInventory,
    InventoryDependency,
    Project,
    Role,
)
from app.services import advisories as service
from app.services.actor import Actor
from app.services.permissions import PermissionDenied
from tests.conftest import VigilRunner

FIXTURES = Path(__file__).parent / "fixtures" / "advisories"
ADMIN = Actor.cli()


def zip_of(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.json")):
            archive.write(path, path.name)
    return target


def test_import_is_incremental_by_modified_time(session: Session, tmp_path: Path) -> None:
    first = service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    assert (first.records_seen, first.added, first.updated, first.ignored, first.rejected) == (9, 8, 0, 1, 0)
    assert first.withdrawn == 1 and first.changed
    assert session.scalar(select(func.count()).select_from(Advisory)) == 8
    packages = set(session.scalars(select(AdvisoryPackage.package)))
    assert packages == {"cryptography", "django", "flask", "jinja2", "protobuf", "pyyaml", "requests"}

    again = service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    assert (again.added, again.updated, again.unchanged, again.changed) == (0, 0, 8, False)

    newer = service.import_advisories(session, ADMIN, zip_of(FIXTURES / "osv-v2", tmp_path / "all.zip"))
    assert (newer.added, newer.updated, newer.unchanged, newer.withdrawn) == (1, 2, 6, 1)
    assert newer.newest_modified == datetime(2024, 3, 1, tzinfo=UTC)
    assert newer.gained_fixes["CVE-2023-32681"] == ["2.31.0"]
    assert "PYSEC-2023-62" not in newer.gained_fixes  # withdrawn, not fixed
    assert newer.changed_packages == {"flask", "requests", "urllib3"}

    index = service.load_index(session)
    assert not index.knows("flask")  # its only advisory was withdrawn
    (requests,) = index.match("requests", "2.30.0")
    assert requests.fixed_versions == ("2.31.0",)
    assert index.match("urllib3", "1.26.15")
    imports = session.scalars(select(AdvisoryImport).order_by(AdvisoryImport.id)).all()
    assert [i.added for i in imports] == [8, 0, 1]
    assert imports[2].source_sha256 is not None and len(imports[2].source_sha256) == 64
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "advisory_import")).all()
    assert len(actions) == 3


def test_rejected_records_are_counted_and_the_rest_lands(session: Session, tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "good.json").write_bytes((FIXTURES / "osv-v1" / "PYSEC-2023-62.json").read_bytes())
    (folder / "bad.json").write_text('{"id": "BAD-1", "modified": "not a date"}')
    summary = service.import_advisories(session, ADMIN, folder)
    assert (summary.added, summary.rejected) == (1, 1)
    assert summary.problems == ["BAD-1: modified 'not a date' is not an RFC 3339 timestamp"]


def test_unsafe_archive_changes_nothing(session: Session, tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escape.json", "{}")
    with pytest.raises(AdvisoryError, match="unsafe entry name"):
        service.import_advisories(session, ADMIN, archive)
    assert session.scalar(select(func.count()).select_from(AdvisoryImport)) == 0


def test_import_needs_the_advisory_permission(session: Session) -> None:
    analyst = Actor(type=ActorType.USER, id=1, label="ann", role=Role.ANALYST)
    with pytest.raises(PermissionDenied):
        service.import_advisories(session, analyst, FIXTURES / "osv-v1")


def test_store_status_version_and_age(session: Session) -> None:
    empty = service.store_status(session)
    assert (empty.version, empty.advisories, empty.stale) == (None, 0, True)
    service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    status = service.store_status(session)
    assert status.advisories == 8 and status.withdrawn == 1 and status.packages == 7
    assert status.newest_modified == datetime(2024, 2, 10, tzinfo=UTC)
    assert status.version is not None and status.version.endswith("2024-02-10T00:00:00+00:00")
    assert not status.stale
    later = service.store_status(session, max_age_days=7, now=datetime.now(UTC) + timedelta(days=8))
    assert later.stale and later.age_days is not None and later.age_days > 7


def test_inventory_is_stored_per_scan_and_latest_wins(session: Session, tmp_path: Path) -> None:
    project = Project(name="shop", local_path=str(tmp_path))
    other = Project(name="legacy", local_path=str(tmp_path), enabled_scanners=["bandit"])
    session.add_all([project, other])
    session.flush()
    first = service.save_inventory(session, project.id, collect(FIXTURES / "projects" / "uv"), None)
    second = service.save_inventory(session, project.id, collect(FIXTURES / "projects" / "reqs"), None)
    service.save_inventory(session, other.id, collect(FIXTURES / "projects" / "uv"), None)
    assert first < second
    assert service.latest_inventories(session) == {project.id: second}  # osv disabled on "legacy"
    rows = service.inventory_rows(session, [second])[second]
    django = next(r for r in rows if r.name == "django")
    assert (django.version, django.source, django.line, django.direct) == (
        "4.2.0",
        "requirements.txt",
        6,
        True,
    )
    stored = session.scalar(select(InventoryDependency).where(InventoryDependency.name == "cryptography"))
    assert stored is not None and stored.note == "constraint" and stored.pinned


def test_scan_checkout_matches_only_the_projects_packages(session: Session, tmp_path: Path) -> None:
    service.import_advisories(session, ADMIN, FIXTURES / "osv-v1")
    project = Project(name="api", local_path=str(FIXTURES / "projects" / "uv"))
    session.add(project)
    session.flush()
    findings, inventory = service.scan_checkout(session, project, FIXTURES / "projects" / "uv")
    assert sorted((f.package, f.installed_version, f.fixed_versions) for f in findings) == [
        ("django", "4.1.7", ("3.2.19", "4.1.9", "4.2.1")),
        ("requests", "2.30.0", ()),
    ]
    assert inventory.files == ["pyproject.toml", "uv.lock"]
    stored = session.get(DependencyInventory, service.latest_inventories(session)[project.id])
    assert stored is not None and stored.dependency_count == len(inventory.dependencies) == 15


def test_cli_import_and_status(runner: VigilRunner) -> None:
    result = runner.invoke(["advisories", "import", str(FIXTURES / "osv-v1"), "--no-reevaluate"])
    assert result.exit_code == 0, result.output
    assert "8 added" in result.output and "1 not PyPI" in result.output
    again = runner.invoke(["advisories", "import", str(FIXTURES / "osv-v1")])
    assert "advisory store unchanged; nothing to re-evaluate" in again.output
    status = runner.invoke(["advisories", "status"])
    assert status.exit_code == 0
    assert "advisories: 8 (1 withdrawn), packages: 7" in status.output
    assert "newest record modified: 2024-02-10T00:00:00+00:00" in status.output


def test_cli_bad_source_is_one_line(runner: VigilRunner, tmp_path: Path) -> None:
    result = runner.invoke(["advisories", "import", str(tmp_path / "missing.zip")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {tmp_path / 'missing.zip'}: no such file or folder"
    ]


def test_old_inventories_are_pruned(session: Session, tmp_path: Path) -> None:
    from app.services.advisory_store import KEEP_INVENTORIES

    project = Project(name="busy", local_path=str(tmp_path))
    session.add(project)
    session.flush()
    inventory = collect(FIXTURES / "projects" / "pipenv")
    ids = [service.save_inventory(session, project.id, inventory, None) for _ in range(KEEP_INVENTORIES + 2)]
    kept = session.scalars(select(DependencyInventory.id).order_by(DependencyInventory.id)).all()
    assert kept == ids[2:]
    stored = set(session.scalars(select(InventoryDependency.inventory_id).distinct()))
    assert stored == set(ids[2:])
