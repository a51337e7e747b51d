"""How a DefectDojo field assertion reads in Vigil's vocabulary.

DefectDojo's ``component_name`` is Vigil's ``package``, ``vuln_id_from_tool`` the tool rule id,
``unique_id_from_tool`` the tool fingerprint, ``unsaved_vulnerability_ids`` the advisory ids, and its
several "inactive" flags (``active``, ``false_p``, ``is_mitigated``) map onto Vigil's one
``suppressed`` flag. Titles are compared either literally or through the title convention of the
DefectDojo parser applied to Vigil's fields (``"{package}:{version} | {id}"`` ...): both check the
same facts, and Vigil keeps one title convention across its own dependency importers. Fields with no
Vigil counterpart are listed in :data:`app.scanners.conformance_reasons.IGNORED_FIELDS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from app.scanners.base import NormalizedFinding
from app.scanners.conformance_reasons import IGNORED_FIELDS
from app.scanners.importers.base import ParsedReport
from app.scanners.importers.fields import cwe_ids
from app.scanners.importers.sarif import scanner_name, uri_to_path

Sibling = Callable[[str], list[NormalizedFinding]]

_FINDING_KEY = re.compile(
    r"^findings\[(?P<sel>[^\]]*)\]\.(?P<field>[\w()]+)"
    r"(?:\[(?P<index>\d+)\])?(?: (?P<op>contains|not contains|in))?$"
)
_WHERE = re.compile(r'^where (?P<neg>not \()?(?:finding|find)\.(?P<field>\w+) == "(?P<value>[^"]*)"\)?$')
_CONFIDENCE = {"certain": "high", "firm": "medium", "tentative": "low"}
_CVSS_PREFIX = re.compile(r"^CVSS:\d\.\d/")


def _title_forms(parser: str, f: NormalizedFinding) -> list[str]:
    """DefectDojo's title convention for ``parser``, filled with Vigil's fields."""
    pkg, ver, rule = f.package, f.installed_version, f.tool_rule_id
    forms = [f.title, (f.message or "").splitlines()[0] if f.message else ""]
    if parser in {"cyclonedx", "dependency_check"}:
        forms.append(f"{pkg}:{ver} | {rule}")
    elif parser == "pip_audit":
        forms.append(f"{rule} in {pkg}:{ver}")
    elif parser == "trivy":
        forms.append(f"{rule} {pkg} {ver}")
    elif parser == "osv_scanner":
        forms.append(f"{rule}_{pkg}")
    elif parser == "gitleaks":
        description = f.extras.get("description") or rule
        forms += [f"Hard Coded {rule}", f"Hard coded {description} found in {f.path}"]
    return forms


def _title_matches(parser: str, expected: str, f: NormalizedFinding) -> bool:
    forms = _title_forms(parser, f)
    if expected in forms:
        return True
    if expected.endswith(" [...]"):  # DefectDojo truncates long titles
        prefix = expected[: -len(" [...]")]
        return any(form.startswith(prefix) for form in forms if form)
    return False


def _advisories(f: NormalizedFinding) -> tuple[str, ...]:
    return f.advisory_ids


def _normal_path(value: Any) -> Any:
    return uri_to_path(value) if isinstance(value, str) else value


def _cwe_value(value: Any) -> int:
    found = cwe_ids(value)
    return found[0] if found else 0


def check_field(parser: str, field: str, expected: Any, f: NormalizedFinding) -> str | None:
    """None when Vigil's finding agrees with the asserted DefectDojo field, else the difference."""
    actual: Any
    if field == "title":
        return None if _title_matches(parser, expected, f) else f"title {f.title!r}, expected {expected!r}"
    if field == "severity":
        actual, expected = f.severity, str(expected).lower()
    elif field == "file_path":
        actual, expected = _normal_path(f.path), _normal_path(expected)
    elif field == "line":
        actual = f.line
    elif field == "cwe":
        actual, expected = (f.cwe[0] if f.cwe else 0), _cwe_value(expected)
    elif field == "unsaved_cwes":
        actual, expected = f.cwe, (cwe_ids(expected) if expected else ())
    elif field == "component_name":
        actual = f.package
    elif field == "component_version":
        actual = f.installed_version
    elif field == "vuln_id_from_tool":
        ok = expected == f.tool_rule_id or str(expected).endswith(f":{f.tool_rule_id}")
        return None if ok else f"tool rule id {f.tool_rule_id!r}, expected {expected!r}"
    elif field == "unique_id_from_tool":
        actual = f.tool_fingerprint
    elif field == "unsaved_vulnerability_ids":
        actual, expected = _advisories(f), tuple(expected or ())
    elif field == "cve":
        actual = next((a for a in f.advisory_ids if a.startswith("CVE-")), None)
    elif field in {"cvssv3", "cvssv4"}:
        key = "cvss_vector" if field == "cvssv3" else "cvss4_vector"
        actual = f.extras.get(key)
        if isinstance(actual, str) and isinstance(expected, str):
            actual, expected = _CVSS_PREFIX.sub("", actual), _CVSS_PREFIX.sub("", expected)
    elif field in {"cvssv3_score", "cvssv4_score"}:
        actual = f.extras.get("cvss_score" if field == "cvssv3_score" else "cvss4_score")
    elif field == "active":
        actual, expected = not f.suppressed, bool(expected)
    elif field in {"false_p", "is_mitigated", "out_of_scope"}:
        # DefectDojo's inactive states all read as "suppressed" in Vigil; False says nothing more.
        if expected is not True:
            return None
        actual, expected = f.suppressed, True
    elif field == "nb_occurences":
        actual = f.extras.get("occurrences", 1)
    elif field == "get_scanner_confidence_text()":
        actual, expected = f.confidence, _CONFIDENCE.get(str(expected).lower(), str(expected).lower())
    elif field == "unsaved_tags":
        # Tags are DefectDojo's own labels; the one carrying meaning here is "suppressed".
        if isinstance(expected, list) and "suppressed" in expected and not f.suppressed:
            return "expected a suppressed finding"
        return None if isinstance(expected, list) else f"unexpected tags assertion {expected!r}"
    elif field in IGNORED_FIELDS:
        return None
    else:
        return f"field {field!r} has no Vigil counterpart and no written reason"
    if isinstance(expected, float) and isinstance(actual, int | float):
        return None if abs(actual - expected) < 1e-6 else f"{field} {actual!r}, expected {expected!r}"
    return None if actual == expected else f"{field} {actual!r}, expected {expected!r}"


def _select(selector: str, findings: list[NormalizedFinding], parser: str) -> list[NormalizedFinding] | str:
    if selector == "*":
        return findings
    if selector.isdigit():
        index = int(selector)
        return [findings[index]] if index < len(findings) else f"no finding #{index} ({len(findings)} found)"
    where = _WHERE.match(selector)
    if not where:
        return f"unsupported selector {selector!r}"
    field, value, negate = where.group("field"), where.group("value"), bool(where.group("neg"))
    chosen = [f for f in findings if (check_field(parser, field, value, f) is None) != negate]
    return chosen or f"no finding where {field} == {value!r}"


def _tag_assertion(op: str, expected: Any, targets: list[NormalizedFinding]) -> str | None:
    wanted = expected if isinstance(expected, list) else [expected]
    for f in targets:
        tags = set(f.extras.get("tags") or ()) | {f.tool_rule_id}
        if op == "contains" and not all(tag in tags for tag in wanted):
            return f"tags {sorted(tags)} lack {wanted}"
        if op == "not contains" and any(tag in tags for tag in wanted):
            return f"tags contain {wanted}"
    return None


def check_assertion(
    parser: str, key: str, expected: Any, report: ParsedReport, cache: dict[str, Any], sibling: Sibling
) -> str | None:
    """None when the assertion holds for Vigil's import (or is ignored with a reason), else why not."""
    findings = report.findings
    if key in {"raises", "str(exception) contains"}:
        return None
    if key.startswith("len(findings) == len(findings of "):
        other = sibling(key[len("len(findings) == len(findings of ") : -1])
        return (
            None
            if (len(findings) == len(other)) == expected
            else "finding counts differ from the sibling report"
        )
    if key.startswith("unique_id_from_tool equal pairwise with "):
        other = sibling(key[len("unique_id_from_tool equal pairwise with ") :])
        same = [a.tool_fingerprint for a in findings] == [b.tool_fingerprint for b in other]
        return None if same == expected else "fingerprints differ from the sibling report"
    if key == "len(tests)":
        return (
            None
            if report.extras.get("runs") == expected
            else f"{report.extras.get('runs')} runs, expected {expected}"
        )
    tests = re.match(r"^(len\()?tests\[(\d+)\]\.(type|findings)\)?$", key)
    if tests:
        tools = list(report.extras.get("tools") or [])
        index = int(tests.group(2))
        if index >= len(tools) and tests.group(3) == "type":
            return f"no run #{index}"
        if tests.group(3) == "type":
            return None if tools[index] == scanner_name(str(expected)) else f"run {index} is {tools[index]!r}"
        count = sum(1 for f in findings if index < len(tools) and f.scanner == tools[index])
        return None if count == expected else f"run {index} has {count} findings, expected {expected}"
    if key.startswith("datetime.datetime.date(") or key.endswith(".date"):
        return None  # see IGNORED_FIELDS["date"]
    length = key.startswith("len(") and key.endswith(")")
    inner = key[4:-1] if length else key
    match = _FINDING_KEY.match(inner)
    if not match:
        return f"assertion {key!r} not understood"
    targets = _select(match.group("sel"), findings, parser)
    if isinstance(targets, str):
        return targets
    field, at, op = match.group("field"), match.group("index"), match.group("op")
    if op in {"contains", "not contains"}:
        return _tag_assertion(op, expected, targets)
    for f in targets:
        if field == "unsaved_vulnerability_ids" and (length or at is not None):
            ids = _advisories(f)
            if length:
                problem = (
                    None
                    if len(ids) == expected
                    else f"{len(ids)} advisory ids {list(ids)}, expected {expected}"
                )
            else:
                position = int(at or 0)
                actual = ids[position] if position < len(ids) else None
                problem = (
                    None
                    if actual == expected
                    else f"advisory id #{position} {actual!r}, expected {expected!r}"
                )
        elif op == "in":
            problem = None if (f.cwe[0] if f.cwe else None) in expected else f"cwe {f.cwe} not in {expected}"
        else:
            problem = check_field(parser, field, expected, f)
        if problem:
            return problem
    return None
