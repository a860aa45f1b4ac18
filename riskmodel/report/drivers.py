"""Drivers in words for people: a feature's meaning and units from the catalogue, whether
the area's value is low or high among all areas, and which way it moves the risk.

The model's drivers are feature names with a contribution in log-odds (LightGBM
`pred_contrib`, positive: raises the risk). A manager reads "natural log of GDP per capita
of the country: low (6.1 log(USD), below 85% of areas); raises risk (+0.42)" instead of
`log_gdp_per_capita 0.42`. Levels compare an area's population-weighted mean of the
feature this month with the same mean of every other area (admin-1 units), so "low" means
low here, not low against some absolute scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features import CATALOGUE

# Percentile of an area among all areas below which its value reads "low", above
# 100 - LOW_PCT "high"; in between "middling".
LOW_PCT = 100.0 / 3.0


@dataclass(frozen=True)
class AreaLevels:
    """Per-area means of the raw features of one month: `means` (areas, F) population-
    weighted means over each area's land cells (NaN for an area without data), `pct`
    (areas, F) the share of the other areas (in %) with a lower mean, columns in the order
    of `names`."""

    names: tuple[str, ...]
    means: np.ndarray
    pct: np.ndarray

    def of(self, area: int, name: str) -> tuple[float, float] | None:
        """(mean, percentile) of feature `name` in area `area`, or None when unknown."""
        if name not in self.names or not 0 <= area < self.means.shape[0]:
            return None
        j = self.names.index(name)
        v, p = float(self.means[area, j]), float(self.pct[area, j])
        return None if not np.isfinite(v) else (v, p)


def area_levels(names: tuple[str, ...], values: np.ndarray, groups: np.ndarray,
                weights: np.ndarray, n_areas: int) -> AreaLevels:
    """`AreaLevels` of feature rows `values` (cells, F) whose cells belong to areas
    `groups` (cells,; < 0 for none) with weights `weights` (cells,; persons, NaN as 0)."""
    groups = np.asarray(groups, dtype=np.int64)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    keep = groups >= 0
    g, w = groups[keep], w[keep]
    # One feature per row, each a run of memory (a column of the (cells, F) rows is not),
    # in the rows' own dtype until a column is read.
    v = np.ascontiguousarray(np.asarray(values)[keep].T)
    means = np.full((n_areas, len(names)), np.nan)
    for j in range(len(names)):
        col = v[j].astype(np.float64)
        ok = np.isfinite(col)
        filled, wj = np.where(ok, col, 0.0), np.where(ok, w, 0.0)
        total = np.bincount(g, weights=wj, minlength=n_areas)
        num = np.bincount(g, weights=filled * wj, minlength=n_areas)
        # Areas without people (or weights) fall back to the plain mean of their cells.
        cnt = np.bincount(g, weights=ok.astype(np.float64), minlength=n_areas)
        plain = np.bincount(g, weights=filled, minlength=n_areas)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[:, j] = np.where(total > 0, num / total, plain / cnt)
    pct = np.full_like(means, np.nan)
    for j in range(len(names)):
        col = means[:, j]
        ok = np.isfinite(col)
        known = np.sort(col[ok])
        if known.size > 1:
            below = np.searchsorted(known, col[ok], side="left")
            pct[ok, j] = 100.0 * below / (known.size - 1)
    return AreaLevels(tuple(names), means, pct)


def feature_label(name: str) -> str:
    """What feature `name` measures (the catalogue's meaning, the cube's `long_name`), or
    the name itself for a feature the catalogue does not know."""
    entry = CATALOGUE.get(name)
    return entry.meaning if entry is not None else name


def feature_units(name: str) -> str:
    """The catalogue's units of `name` ("" when dimensionless or unknown)."""
    entry = CATALOGUE.get(name)
    units = entry.units if entry is not None else ""
    return "" if units in ("1", "") else units


def level_word(pct: float) -> str:
    """"low", "middling" or "high" for an area's percentile among all areas."""
    if pct < LOW_PCT:
        return "low"
    if pct > 100.0 - LOW_PCT:
        return "high"
    return "middling"


def _number(value: float, units: str) -> str:
    """A feature value rounded for people, with its units."""
    text = f"{value:.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {units}".strip()


def describe_driver(name: str, contrib: float | None,
                    level: tuple[float, float] | None) -> str:
    """One driver as a sentence fragment: what the feature measures, the area's level
    (value, units, and how it compares with the other areas) when known, and the direction
    and size of its effect on the risk in log-odds."""
    parts = [feature_label(name)]
    if level is not None:
        value, pct = level
        word = level_word(pct)
        where = ("the lowest of all areas" if pct <= 0 else
                 "the highest of all areas" if pct >= 100 else
                 f"below {100 - pct:.0f}% of areas" if word == "low" else
                 f"above {pct:.0f}% of areas" if word == "high" else "near the middle")
        parts.append(f": {word} ({_number(value, feature_units(name))}, {where})")
    if contrib is None or not np.isfinite(contrib):
        return "".join(parts)
    way = "raises" if contrib > 0 else "lowers" if contrib < 0 else "does not move"
    parts.append(f"; {way} risk ({contrib:+.2f} log-odds)")
    return "".join(parts)
