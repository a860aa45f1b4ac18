"""Write the evaluation's verdict and scenario table into docs/models.md from the results.

Renders `riskmodel.models.verdict.evaluation_verdict` and `scenario_table` from
`benchmarks/results-evaluate-scenarios.json` into the blocks between
`<!-- verdict:begin -->` / `<!-- verdict:end -->` and `<!-- scenario-table:begin -->` /
`<!-- scenario-table:end -->`; `--check` exits 1 when the document differs from what the
results say (tests/test_evaluation_verdict.py runs the same comparison).

Usage: python benchmarks/evaluate_docs.py [--write | --check] [docs/models.md]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first: this folder's kernels.py would otherwise shadow the package.
sys.path.insert(0, str(ROOT))

from benchmarks.docblocks import fill, write_or_check  # noqa: E402
from riskmodel.models.verdict import evaluation_verdict, scenario_table  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results-evaluate-scenarios.json"
DOC = ROOT / "docs" / "models.md"


def render(text: str, results: dict, where: str) -> str:
    """`text` with both blocks filled from `results`."""
    text = fill(text, "verdict", "\n".join(evaluation_verdict(results)), where)
    return fill(text, "scenario-table", scenario_table(results), where)


def main(argv: list[str] | None = None) -> int:
    return write_or_check(__doc__.splitlines()[0], DOC, RESULTS, render,
                          "benchmarks/evaluate_docs.py", argv)


if __name__ == "__main__":
    raise SystemExit(main())
