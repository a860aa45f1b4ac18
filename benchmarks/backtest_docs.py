"""Write the many-worlds backtest's results into docs/backtest.md from the results file.

Renders `riskmodel.backtest.verdict.suite_markdown` from
`benchmarks/results-backtest-scenarios.json` (benchmarks/backtest_scenarios.py) into the
block between `<!-- backtest-scenarios:begin -->` and `<!-- backtest-scenarios:end -->`;
`--check` exits 1 when the document differs from what the results say
(tests/test_backtest_docs.py runs the same comparison).

Usage: python benchmarks/backtest_docs.py [--write | --check] [docs/backtest.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The repository first: this folder's kernels.py would otherwise shadow the package.
sys.path.insert(0, str(ROOT))

from riskmodel.backtest.verdict import SUITE_SCENARIOS, suite_markdown  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results-backtest-scenarios.json"
DOC = ROOT / "docs" / "backtest.md"
BLOCK = "backtest-scenarios"


def render(text: str, results: dict[str, Any], where: str) -> str:
    """`text` with the block's contents replaced by the rendered `results`."""
    begin, end = f"<!-- {BLOCK}:begin -->", f"<!-- {BLOCK}:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"{where}: no '{begin}' ... '{end}' block to fill")
    block = suite_markdown(results, SUITE_SCENARIOS)
    return text[:i + len(begin)] + "\n" + block + "\n" + text[j:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="fill the block (default)")
    mode.add_argument("--check", action="store_true", help="exit 1 if it is stale")
    ap.add_argument("doc", nargs="?", type=Path, default=DOC)
    args = ap.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    new = render(text, json.loads(RESULTS.read_text()), str(args.doc))
    if args.check:
        if new != text:
            print(f"{args.doc}: the many-worlds backtest block differs from {RESULTS.name}; "
                  f"run python benchmarks/backtest_docs.py --write", file=sys.stderr)
            return 1
        return 0
    args.doc.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
