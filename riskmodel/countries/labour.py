"""The real child-labour and forced-labour outcomes, read from the shipped extracts.

**Child labour (cl)**: share of children aged 5-17 in child labour, both sexes, percent
(ILO statistical definition, SDG 8.7.1). Rows come from ILOSTAT `CLD_XCHL_SEX_AGE_RT`
(age band 5-17, sex total) and, for (country, year) pairs ILOSTAT lacks, from the SDG
database's `SL_TLF_CHLDEA` (5-17, total). Where both exist ILOSTAT wins: it is the
custodian's harmonised series, kept current, while the SDG snapshot is from 2020 and keeps
only each country's latest survey; on the pairs both hold the two agree closely (`overlap`
reports by how much). `SL_TLF_CHLDEC` also counts household chores, a different measure,
and is not used; other ILOSTAT age bands (mostly 15-17 from labour-force surveys) are not
the headline and are not outcome rows.

**Forced labour (fl)**: detected victims of trafficking for forced labour, servitude and
slavery (SDG 16.2.2, `VC_HTF_DETVFL`, all ages) per 100,000 population: female plus male
victims of a (country, year), divided by the WDI population of that year. A reported zero
is an outcome (the country reported and detected nobody); a (country, year) with no row is
missing, never zero; a year with only one sex reported is an incomplete total and is left
out (counted in `dropped`); a country that never reports has no outcome rows at all and is
predicted like any unsurveyed country.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from riskmodel.countries.outcome import Outcome, load_outcome
from riskmodel.countries.population import Population, load_population
from riskmodel.countries.tables import country, integer, number, read_rows
from riskmodel.datasets import dataset_path
from riskmodel.errors import InputError

ILOSTAT_CL = dataset_path("ilostat_child_labour/ilostat_child_labour_rate.csv")
SDG_CL = dataset_path("sdg_child_labour/sdg_871_child_labour.csv")
SDG_TRAFFICKING = dataset_path("sdg_trafficking_victims/sdg_1622_trafficking_victims.csv")
WDI_CE = dataset_path("wdi_child_employment/child_employment_7_14.csv")
ILOSTAT_SERIES = "CLD_XCHL_SEX_AGE_RT"
SDG_SERIES = "SL_TLF_CHLDEA"
PER = 100_000.0


@dataclass(frozen=True)
class LabourOutcome:
    """An outcome with what its reading decided: rows dropped (reason: count) and, for
    child labour, the agreement of the two sources where both have a row."""

    outcome: Outcome
    dropped: dict[str, int] = field(default_factory=dict)
    overlap: dict[str, float] = field(default_factory=dict)


def _headline(path: Path, series: str | None) -> dict[tuple[str, int], tuple[float, int]]:
    """{(iso3, year): (percent, line)} of the 5-17 both-sexes rows of one CL table."""
    need = ("iso3", "year", "sex", "age_band", "value_pct") + (("series",) if series else ())
    out: dict[tuple[str, int], tuple[float, int]] = {}
    for line, row in read_rows(path, need):
        code = country(path, line, row)
        year = integer(path, line, row, "year")
        value = number(path, line, row, "value_pct", low=0.0, high=100.0, unit="percent")
        if row["age_band"] != "5-17" or row["sex"] != "total":
            continue
        if series is not None and row["series"] != series:
            continue
        if (code, year) in out:
            raise InputError(f"{path}: line {line}: duplicate 5-17 total row for {code} "
                             f"{year} (first on line {out[(code, year)][1]})")
        out[(code, year)] = (value, line)
    return out


def load_child_labour(ilostat: Path | str | None = None,
                      sdg: Path | str | None = None) -> LabourOutcome:
    """The cl outcome (percent of children 5-17), ILOSTAT first, SDG 8.7.1 filling gaps."""
    ilostat = Path(ilostat) if ilostat is not None else ILOSTAT_CL
    sdg = Path(sdg) if sdg is not None else SDG_CL
    ilo = _headline(ilostat, ILOSTAT_SERIES)
    other = _headline(sdg, SDG_SERIES)
    shared = sorted(set(ilo) & set(other))
    diff = np.array([other[k][0] - ilo[k][0] for k in shared])
    rows = {k: (v, "sdg_871") for k, (v, _) in other.items()}
    rows.update({k: (v, "ilostat") for k, (v, _) in ilo.items()})  # ILOSTAT wins
    if not rows:
        raise InputError(f"{ilostat}, {sdg}: no 5-17 both-sexes child-labour rows")
    keys = sorted(rows)
    outcome = Outcome(np.array([k[0] for k in keys]), np.array([k[1] for k in keys], np.int64),
                      np.array([rows[k][0] for k in keys]), f"{ilostat} + {sdg}",
                      np.array([rows[k][1] for k in keys]))
    overlap = {"pairs": len(shared)}
    if len(shared):
        overlap.update(median_abs_difference_pp=float(np.median(np.abs(diff))),
                       max_abs_difference_pp=float(np.max(np.abs(diff))))
    return LabourOutcome(outcome, {}, overlap)


def load_forced_labour(path: Path | str | None = None,
                       population: Population | None = None) -> LabourOutcome:
    """The fl outcome: detected forced-labour victims per 100,000 population."""
    path = Path(path) if path is not None else SDG_TRAFFICKING
    population = population if population is not None else load_population()
    need = ("iso3", "year", "form", "sex", "age_group", "victims")
    by_sex: dict[tuple[str, int], dict[str, tuple[int, int]]] = {}
    for line, row in read_rows(path, need):
        code = country(path, line, row)
        year = integer(path, line, row, "year")
        if row["form"] != "forced_labour" or row["age_group"] != "all":
            continue
        victims = number(path, line, row, "victims", low=0.0, unit="persons")
        if victims != int(victims):
            raise InputError(f"{path}: line {line}: column victims: {victims} is not a "
                             f"whole number of persons")
        sexes = by_sex.setdefault((code, year), {})
        if row["sex"] in sexes:
            raise InputError(f"{path}: line {line}: duplicate forced_labour {row['sex']} row "
                             f"for {code} {year} (first on line {sexes[row['sex']][1]})")
        sexes[row["sex"]] = (int(victims), line)
    dropped = {"one sex only (incomplete total)": 0, "no WDI population that year": 0}
    iso3, year, value = [], [], []
    for (code, y), sexes in sorted(by_sex.items()):
        if not {"female", "male"} <= set(sexes):
            dropped["one sex only (incomplete total)"] += 1
            continue
        persons = population.persons(code, y)
        if not persons > 0:
            dropped["no WDI population that year"] += 1
            continue
        iso3.append(code)
        year.append(y)
        value.append((sexes["female"][0] + sexes["male"][0]) / persons * PER)
    if not iso3:
        raise InputError(f"{path}: no complete forced_labour rows (female and male, all ages)")
    outcome = Outcome(np.array(iso3), np.array(year, np.int64), np.array(value), str(path))
    return LabourOutcome(outcome, {k: v for k, v in dropped.items() if v})


def load_wdi_employment(path: Path | str | None = None) -> Outcome:
    """WDI children 7-14 in employment (percent), used as extra information for cl."""
    return load_outcome(path if path is not None else WDI_CE)
