"""Conformance: import a corpus of real reports and compare with what another tool's tests assert.

The corpus (laid out like DefectDojo's parser fixtures: ``manifest.json`` plus report files) says,
for each report, how many results its parser returns and a few field values. Vigil imports each
report with the matching format and compares what is meaningful in Vigil's vocabulary (see
:data:`FIELDS` and :mod:`app.scanners.conformance_fields`). Entries where Vigil deliberately differs
carry a written reason in :mod:`app.scanners.conformance_reasons`; an entry that fails without one
is a bug. No Flask here: the CLI command is a thin wrapper.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.errors import VigilError
from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.conformance_fields import check_assertion
from app.scanners.conformance_reasons import REASONS, SCENARIO_UNAVAILABLE
from app.scanners.importers import IMPORTERS
from app.scanners.importers.base import ParsedReport
from app.scanners.importers.loader import decode, parse_document
from app.scanners.importers.safe_load import DEFAULT_MAX_BYTES, read_bytes

# DefectDojo parser name -> Vigil format(s); the first whose media (JSON/XML) fits the file is used.
PARSER_FORMATS: dict[str, tuple[str, ...]] = {
    "bandit": ("bandit",),
    "pip_audit": ("pip-audit",),
    "semgrep": ("semgrep",),
    "detect_secrets": ("detect-secrets",),
    "sarif": ("sarif",),
    "gitleaks": ("gitleaks",),
    "trivy": ("trivy",),
    "osv_scanner": ("osv-scanner",),
    "cyclonedx": ("cyclonedx", "cyclonedx-xml"),
    "dependency_check": ("dependency-check",),
    "trufflehog": ("trufflehog",),
    "trufflehog3": ("trufflehog3",),
    "npm_audit": ("npm-audit",),
    "npm_audit_7_plus": ("npm-audit",),
    "safety": ("safety",),
}

PASS, FAIL, DIFFERS = "PASS", "FAIL", "DIFFERS"
_SCENARIO_DIFFERS = "differs:"


class ConformanceError(VigilError):
    """The corpus itself is unusable (no manifest, unreadable manifest)."""


@dataclass(frozen=True)
class Outcome:
    path: str
    status: str  # PASS, FAIL or DIFFERS
    reason: str = ""
    kind: str = "parser"
    format: str = ""


def load_manifest(corpus: Path) -> list[dict[str, Any]]:
    manifest = corpus / "manifest.json"
    if not manifest.is_file():
        raise ConformanceError(f"{corpus}: no manifest.json (expected a corpus laid out like DefectDojo's)")
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConformanceError(f"{manifest}: unreadable manifest ({exc})") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "path" in e for e in entries):
        raise ConformanceError(f"{manifest}: expected a list of entries with a 'path'")
    return entries


def import_entry(corpus: Path, entry: dict[str, Any], max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedReport:
    """Import one corpus report with the Vigil format matching the entry's DefectDojo parser."""
    parser = str(entry.get("parser", ""))
    formats = PARSER_FORMATS.get(parser)
    if not formats:
        raise ReportError(parser or "unknown", "no Vigil format mapped to this parser")
    path = (corpus / str(entry["path"])).resolve()
    if corpus.resolve() not in path.parents:
        raise ReportError(formats[0], "entry path leaves the corpus folder")
    data = read_bytes(path, formats[0], max_bytes)
    media, document = decode(data, formats[0])
    available = [fmt for fmt in formats if fmt in IMPORTERS and IMPORTERS[fmt].media == media]
    if not available:
        missing = ", ".join(formats)
        raise ReportError(formats[0], f"no {media.upper()} importer registered for {missing}")
    return parse_document(media, document, available[0])


def _key(entry: dict[str, Any]) -> str:
    return f"scenario:{entry['path']}" if entry.get("kind") == "importer_scenario" else str(entry["path"])


def check_entry(
    corpus: Path, entry: dict[str, Any], cache: dict[str, list[NormalizedFinding]]
) -> tuple[bool, str, str]:
    """(passed, problem, format) for one parser entry."""
    asserted: dict[str, Any] = entry.get("asserted") or {}
    expects_error = "raises" in asserted
    try:
        report = import_entry(corpus, entry)
    except ReportError as exc:
        if expects_error:
            wanted = asserted.get("str(exception) contains") or []
            missing = [
                w for w in (wanted if isinstance(wanted, list) else [wanted]) if str(w) not in str(exc)
            ]
            return (
                (not missing),
                (f"error {str(exc)!r} does not mention {missing}" if missing else ""),
                exc.format,
            )
        return False, f"import failed: {exc}", exc.format
    if expects_error:
        return (
            False,
            f"DefectDojo's parser refuses this report ({asserted['raises']}) but Vigil imported it",
            report.format,
        )
    findings = report.findings
    cache[str(entry["path"])] = findings
    expected = entry.get("expected_findings")
    if isinstance(expected, int) and len(findings) != expected:
        return False, f"{len(findings)} findings, expected {expected}", report.format
    problems = []
    for key, value in asserted.items():
        problem = check_assertion(
            str(entry.get("parser", "")),
            key,
            value,
            report,
            cache,
            lambda p: _sibling(corpus, entry, p, cache),
        )
        if problem:
            problems.append(problem)
    if problems:
        return (
            False,
            "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""),
            report.format,
        )
    return True, "", report.format


def _sibling(
    corpus: Path, entry: dict[str, Any], name: str, cache: dict[str, list[NormalizedFinding]]
) -> list[NormalizedFinding]:
    """Findings of another file of the same folder (for assertions comparing two reports)."""
    path = str(Path(str(entry["path"])).parent / name)
    if path not in cache:
        cache[path] = import_entry(corpus, {**entry, "path": path}).findings
    return cache[path]


def _scenario_runner() -> Callable[[list[dict[str, Any]], Path], list[tuple[str, bool, str]]] | None:
    try:
        module = importlib.import_module("app.ingestion.scenario")
    except ImportError:
        return None
    runner = getattr(module, "run_scenarios", None)
    return runner if callable(runner) else None


def run(corpus: Path, reasons: dict[str, str] | None = None) -> list[Outcome]:
    """Every manifest entry's outcome, in manifest order."""
    reasons = REASONS if reasons is None else reasons
    entries = load_manifest(corpus)
    cache: dict[str, list[NormalizedFinding]] = {}
    outcomes: list[Outcome] = []
    scenarios = [e for e in entries if e.get("kind") == "importer_scenario"]
    scenario_results: dict[str, tuple[bool, str]] = {}
    runner = _scenario_runner()
    if scenarios and runner is not None:
        for path, ok, message in runner(scenarios, corpus):
            scenario_results[str(path)] = (ok, message)
    for entry in entries:
        key = _key(entry)
        if entry.get("kind") == "importer_scenario":
            if runner is None:
                passed, problem, fmt = False, SCENARIO_UNAVAILABLE, ""
            else:
                passed, message = scenario_results.get(
                    str(entry["path"]), (False, "no result from run_scenarios")
                )
                problem, fmt = ("" if passed else message), ""
        else:
            passed, problem, fmt = check_entry(corpus, entry, cache)
        kind = "scenario" if entry.get("kind") == "importer_scenario" else "parser"
        if passed:
            outcomes.append(Outcome(str(entry["path"]), PASS, "", kind, fmt))
        elif kind == "scenario" and problem.startswith(_SCENARIO_DIFFERS):
            # the ingestion scenario runner writes its own deliberate differences as "differs: <reason>"
            outcomes.append(
                Outcome(str(entry["path"]), DIFFERS, problem[len(_SCENARIO_DIFFERS) :].strip(), kind)
            )
        elif key in reasons or (kind == "scenario" and runner is None):
            outcomes.append(Outcome(str(entry["path"]), DIFFERS, reasons.get(key, problem), kind, fmt))
        else:
            outcomes.append(Outcome(str(entry["path"]), FAIL, problem, kind, fmt))
    return outcomes


def render_text(outcomes: Sequence[Outcome]) -> list[str]:
    """PASS/FAIL lines in manifest order, then the DIFFERS lines, then ``N passed, M failed``."""
    lines = [
        f"PASS {o.path}" if o.status == PASS else f"FAIL {o.path}: {o.reason}"
        for o in outcomes
        if o.status != DIFFERS
    ]
    lines += [f"DIFFERS {o.path}: {o.reason}" for o in outcomes if o.status == DIFFERS]
    lines += [_kind_line(kind, tally) for kind, tally in by_kind(outcomes).items()]
    passed = sum(1 for o in outcomes if o.status == PASS)
    lines.append(f"{passed} passed, {len(outcomes) - passed} failed")
    return lines


def by_kind(outcomes: Sequence[Outcome]) -> dict[str, dict[str, int]]:
    """PASS/DIFFERS/FAIL counts per entry kind (parser output vs. importer scenarios).

    The pass rate that matters for the importers is the parser entries' one: scenario entries
    describe another product's reimport and deduplication model, not what a report contains.
    """
    tally: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        counts = tally.setdefault(outcome.kind, {PASS: 0, DIFFERS: 0, FAIL: 0})
        counts[outcome.status] += 1
    return tally


def _kind_line(kind: str, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    share = 100.0 * counts[PASS] / total if total else 0.0
    return (
        f"{kind} entries: {counts[PASS]} of {total} passed outright ({share:.1f}%), "
        f"{counts[DIFFERS]} differ with a written reason, {counts[FAIL]} fail without one"
    )


def render_json(outcomes: Sequence[Outcome]) -> str:
    passed = sum(1 for o in outcomes if o.status == PASS)
    return json.dumps(
        {
            "entries": [asdict(o) for o in outcomes],
            "passed": passed,
            "failed": len(outcomes) - passed,
            "differs": sum(1 for o in outcomes if o.status == DIFFERS),
            "failed_without_reason": sum(1 for o in outcomes if o.status == FAIL),
            "by_kind": by_kind(outcomes),
        },
        indent=2,
    )


def unexplained(outcomes: Sequence[Outcome]) -> int:
    return sum(1 for o in outcomes if o.status == FAIL)
