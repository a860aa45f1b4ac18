"""Write the evaluation's verdict and scenario table into docs/models.md from the results.

Renders `riskmodel.models.verdict.evaluation_verdict` and `scenario_table` from
`benchmarks/results-evaluate-scenarios.json` into the blocks between
`<!-- verdict:begin -->` / `<!-- verdict:end -->` and `<!-- scenario-table:begin -->` /
`<!-- scenario-table:end -->`; `--check` exits 1 when the document differs from what the
results say (tests/test_evaluation_verdict.py runs the same comparison).

Usage: python benchmarks/evaluate_docs.py [--write | --check] [docs/models.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first: this folder's kernels.py would otherwise shadow the package.
sys.path.insert(0, str(ROOT))

from riskmodel.models.verdict import evaluation_verdict, scenario_table  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results-evaluate-scenarios.json"
DOC = ROOT / "docs" / "models.md"


def fill(text: str, name: str, block: str, where: str) -> str:
    """`text` with the `name` block's contents replaced by `block`."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"{where}: no '{begin}' ... '{end}' block to fill")
    return text[:i + len(begin)] + "\n" + block + "\n" + text[j:]


def render(text: str, results: dict, where: str) -> str:
    """`text` with both blocks filled from `results`."""
    text = fill(text, "verdict", "\n".join(evaluation_verdict(results)), where)
    return fill(text, "scenario-table", scenario_table(results), where)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="fill the blocks (default)")
    mode.add_argument("--check", action="store_true", help="exit 1 if they are stale")
    ap.add_argument("doc", nargs="?", type=Path, default=DOC)
    args = ap.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    new = render(text, json.loads(RESULTS.read_text()), str(args.doc))
    if args.check:
        if new != text:
            print(f"{args.doc}: verdict or scenario table differ from {RESULTS.name}; run "
                  f"python benchmarks/evaluate_docs.py --write", file=sys.stderr)
            return 1
        return 0
    args.doc.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
