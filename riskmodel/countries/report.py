"""The cross-validation results as a document and as the README's markdown table."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from riskmodel.backtest.results import clean
from riskmodel.countries.cv import evaluate
from riskmodel.countries.design import Design
from riskmodel.countries.model import INTERVAL
from riskmodel.countries.outcome import TARGET
from riskmodel.countries.predict import NOTE

SCHEMES = ("loco", "loro")
SCHEME_NAMES = {"loco": "leave-one-country-out", "loro": "leave-one-region-out"}


def cv_document(design: Design, schemes: tuple[str, ...] = SCHEMES, *,
                on_fold: Callable[[str, int, int, str], None] | None = None) -> dict[str, Any]:
    """Every scheme's scores with what the rows are (target, years, countries, dropped);
    numbers rounded and undefined ones null, as in the backtest's JSON. `on_fold` gets
    (scheme, fold, folds, held-out group) before each fold."""
    return clean({
        "target": TARGET, "units": "percent", "note": NOTE, "interval": INTERVAL,
        "rows": len(design.value),
        "countries": len(np.unique(design.iso3)),
        "years": [int(design.year.min()), int(design.year.max())],
        "features": list(design.features), "dropped_rows": design.dropped,
        "schemes": {s: evaluate(design, s, on_fold=None if on_fold is None else
                                functools.partial(on_fold, s)) for s in schemes},
    })


def _num(v: Any, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def markdown_table(doc: dict[str, Any]) -> str:
    """Markdown table: scheme x method, MAE, Spearman, coverage, width, on all rows and
    MAE on rows with an earlier survey (where the last observed value competes)."""
    lines = [("| evaluation | method | rows | MAE (pp) | Spearman | 80% interval coverage | "
              "mean width (pp) | MAE, rows with an earlier survey (n) |"),
             "|---|---|---|---|---|---|---|---|"]
    for scheme, res in doc["schemes"].items():
        sub = res["rows_with_earlier_survey"]
        for m in (*res["all_rows"], "last_observed"):
            a = res["all_rows"].get(m)
            s = sub[m]
            lines.append(
                f"| {SCHEME_NAMES[scheme]} ({res['folds']} folds) | {m.replace('_', ' ')} | "
                f"{a['n'] if a else '–'} | {_num(a and a['mae'], '.2f')} | "
                f"{_num(a and a['spearman'], '.2f')} | {_num(a and a['coverage'], '.2f')} | "
                f"{_num(a and a['width'], '.1f')} | {_num(s['mae'], '.2f')} ({s['n']}) |")
    return "\n".join(lines) + "\n"
