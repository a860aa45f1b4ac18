"""Write the many-worlds backtest's results into docs/backtest.md from the results file.

Renders `riskmodel.backtest.verdict.suite_markdown` from
`benchmarks/results-backtest-scenarios.json` (benchmarks/backtest_scenarios.py) into the
block between `<!-- backtest-scenarios:begin -->` and `<!-- backtest-scenarios:end -->`;
`--check` exits 1 when the document differs from what the results say
(tests/test_backtest_docs.py runs the same comparison).

Usage: python benchmarks/backtest_docs.py [--write | --check] [docs/backtest.md]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The repository first: this folder's kernels.py would otherwise shadow the package.
sys.path.insert(0, str(ROOT))

from benchmarks.docblocks import fill, write_or_check  # noqa: E402
from riskmodel.backtest.verdict import SUITE_SCENARIOS, suite_markdown  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results-backtest-scenarios.json"
DOC = ROOT / "docs" / "backtest.md"
BLOCK = "backtest-scenarios"


def render(text: str, results: dict[str, Any], where: str) -> str:
    """`text` with the block's contents replaced by the rendered `results`."""
    return fill(text, BLOCK, suite_markdown(results, SUITE_SCENARIOS), where)


def main(argv: list[str] | None = None) -> int:
    return write_or_check(__doc__.splitlines()[0], DOC, RESULTS, render,
                          "benchmarks/backtest_docs.py", argv)


if __name__ == "__main__":
    raise SystemExit(main())
