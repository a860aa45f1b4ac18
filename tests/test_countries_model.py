"""Country model pieces: outcome validation, design rows, intervals, baselines, no future
rows in `predict_year`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from riskmodel.countries.cv import last_observed, score
from riskmodel.countries.design import design_rows, year_rows
from riskmodel.countries.model import IntervalModel, from_logit, to_logit
from riskmodel.countries.outcome import Outcome, load_outcome
from riskmodel.countries.predict import predict_year
from riskmodel.errors import InputError

HEADER = "iso3,country,year,child_employment_7_14_total_pct\n"


def test_shipped_outcome_loads() -> None:
    out = load_outcome()
    assert len(out.value) == 269 and len(set(out.iso3)) == 100
    assert out.year.min() == 1994 and out.year.max() == 2014
    assert ((out.value >= 0) & (out.value <= 100)).all()


@pytest.mark.parametrize("rows, message", [
    ("KEN,Kenya,2000,120\n", "line 2: .* outside \\[0, 100\\]"),
    ("KE,Kenya,2000,12\n", "line 2: iso3 'KE'"),
    ("KEN,Kenya,2000,12\nKEN,Kenya,2000,13\n", "line 3: duplicate row for KEN 2000"),
    ("KEN,Kenya,two,12\n", "line 2: year 'two'"),
])
def test_bad_outcome_rows_name_the_line(tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "o.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(InputError, match=f"o.csv: {message}"):
        load_outcome(path)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("iso3,year\nKEN,2000\n")
    with pytest.raises(InputError, match="line 1: header must have"):
        load_outcome(path)


def _cube(seed: int = 0, n_countries: int = 40) -> tuple[xr.Dataset, Outcome]:
    """A small cube where the share follows feature `a`, with surveys 2000-2010."""
    rng = np.random.default_rng(seed)
    codes = [f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n_countries)]
    years = np.arange(1998, 2013)
    a = rng.normal(size=(len(years), n_countries)).cumsum(0) * 0.3
    b = rng.normal(size=(len(years), n_countries))
    a[:, -1] = np.nan
    b[:, -1] = np.nan  # the last country has no inputs at all
    cube = xr.Dataset({"a": (("year", "country"), a.astype(np.float32)),
                       "b": (("year", "country"), b.astype(np.float32))},
                      coords={"year": years, "country": codes})
    iso3, year, value = [], [], []
    for j, c in enumerate(codes[:-1]):
        for y in rng.choice(np.arange(2000, 2011), size=2, replace=False):
            iso3.append(c)
            year.append(int(y))
            share = from_logit(a[y - 1998, j] * 1.5 - 1.0 + rng.normal(0, 0.2))
            value.append(float(share))
    iso3 += ["XZZ", codes[0]]
    year += [2005, 1990]
    value += [10.0, 10.0]
    return cube, Outcome(np.array(iso3), np.array(year), np.array(value), "test.csv")


def test_design_rows_join_and_count_drops() -> None:
    cube, outcome = _cube()
    d = design_rows(cube, outcome)
    assert len(d.value) == len(outcome.value) - 2
    assert d.dropped == {"country not in cube": 1, "year not in cube": 1}
    i = 0
    assert d.X[i, 0] == cube["a"].sel(year=d.year[i], country=d.iso3[i]).item()
    codes, _ = year_rows(cube, 2012)
    assert len(codes) == 39 and codes[-1] != cube["country"].values[-1]
    with pytest.raises(InputError, match="year 2030: the country cube covers 1998 to 2012"):
        year_rows(cube, 2030)


def test_interval_model_learns_and_covers() -> None:
    cube, outcome = _cube()
    d = design_rows(cube, outcome)
    half = np.isin(d.iso3, np.unique(d.iso3)[:25])
    for method in ("model", "linear", "composite", "global_mean"):
        m = IntervalModel(method).fit(d.X[half], d.value[half], d.iso3[half])
        v, lo, hi = m.predict(d.X[~half])
        assert (lo <= v).all() and (v <= hi).all() and ((lo >= 0) & (hi <= 100)).all()
        s = score(d.value[~half], np.stack([v, lo, hi]))
        assert s["coverage"] >= 0.5, method
        if method in ("model", "linear"):
            assert s["spearman"] > 0.7, method
    mean = IntervalModel("global_mean").fit(d.X, d.value, d.iso3).predict(d.X[:1])[0]
    assert mean[0] == pytest.approx(d.value.mean(), rel=1e-9)
    assert to_logit(np.array([0.0]))[0] == pytest.approx(to_logit(np.array([0.5]))[0])


def test_last_observed_uses_the_latest_earlier_survey() -> None:
    iso3 = np.array(["A", "A", "A", "B"])
    year = np.array([2000, 2006, 2003, 2004])
    value = np.array([10.0, 30.0, 20.0, 5.0])
    out = last_observed(iso3, year, value)
    assert np.isnan(out[0]) and out[1] == 20.0 and out[2] == 10.0 and np.isnan(out[3])


def test_predict_year_ignores_rows_from_that_year_on() -> None:
    cube, outcome = _cube()
    doc = predict_year(cube, outcome, 2006)
    later = outcome.year >= 2006
    wild = Outcome(outcome.iso3, outcome.year,
                   np.where(later, 99.0, outcome.value), outcome.source)
    assert predict_year(cube, wild, 2006) == doc
    assert doc["year"] == 2006 and doc["training_years"][1] == 2005
    assert len(doc["predictions"]) == 39          # every country with inputs that year
    for p in doc["predictions"]:
        assert p["lo"] <= p["value"] <= p["hi"]
    with pytest.raises(InputError, match="only 0 outcome rows"):
        predict_year(cube, outcome, 1999)
