"""Country population by year from the shipped World Bank WDI covariates (to 2025).

`Population` holds total population (SP.POP.TOTL, persons) and the share aged 0-14
(SP.POP.0014.TO.ZS) per (iso3, year). Children aged 5-17, which no shipped series gives
directly, are estimated as 13 single-year cohorts of the 0-14 average cohort size:
`population * share_0_14 * 13 / 15`. Where fertility is falling the 15-17 cohorts are
larger than the 0-14 average and the estimate is a little low; where it is rising, a little
high. Only a missing population is a gap; nothing is interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from riskmodel.countries.tables import country, integer, number, read_rows
from riskmodel.datasets import dataset_path
from riskmodel.errors import InputError

DEFAULT_POPULATION = dataset_path("wdi_covariates/covariates.csv")
CHILD_COHORTS_5_17 = 13.0 / 15.0
# World Bank codes that are not ISO 3166-1 (Channel Islands), as the real config skips them.
SKIP_CODES = frozenset({"CHI"})


@dataclass(frozen=True)
class Population:
    """{(iso3, year): persons} and {(iso3, year): share aged 0-14 (0-1)}."""

    total: dict[tuple[str, int], float]
    share_0_14: dict[tuple[str, int], float]
    source: str

    def persons(self, iso3: str, year: int) -> float:
        """Total population of `iso3` in `year` (NaN if not published)."""
        return self.total.get((iso3, int(year)), float("nan"))

    def children_5_17(self, iso3: str, year: int) -> float:
        """Estimated children aged 5-17 (module docstring; NaN if an input is missing)."""
        return (self.persons(iso3, year) * self.share_0_14.get((iso3, int(year)), np.nan)
                * CHILD_COHORTS_5_17)

    def child_fraction_5_17(self, iso3: str, year: int) -> float:
        """Estimated fraction of the population aged 5-17 (NaN if not published)."""
        return self.share_0_14.get((iso3, int(year)), np.nan) * CHILD_COHORTS_5_17


def _read(path: Path) -> Population:
    total: dict[tuple[str, int], float] = {}
    share: dict[tuple[str, int], float] = {}
    for line, row in read_rows(path, ("iso3", "year", "population", "pop_age_0_14_pct")):
        if row["iso3"] in SKIP_CODES:
            continue
        key = (country(path, line, row), integer(path, line, row, "year"))
        if row["population"].strip():
            total[key] = number(path, line, row, "population", low=0.0, unit="persons")
        if row["pop_age_0_14_pct"].strip():
            share[key] = number(path, line, row, "pop_age_0_14_pct", low=0.0, high=100.0,
                                unit="percent") / 100.0
    return Population(total, share, str(path))


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int, size: int) -> Population:
    return _read(Path(path))


def load_population(path: Path | str | None = None) -> Population:
    """Read and validate the WDI covariates' population columns (default: shipped file;
    a file is read again when it changes)."""
    path = Path(path) if path is not None else DEFAULT_POPULATION
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    return _cached(str(path), st.st_mtime_ns, st.st_size)
