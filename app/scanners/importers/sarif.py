"""SARIF 2.1.0 from any producer (CodeQL, semgrep, Snyk, Trivy, grype, shellcheck, mobsfscan, ...).

The mapping is split so the streaming reader (:mod:`sarif_stream`) and this whole-document importer
share it: :mod:`sarif_rules` holds what a run says about its tool and rules (:class:`RunContext`),
and :mod:`sarif_results` turns one ``results[]`` entry into findings (:func:`result_findings`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import as_list, as_map, maps, text
from app.scanners.importers.sarif_results import result_findings, uri_to_path
from app.scanners.importers.sarif_rules import FORMAT, RunContext, scanner_name

__all__ = ["FORMAT", "IMPORTER", "RunContext", "parse", "result_findings", "scanner_name", "uri_to_path"]


def iter_run_findings(run: Mapping[str, Any]) -> Iterator[NormalizedFinding]:
    ctx = RunContext.from_run(run)
    for result in as_list(run.get("results"), FORMAT, "run.results"):
        yield from result_findings(result, ctx)


def sniff(doc: Any) -> bool:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("runs"), list):
        return False
    schema = doc.get("$schema")
    return (isinstance(schema, str) and "sarif" in schema.lower()) or str(doc.get("version", "")).startswith(
        "2."
    )


def parse(doc: Any) -> ParsedReport:
    root = as_map(doc, FORMAT, "document")
    if "runs" not in root:
        raise ReportError(FORMAT, "no runs array: not a SARIF log")
    version = root.get("version")
    if version is not None and not str(version).startswith("2."):
        raise ReportError(FORMAT, f"SARIF version {text(version, 20)!r} is not supported (2.1.0 expected)")
    findings: list[NormalizedFinding] = []
    scanners: list[str] = []
    versions: list[str] = []
    problems: list[str] = []
    for index, run in enumerate(maps(root.get("runs"), FORMAT, "runs")):
        ctx = RunContext.from_run(run)
        scanners.append(ctx.scanner)
        if ctx.tool_version:
            versions.append(ctx.tool_version)
        problems.extend(_run_problems(run, index))
        for result in as_list(run.get("results"), FORMAT, f"runs[{index}].results"):
            findings.extend(result_findings(result, ctx))
    distinct = list(dict.fromkeys(scanners))
    return ParsedReport(
        format=FORMAT,
        scanner=distinct[0] if len(distinct) == 1 else FORMAT,
        findings=findings,
        tool_version=versions[0] if versions else None,
        complete=not problems,
        problems=tuple(problems),
        extras={"runs": len(scanners), "tools": distinct},
    )


def _run_problems(run: Mapping[str, Any], index: int) -> list[str]:
    """A run whose invocation says it did not finish must not close findings."""
    problems = []
    for invocation in maps(run.get("invocations"), FORMAT, f"runs[{index}].invocations"):
        if invocation.get("executionSuccessful") is False:
            problems.append(f"run {index}: the tool reports an unsuccessful execution")
    return problems


IMPORTER = Importer(
    name=FORMAT,
    scanner=FORMAT,
    media="json",
    sniff=sniff,
    parse=parse,
    description="SARIF 2.1.0 from any producer",
)
