"""The docs describe the code as it is, and the code explains itself.

README.md, docs/*.md and benchmarks/README.md must not carry commit hashes, issue or
pull-request numbers or history of how the code got here (git keeps that); comments and
docstrings of the code must not point at documents outside the repository or at issue
numbers, but say the reason. The benchmark tables in benchmarks/README.md must be what
benchmarks/table.py renders from the committed results files.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "benchmarks" / "README.md",
        *sorted((ROOT / "docs").glob("*.md"))]
CODE_DIRS = ("riskmodel", "features", "kernels", "benchmarks", "tests")

# A git object name: 7-40 hex digits with at least one digit and one letter, not part of
# a longer word or of a hyphenated id (model ids such as fl-45fef2e0303b are content hashes
# users look up, not commits).
HEX = re.compile(r"(?<![\w./-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}(?![\w-])")
ISSUE_REF = re.compile(r"\b(?:issue|pull request|PR)\s*#?\d+\b|(?:^|[\s(\[])#\d{1,5}\b",
                       re.IGNORECASE | re.MULTILINE)
HISTORY = re.compile(r"\bthe issue'?s\b|\bissue contract\b|\buntil commit\b|\bat commit\b|"
                     r"\bSTYLE lesson\b|\blesson \d+\b", re.IGNORECASE)
OUTSIDE = re.compile(r"\.\./shared\b|\bshared/|\b(?:STYLE|DOMAIN|ARCHITECTURE)\.md\b")


def doc_findings(text: str) -> list[str]:
    """Forbidden patterns in a markdown document, as 'line N: match' strings."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for pattern in (HEX, ISSUE_REF, HISTORY, OUTSIDE):
            found += [f"line {n}: {m.group().strip()!r}" for m in pattern.finditer(line)]
    return found


def comment_texts(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python source."""
    out = [(tok.start[0], tok.string) for tok in
           tokenize.generate_tokens(io.StringIO(source).readline)
           if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                line = node.body[0].lineno
                out += [(line + i, t) for i, t in enumerate(doc.splitlines())]
    return out


def code_findings(source: str) -> list[str]:
    """Forbidden references in the comments and docstrings of a Python source."""
    return [f"line {n}: {m.group().strip()!r}" for n, text in comment_texts(source)
            for pattern in (ISSUE_REF, HISTORY, OUTSIDE) for m in pattern.finditer(text)]


def test_the_scanners_catch_what_they_are_for():
    bad_doc = ("Measured at commit e7299da.\nSee issue #12 and (#9).\nUntil commit abc1234 "
               "it was slower; the issue's target.\nSee ../shared/STYLE.md, STYLE lesson 1.\n")
    assert len(doc_findings(bad_doc)) >= 7
    ok_doc = ("Model `fl-45fef2e0303b`, sha256 51a2ef4edfac01e28dcbae604b45bdc17d2d672abc3486e7"
              "705a657e616121b3, 1619906560 bytes, a decade of data.\n")
    assert doc_findings(ok_doc) == []
    bad_code = ('"""Scale-out (issue 10).\n\nAs DOMAIN.md says."""\n'
                'CSS = "a{color:#222}"  # STYLE lesson 1, see #9\n')
    assert len(code_findings(bad_code)) == 4
    assert code_findings('CSS = "a{color:#222}"  # the colour of body text\n') == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_carry_no_history(path: Path):
    assert doc_findings(path.read_text(encoding="utf-8")) == [], path


def test_code_comments_cite_nothing_outside_the_repository():
    found = []
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)} {f}"
                      for f in code_findings(path.read_text(encoding="utf-8"))]
    assert found == []


def _table_module():
    spec = importlib.util.spec_from_file_location("bench_table", ROOT / "benchmarks/table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_tables_match_the_committed_results():
    table = _table_module()
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert table.replace_block(readme, table.render()) == readme, (
        "benchmarks/README.md is stale: run python benchmarks/table.py --write "
        "benchmarks/README.md")


def test_one_results_file_per_benchmark():
    names = sorted(p.name for p in (ROOT / "benchmarks").glob("*.json"))
    assert names == ["results-backtest-scenarios.json", "results-evaluate-scenarios.json",
                     "results-kernels.json", "results-kpis.json",
                     "results-pipeline.json", "results-portal.json",
                     "results-real-validation.json", "results-scenarios.json",
                     "results-scoring-global-0p1.json", "results-scoring-scale-16x.json",
                     "results-simulate.json"]


def test_table_says_unknown_for_what_a_file_does_not_record(tmp_path: Path):
    table = _table_module()
    record = {"kernel": "lag", "shape": [2, 3, 4], "ours_s": 0.2, "peer": "numpy",
              "peer_s": 0.3, "floor_s": 0.1, "compile_s": 1.0, "cached_s": 0.0, "load1": 1.5}
    (tmp_path / "results-kernels.json").write_text(json.dumps([record]))
    old = table.render(tmp_path)
    assert "machine unknown; date unknown; 1-minute load average 1.50" in old
    assert "| lag | 2x3x4 | 0.200 | numpy | 0.300 | 1.50 | 0.100 | 2.0 |" in old
    env = {"machine": "x86_64", "cores": 2, "date": "2026-01-02 03:04 UTC"}
    (tmp_path / "results-kernels.json").write_text(
        json.dumps({"environment": env, "records": [record]}))
    assert "machine x86_64, 2 cores; date 2026-01-02 03:04 UTC" in table.render(tmp_path)
