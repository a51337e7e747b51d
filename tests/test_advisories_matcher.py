"""OSV evaluation rules, alias grouping, severity and findings, on records written like the real ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.advisories.findings import UNPINNED_RULE, evaluate, preferred_id
from app.advisories.inventory import collect
from app.advisories.inventory.base import Dependency
from app.advisories.matcher import AdvisoryIndex, recommended_fix
from app.advisories.osv import AdvisoryError, parse_record
from app.advisories.severity import band, record_severity
from app.advisories.sources import iter_documents

FIXTURES = Path(__file__).parent / "fixtures" / "advisories"


def _index_from(folder: Path) -> AdvisoryIndex:
    rows = []
    for document in iter_documents(folder):
        record = parse_record(document.data, document.origin)
        if record.withdrawn is None and record.affected:
            rows.append(
                {
                    "osv_id": record.id,
                    "aliases": record.aliases,
                    "summary": record.summary,
                    "severity": record.severity,
                    "modified": record.modified,
                    "affected": [a.as_json() for a in record.affected],
                }
            )
    return AdvisoryIndex.build(rows, version="test")


def _record(
    events: list[dict[str, str]] | None = None, versions: list[str] | None = None, **extra: Any
) -> dict:
    affected: dict[str, Any] = {"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = versions
    return {"id": "GHSA-demo-0000-0001", "modified": "2024-01-01T00:00:00Z", "affected": [affected], **extra}


def _one(doc: dict) -> AdvisoryIndex:
    record = parse_record(doc)
    return AdvisoryIndex.build(
        [
            {
                "osv_id": record.id,
                "aliases": record.aliases,
                "severity": record.severity,
                "affected": record.affected,
            }
        ]
    )


@pytest.fixture(scope="module")
def v1() -> AdvisoryIndex:
    return _index_from(FIXTURES / "osv-v1")


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("0.1", True),
        ("1.4.9", True),
        ("1.5.0", False),
        ("1.9", False),
        ("2.0", True),
        ("2.1.3", True),
        ("2.1.4", False),
    ],
)
def test_introduced_zero_fixed_and_last_affected(version: str, affected: bool) -> None:
    index = _one(
        _record([{"introduced": "0"}, {"fixed": "1.5.0"}, {"introduced": "2.0"}, {"last_affected": "2.1.3"}])
    )
    assert bool(index.match("demo-pkg", version)) is affected


def test_events_out_of_order_are_sorted_before_evaluation() -> None:
    index = _one(_record([{"fixed": "1.5.0"}, {"introduced": "1.0"}]))
    assert index.match("demo-pkg", "1.2")
    assert not index.match("demo-pkg", "0.9")
    assert not index.match("demo-pkg", "1.5.0")


def test_explicit_versions_match_by_pep440_equality() -> None:
    index = _one(_record(versions=["1.0", "2.0.1"]))
    assert index.match("demo-pkg", "1.0.0")
    assert index.match("Demo.Pkg", "2.0.1")
    assert not index.match("demo-pkg", "1.0.1")


def test_prereleases_order_as_pip_orders_them() -> None:
    index = _one(_record([{"introduced": "0"}, {"fixed": "2.0.0"}]))
    assert index.match("demo-pkg", "2.0.0rc1")
    assert index.match("demo-pkg", "2.0.0.dev3")
    assert not index.match("demo-pkg", "2.0.0.post1")
    assert recommended_fix(None, ["2.1.0rc1", "2.0.1"]) == "2.0.1"
    from packaging.version import Version

    assert recommended_fix(Version("2.1.0b1"), ["2.1.0rc1", "2.2.0"]) == "2.1.0rc1"
    assert recommended_fix(Version("2.0"), ["2.1.0rc1"]) == "2.1.0rc1"


def test_unparsable_range_is_skipped_not_guessed() -> None:
    index = _one(_record([{"introduced": "not a version"}, {"fixed": "2.0"}]))
    assert index.skipped_ranges == 1
    assert not index.match("demo-pkg", "1.0")


def test_aliases_across_pysec_ghsa_cve_form_one_group(v1: AdvisoryIndex) -> None:
    (match,) = v1.match("Django", "4.2.0")
    assert match.ids == ("CVE-2023-31047", "GHSA-r3xc-prgr-mg9p", "PYSEC-2023-80")
    assert match.matched == ("GHSA-r3xc-prgr-mg9p", "PYSEC-2023-80")
    assert match.fixed_versions == ("3.2.19", "4.1.9", "4.2.1")
    assert match.recommended == "4.2.1"
    assert match.severity == "critical"  # the GHSA label; the PYSEC record has no severity


def test_git_ranges_and_other_ecosystems_are_ignored(v1: AdvisoryIndex) -> None:
    assert not v1.knows("lodash")
    assert v1.match("protobuf", "4.21.0")  # the PyPI half of a record that also names Maven
    assert not v1.match("protobuf", "3.16.0")
    assert not v1.match("django", "5.0")


def test_withdrawn_records_do_not_match(v1: AdvisoryIndex) -> None:
    assert not v1.knows("pyyaml")


def test_severity_from_label_then_cvss_then_default() -> None:
    assert record_severity({"database_specific": {"severity": "MODERATE"}}) == ("medium", "database_specific")
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    assert record_severity({"severity": [{"type": "CVSS_V3", "score": vector}]}) == ("high", "cvss")
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert record_severity({"severity": [{"type": "CVSS_V4", "score": v4}]}) == ("critical", "cvss")
    assert record_severity({"severity": [{"type": "CVSS_V3", "score": "garbage"}]}) == (None, "default")
    assert [band(s) for s in (9.8, 7.0, 4.0, 0.1, 0.0)] == ["critical", "high", "medium", "low", "info"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "JSON object"),
        ({"id": "../etc", "modified": "2024-01-01T00:00:00Z"}, "malformed OSV id"),
        ({"id": "X-1", "modified": "yesterday"}, "RFC 3339"),
        ({"id": "X-1", "modified": "2024-01-01T00:00:00Z", "aliases": "CVE-1"}, "list of strings"),
        (_record([{"introduced": "0", "fixed": "1"}]), "one key"),
        (_record([{"broken": "1"}]), "unknown range event"),
    ],
)
def test_malformed_records_are_refused_with_one_line(doc: Any, message: str) -> None:
    with pytest.raises(AdvisoryError, match=message):
        parse_record(doc)


def test_requirements_project_findings_carry_fixed_versions(v1: AdvisoryIndex) -> None:
    findings = {f.package: f for f in evaluate(collect(FIXTURES / "projects" / "reqs").dependencies, v1)}
    assert set(findings) == {"cryptography", "django", "flask", "jinja2", "protobuf", "requests"}
    assert findings["flask"].fixed_versions == ("2.2.5", "2.3.2")
    assert findings["flask"].severity == "high"  # CVSS 7.5 in severity[]
    django = findings["django"]
    assert (django.scanner, django.category, django.rule_id) == ("osv", "dependency", "CVE-2023-31047")
    assert django.installed_version == "4.2.0"
    assert django.fixed_versions == ("3.2.19", "4.1.9", "4.2.1")
    assert django.path == "requirements.txt" and django.line == 6
    assert findings["cryptography"].installed_version == "42.0.0rc1"  # from constraints.txt
    assert findings["cryptography"].fixed_versions == ("42.0.0",)
    assert findings["requests"].fixed_versions == ()  # last_affected only: no fix yet
    assert findings["jinja2"].severity == "medium"
    assert findings["jinja2"].extras["severity_source"] == "default"


def test_uv_lock_project_findings(v1: AdvisoryIndex) -> None:
    findings = {f.package: f for f in evaluate(collect(FIXTURES / "projects" / "uv").dependencies, v1)}
    assert set(findings) == {"django", "requests"}
    assert findings["django"].installed_version == "4.1.7"
    assert findings["django"].extras["recommended_version"] == "4.1.9"
    assert findings["django"].extras["direct"] is True


def test_unpinned_dependency_is_reported_not_guessed(v1: AdvisoryIndex) -> None:
    deps = [Dependency(name="django", version=None, source="pyproject.toml", specifier=">=4")]
    (finding,) = evaluate(deps, v1)
    assert finding.rule_id == UNPINNED_RULE
    assert finding.severity == "info"
    assert finding.advisory_ids == ()
    assert finding.extras["unpinned"] is True


def test_two_vulnerable_versions_of_one_package_are_one_finding(v1: AdvisoryIndex) -> None:
    deps = [
        Dependency(name="django", version="4.1.7", source="a/requirements.txt", line=1),
        Dependency(name="django", version="4.2.0", source="b/requirements.txt", line=1, dev=True),
    ]
    (finding,) = evaluate(deps, v1)
    assert finding.installed_version == "4.1.7, 4.2.0"
    assert finding.extras["sources"] == ["a/requirements.txt", "b/requirements.txt"]
    assert finding.extras["dev_only"] is False


def test_preferred_id_order() -> None:
    assert preferred_id(["PYSEC-1", "GHSA-x", "CVE-2"]) == "CVE-2"
    assert preferred_id(["PYSEC-1", "GHSA-x"]) == "GHSA-x"
    assert preferred_id(["OSV-1"]) == "OSV-1"


def _reference_affected(version: str, events: list[tuple[str, str]]) -> bool:
    """The OSV rule restated: affected iff the nearest event at or below the version opens a range.

    An ``introduced`` or ``fixed``/``limit`` at version X applies from X on; a ``last_affected`` at X
    applies from just above X. Among events applying at the same point, the closing one wins.
    """
    from packaging.version import Version

    v = Version(version)
    best: tuple[tuple[Version, int], str] | None = None
    for kind, raw in events:
        bound = Version("0") if raw == "0" else Version(raw)
        if kind == "last_affected":
            applies, point = v > bound, (bound, 1)
        else:
            applies, point = v >= bound, (bound, 0 if kind == "introduced" else 1)
        if applies and (best is None or point >= best[0]):
            best = (point, kind)
    return best is not None and best[1] == "introduced"


@given(
    st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=6, unique=True),
    st.lists(st.sampled_from(["fixed", "last_affected"]), min_size=6, max_size=6),
    st.integers(min_value=0, max_value=13),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_ranges_agree_with_the_osv_rule(
    points: list[int], closers: list[str], probe: int, zero: bool
) -> None:
    ordered = sorted(points)
    events = []
    for i, point in enumerate(ordered):  # alternate opening and closing events, as OSV ranges do
        kind = "introduced" if i % 2 == 0 else closers[i]
        events.append((kind, "0" if (kind == "introduced" and i == 0 and zero) else f"1.{point}"))
    index = _one(_record([{kind: value} for kind, value in reversed(events)]))
    version = f"1.{probe}"
    assert bool(index.match("demo-pkg", version)) is _reference_affected(version, events)
