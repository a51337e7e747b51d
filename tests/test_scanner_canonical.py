"""One rule, one finding: bandit, ruff and Vigil's semgrep rules share canonical ids; severities map once."""

from __future__ import annotations

import pytest

from app.scanners.base import SEVERITIES
from app.scanners.canonical import (
    BANDIT_RULES,
    SEMGREP_RULES,
    SHIPPED_SEMGREP_RULES,
    canonical_rule_id,
    semgrep_rule_name,
)
from app.scanners.severity import SEVERITY_TABLE, map_severity


@pytest.mark.parametrize(
    ("bandit", "ruff", "semgrep"),
    [
        ("B602", "S602", "vigil-subprocess-shell-true"),
        ("B301", "S301", "vigil-unsafe-pickle"),
        ("B506", "S506", "vigil-unsafe-yaml-load"),
        ("B307", "S307", "vigil-eval-used"),
        ("B102", "S102", "vigil-exec-used"),
        ("B105", "S105", "vigil-hardcoded-secret-key"),
    ],
)
def test_three_tools_checking_the_same_thing_share_one_rule(bandit: str, ruff: str, semgrep: str) -> None:
    ids = {
        canonical_rule_id("bandit", bandit),
        canonical_rule_id("ruff", ruff),
        canonical_rule_id("semgrep", semgrep),
        # semgrep prefixes local rules with the config file's dotted directory
        canonical_rule_id("semgrep", f"home.ci.app.scanners.rules.semgrep.{semgrep}"),
    }
    assert len(ids) == 1
    assert next(iter(ids)).startswith("py.")


def test_every_bandit_code_has_a_ruff_twin_by_number() -> None:
    for code, canonical in BANDIT_RULES.items():
        assert canonical_rule_id("ruff", "S" + code[1:]) == canonical
    assert len(set(BANDIT_RULES.values())) == len(BANDIT_RULES)


def test_unknown_rules_keep_their_own_identity() -> None:
    assert canonical_rule_id("ruff", "B904") == "ruff:B904"
    assert canonical_rule_id("ruff", "SIM102") == "ruff:SIM102"
    assert canonical_rule_id("ruff", "S999") == "ruff:S999"
    assert canonical_rule_id("bandit", "B999") == "bandit:B999"
    assert (
        canonical_rule_id("semgrep", "java.lang.security.audit.x.x") == "semgrep:java.lang.security.audit.x.x"
    )
    assert canonical_rule_id("mypy", "arg-type") == "mypy:arg-type"
    # two tools with the same unknown rule name never collide
    assert canonical_rule_id("gitleaks", "aws-key") != canonical_rule_id("trufflehog", "aws-key")


def test_registry_rules_for_the_same_check_join_the_shipped_ones() -> None:
    registry = "python.lang.security.audit.subprocess-shell-true.subprocess-shell-true"
    assert canonical_rule_id("semgrep", registry) == canonical_rule_id("bandit", "B602")
    assert semgrep_rule_name("a.b.vigil-eval-used") == "vigil-eval-used"
    assert semgrep_rule_name("a.b.not-ours") == "a.b.not-ours"


def test_shipped_semgrep_rules_all_exist_in_the_rule_pack() -> None:
    from pathlib import Path

    import yaml

    pack = Path(__file__).resolve().parent.parent / "app" / "scanners" / "rules" / "semgrep"
    ids = set()
    for path in pack.glob("*.yml"):
        ids.update(rule["id"] for rule in yaml.safe_load(path.read_text())["rules"])
    assert ids == set(SHIPPED_SEMGREP_RULES)
    assert set(SEMGREP_RULES) >= SHIPPED_SEMGREP_RULES


@pytest.mark.parametrize(
    ("tool", "level", "rule", "expected"),
    [
        ("bandit", "HIGH", None, "high"),
        ("bandit", "low", None, "low"),
        ("semgrep", "ERROR", None, "high"),
        ("semgrep", "WARNING", None, "medium"),
        ("semgrep", "INFO", None, "low"),
        ("ruff", "SECURITY", "S602", "high"),
        ("ruff", "SECURITY", "S999", "medium"),
        ("ruff", "QUALITY", "B904", "low"),
        ("detect-secrets", None, None, "high"),
        ("mypy", "error", None, "low"),
        ("mypy", "note", None, "info"),
        ("pip-audit", None, None, "medium"),
        ("unknown-tool", "Critical", None, "critical"),
        ("unknown-tool", "weird", None, "medium"),
    ],
)
def test_severity_table(tool: str, level: str | None, rule: str | None, expected: str) -> None:
    assert map_severity(tool, level, rule) == expected


def test_severity_table_only_produces_vigil_severities() -> None:
    for rows in SEVERITY_TABLE.values():
        assert set(rows.values()) <= set(SEVERITIES)
