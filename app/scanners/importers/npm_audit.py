"""npm audit JSON: v6 (``advisories`` keyed by advisory id) and v7+ (``auditReportVersion`` 2,
``vulnerabilities`` keyed by package).

v6: one finding per advisory (its first affected version is the installed version; all versions and
dependency paths are kept in extras). v7+: one finding per vulnerable package, carrying every
advisory that reaches it directly (``via`` objects); packages affected only through another package
(``via`` names) are reported by that package's finding, as npm itself counts them. A report that
contains only an ``error`` object (npm could not reach its registry) is refused: importing it as
"no vulnerabilities" would close every open finding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers.base import Importer, ParsedReport
from app.scanners.importers.common import dependency_finding
from app.scanners.importers.fields import as_list, cwe_ids, maps, number, opt_map, opt_text, text
from app.scanners.importers.levels import level

FORMAT = "npm-audit"
_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
_GHSA_RE = re.compile(r"GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}")
# An npm 6 advisory whose ``cwe`` is null was never classified; it is still a known-vulnerable
# component, and CWE-1035 is that category ("Using Components with Known Vulnerabilities"), the
# classification DefectDojo gives it too, so CWE-grouped counts agree for teams moving over. npm 7+
# lists CWEs per advisory (``via[].cwe``); an empty list there is kept empty, as DefectDojo does.
KNOWN_VULNERABLE_COMPONENT = (1035,)


def sniff(doc: Any) -> bool:
    if not isinstance(doc, Mapping):
        return False
    if "auditReportVersion" in doc and isinstance(doc.get("vulnerabilities"), Mapping):
        return True
    if isinstance(doc.get("advisories"), Mapping) and (
        "actions" in doc or "muted" in doc or "metadata" in doc
    ):
        return True
    error = doc.get("error")
    return isinstance(error, Mapping) and "code" in error and "summary" in error and len(doc) <= 2


def _v6(doc: Mapping[str, Any]) -> list[NormalizedFinding]:
    findings = []
    for key, advisory in opt_map(doc, "advisories", FORMAT).items():
        advisory = opt_map({"a": advisory}, "a", FORMAT, f"advisories[{key}]")
        occurrences = maps(advisory.get("findings"), FORMAT, "advisories[].findings")
        versions = list(dict.fromkeys(text(o.get("version"), 100) for o in occurrences if o.get("version")))
        paths = [text(p, 1000) for o in occurrences for p in as_list(o.get("paths"), FORMAT, "paths")]
        cves = [text(c, 100) for c in as_list(advisory.get("cves"), FORMAT, "cves")]
        ghsa = _GHSA_RE.findall(
            text(advisory.get("url"), 500) + " " + text(advisory.get("github_advisory_id"), 100)
        )
        advisory_id = text(advisory.get("id"), 100) or str(key)[:100]
        patched = text(advisory.get("patched_versions"), 200)
        # npm's numeric advisory ids are npm-internal (retired for GHSA): an alias only without a CVE/GHSA
        public = list(dict.fromkeys([*cves, *ghsa]))
        findings.append(
            dependency_finding(
                scanner=FORMAT,
                advisory=f"npm:{advisory_id}",
                advisory_ids=public or [f"npm:{advisory_id}"],
                package=opt_text(advisory.get("module_name"), 300),
                version=versions[0] if versions else None,
                severity=level(FORMAT, advisory.get("severity")),
                summary=text(advisory.get("title"), 500),
                message=text(advisory.get("overview")),
                path=_uncensor(paths[0]) if paths else None,
                fixed_versions=[patched] if patched and patched != "<0.0.0" else [],
                cwe=cwe_ids(advisory.get("cwe")) or KNOWN_VULNERABLE_COMPONENT,
                extras={
                    "versions": versions,
                    "dependency_paths": paths[:50],
                    "recommendation": opt_text(advisory.get("recommendation"), 1000),
                    "url": opt_text(advisory.get("url"), 500),
                },
            )
        )
    return findings


def _uncensor(path: str) -> str:
    """npm v6 replaces private package names by a 64-hex digest; name that for the reader."""
    return ">".join("censored_by_npm_audit" if _DIGEST_RE.match(part) else part for part in path.split(">"))


def _v7(doc: Mapping[str, Any]) -> list[NormalizedFinding]:
    findings = []
    for name, entry in opt_map(doc, "vulnerabilities", FORMAT).items():
        entry = opt_map({"v": entry}, "v", FORMAT, f"vulnerabilities[{name}]")
        direct = [via for via in as_list(entry.get("via"), FORMAT, "via") if isinstance(via, Mapping)]
        if not direct:
            continue
        ids = []
        for via in direct:
            ids.extend(_GHSA_RE.findall(text(via.get("url"), 500)) or [f"npm:{text(via.get('source'), 50)}"])
        ids = list(dict.fromkeys(ids))
        cwes: tuple[int, ...] = ()
        for via in direct:
            cwes += tuple(c for c in cwe_ids(via.get("cwe")) if c not in cwes)
        scored = [via for via in direct if isinstance(via.get("cvss"), Mapping)]
        best = scored[0] if scored else None  # the first advisory's CVSS, as npm lists it first
        fix = entry.get("fixAvailable")
        fix_version = text(fix.get("version"), 100) if isinstance(fix, Mapping) else ""
        package = opt_text(entry.get("name"), 300) or str(name)[:300]
        nodes = [text(n, 1000) for n in as_list(entry.get("nodes"), FORMAT, "nodes")]
        findings.append(
            dependency_finding(
                scanner=FORMAT,
                advisory=ids[0],
                aliases=ids[1:],
                package=package,
                version=None,
                severity=level(FORMAT, entry.get("severity")),
                summary=text(direct[0].get("title"), 500),
                message="\n".join(text(via.get("title"), 500) for via in direct),
                path=nodes[0] if nodes else None,
                cwe=cwes,
                extras={
                    "vulnerable_range": opt_text(entry.get("range"), 200),
                    "fix_available": fix if isinstance(fix, bool) else None,
                    "fix_via": f"{text(fix.get('name'), 200)} {fix_version}"
                    if isinstance(fix, Mapping)
                    else None,
                    "cvss_vector": opt_text(best["cvss"].get("vectorString"), 200) if best else None,
                    "cvss_score": number(best["cvss"].get("score")) if best else None,
                    "direct": entry.get("isDirect") is True,
                },
            )
        )
    return findings


def parse(doc: Any) -> ParsedReport:
    root: Mapping[str, Any] = doc if isinstance(doc, Mapping) else {}
    if not isinstance(doc, Mapping):
        raise ReportError(FORMAT, "document should be an object")
    error = root.get("error")
    if isinstance(error, Mapping) and "advisories" not in root and "vulnerabilities" not in root:
        code = text(error.get("code"), 50) or "unknown"
        raise ReportError(
            FORMAT, f"npm audit report contains errors: {code}: {text(error.get('summary'), 200)}"
        )
    findings = _v7(root) if "auditReportVersion" in root or "vulnerabilities" in root else _v6(root)
    return ParsedReport(format=FORMAT, scanner=FORMAT, findings=findings)


IMPORTER = Importer(
    name=FORMAT,
    scanner=FORMAT,
    media="json",
    sniff=sniff,
    parse=parse,
    description="npm audit JSON (v6, v7+)",
)
