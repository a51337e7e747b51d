"""Checklist item 35 at the importer level: hostile reports give one clear ReportError, never a crash.

Oversized files are refused from their size before any parsing; JSON bombs (deep nesting, huge
numbers, NaN, duplicate keys) and XML bombs (entity expansion, external entities) are refused by the
decoders; truncated, malformed and wrong-format files name the format and the problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.scanners.base import ReportError
from app.scanners.importers.loader import iter_report, parse_bytes, parse_report
from app.scanners.importers.safe_load import DEFAULT_MAX_BYTES, loads_json

REPORTS = Path(__file__).parent / "fixtures" / "reports"


def one_line(exc: ReportError) -> str:
    message = str(exc)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_default_limit_is_the_upload_limit() -> None:
    assert DEFAULT_MAX_BYTES == 200 * 1024 * 1024


def test_oversized_file_is_refused_from_its_size_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"\xff" * 2048)  # not even text: a parser would fail differently
    with pytest.raises(ReportError) as caught:
        parse_report(path, max_bytes=1024)
    assert "larger than the 1,024-byte limit" in one_line(caught.value)
    with pytest.raises(ReportError, match="larger than"):
        list(iter_report(path, "sarif", max_bytes=1024))
    with pytest.raises(ReportError, match="larger than"):
        parse_bytes(b"[]" * 600, max_bytes=1024)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested deeper than"),
        ("[" * 300 + "]" * 300, "nested deeper than 200 levels"),
        ('{"runs": [' + "9" * 5000 + "]}", "integer with 5,000 digits"),
        ('{"runs": [-' + "9" * 100 + "]}", "integer with 100 digits"),
        ('{"value": NaN}', "NaN is not valid JSON"),
        ('{"value": Infinity}', "Infinity is not valid JSON"),
        ('{"value": -Infinity}', "-Infinity is not valid JSON"),
        ('{"value": 1e999}', "out of range"),
        ('{"runs": [], "runs": []}', "duplicate key 'runs'"),
        ('{"version": "2.1.0", "runs": [{"results": [], "results": []}]}', "duplicate key 'results'"),
        ('{"runs": [', "not valid JSON"),
        ("   ", "report is empty"),
    ],
)
def test_json_bombs_and_garbage(document: str, problem: str) -> None:
    with pytest.raises(ReportError) as caught:
        parse_bytes(document.encode())
    assert problem in one_line(caught.value)


def test_invalid_utf8_is_named() -> None:
    with pytest.raises(ReportError, match="not UTF-8"):
        loads_json(b'{"a": "\xff\xfe\xfa"}', "sarif")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components>&lol3;</components></bom>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE analysis [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.2.5.xsd"><dependencies>
<dependency><fileName>&xxe;</fileName></dependency></dependencies></analysis>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_xml_entities_are_refused(document: bytes) -> None:
    with pytest.raises(ReportError) as caught:
        parse_bytes(document)
    assert "entities and DTDs are not allowed" in one_line(caught.value)
    with pytest.raises(ReportError):
        parse_bytes(document, "cyclonedx-xml")


def test_deeply_nested_xml_is_refused() -> None:
    nested = b"<components><component>" * 5000 + b"</component></components>" * 5000
    document = b'<bom xmlns="http://cyclonedx.org/schema/bom/1.4">' + nested + b"</bom>"
    with pytest.raises(ReportError, match="XML nested deeper than 200 levels"):
        parse_bytes(document)


def test_empty_document_needs_an_explicit_format() -> None:
    with pytest.raises(ReportError, match="name the format"):
        parse_bytes(b"[]")
    assert parse_bytes(b"[]", "gitleaks").findings == []


@pytest.mark.parametrize("cut", [10, 200, 700])
def test_truncated_reports(cut: int) -> None:
    for name in ("dependency_check.xml", "trivy_results.json", "sarif_codeql.sarif"):
        data = (REPORTS / name).read_bytes()[:cut]
        with pytest.raises(ReportError):
            parse_bytes(data)


def test_a_huge_number_cannot_crash_the_streaming_parser(tmp_path: Path) -> None:
    """ijson's C backend segfaults on numbers past the interpreter's 4,300-digit limit; the guard
    refuses them first, even when the digits straddle two read chunks."""
    path = tmp_path / "digits.sarif"
    path.write_bytes(
        b'{"version": "2.1.0", "runs": [{"tool": {}, "results": [{"a": '
        + b" " * 65_530
        + b"9" * 6000
        + b"}]}]}"
    )
    with pytest.raises(ReportError, match="digit run longer than 1,000 digits"):
        list(iter_report(path, "sarif"))


def test_truncated_sarif_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "cut.sarif"
    path.write_bytes((REPORTS / "sarif_codeql.sarif").read_bytes()[:3000])
    with pytest.raises(ReportError, match="sarif: not valid JSON"):
        list(iter_report(path))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"version": "2.1.0", "runs": [{"tool": {}, "results": [{"a": 1, "a": 2}]}]}', "duplicate key 'a'"),
        (
            '{"version": "2.1.0", "runs": [{"tool": {}, "results": [{"a": ' + "9" * 5000 + "}]}]}",
            "digit run longer",
        ),
        (
            '{"version": "2.1.0", "runs": [{"tool": {}, "results": [{"a": -' + "9" * 100 + "}]}]}",
            "more than 64 digits",
        ),
        (
            '{"version": "2.1.0", "runs": [{"tool": {}, "results": [' + "[" * 500 + "]" * 500 + "]}]}",
            "nested deeper",
        ),
        ('{"version": "1.0.0", "runs": []}', "not supported"),
        ('{"version": "2.1.0", "runs": [{"tool": {}, "results": [{"message": 5}]}]}', "should be an object"),
        ('{"version": "2.1.0", "runs": [{"tool": {}, "results": [{"a": NaN}]}]}', "not valid JSON"),
    ],
)
def test_streaming_sarif_refuses_the_same_bombs(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "hostile.sarif"
    path.write_text(body)
    with pytest.raises(ReportError) as caught:
        list(iter_report(path, "sarif"))
    assert problem in one_line(caught.value)


@pytest.mark.parametrize(
    ("document", "fmt"),
    [
        (b'{"version": "2.1.0", "runs": {"not": "a list"}}', "sarif"),
        (b'{"version": "2.1.0", "runs": [{"results": [{"locations": "x"}]}]}', "sarif"),
        (b'{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [{"CVSS": []}]}]}', "trivy"),
        (b'{"results": [{"source": {}, "packages": [{"package": "jinja2"}]}]}', "osv-scanner"),
        (b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"ratings": "high"}]}', "cyclonedx"),
        (b'{"auditReportVersion": 2, "vulnerabilities": {"x": {"via": "debug"}}}', "npm-audit"),
        (b'[["only", "three", "fields"]]', "safety"),
        (b'[{"RuleID": "x", "Tags": 5}]', "gitleaks"),
    ],
)
def test_wrong_types_inside_a_known_format(document: bytes, fmt: str) -> None:
    with pytest.raises(ReportError) as caught:
        parse_bytes(document, fmt)
    assert one_line(caught.value).startswith(f"{fmt}: ")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot read"):
        parse_report(tmp_path / "nope.json")
    with pytest.raises(ReportError, match="not a regular file"):
        parse_report(tmp_path)
