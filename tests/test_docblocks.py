"""The docs renderers' shared block filling and --check (benchmarks/docblocks.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.docblocks import fill, write_or_check  # noqa: E402


def _render(text: str, results: dict, where: str) -> str:
    return fill(text, "figures", f"value {results['value']}", where)


def test_fill_replaces_only_the_block_and_refuses_a_missing_one() -> None:
    text = "head\n<!-- figures:begin -->\nold\n<!-- figures:end -->\ntail\n"
    assert fill(text, "figures", "new", "doc.md") == \
        "head\n<!-- figures:begin -->\nnew\n<!-- figures:end -->\ntail\n"
    with pytest.raises(SystemExit, match="doc.md: no '<!-- table:begin -->'"):
        fill(text, "table", "new", "doc.md")


def test_check_fails_on_a_stale_document_and_write_fixes_it(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture
                                                          ) -> None:
    doc, results = tmp_path / "doc.md", tmp_path / "results.json"
    doc.write_text("<!-- figures:begin -->\nvalue 1\n<!-- figures:end -->\n")
    results.write_text(json.dumps({"value": 2}))
    run = lambda *a: write_or_check("d", doc, results, _render, "r.py", list(a))  # noqa: E731
    assert run("--check") == 1
    assert "results.json" in capsys.readouterr().err
    assert run("--write") == 0 and run("--check") == 0
    assert "value 2" in doc.read_text()
