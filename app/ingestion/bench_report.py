"""A realistic, deterministic SARIF report of any size, for the ingestion benchmark.

Results spread over many files and rules the way a real semgrep or CodeQL run over a large
monorepo does: a few hundred rules, a few results per file, a snippet per result. The file is
written result by result, so generating a gigabyte needs no more memory than generating a kilobyte.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

RULE_FAMILIES = (
    ("python.lang.security.audit.eval-detected", "error", "95"),
    ("python.lang.security.audit.exec-detected", "error", "95"),
    ("python.lang.security.audit.subprocess-shell-true", "error", "78"),
    ("python.lang.security.deserialization.pickle", "warning", "502"),
    ("python.lang.security.audit.insecure-hash", "warning", "327"),
    ("python.django.security.injection.sql.raw-query", "error", "89"),
    ("python.flask.security.xss.direct-use-of-jinja2", "warning", "79"),
    ("python.lang.security.audit.hardcoded-password", "note", "798"),
    ("python.requests.security.no-timeout", "note", "400"),
    ("python.lang.correctness.useless-comparison", "note", "571"),
)
RULES = [(f"{name}-{i}", level, cwe) for i in range(30) for name, level, cwe in RULE_FAMILIES]
SNIPPETS = (
    "result = eval({var})",
    "exec(compile({var}, '<string>', 'exec'))",
    "subprocess.run({var}, shell=True, check=False)",
    "data = pickle.loads({var})",
    "digest = hashlib.md5({var}).hexdigest()",
    "cursor.execute('SELECT * FROM t WHERE id = %s' % {var})",
    "return Markup({var})",
    "password = '{var}'",
    "requests.get({var})",
    "if {var} == {var}:",
)


def result_spec(index: int, seed: int = 7) -> tuple[int, str, int, str]:
    """(rule index, file path, line, snippet) of result ``index``: the same on every call."""
    rng = random.Random(seed * 1_000_003 + index)  # noqa: S311 - reproducible test data
    rule = rng.randrange(len(RULES))
    package = f"pkg{index % 97:02d}/module{(index // 97) % 61:02d}"
    path = f"src/{package}/file_{index // 8:06d}.py"
    snippet = SNIPPETS[rule % len(SNIPPETS)].format(var=f"value_{index}")
    return rule, path, 10 + (index % 8) * 25 + rng.randrange(20), snippet


def _result(index: int, seed: int) -> dict[str, Any]:
    rule, path, line, snippet = result_spec(index, seed)
    rule_id, level, _cwe = RULES[rule]
    return {
        "ruleId": rule_id,
        "ruleIndex": rule,
        "level": level,
        "message": {"text": f"{rule_id.rsplit('.', 1)[-1]}: untrusted input reaches a sensitive call"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": line,
                        "startColumn": 5,
                        "endLine": line,
                        "endColumn": 5 + len(snippet),
                        "snippet": {"text": snippet},
                    },
                }
            }
        ],
    }


def _chunks(indexes: Iterator[int], seed: int) -> Iterator[bytes]:
    first = True
    for index in indexes:
        yield (b"" if first else b",\n") + orjson.dumps(_result(index, seed))
        first = False


def write_report(path: Path, indexes: Iterator[int], *, seed: int = 7, run_tag: str = "1") -> int:
    """Write a SARIF 2.1.0 report of the given result indexes; returns its size in bytes."""
    driver = {
        "name": "semgrep",
        "semanticVersion": "1.100.0",
        "rules": [
            {
                "id": rule_id,
                "shortDescription": {"text": rule_id.rsplit(".", 1)[-1]},
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["security", f"CWE-{cwe}"]},
            }
            for rule_id, level, cwe in RULES
        ],
    }
    head = (
        b'{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":'
        + orjson.dumps({"driver": driver})
        + b',"invocations":'
        + orjson.dumps([{"executionSuccessful": True, "properties": {"run": run_tag}}])
        + b',"results":[\n'
    )
    with open(path, "wb") as handle:
        handle.write(head)
        for chunk in _chunks(indexes, seed):
            handle.write(chunk)
        handle.write(b"\n]}]}\n")
    return path.stat().st_size
