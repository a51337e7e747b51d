"""Where Vigil deliberately differs from DefectDojo's parsers, and why (read by ``vigil conformance``).

Keys are corpus paths (``scenario:<path>`` for importer scenarios). A reason must say what Vigil does
instead and why that is the better behaviour for Vigil's users; an entry failing without a reason
here is a bug to fix, not a line to add.
"""

from __future__ import annotations

# Fields DefectDojo asserts that have no counterpart in a normalized finding.
IGNORED_FIELDS: dict[str, str] = {
    "date": "Vigil records first_seen/last_seen at ingestion, not the report's own timestamp",
    "verified": "DefectDojo's triage flag; Vigil triages through finding status and accepted risks",
}

SCENARIO_UNAVAILABLE = (
    "needs the ingestion engine (app/ingestion/scenario.py run_scenarios), "
    "which is not available in this build"
)

REASONS: dict[str, str] = {
    "osv_scanner/no_findings.json": (
        "the file is empty (0 bytes): Vigil refuses an empty report instead of reading it as "
        "'no vulnerabilities', because importing it would close every open finding of the scanner"
    ),
    "npm_audit/many_vuln_npm7.json": (
        "Vigil's npm-audit format reads npm 7+ reports too (DefectDojo's v6 parser refuses them "
        "and needs a second scan type), so this report imports instead of failing"
    ),
    "cyclonedx/valid-vulnerability-1.4.xml": (
        "the XML lists CVE-2018-7489 twice among the references; Vigil keeps advisory ids unique "
        "(2 ids, DefectDojo 3)"
    ),
    "osv_scanner/some_findings.json": (
        "the record has no severity; DefectDojo defaults to Low, Vigil to medium (its documented default "
        "for advisories without a usable severity: an unknown risk is not a low one)"
    ),
}
