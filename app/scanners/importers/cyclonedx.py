"""CycloneDX BOMs with vulnerabilities, JSON and XML (1.2 vulnerability extension up to 1.6).

A BOM without vulnerabilities yields no findings (it is an inventory, not a report). XML is first
turned into the JSON layout (components with ``bom-ref``, ``vulnerabilities`` with ``affects``), so
one mapping serves both. Vulnerabilities of the 1.x extension, written inside a component, belong to
that component. An ``analysis.state`` of ``not_affected``, ``false_positive`` or ``resolved`` marks
the finding suppressed: the producer has triaged it, and Vigil keeps that decision visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree.ElementTree import Element  # nosec B405 - the type only; parsing goes through defusedxml

from app.scanners.base import NormalizedFinding
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import dependency_finding
from app.scanners.importers.fields import as_list, cwe_ids, maps, number, opt_map, opt_text, text
from app.scanners.importers.levels import cvss_band, level

FORMAT = "cyclonedx"
_TRIAGED = {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}
_CVSS_PREFIX = {"cvssv3": "CVSS:3.0/", "cvssv31": "CVSS:3.1/", "cvssv4": "CVSS:4.0/"}


def sniff(doc: Any) -> bool:
    return isinstance(doc, Mapping) and doc.get("bomFormat") == "CycloneDX"


def sniff_xml(root: Any) -> bool:
    return isinstance(root, Element) and _local(root.tag) == "bom" and "cyclonedx.org" in root.tag


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _walk_components(components: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    stack = list(reversed(components))
    while stack:
        component = stack.pop()
        yield component
        stack.extend(reversed(maps(component.get("components"), FORMAT, "components[].components")))


def _rating(vuln: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    ratings = maps(vuln.get("ratings"), FORMAT, "ratings")
    cvss: dict[str, Any] = {}
    for rating in ratings:
        method = text(rating.get("method"), 40).lower()
        vector = opt_text(rating.get("vector"), 300)
        if method.startswith("cvssv3") or method.startswith("cvssv4") or (vector or "").startswith("CVSS:"):
            key = "cvss4" if method.startswith("cvssv4") or (vector or "").startswith("CVSS:4") else "cvss"
            if vector and not vector.startswith("CVSS:"):
                vector = _CVSS_PREFIX.get(method, "CVSS:3.1/") + vector
            cvss.setdefault(f"{key}_vector", vector)
            cvss.setdefault(f"{key}_score", number(rating.get("score")))
    for rating in ratings:
        word = opt_text(rating.get("severity"), 40)
        if word:
            return level(FORMAT, word), cvss
    score = cvss.get("cvss_score") or cvss.get("cvss4_score")
    band = cvss_band(score) if isinstance(score, float) and 0 <= score <= 10 else None
    return band or level(FORMAT, None), cvss


def _findings(doc: Mapping[str, Any]) -> list[NormalizedFinding]:
    components = {}
    for item in _walk_components(maps(doc.get("components"), FORMAT, "components")):
        ref = opt_text(item.get("bom-ref"), 2000)
        if ref:
            components[ref] = item
    findings = []
    for vuln in maps(doc.get("vulnerabilities"), FORMAT, "vulnerabilities"):
        vid = opt_text(vuln.get("id"), 200) or "unknown"
        severity, cvss = _rating(vuln)
        refs = [
            text(opt_map({"a": a}, "a", FORMAT, "affects[]").get("ref"), 2000)
            for a in as_list(vuln.get("affects"), FORMAT, "affects")
        ]
        owner = vuln.get("_component")
        targets: list[Mapping[str, Any] | None] = [owner] if isinstance(owner, Mapping) else []
        targets += [components.get(ref) for ref in refs if ref]
        analysis = opt_map(vuln, "analysis", FORMAT)
        references = [
            text(opt_map({"r": r}, "r", FORMAT, "references[]").get("id"), 200)
            for r in as_list(vuln.get("references"), FORMAT, "references")
        ]
        recommendation = text(vuln.get("recommendation"))
        for target in targets or [None]:
            component: Mapping[str, Any] = target or {}
            findings.append(
                dependency_finding(
                    scanner=FORMAT,
                    advisory=vid,
                    aliases=references,
                    package=opt_text(component.get("name"), 300),
                    version=opt_text(component.get("version"), 200),
                    severity=severity,
                    summary=text(vuln.get("description"), 500),
                    message="\n\n".join(
                        p for p in (text(vuln.get("description")), text(vuln.get("detail"))) if p
                    ),
                    cwe=cwe_ids(vuln.get("cwes")),
                    suppressed=text(analysis.get("state"), 40).lower() in _TRIAGED,
                    extras={
                        "purl": opt_text(component.get("purl"), 2000),
                        "group": opt_text(component.get("group"), 300),
                        "recommendation": recommendation or None,
                        "analysis_state": opt_text(analysis.get("state"), 40),
                        **{k: v for k, v in cvss.items() if v is not None},
                    },
                )
            )
    return findings


def parse(doc: Any) -> ParsedReport:
    root: Mapping[str, Any] = opt_map({"d": doc}, "d", FORMAT, "document")
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=_findings(root))


# --- XML -> the JSON layout -------------------------------------------------------------------


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _children(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    return [child for child in element if _local(child.tag) == name]


def _text(element: Element, name: str) -> str | None:
    child = _child(element, name)
    return (child.text or "").strip() or None if child is not None else None


def _xml_component(element: Element) -> dict[str, Any]:
    nested = _child(element, "components")
    return {
        "bom-ref": element.get("bom-ref"),
        "name": _text(element, "name"),
        "version": _text(element, "version"),
        "group": _text(element, "group"),
        "purl": _text(element, "purl"),
        "components": [_xml_component(c) for c in _children(nested, "component")],
    }


def _xml_rating(element: Element) -> dict[str, Any]:
    score = _child(element, "score")
    value = _text(score, "base") if score is not None and len(score) else _text(element, "score")
    return {
        "severity": _text(element, "severity"),
        "method": _text(element, "method"),
        "vector": _text(element, "vector"),
        "score": number(value),
    }


def _xml_vulnerability(element: Element, owner: dict[str, Any] | None) -> dict[str, Any]:
    ratings = [_xml_rating(r) for r in _children(_child(element, "ratings"), "rating")]
    analysis = _child(element, "analysis")
    affects = _child(element, "affects")
    refs = [_text(t, "ref") for t in _children(affects, "target")]
    if owner is None and element.get("ref"):
        refs.append(element.get("ref"))
    return {
        "id": _text(element, "id"),
        "ratings": ratings,
        "cwes": [(c.text or "").strip() for c in _children(_child(element, "cwes"), "cwe")],
        "description": _text(element, "description"),
        "detail": _text(element, "detail"),
        "recommendation": _text(element, "recommendation"),
        "references": [{"id": _text(r, "id")} for r in _children(_child(element, "references"), "reference")],
        "analysis": {"state": _text(analysis, "state")} if analysis is not None else {},
        "affects": [{"ref": ref} for ref in refs if ref],
        "_component": owner,
    }


def xml_to_document(root: Element) -> dict[str, Any]:
    components = [_xml_component(c) for c in _children(_child(root, "components"), "component")]
    vulnerabilities = [
        _xml_vulnerability(v, None) for v in _children(_child(root, "vulnerabilities"), "vulnerability")
    ]
    # 1.x vulnerability extension: <v:vulnerabilities> inside each component (at any depth)
    stack = list(_children(_child(root, "components"), "component"))
    while stack:
        element = stack.pop(0)
        owner = {
            "name": _text(element, "name"),
            "version": _text(element, "version"),
            "purl": _text(element, "purl"),
        }
        for vuln in _children(_child(element, "vulnerabilities"), "vulnerability"):
            vulnerabilities.append(_xml_vulnerability(vuln, owner))
        stack.extend(_children(_child(element, "components"), "component"))
    return {"bomFormat": "CycloneDX", "components": components, "vulnerabilities": vulnerabilities}


def parse_xml(root: Any) -> ParsedReport:
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=_findings(xml_to_document(root)))


IMPORTER = Importer(
    name=FORMAT, scanner=FORMAT, media="json", sniff=sniff, parse=parse, description="CycloneDX JSON"
)
IMPORTER_XML = Importer(
    name="cyclonedx-xml",
    scanner=FORMAT,
    media="xml",
    sniff=sniff_xml,
    parse=parse_xml,
    description="CycloneDX XML",
)
