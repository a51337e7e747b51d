"""Migration 0013 deletes only the detection rows that say nothing an implicit detection does not."""

from __future__ import annotations

from sqlalchemy import select

from app.db import Database
from app.migrate import downgrade, upgrade
from app.models import Finding, FindingDetection
from tests.finding_helpers import add_finding, add_project, add_run

BEFORE = "0012_indexes_without_last_seen"


def _rows(url: str) -> set[tuple[str, str, str, bool]]:
    """(finding title, scanner, tool rule, active) of every detection row."""
    database = Database(url)
    try:
        with database.session() as s:
            rows = s.execute(
                select(
                    Finding.title,
                    FindingDetection.scanner,
                    FindingDetection.tool_rule_id,
                    FindingDetection.active,
                ).join(Finding, Finding.id == FindingDetection.finding_id)
            ).all()
            return {(t, sc, rule, bool(active)) for t, sc, rule, active in rows}
    finally:
        database.dispose()


def test_redundant_rows_go_and_come_back_on_downgrade(database_url: str) -> None:
    downgrade(database_url, BEFORE)
    database = Database(database_url)
    try:
        with database.transaction() as s:
            project = add_project(s)
            run = add_run(s, project)

            def finding(title: str, status: str, *rows: tuple[str, str, bool]) -> None:
                f = add_finding(
                    s, project, title=title, status=status, first_run_id=run.id, last_run_id=run.id
                )
                for scanner, rule, active in rows:
                    s.add(
                        FindingDetection(
                            finding_id=f.id,
                            scanner=scanner,
                            tool_rule_id=rule,
                            first_run_id=run.id,
                            last_run_id=run.id,
                            active=active,
                        )
                    )
                s.flush()

            finding("own-open", "open", ("bandit", "B602", True))
            finding("own-fixed", "fixed", ("bandit", "B602", False))
            finding("own-false-positive", "false_positive", ("bandit", "B602", True))
            finding("two-scanners", "open", ("bandit", "B602", True), ("ruff", "S602", True))
            finding("inactive-but-open", "open", ("bandit", "B602", False))
            finding("other-rule", "open", ("bandit", "B999", True))
            finding("other-scanner-only", "open", ("ruff", "S602", True))
    finally:
        database.dispose()
    kept = {
        ("two-scanners", "bandit", "B602", True),
        ("two-scanners", "ruff", "S602", True),
        ("inactive-but-open", "bandit", "B602", False),
        ("other-rule", "bandit", "B999", True),
        ("other-scanner-only", "ruff", "S602", True),
    }
    upgrade(database_url)
    assert _rows(database_url) == kept
    downgrade(database_url, BEFORE)
    assert _rows(database_url) == kept | {
        ("own-open", "bandit", "B602", True),
        ("own-fixed", "bandit", "B602", False),
        ("own-false-positive", "bandit", "B602", True),
    }
    upgrade(database_url)
