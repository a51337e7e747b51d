"""What a SARIF run says about its tool and rules, worked out once per rule rather than per result.

A report of 100,000 results typically uses a few hundred rules, so everything that depends only on
the rule (canonical id, tags, CWE list, rule-level severity score, the static part of ``extras``) is
computed the first time a rule is met and reused by every later result that points at it. Rule
metadata comes from ``tool.driver.rules`` and ``tool.extensions[].rules``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeGuard

from app.scanners.importers.fields import (
    as_list,
    cwe_ids,
    maps,
    number,
    opt_map,
    opt_text,
    text,
    unique,
)
from app.scanners.importers.levels import canonical, level

FORMAT = "sarif"
_ADVISORY_RE = re.compile(r"\b(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+)\b")
_QUALITY_TAGS = {"maintainability", "quality", "style", "correctness", "readability", "performance"}
_SLUG_RE = re.compile(r"[^a-z0-9._-]+")
_LEVEL_CACHE_SIZE = 64
NO_RULE: Mapping[str, Any] = MappingProxyType({})


def scanner_name(tool_name: str) -> str:
    """A stable scanner name from a SARIF driver name: ``"Semgrep OSS"`` -> ``"semgrep-oss"``."""
    slug = _SLUG_RE.sub("-", tool_name.strip().lower()).strip("-")
    return slug[:64] or "sarif"


def _is_index(value: Any, size: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < size


@dataclass(frozen=True)
class RuleInfo:
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
    score: float | None  # the rule's ``security-severity``, used when the result has none
    category: str  # for results that add no tags of their own
    extras: dict[str, Any]  # the rule's part of a finding's extras, in the order findings list them


@dataclass
class RunContext:
    """What one run tells us about its tool and rules; built once per run, read per result."""

    scanner: str
    tool_name: str
    tool_version: str | None
    components: list[list[Mapping[str, Any]]] = field(default_factory=list)  # driver first, then extensions
    by_id: list[dict[str, Mapping[str, Any]]] = field(default_factory=list)
    artifacts: list[Any] = field(default_factory=list)
    rule_cache: dict[tuple[int, str], RuleInfo] = field(default_factory=dict)
    level_cache: dict[str, str] = field(default_factory=dict)

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

    def rule_for(
        self, result: Mapping[str, Any], rule_id: str | None, reference: Mapping[str, Any] = NO_RULE
    ) -> Mapping[str, Any]:
        """The rule a result points at: by index (``ruleIndex`` / ``rule.index``), else by id.

        ``reference`` is the result's already-validated ``rule`` object, when the caller has it.
        """
        component = 0
        if reference:
            tool_component = opt_map(reference, "toolComponent", FORMAT, "result.rule.toolComponent")
            ext_index = tool_component.get("index")  # indexes tool.extensions; absent means the driver
            if _is_index(ext_index, len(self.components) - 1):
                component = ext_index + 1
        index = result.get("ruleIndex", reference.get("index"))
        rules = self.components[component] if self.components else []
        if _is_index(index, len(rules)):
            return rules[index]
        if rule_id:
            for table in (self.by_id[component], *self.by_id):
                if rule_id in table:
                    return table[rule_id]
                base = rule_id.split("/")[0]  # hierarchical ids: "C2001/unused" -> "C2001"
                if base in table:
                    return table[base]
        return NO_RULE

    def artifact_uri(self, index: Any) -> str | None:
        if _is_index(index, len(self.artifacts)):
            artifact = self.artifacts[index]
            if isinstance(artifact, Mapping):
                location = opt_map(artifact, "location", FORMAT, "artifact.location")
                return opt_text(location.get("uri"), 2000)
        return None

    def rule_info(self, rule: Mapping[str, Any], rule_id: str) -> RuleInfo:
        key = (id(rule), rule_id)
        cached = self.rule_cache.get(key)
        if cached is None:
            cached = self.rule_cache[key] = _rule_info(self, rule, rule_id)
        return cached

    def level(self, raw: str) -> str:
        """Vigil's severity for a SARIF ``level`` word; the few distinct words are remembered."""
        mapped = self.level_cache.get(raw)
        if mapped is None:
            mapped = level(FORMAT, raw)
            if len(self.level_cache) < _LEVEL_CACHE_SIZE:
                self.level_cache[raw] = mapped
        return mapped


def description(rule: Mapping[str, Any], key: str) -> str:
    value = rule.get(key)
    if isinstance(value, Mapping):
        return text(value.get("text")) or text(value.get("markdown"))
    return ""


def tags_of(rule: Mapping[str, Any], result: Mapping[str, Any]) -> list[str]:
    tags: list[str] = []
    for source in (rule, result):
        props = opt_map(source, "properties", FORMAT, "properties")
        tags.extend(text(tag, 200) for tag in as_list(props.get("tags"), FORMAT, "properties.tags"))
    return [tag for tag in dict.fromkeys(tags) if tag]


def cwes_of(rule: Mapping[str, Any], result: Mapping[str, Any], tags: list[str]) -> tuple[int, ...]:
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


def category_of(advisories: tuple[str, ...], tags: list[str] | tuple[str, ...]) -> str:
    if advisories:
        return "dependency"
    lowered = {tag.lower() for tag in tags}
    if lowered & _QUALITY_TAGS and "security" not in lowered:
        return "quality"
    return "security"


def _rule_info(ctx: RunContext, rule: Mapping[str, Any], rule_id: str) -> RuleInfo:
    name = text(rule.get("name"), 300)
    tags = tuple(tags_of(rule, NO_RULE))
    rule_props = opt_map(rule, "properties", FORMAT, "rule.properties")
    confidence = opt_text(rule_props.get("precision"), 40)
    short = description(rule, "shortDescription")
    help_text = description(rule, "help") or description(rule, "fullDescription") or None
    help_uri = opt_text(rule.get("helpUri"), 2000)
    advisories = unique(_ADVISORY_RE.findall(f"{rule_id} {name}"))
    extras = {
        "tool": ctx.tool_name,
        "rule_name": name or None,
        "rule_description": short or None,
        "help": help_text,
        "help_uri": help_uri,
    }
    return RuleInfo(
        rule_id=rule_id,
        canonical_id=canonical(ctx.scanner, rule_id),
        short=short,
        name=name,
        help=help_text,
        help_uri=help_uri,
        confidence=confidence.lower() if confidence else None,
        tags=tags,
        cwe=cwes_of(rule, NO_RULE, list(tags)),
        advisories=advisories,
        score=number(rule_props.get("security-severity")),
        category=category_of(advisories, tags),
        extras={key: value for key, value in extras.items() if value not in (None, [], "")},
    )
