"""OWASP dependency-check XML: one finding per (dependency, vulnerability), suppressed ones included.

dependency-check describes a dependency by its file; the package name and version come from the
package URL when it found one (``pkg:maven/org.dom4j/dom4j@2.1.1`` -> ``org.dom4j:dom4j`` 2.1.1), from
a legacy ``identifier`` otherwise, and as a last resort from the file name (``dom4j-2.1.1.jar``).
Vulnerabilities the project suppressed in its dependency-check configuration are imported as
suppressed findings, so the suppression is visible rather than silently dropped.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element  # nosec B405 - the type only; parsing goes through defusedxml

from app.scanners.base import NormalizedFinding
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import dependency_finding
from app.scanners.importers.fields import cwe_ids, number
from app.scanners.importers.levels import cvss_band, level

FORMAT = "dependency-check"
_ADVISORY_RE = re.compile(r"^(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})$")
_FILE_VERSION_RE = re.compile(
    r"^(?P<name>.+?)[-_](?P<version>\d[\w.+~-]*?)(?:\.(?:min\.)?(?:jar|js|dll|war|ear|whl|gem|nupkg|zip|tgz))?$"
)
_CVSS3_KEYS = (
    ("AV", "attackVector"),
    ("AC", "attackComplexity"),
    ("PR", "privilegesRequired"),
    ("UI", "userInteraction"),
    ("S", "scope"),
    ("C", "confidentialityImpact"),
    ("I", "integrityImpact"),
    ("A", "availabilityImpact"),
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _children(element: Element | None, name: str) -> list[Element]:
    return [] if element is None else [child for child in element if _local(child.tag) == name]


def _text(element: Element | None, name: str) -> str | None:
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    return child.text.strip()[:20_000] or None


def sniff(root: Any) -> bool:
    return isinstance(root, Element) and _local(root.tag) == "analysis" and "dependency-check" in root.tag


def _purl(purl: str) -> tuple[str | None, str | None]:
    body = purl.split("?", 1)[0].split("#", 1)[0]
    if not body.startswith("pkg:") or "/" not in body:
        return None, None
    kind, _, rest = body[4:].partition("/")
    name_part, _, version = rest.rpartition("@") if "@" in rest else (rest, "", "")
    segments = [unquote(s) for s in name_part.split("/") if s]
    if not segments:
        return None, None
    name = ":".join(segments) if kind == "maven" else "/".join(segments)
    return name, unquote(version) or None


def _package(dependency: Element) -> tuple[str | None, str | None]:
    identifiers = _child(dependency, "identifiers")
    containers = [identifiers, *_children(identifiers, "identifiers")]
    for container in containers:
        for package in _children(container, "package"):
            name, version = _purl(_text(package, "id") or "")
            if name:
                return name, version
    for container in containers:
        for identifier in _children(container, "identifier"):
            if identifier.get("type") == "maven":
                parts = (_text(identifier, "name") or "").split(":")
                if len(parts) >= 3:
                    return ":".join(parts[:-1]), parts[-1]
    file_name = (
        (_text(dependency, "fileName") or "").rsplit(": ", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    )
    match = _FILE_VERSION_RE.match(file_name)
    if match:
        return match.group("name"), match.group("version")
    product, version = _evidence(dependency, "product"), _evidence(dependency, "version")
    if product:
        return product, version
    return file_name or None, None


def _evidence(dependency: Element, kind: str) -> str | None:
    """The most confident evidence value of a kind (dependency-check's own guess at name/version)."""
    rank = {"HIGHEST": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}
    candidates = [
        (rank.get((e.get("confidence") or "").upper(), 4), _text(e, "value"))
        for e in _children(_child(dependency, "evidenceCollected"), "evidence")
        if e.get("type") == kind and _text(e, "value")
    ]
    return min(candidates)[1] if candidates else None


def _cvss3(vulnerability: Element) -> tuple[str | None, float | None, str | None]:
    block = _child(vulnerability, "cvssV3")
    if block is None:
        return None, None, None
    parts: list[str] = []
    for short, key in _CVSS3_KEYS:
        value = _text(block, key)
        if not value:
            parts = []
            break
        parts.append(f"{short}:{value[0].upper()}")
    version = _text(block, "version") or "3.1"
    vector = f"CVSS:{version}/" + "/".join(parts) if parts else None
    return vector, number(_text(block, "baseScore")), _text(block, "baseSeverity")


def _severity(vulnerability: Element, cvss3_severity: str | None) -> str:
    for word in (
        cvss3_severity,
        _text(vulnerability, "severity"),
        _text(_child(vulnerability, "cvssV2"), "severity"),
    ):
        if word:
            return level(FORMAT, word)
    score = number(_text(vulnerability, "cvssScore"))
    return cvss_band(score) or level(FORMAT, None) if score is not None else level(FORMAT, None)


def _finding(dependency: Element, vulnerability: Element, suppressed: bool) -> NormalizedFinding:
    name = _text(vulnerability, "name") or "unknown"
    package, version = _package(dependency)
    vector, score, cvss3_severity = _cvss3(vulnerability)
    cwes = [
        _text(vulnerability, "cwe"),
        *[(c.text or "") for c in _children(_child(vulnerability, "cwes"), "cwe")],
    ]
    return dependency_finding(
        scanner=FORMAT,
        advisory=name,
        advisory_ids=[name] if _ADVISORY_RE.match(name) else [],
        package=package,
        version=version,
        severity=_severity(vulnerability, cvss3_severity),
        summary=(_text(vulnerability, "description") or "")[:500],
        message=_text(vulnerability, "description") or "",
        path=_text(dependency, "fileName"),
        cwe=cwe_ids(*cwes),
        suppressed=suppressed,
        extras={
            "file_path": _text(dependency, "filePath"),
            "source": vulnerability.get("source"),
            "cvss_vector": vector,
            "cvss_score": score,
        },
    )


def parse(root: Any) -> ParsedReport:
    findings = []
    for dependency in _children(_child(root, "dependencies"), "dependency"):
        for vulnerability in _children(_child(dependency, "vulnerabilities"), "vulnerability"):
            findings.append(_finding(dependency, vulnerability, False))
        for container in (
            _child(dependency, "vulnerabilities"),
            _child(dependency, "suppressedVulnerabilities"),
        ):
            for vulnerability in _children(container, "suppressedVulnerability"):
                findings.append(_finding(dependency, vulnerability, True))
    version = _text(_child(root, "scanInfo"), "engineVersion")
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=findings, tool_version=version)


IMPORTER = Importer(
    name=FORMAT,
    scanner=FORMAT,
    media="xml",
    sniff=sniff,
    parse=parse,
    description="OWASP dependency-check XML",
)
