"""SARIF 2.1.0 from any producer (CodeQL, semgrep, Snyk, Trivy, grype, shellcheck, mobsfscan, ...).

The mapping is split so the streaming reader (:mod:`sarif_stream`) and the whole-document importer
share it: :class:`RunContext` holds what a run says about its rules, and :func:`result_findings`
turns one ``results[]`` entry into a finding. Rule metadata comes from ``tool.driver.rules`` and
``tool.extensions[].rules``; severity from ``security-severity`` when present (a CVSS-like score),
else the result's ``level``, else the rule's ``defaultConfiguration.level``, else SARIF's default
``warning``. Accepted suppressions mark the finding suppressed instead of dropping it, so a
suppression stays visible to auditors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.fields import (
    as_list,
    as_map,
    cwe_ids,
    maps,
    number,
    opt_map,
    opt_text,
    pos_int,
    text,
    unique,
)
from app.scanners.importers.levels import canonical, cvss_band, level

FORMAT = "sarif"
_ADVISORY_RE = re.compile(r"\b(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+)\b")
_QUALITY_TAGS = {"maintainability", "quality", "style", "correctness", "readability", "performance"}
_ARG_RE = re.compile(r"\{(\d+)\}")
_SLUG_RE = re.compile(r"[^a-z0-9._-]+")


@dataclass
class RunContext:
    """What one run tells us about its tool and rules; built once per run, read per result."""

    scanner: str
    tool_name: str
    tool_version: str | None
    components: list[list[Mapping[str, Any]]] = field(default_factory=list)  # driver first, then extensions
    by_id: list[dict[str, Mapping[str, Any]]] = field(default_factory=list)
    artifacts: list[Any] = field(default_factory=list)
    rule_cache: dict[tuple[int, str], _RuleInfo] = field(default_factory=dict)

    @classmethod
    def from_run(cls, run: Mapping[str, Any]) -> RunContext:
        tool = opt_map(run, "tool", FORMAT, "run.tool")
        driver = opt_map(tool, "driver", FORMAT, "tool.driver")
        name = text(driver.get("name"), 200) or "sarif"
        components = [maps(driver.get("rules"), FORMAT, "tool.driver.rules")]
        for index, ext in enumerate(maps(tool.get("extensions"), FORMAT, "tool.extensions")):
            components.append(maps(ext.get("rules"), FORMAT, f"tool.extensions[{index}].rules"))
        by_id = [
            {text(rule.get("id"), 500): rule for rule in rules if rule.get("id") is not None}
            for rules in components
        ]
        return cls(
            scanner=scanner_name(name),
            tool_name=name,
            tool_version=opt_text(driver.get("semanticVersion")) or opt_text(driver.get("version")),
            components=components,
            by_id=by_id,
            artifacts=as_list(run.get("artifacts"), FORMAT, "run.artifacts"),
        )

    def rule_for(self, result: Mapping[str, Any], rule_id: str | None) -> Mapping[str, Any]:
        reference = opt_map(result, "rule", FORMAT, "result.rule")
        tool_component = opt_map(reference, "toolComponent", FORMAT, "result.rule.toolComponent")
        ext_index = tool_component.get("index")  # indexes tool.extensions; absent means the driver
        component = 0
        if (
            isinstance(ext_index, int)
            and not isinstance(ext_index, bool)
            and 0 <= ext_index < len(self.components) - 1
        ):
            component = ext_index + 1
        index = result.get("ruleIndex", reference.get("index"))
        rules = self.components[component] if self.components else []
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(rules):
            return rules[index]
        if rule_id:
            for table in (self.by_id[component], *self.by_id):
                if rule_id in table:
                    return table[rule_id]
                base = rule_id.split("/")[0]  # hierarchical ids: "C2001/unused" -> "C2001"
                if base in table:
                    return table[base]
        return {}

    def artifact_uri(self, index: Any) -> str | None:
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(self.artifacts):
            artifact = self.artifacts[index]
            if isinstance(artifact, Mapping):
                location = opt_map(artifact, "location", FORMAT, "artifact.location")
                return opt_text(location.get("uri"), 2000)
        return None


def scanner_name(tool_name: str) -> str:
    """A stable scanner name from a SARIF driver name: ``"Semgrep OSS"`` -> ``"semgrep-oss"``."""
    slug = _SLUG_RE.sub("-", tool_name.strip().lower()).strip("-")
    return slug[:64] or "sarif"


def _message(result: Mapping[str, Any], rule: Mapping[str, Any]) -> str:
    message = opt_map(result, "message", FORMAT, "result.message")
    body = text(message.get("text")) or text(message.get("markdown"))
    if not body and message.get("id") is not None:
        strings = opt_map(rule, "messageStrings", FORMAT, "rule.messageStrings")
        template = strings.get(text(message.get("id"), 200))
        if isinstance(template, Mapping):
            body = text(template.get("text")) or text(template.get("markdown"))
    arguments = as_list(message.get("arguments"), FORMAT, "message.arguments")
    if arguments and body:
        body = _ARG_RE.sub(
            lambda m: text(arguments[int(m.group(1))]) if int(m.group(1)) < len(arguments) else m.group(0),
            body,
        )
    return body


def _one_line(message: str, limit: int = 300) -> str:
    """A message as a title: whitespace collapsed, cut at ``limit`` characters with an ellipsis."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _description(rule: Mapping[str, Any], key: str) -> str:
    value = rule.get(key)
    if isinstance(value, Mapping):
        return text(value.get("text")) or text(value.get("markdown"))
    return ""


def _severity(result: Mapping[str, Any], rule: Mapping[str, Any]) -> tuple[str, float | None]:
    rule_props = opt_map(rule, "properties", FORMAT, "rule.properties")
    result_props = opt_map(result, "properties", FORMAT, "result.properties")
    score = number(result_props.get("security-severity"))
    if score is None:
        score = number(rule_props.get("security-severity"))
    band = cvss_band(score) if score is not None and 0 <= score <= 10 else None
    if band:
        return band, score
    raw = result.get("level")
    if not isinstance(raw, str):
        config = opt_map(rule, "defaultConfiguration", FORMAT, "rule.defaultConfiguration")
        raw = config.get("level")
    return level(FORMAT, raw if isinstance(raw, str) else "warning"), None


def _fingerprint(result: Mapping[str, Any]) -> str | None:
    """``fingerprints`` win over ``partialFingerprints``; several entries join as ``k:v|k:v``."""
    for key in ("fingerprints", "partialFingerprints"):
        prints = result.get(key)
        if not isinstance(prints, Mapping) or not prints:
            continue
        values: dict[str, str] = {}
        for name, value in prints.items():
            if isinstance(value, Mapping):  # some producers nest {"value": "..."}
                value = value.get("value")
            flat = opt_text(value, 500)
            if flat:
                values[str(name)[:200]] = flat
        if len(values) == 1:
            return next(iter(values.values()))
        if values:
            return "|".join(f"{name}:{values[name]}" for name in sorted(values))
    return None


def _suppressed(result: Mapping[str, Any]) -> bool:
    for suppression in maps(result.get("suppressions"), FORMAT, "result.suppressions"):
        status = suppression.get("status")
        if status is None or (isinstance(status, str) and status.lower() == "accepted"):
            return True
    return False


def _locations(
    result: Mapping[str, Any], ctx: RunContext
) -> list[tuple[str | None, Mapping[str, Any], str | None]]:
    """(path, region, snippet) of each location; one entry with no path when the result has none."""
    found = []
    for location in maps(result.get("locations"), FORMAT, "result.locations"):
        physical = opt_map(location, "physicalLocation", FORMAT, "physicalLocation")
        artifact = opt_map(physical, "artifactLocation", FORMAT, "artifactLocation")
        uri = opt_text(artifact.get("uri"), 2000) or ctx.artifact_uri(artifact.get("index"))
        region = opt_map(physical, "region", FORMAT, "region")
        snippet = opt_text(opt_map(region, "snippet", FORMAT, "region.snippet").get("text"))
        if snippet is None:
            context = opt_map(physical, "contextRegion", FORMAT, "contextRegion")
            snippet = opt_text(opt_map(context, "snippet", FORMAT, "contextRegion.snippet").get("text"))
        found.append((uri_to_path(uri), region, snippet))
    return found or [(None, {}, None)]


def uri_to_path(uri: str | None) -> str | None:
    """``file:///src/app.py`` -> ``/src/app.py``; relative URIs stay as they are."""
    if uri is None:
        return None
    if uri.lower().startswith("file://"):
        rest = uri[7:]
        return "/" + rest.lstrip("/") if rest.startswith("/") else rest
    return uri


def _tags(rule: Mapping[str, Any], result: Mapping[str, Any]) -> list[str]:
    tags: list[str] = []
    for source in (rule, result):
        props = opt_map(source, "properties", FORMAT, "properties")
        tags.extend(text(tag, 200) for tag in as_list(props.get("tags"), FORMAT, "properties.tags"))
    return [tag for tag in dict.fromkeys(tags) if tag]


def _cwes(rule: Mapping[str, Any], result: Mapping[str, Any], tags: list[str]) -> tuple[int, ...]:
    values: list[Any] = [tag for tag in tags if "cwe" in tag.lower()]
    for source in (rule, result):
        props = opt_map(source, "properties", FORMAT, "properties")
        values.append(props.get("cwe"))
        for relation in maps(source.get("relationships"), FORMAT, "relationships"):
            target = opt_map(relation, "target", FORMAT, "relationship.target")
            component = opt_map(target, "toolComponent", FORMAT, "target.toolComponent")
            if text(component.get("name")).upper() == "CWE":
                values.append(text(target.get("id")))
    for taxon in maps(result.get("taxa"), FORMAT, "result.taxa"):
        component = opt_map(taxon, "toolComponent", FORMAT, "taxon.toolComponent")
        if text(component.get("name")).upper() == "CWE":
            values.append(text(taxon.get("id")))
    return cwe_ids(*values)


@dataclass(frozen=True)
class _RuleInfo:
    """What a result's rule contributes, computed once per rule (a report repeats rules a lot)."""

    rule_id: str
    canonical_id: str
    short: str
    name: str
    help: str | None
    help_uri: str | None
    confidence: str | None
    tags: tuple[str, ...]
    cwe: tuple[int, ...]
    advisories: tuple[str, ...]


def _rule_info(ctx: RunContext, rule: Mapping[str, Any], rule_id: str) -> _RuleInfo:
    key = (id(rule), rule_id)
    cached = ctx.rule_cache.get(key)
    if cached is not None:
        return cached
    name = text(rule.get("name"), 300)
    tags = tuple(_tags(rule, {}))
    confidence = opt_text(opt_map(rule, "properties", FORMAT, "rule.properties").get("precision"), 40)
    info = _RuleInfo(
        rule_id=rule_id,
        canonical_id=canonical(ctx.scanner, rule_id),
        short=_description(rule, "shortDescription"),
        name=name,
        help=_description(rule, "help") or _description(rule, "fullDescription") or None,
        help_uri=opt_text(rule.get("helpUri"), 2000),
        confidence=confidence.lower() if confidence else None,
        tags=tags,
        cwe=_cwes(rule, {}, list(tags)),
        advisories=unique(_ADVISORY_RE.findall(f"{rule_id} {name}")),
    )
    ctx.rule_cache[key] = info
    return info


def result_findings(result_obj: Any, ctx: RunContext) -> list[NormalizedFinding]:
    """One SARIF result as findings: one per location (a result found in eight files is eight
    findings, each fixed on its own); none for results the producer marks ``absent``."""
    result = as_map(result_obj, FORMAT, "result")
    if result.get("baselineState") == "absent":
        return []
    reference = opt_map(result, "rule", FORMAT, "result.rule")
    rule_id = opt_text(result.get("ruleId"), 500) or opt_text(reference.get("id"), 500)
    rule = ctx.rule_for(result, rule_id)
    rule_id = rule_id or opt_text(rule.get("id"), 500) or "unknown"
    info = _rule_info(ctx, rule, rule_id)
    message = _message(result, rule)
    title = _one_line(message) or info.short or info.name or rule_id
    severity, score = _severity(result, rule)
    own = result.get("properties") or result.get("relationships") or result.get("taxa")
    tags = _tags(rule, result) if own else list(info.tags)
    cwe = _cwes(rule, result, tags) if own else info.cwe
    lowered = {tag.lower() for tag in tags}
    if info.advisories:
        category = "dependency"
    elif lowered & _QUALITY_TAGS and "security" not in lowered:
        category = "quality"
    else:
        category = "security"
    extras: dict[str, Any] = {
        "tool": ctx.tool_name,
        "rule_name": info.name or None,
        "rule_description": info.short or None,
        "help": info.help,
        "help_uri": info.help_uri,
        "tags": tags,
        "baseline_state": opt_text(result.get("baselineState"), 40),
        "cvss_score": score,
    }
    fingerprint = _fingerprint(result)
    suppressed = _suppressed(result)
    extras = {key: value for key, value in extras.items() if value not in (None, [], "")}
    locations = _locations(result, ctx)
    return [
        NormalizedFinding(
            scanner=ctx.scanner,
            rule_id=info.canonical_id,
            tool_rule_id=rule_id,
            category=category,
            severity=severity,
            title=title,
            message=message,
            confidence=info.confidence,
            path=path,
            line=pos_int(region.get("startLine")),
            column=pos_int(region.get("startColumn")),
            end_line=pos_int(region.get("endLine")),
            snippet=snippet,
            cwe=cwe,
            advisory_ids=info.advisories,
            tool_fingerprint=f"{fingerprint}#{index}" if fingerprint and index else fingerprint,
            suppressed=suppressed,
            extras=extras,
        )
        for index, (path, region, snippet) in enumerate(locations)
    ]


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
