"""One SARIF ``results[]`` entry as findings: shared by the whole-document and streaming readers.

Severity comes from ``security-severity`` when present (a CVSS-like score), else the result's
``level``, else the rule's ``defaultConfiguration.level``, else SARIF's default ``warning``.
Accepted suppressions mark the finding suppressed instead of dropping it, so a suppression stays
visible to auditors.

This runs once per result of reports that hold hundreds of thousands of them, so the common shapes
(a plain ``message.text``, locations that are objects holding objects) are read directly and
anything unusual goes through the validating helpers of :mod:`fields`, which raise the same
ReportError they always did. Everything that depends only on the rule comes from
:class:`~app.scanners.importers.sarif_rules.RuleInfo`, computed once per rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, finding_builder
from app.scanners.importers.fields import (
    MAX_LINE,
    MAX_TEXT,
    as_list,
    as_map,
    maps,
    number,
    opt_map,
    opt_text,
    pos_int,
    text,
)
from app.scanners.importers.levels import cvss_band
from app.scanners.importers.sarif_rules import (
    FORMAT,
    NO_RULE,
    RuleInfo,
    RunContext,
    category_of,
    cwes_of,
    tags_of,
)

_ARG_RE = re.compile(r"\{(\d+)\}")
_FINDING = finding_builder(
    *("scanner", "rule_id", "tool_rule_id", "category", "severity", "title", "message", "confidence"),
    *("path", "line", "column", "end_line", "snippet", "cwe", "advisory_ids", "tool_fingerprint"),
    *("suppressed", "extras"),
)
_NO_LOCATION: list[tuple[str | None, Mapping[str, Any], str | None]] = [(None, NO_RULE, None)]


def _short_text(value: Any, limit: int) -> str | None:
    """:func:`fields.opt_text` with a shortcut for the usual case, a string."""
    if type(value) is str:
        return value[:limit].strip() or None
    return opt_text(value, limit)


def _object(obj: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
    """:func:`fields.opt_map` with a shortcut for the usual case, a JSON object."""
    value = obj.get(key)
    if type(value) is dict:
        return value
    return opt_map(obj, key, FORMAT, what)


def _message(result: Mapping[str, Any], rule: Mapping[str, Any]) -> str:
    message = _object(result, "message", "result.message")
    body = message.get("text")
    if type(body) is str and body and "arguments" not in message:
        return body[:MAX_TEXT]
    body = text(body) or text(message.get("markdown"))
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


def one_line(message: str, limit: int = 300) -> str:
    """A message as a title: whitespace collapsed, cut at ``limit`` characters with an ellipsis."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _severity(
    result: Mapping[str, Any], rule: Mapping[str, Any], info: RuleInfo, ctx: RunContext
) -> tuple[str, float | None]:
    props = result.get("properties")
    score = None
    if props is not None:
        score = number(as_map(props, FORMAT, "result.properties").get("security-severity"))
    if score is None:
        score = info.score
    if score is not None and 0 <= score <= 10:
        return cvss_band(score) or "info", score
    raw = result.get("level")
    if not isinstance(raw, str):
        config = opt_map(rule, "defaultConfiguration", FORMAT, "rule.defaultConfiguration")
        raw = config.get("level")
    if isinstance(raw, str):
        return ctx.level(raw), None
    return ctx.level("warning"), None


def _fingerprint(result: Mapping[str, Any]) -> str | None:
    """``fingerprints`` win over ``partialFingerprints``; several entries join as ``k:v|k:v``."""
    for key in ("fingerprints", "partialFingerprints"):
        prints = result.get(key)
        if not isinstance(prints, Mapping) or not prints:
            continue
        if type(prints) is dict and len(prints) == 1:  # the usual case: one string
            (only,) = prints.values()
            if type(only) is str:
                single = only[:500].strip()
                if single:
                    return single
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


def uri_to_path(uri: str | None) -> str | None:
    """``file:///src/app.py`` -> ``/src/app.py``; relative URIs stay as they are."""
    if uri is None:
        return None
    if uri[:7].lower() == "file://":
        rest = uri[7:]
        return "/" + rest.lstrip("/") if rest.startswith("/") else rest
    return uri


def _locations(
    result: Mapping[str, Any], ctx: RunContext
) -> list[tuple[str | None, Mapping[str, Any], str | None]]:
    """(path, region, snippet) of each location; one entry with no path when the result has none."""
    listed = result.get("locations")
    if not listed:
        as_list(listed, FORMAT, "result.locations")  # "" or 0 is still the wrong type
        return _NO_LOCATION
    if type(listed) is not list or any(type(item) is not dict for item in listed):
        listed = maps(listed, FORMAT, "result.locations")
    found = []
    for location in listed:
        physical = _object(location, "physicalLocation", "physicalLocation")
        artifact = _object(physical, "artifactLocation", "artifactLocation")
        uri = _short_text(artifact.get("uri"), 2000) or ctx.artifact_uri(artifact.get("index"))
        region = _object(physical, "region", "region")
        snippet_object = _object(region, "snippet", "region.snippet")
        snippet = _short_text(snippet_object.get("text"), MAX_TEXT)
        if snippet is None:
            context = _object(physical, "contextRegion", "contextRegion")
            snippet = opt_text(_object(context, "snippet", "contextRegion.snippet").get("text"))
        found.append((uri_to_path(uri), region, snippet))
    return found


def _line(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is int and 0 < value <= MAX_LINE:
        return value
    return pos_int(value)


def result_findings(result_obj: Any, ctx: RunContext) -> list[NormalizedFinding]:
    """One SARIF result as findings: one per location (a result found in eight files is eight
    findings, each fixed on its own); none for results the producer marks ``absent``."""
    result = result_obj if type(result_obj) is dict else as_map(result_obj, FORMAT, "result")
    baseline = result.get("baselineState")
    if baseline == "absent":
        return []
    reference = result.get("rule")
    reference = NO_RULE if reference is None else _object(result, "rule", "result.rule")
    rule_id = _short_text(result.get("ruleId"), 500) or opt_text(reference.get("id"), 500)
    index = result.get("ruleIndex")
    driver_rules = ctx.components[0] if ctx.components else ()
    if reference is NO_RULE and type(index) is int and 0 <= index < len(driver_rules):
        rule = driver_rules[index]  # the usual case: an index into tool.driver.rules
    else:
        rule = ctx.rule_for(result, rule_id, reference)
    rule_id = rule_id or opt_text(rule.get("id"), 500) or "unknown"
    info = ctx.rule_info(rule, rule_id)
    message = _message(result, rule)
    title = one_line(message) or info.short or info.name or rule_id
    severity, score = _severity(result, rule, info, ctx)
    if result.get("properties") or result.get("relationships") or result.get("taxa"):
        tags = tags_of(rule, result)
        cwe = cwes_of(rule, result, tags)
        category = category_of(info.advisories, tags)
    else:
        tags, cwe, category = list(info.tags), info.cwe, info.category
    extras = info.extras.copy()
    if tags:
        extras["tags"] = tags
    if baseline is not None:
        state = opt_text(baseline, 40)
        if state:
            extras["baseline_state"] = state
    if score is not None:
        extras["cvss_score"] = score
    fingerprint = (
        _fingerprint(result) if "fingerprints" in result or "partialFingerprints" in result else None
    )
    suppressed = _suppressed(result) if "suppressions" in result else False
    return [
        _FINDING(
            ctx.scanner,
            info.canonical_id,
            rule_id,
            category,
            severity,
            title,
            message,
            info.confidence,
            path,
            _line(region.get("startLine")),
            _line(region.get("startColumn")),
            _line(region.get("endLine")),
            snippet,
            cwe,
            info.advisories,
            f"{fingerprint}#{index}" if fingerprint and index else fingerprint,
            suppressed,
            extras,
        )
        for index, (path, region, snippet) in enumerate(_locations(result, ctx))
    ]
