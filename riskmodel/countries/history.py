"""Features from earlier outcome rows: what a country's own past surveys or reports said.

For a row (country, year Y) every history feature uses rows of years strictly before Y, so
training rows and prediction rows see the same kind of past and nothing of year Y or later
leaks in. Child labour: the latest earlier WDI share of children 7-14 in employment and its
age in years, and the latest earlier ILOSTAT 15-17 both-sexes child-labour share (labour
force surveys). Forced labour: whether the country reported any detected forced-labour
victims in an earlier year (1) or not (0, also for countries that never report).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riskmodel.countries.labour import ILOSTAT_CL, load_wdi_employment
from riskmodel.countries.outcome import Outcome
from riskmodel.countries.tables import country, integer, number, read_rows
from riskmodel.countries.targets import CL_EXTRA, FL_REPORTED


def latest_before(src: Outcome, iso3: np.ndarray, year: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(value, age in years) of `src`'s latest row of the same country before each year
    (NaN where there is none)."""
    by_country: dict[str, list[tuple[int, float]]] = {}
    for c, y, v in zip(src.iso3, src.year, src.value):
        by_country.setdefault(str(c), []).append((int(y), float(v)))
    value = np.full(len(iso3), np.nan)
    age = np.full(len(iso3), np.nan)
    for i, (c, y) in enumerate(zip(iso3, year)):
        earlier = [r for r in by_country.get(str(c), ()) if r[0] < int(y)]
        if earlier:
            last = max(earlier)
            value[i], age[i] = last[1], int(y) - last[0]
    return value, age


def ilostat_15_17(path: Path | None = None) -> Outcome:
    """ILOSTAT child-labour share of children 15-17, both sexes (percent)."""
    path = path or ILOSTAT_CL
    iso3, year, value = [], [], []
    for line, row in read_rows(path, ("iso3", "year", "sex", "age_band", "value_pct")):
        if row["age_band"] == "15-17" and row["sex"] == "total":
            iso3.append(country(path, line, row))
            year.append(integer(path, line, row, "year"))
            value.append(number(path, line, row, "value_pct", low=0.0, high=100.0))
    return Outcome(np.array(iso3), np.array(year, np.int64), np.array(value), str(path))


class History:
    """The history features of one target, computed for any (iso3, year) rows."""

    def __init__(self, target: str, outcome: Outcome) -> None:
        self.target = target
        if target == "cl":
            self.sources = (load_wdi_employment(), ilostat_15_17())
        self.outcome = outcome

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the history features, in column order."""
        return CL_EXTRA if self.target == "cl" else (FL_REPORTED,)

    def features(self, iso3: np.ndarray, year: np.ndarray) -> np.ndarray:
        """(n, len(names)) float32 history features of rows (iso3, year)."""
        if self.target == "cl":
            wdi, wdi_age = latest_before(self.sources[0], iso3, year)
            young, _ = latest_before(self.sources[1], iso3, year)
            cols = [wdi, wdi_age, young]
        else:
            reported = Outcome(self.outcome.iso3[self.outcome.value > 0],
                               self.outcome.year[self.outcome.value > 0],
                               np.ones(int((self.outcome.value > 0).sum())), "")
            seen, _ = latest_before(reported, iso3, year)
            cols = [np.where(np.isnan(seen), 0.0, 1.0)]
        return np.stack(cols, axis=1).astype(np.float32)
