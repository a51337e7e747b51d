"""The ``osv`` registry entry: no network, no subprocess, and never a silent clean run."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from app.advisories.scanner import SCANNER as OSV
from app.models import Project
from app.scanners.registry import SCANNERS, Outcome, Scanner, ScanOptions
from app.services import advisories as service
from app.services.actor import Actor

FIXTURES = Path(__file__).parent / "fixtures" / "advisories"


def test_osv_is_registered_and_fails_loudly_without_a_store() -> None:
    scanner = SCANNERS["osv"]
    assert scanner is OSV and isinstance(scanner, Scanner) and scanner.category == "dependency"
    result = scanner.run(FIXTURES / "projects" / "uv", ScanOptions())
    assert result.outcome is Outcome.FAILED and not result.complete
    assert result.error is not None and "advisory store" in result.error


def test_bound_scanner_matches_the_checkout(session: Session) -> None:
    service.import_advisories(session, Actor.cli(), FIXTURES / "osv-v1")
    scanner = OSV.bind(service.load_index(session))
    result = scanner.run(FIXTURES / "projects" / "uv", ScanOptions(dependency_files=("uv.lock",)))
    assert result.outcome is Outcome.FINDINGS and result.complete
    assert sorted(f.package for f in result.findings) == ["django", "requests"]
    assert result.tool_version == "vigil-osv" and result.ruleset_version


def test_unreadable_lock_file_never_closes_its_findings(session: Session, tmp_path: Path) -> None:
    service.import_advisories(session, Actor.cli(), FIXTURES / "osv-v1")
    checkout = tmp_path / "repo"
    shutil.copytree(FIXTURES / "projects" / "uv", checkout)
    project = Project(name="api", local_path=str(checkout), dependency_files=["uv.lock"])
    session.add(project)
    session.flush()
    before, _ = service.scan_checkout(session, project, checkout)
    (checkout / "uv.lock").write_text("<<<<<<< HEAD\nbroken merge\n")
    scanner = OSV.bind(service.load_index(session))
    failed = scanner.run(checkout, ScanOptions(dependency_files=("uv.lock",)))
    assert failed.outcome is Outcome.FAILED and "not valid TOML" in (failed.error or "")
    after, inventory = service.scan_checkout(session, project, checkout)
    assert sorted(f.package for f in after) == sorted(f.package for f in before) == ["django", "requests"]
    assert inventory.failed == ["uv.lock"]
    assert any("kept 12 dependencies from the previous reading of uv.lock" in p for p in inventory.problems)
