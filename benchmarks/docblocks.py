"""Generated blocks in Markdown documents: fill them from a results file, or check them.

A document keeps a generated block between `<!-- NAME:begin -->` and `<!-- NAME:end -->`;
a renderer script (`evaluate_docs.py`, `backtest_docs.py`) computes the document's new text
from a results file and calls `write_or_check`, which writes it (`--write`, the default)
or exits 1 when the committed document differs (`--check`, what the docs tests run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fill(text: str, name: str, block: str, where: str) -> str:
    """`text` with the `name` block's contents replaced by `block`; `where` names the
    document in the error when the block is missing."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"{where}: no '{begin}' ... '{end}' block to fill")
    return text[:i + len(begin)] + "\n" + block + "\n" + text[j:]


def write_or_check(description: str, doc: Path, results: Path,
                   render: Callable[[str, dict[str, Any], str], str], script: str,
                   argv: list[str] | None = None) -> int:
    """The renderer's command line: `[--write | --check] [DOC]`, DOC defaulting to `doc`.

    `render(text, results, where)` returns the document's text with its blocks filled
    from the parsed `results` file; `script` is the renderer's path, named in the message
    when `--check` finds the document stale.
    """
    ap = argparse.ArgumentParser(description=description)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="fill the blocks (default)")
    mode.add_argument("--check", action="store_true", help="exit 1 if they are stale")
    ap.add_argument("doc", nargs="?", type=Path, default=doc)
    args = ap.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    new = render(text, json.loads(results.read_text(encoding="utf-8")), str(args.doc))
    if args.check:
        if new != text:
            print(f"{args.doc}: the generated blocks differ from {results.name}; run "
                  f"python {script} --write", file=sys.stderr)
            return 1
        return 0
    args.doc.write_text(new, encoding="utf-8")
    return 0
