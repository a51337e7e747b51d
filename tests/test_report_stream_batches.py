"""The streaming SARIF reader's fast path (slices of results decoded by orjson) is indistinguishable
from building every result from ijson events: same findings, same refusals, same messages.

Each check reads the same file twice, once as shipped and once with the fast decoder switched off
(every slice then goes through ijson), with slices made tiny so that cuts land everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scanners.base import NormalizedFinding, ReportError, finding_builder
from app.scanners.importers import sarif_events
from app.scanners.importers.json_batches import (
    count_keys,
    decode_document,
    decode_elements,
    has_exotic_numbers,
)
from app.scanners.importers.loader import iter_report, parse_report

RULES = [{"id": "R1", "defaultConfiguration": {"level": "error"}}, {"id": "R2"}]


def _sarif(results_json: str, *, after: str = "") -> str:
    tool = json.dumps({"driver": {"name": "Tool", "rules": RULES}})
    return '{"version": "2.1.0", "runs": [{"tool": ' + tool + ', "results": ' + results_json + after + "}]}"


def _outcome(path: Path) -> Any:
    try:
        return list(iter_report(path, "sarif"))
    except ReportError as exc:
        return f"error: {exc}"


def _both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """(fast outcome, exact outcome) of streaming ``path`` with slices of a few hundred bytes."""
    with monkeypatch.context() as patch:
        patch.setattr(sarif_events, "_SLICE", 300)
        fast = _outcome(path)
        patch.setattr(sarif_events, "decode_elements", lambda _data, _depth: None)
        exact = _outcome(path)
    return fast, exact


def _result(index: int, text: str, **extra: Any) -> dict[str, Any]:
    location = {
        "physicalLocation": {
            "artifactLocation": {"uri": f"src/m{index % 3}.py"},
            "region": {"startLine": index + 1, "snippet": {"text": text}},
        }
    }
    return {
        "ruleId": f"R{1 + index % 2}",
        "message": {"text": f"finding {index}: {text}"},
        "locations": [location, location] if index % 4 == 0 else [location],
        **extra,
    }


AWKWARD_TEXTS = [
    "d = {'a': [1, 2]}",
    "}, {",
    '"quoted" \\ backslash \\\\" and },{ in a string',
    "x = [[[",
    "]]} unbalanced",
    "ünïcödé ✓ \u2028",
    "0123456789012345678901234567890 in a string",
    "1e400 in a string",
]


def test_awkward_results_read_the_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = [_result(i, AWKWARD_TEXTS[i % len(AWKWARD_TEXTS)]) for i in range(60)]
    results[7]["properties"] = {"security-severity": 9.5, "rank": 12345678901234567890123, "tags": ["x"]}
    results[9]["properties"] = {"score": 1.5e300, "tiny": 1e-320}
    results[11]["partialFingerprints"] = {"primaryLocationLineHash": "1234567890123456789012:1"}
    path = tmp_path / "awkward.sarif"
    path.write_text(_sarif(json.dumps(results, indent=1), after=', "columnKind": "utf16CodeUnits"'))
    fast, exact = _both_ways(path, monkeypatch)
    assert isinstance(fast, list) and len(fast) == 75
    assert fast == exact == parse_report(path, "sarif").findings


def test_a_result_larger_than_a_slice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = [_result(0, "small"), _result(1, "x" * 5000), _result(2, "small")]
    path = tmp_path / "large.sarif"
    path.write_text(_sarif(json.dumps(results)))
    fast, exact = _both_ways(path, monkeypatch)
    assert isinstance(fast, list) and len(fast) == 4 and fast == exact


def _nested(depth: int) -> str:
    """A result whose deepest container sits ``depth`` levels down (the result itself is level 1)."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return '{"ruleId": "R1", "message": {"text": "m"}, "properties": {"deep": ' + inner + "}}"


@pytest.mark.parametrize(("depth", "accepted"), [(200, True), (201, False)])
def test_nesting_limit_is_exactly_the_exact_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, depth: int, accepted: bool
) -> None:
    path = tmp_path / "deep.sarif"
    path.write_text(_sarif("[" + _nested(depth) + "]"))
    fast, exact = _both_ways(path, monkeypatch)
    assert fast == exact
    assert isinstance(fast, list) == accepted
    if not accepted:
        assert "nested deeper" in fast


@pytest.mark.parametrize(
    "bad",
    [
        '{"ruleId": "R1", "message": {"text": "m", "text": "n"}}',  # duplicate key, nested
        '{"ruleId": "R1", "ruleId": "R1", "message": {"text": "m"}}',
        '{"ruleId": "R1", "message": {"text": "m"}, "rank": -' + "9" * 70 + "}",
        '{"ruleId": "R1", "message": {"text": "m"}, "rank": 1e999}',
        '{"ruleId": "R1", "message": {"text": "m"}, "rank": NaN}',
        '{"ruleId": "R1", "message": 5}',
        "[1, 2]",
        '{"ruleId": "R1", "message": {"text": "m"}}, ',
        '{"ruleId": "R1", "message": {"text": "m"}} {"ruleId": "R1"}',
        '{"ruleId": "R1", "message": {"text": "\\ud800"}}',
    ],
)
def test_refusals_are_the_exact_readers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    good = json.dumps([_result(i, "fine") for i in range(8)])[1:-1]
    path = tmp_path / "bad.sarif"
    path.write_text(_sarif("[" + good + ", " + bad + ", " + good + "]"))
    fast, exact = _both_ways(path, monkeypatch)
    assert fast == exact


def test_truncated_in_the_middle_of_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _sarif(json.dumps([_result(i, "fine") for i in range(20)]))
    path = tmp_path / "cut.sarif"
    path.write_text(text[: len(text) // 2])
    fast, exact = _both_ways(path, monkeypatch)
    assert isinstance(fast, str) and fast.startswith("error: sarif: not valid JSON")
    assert isinstance(exact, str) and exact.startswith("error: sarif: not valid JSON")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.sampled_from('ab{}[],:"\\ 0123456789eE-+.\u00e9\U0001f600'), max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "text"]), children, max_size=3),
    ),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries(
            {"ruleId": st.sampled_from(["R1", "R2"])}, optional={"x": values, "message": values}
        ),
        max_size=12,
    )
)
def test_random_results_read_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, results: list[dict[str, Any]]
) -> None:
    path = tmp_path / "random.sarif"
    path.write_text(_sarif(json.dumps(results)))
    fast, exact = _both_ways(path, monkeypatch)
    assert fast == exact


def test_key_counting_sees_through_escapes() -> None:
    assert count_keys(b'{"a":1,"b":"x\\":y","c\\\\":2}') == 3
    assert count_keys(b'["\\\\\\":"]') == 0


def test_exotic_numbers_are_told_from_digits_in_strings() -> None:
    assert has_exotic_numbers(b'{"a": 12345678901234567890}')
    assert has_exotic_numbers(b'{"a": [1, -2.5E+400]}')
    assert has_exotic_numbers(b'{"a": 0.' + b"1" * 60 + b"}")
    assert has_exotic_numbers(b'{"a": [1, 12345678901234567890.5]}') is False  # a float, read alike
    assert not has_exotic_numbers(b'{"mean": 0.0000000000000000000, "x": 1.12345678901234567890123}')
    assert not has_exotic_numbers(b'{"a": "12345678901234567890", "b": "ab3e123", "c": 1.5e30}')


def test_decode_elements_refuses_what_it_cannot_take_exactly() -> None:
    assert decode_elements(b'{"a": 1}, {"b": [2]}', 200) == [{"a": 1}, {"b": [2]}]
    assert decode_elements(b'{"a": 1, "a": 2}', 200) is None
    assert decode_elements(b'{"a": 1}, {"b": ', 200) is None
    assert decode_elements(b"[[[[]]]]", 4) is not None and decode_elements(b"[[[[[]]]]]", 4) is None
    # bytes that close the added brackets and open new ones are not a slice of elements
    assert decode_elements(b'{"a": 1}]], [[{"b": 2}', 200) is None
    assert decode_document(b"1, 2", 200) is None and decode_document(b"  ", 200) is None
    assert decode_document(b' {"a": [1]} ', 200) == ({"a": [1]},)


def test_a_results_array_closed_early_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes skipped by ijson must still form the array they claim to: here they do not."""
    path = tmp_path / "closed.sarif"
    path.write_text('{"runs":[{"tool":{},"results":[{"ruleId":"a"}]],[[{"ruleId":"b"}]}]}')
    fast, exact = _both_ways(path, monkeypatch)
    assert isinstance(fast, str) and isinstance(exact, str) and "not valid JSON" in fast


def test_finding_builder_matches_the_dataclass() -> None:
    build = finding_builder("scanner", "rule_id", "tool_rule_id", "category", "severity", "title", "extras")
    built = build("tool", "tool:R1", "R1", "security", "high", "t", {"k": 1})
    assert built == NormalizedFinding("tool", "tool:R1", "R1", "security", "high", "t", extras={"k": 1})
    with pytest.raises(ValueError, match="unknown severity"):
        build("tool", "tool:R1", "R1", "security", "severe", "t", {})
    with pytest.raises(TypeError, match="extras"):  # a default_factory field must be given
        finding_builder("scanner", "rule_id", "tool_rule_id", "category", "severity", "title")


def test_results_before_their_artifacts_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Results pointing into ``run.artifacts`` by index, written before it: the two-pass mode."""
    results = [
        {
            "ruleId": "R1",
            "message": {"text": f"m{i}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"index": i % 2}}}],
        }
        for i in range(12)
    ]
    artifacts = [{"location": {"uri": "a.py"}}, {"location": {"uri": "b.py"}}]
    path = tmp_path / "late-artifacts.sarif"
    path.write_text(_sarif(json.dumps(results), after=', "artifacts": ' + json.dumps(artifacts)))
    fast, exact = _both_ways(path, monkeypatch)
    assert fast == exact == parse_report(path, "sarif").findings
    assert [finding.path for finding in fast[:2]] == ["a.py", "b.py"]
