"""The prediction table people read: names, order, survey status, counts, top-10 odds.

`ranking_rows` turns a prediction document (`riskmodel.countries.predict.predict_target`)
into rows sorted by value (highest first) with:

- `name`: the country's Natural Earth name (the region's name at region level);
- `status`: "surveyed" (cl) or "reported" (fl) when the country has an outcome row before
  the year (its latest value and year in `last_survey_value`, `last_survey_year`; at
  region level these are the national figure), else "extrapolated";
- `count`, `count_lo`, `count_hi`: children aged 5-17 in child labour (cl: share x
  estimated children 5-17, `riskmodel.countries.population`) or detected forced-labour
  victims (fl: rate x population / 100,000), with the 80% interval; empty where no
  population is known. A region's population comes from the cube's `population` when it
  has one, and its children 5-17 from the country's WDI child fraction;
- `p_top10`: the probability of being among the 10 highest values, from 4,000 joint draws
  in which each unit's model-scale value is normal around its prediction with the spread
  that makes its 80% interval the central 80% (half-width / 1.2816), independently across
  units. Real errors are correlated between similar countries, which this ignores: read
  it as rank uncertainty from the interval widths alone.
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.countries.labour import LabourOutcome
from riskmodel.countries.population import Population
from riskmodel.countries.regions import BOUNDARIES
from riskmodel.countries.tables import read_rows
from riskmodel.countries.targets import target
from riskmodel.datasets import dataset_path

TIP_NAMES = dataset_path("usdos_tip_tiers/tip_tiers_2001_2015.csv")
TOP = 10
DRAWS = 4000
SEEN = {"cl": "surveyed", "fl": "reported"}
Z80 = 1.2815515655446004  # standard normal 90th percentile: the 80% interval's edge


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """{iso3: English name} from the shipped Natural Earth countries, and for the small
    countries its 1:110m map leaves out, from the shipped TIP tier table."""
    out = {}
    for _line, row in read_rows(TIP_NAMES, ("iso3", "country")):
        if row["country"].strip():
            out[row["iso3"].strip()] = row["country"].strip()
    doc = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    for f in doc["features"]:
        p = f["properties"]
        if p.get("ISO_A3_EH") and p["ISO_A3_EH"] != "-99":
            out[p["ISO_A3_EH"]] = str(p.get("NAME_EN") or p.get("NAME"))
    return out


def top_probability(z: np.ndarray, halfwidth: float, *, top: int = TOP, draws: int = DRAWS,
                    seed: int = 0) -> np.ndarray:
    """P(unit among the `top` highest) for model-scale predictions `z` (module docstring)."""
    n = len(z)
    if n <= top:
        return np.ones(n)
    rng = np.random.default_rng(seed)
    sigma = halfwidth / Z80
    hits = np.zeros(n)
    for start in range(0, draws, 500):  # blocks keep memory at 500 x n
        k = min(500, draws - start)
        sample = z[None, :] + rng.normal(0.0, sigma, size=(k, n))
        threshold = np.partition(sample, n - top, axis=1)[:, n - top][:, None]
        hits += (sample >= threshold).sum(axis=0)
    return hits / draws


def ranking_rows(doc: dict[str, Any], read: LabourOutcome, population: Population,
                 halfwidth: float, at: xr.Dataset | None = None) -> list[dict[str, Any]]:
    """The rows of the CSV and the printed table, sorted by value (module docstring)."""
    t = target(doc["target"])
    year = int(doc["year"])
    preds = doc["predictions"]
    region = doc["level"] == "region"
    region_name, region_pop = {}, {}
    if region and at is not None:
        codes = [str(c) for c in at["region"].values]
        if "region_name" in at.coords or "region_name" in at:
            region_name = dict(zip(codes, (str(v) for v in at["region_name"].values)))
        if "population" in at and year in at["year"].values:
            region_pop = dict(zip(codes, at["population"].sel(year=year).values.tolist()))
    last: dict[str, tuple[int, float]] = {}
    for c, y, v in zip(read.outcome.iso3, read.outcome.year, read.outcome.value):
        if y < year and (c not in last or y > last[c][0]):
            last[str(c)] = (int(y), float(v))
    z = t.scale.forward(np.array([p["value"] for p in preds]))
    p_top = top_probability(z, halfwidth)
    names = country_names()
    rows = []
    for p, pt in zip(preds, p_top):
        c = p["iso3"]
        if region:
            persons = region_pop.get(p["gdlcode"], np.nan)
            base = persons * (population.child_fraction_5_17(c, year) if t.name == "cl"
                              else 1.0)
        elif t.name == "cl":
            base = population.children_5_17(c, year)
        else:
            base = population.persons(c, year)
        scale = base / 100.0 if t.name == "cl" else base / 100_000.0
        row = {"iso3": c}
        if region:
            row.update(gdlcode=p["gdlcode"], name=region_name.get(p["gdlcode"], p["gdlcode"]),
                       country=names.get(c, c))
        else:
            row["name"] = names.get(c, c)
        row.update(value=p["value"], lo=p["lo"], hi=p["hi"])
        if "value_standard_detection" in p:
            row["value_standard_detection"] = p["value_standard_detection"]
        surveyed = last.get(c)
        row.update(status=(SEEN[t.name] if surveyed else "extrapolated"),
                   last_survey_value=surveyed[1] if surveyed else None,
                   last_survey_year=surveyed[0] if surveyed else None)
        for key, v in (("count", p["value"]), ("count_lo", p["lo"]), ("count_hi", p["hi"])):
            row[key] = None if not np.isfinite(scale) else int(round(v * scale))
        row["p_top10"] = round(float(pt), 3)
        rows.append(row)
    rows.sort(key=lambda r: (-r["value"], r.get("gdlcode", r["iso3"])))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return [{"rank": r.pop("rank"), **r} for r in rows]


def _cell(v: Any) -> Any:
    """A CSV cell: empty for None; text a spreadsheet would run as a formula (a name from
    an input file starting with = + - @) is quoted with a leading apostrophe."""
    if v is None:
        return ""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def csv_text(rows: list[dict[str, Any]]) -> str:
    """`rows` as CSV text (header from the first row)."""
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
    return out.getvalue()
