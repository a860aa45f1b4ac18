"""Real child-labour and forced-labour models: outcome readers, nested choice, intervals,
standard detection, the prediction contract at country and region level, the table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from riskmodel.countries.fit import TargetModel
from riskmodel.countries.history import History, latest_before
from riskmodel.countries.labour import (LabourOutcome, load_child_labour,
                                        load_forced_labour)
from riskmodel.countries.outcome import Outcome
from riskmodel.countries.population import Population, load_population
from riskmodel.countries.predict import predict_target, rollup
from riskmodel.countries.ranking import csv_text, ranking_rows, top_probability
from riskmodel.countries.store import load_target_model, save_target_model
from riskmodel.countries.targets import CL, FL
from riskmodel.errors import InputError, ModelError

IL_HEAD = "iso3,year,sex,age_band,value_pct,series\n"
SDG_HEAD = "iso3,year,series,age_band,sex,value_pct\n"
FL_HEAD = "iso3,year,form,sex,age_group,victims,series\n"


def test_shipped_child_labour_prefers_ilostat() -> None:
    read = load_child_labour()
    o = read.outcome
    assert len(o.value) == 99 and len(set(o.iso3)) == 73
    assert (o.origin == "ilostat").sum() == 62 and (o.origin == "sdg_871").sum() == 37
    # Bangladesh 2013: ILOSTAT 15.0%, SDG CHLDEA 5.9%; ILOSTAT wins.
    k = np.flatnonzero((o.iso3 == "BGD") & (o.year == 2013))[0]
    assert o.value[k] == pytest.approx(14.992) and o.origin[k] == "ilostat"
    assert read.overlap["pairs"] == 18 and read.overlap["median_abs_difference_pp"] < 1


def test_shipped_forced_labour_keeps_zeros_and_drops_incomplete_years() -> None:
    read = load_forced_labour()
    o = read.outcome
    assert len(o.value) == 407 and (o.value == 0).sum() > 30
    assert read.dropped == {"one sex only (incomplete total)": 20,
                            "no WDI population that year": 7}
    pop = load_population()
    k = np.flatnonzero((o.iso3 == "MDA") & (o.year == 2016))[0]
    assert o.value[k] * pop.persons("MDA", 2016) / 1e5 == pytest.approx(
        round(o.value[k] * pop.persons("MDA", 2016) / 1e5))  # whole victims


@pytest.mark.parametrize("rows, message", [
    ("KEN,2000,total,5-17,120,CLD_XCHL_SEX_AGE_RT\n", "line 2: column value_pct: 120.0 is "
                                                      "outside \\[0, 100\\]"),
    ("KE,2000,total,5-17,12,CLD_XCHL_SEX_AGE_RT\n", "line 2: column iso3: 'KE'"),
    ("KEN,2000,total,5-17,12,CLD_XCHL_SEX_AGE_RT\nKEN,2000,total,5-17,13,"
     "CLD_XCHL_SEX_AGE_RT\n", "line 3: duplicate 5-17 total row for KEN 2000"),
    ("KEN,two,total,5-17,12,CLD_XCHL_SEX_AGE_RT\n", "line 2: column year: 'two'"),
    ("KEN,2000,total,5-17\n", "line 2: 4 fields, header has 6"),
])
def test_bad_child_labour_rows_name_file_line_column(tmp_path: Path, rows: str,
                                                     message: str) -> None:
    il, sdg = tmp_path / "il.csv", tmp_path / "sdg.csv"
    il.write_text(IL_HEAD + rows)
    sdg.write_text(SDG_HEAD)
    with pytest.raises(InputError, match=f"il.csv: {message}"):
        load_child_labour(il, sdg)


def test_sdg_fills_only_pairs_ilostat_lacks(tmp_path: Path) -> None:
    il, sdg = tmp_path / "il.csv", tmp_path / "sdg.csv"
    il.write_text(IL_HEAD + "KEN,2000,total,5-17,12,CLD_XCHL_SEX_AGE_RT\n"
                  "KEN,2000,total,15-17,30,CLD_XCHL_SEX_AGE_RT\n")
    sdg.write_text(SDG_HEAD + "KEN,2000,SL_TLF_CHLDEA,5-17,total,14\n"
                   "KEN,2004,SL_TLF_CHLDEA,5-17,total,9\n"
                   "KEN,2004,SL_TLF_CHLDEC,5-17,total,19\n"
                   "UGA,2004,SL_TLF_CHLDEA,5-17,male,9\n")
    o = load_child_labour(il, sdg).outcome
    assert list(zip(o.iso3, o.year, o.value, o.origin)) == [
        ("KEN", 2000, 12.0, "ilostat"), ("KEN", 2004, 9.0, "sdg_871")]


def _pop(codes: list[str], years: range, persons: float = 1e6) -> Population:
    return Population({(c, y): persons for c in codes for y in years},
                      {(c, y): 0.3 for c in codes for y in years}, "test")


def test_forced_labour_rate_zero_missing_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(FL_HEAD + "KEN,2010,forced_labour,female,all,3,X\n"
                    "KEN,2010,forced_labour,male,all,7,X\n"
                    "KEN,2010,forced_labour,male,under_18,5,X\n"
                    "KEN,2011,forced_labour,female,all,0,X\n"
                    "KEN,2011,forced_labour,male,all,0,X\n"
                    "UGA,2011,forced_labour,female,all,4,X\n")
    read = load_forced_labour(path, _pop(["KEN", "UGA"], range(2009, 2013)))
    o = read.outcome
    assert list(zip(o.iso3, o.year)) == [("KEN", 2010), ("KEN", 2011)]
    assert o.value.tolist() == [pytest.approx(1.0), 0.0]  # 10 per million; a reported zero
    assert read.dropped == {"one sex only (incomplete total)": 1}
    path.write_text(FL_HEAD + "KEN,2010,forced_labour,female,all,2.5,X\n")
    with pytest.raises(InputError, match="t.csv: line 2: column victims: 2.5 is not a whole"):
        load_forced_labour(path, _pop(["KEN"], range(2010, 2011)))
    path.write_text(FL_HEAD + "KEN,2010,forced_labour,female,all,-1,X\n")
    with pytest.raises(InputError, match="line 2: column victims: -1.0 is outside"):
        load_forced_labour(path, _pop(["KEN"], range(2010, 2011)))


def test_population_children_estimate(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("iso3,year,population,pop_age_0_14_pct\nKEN,2010,1500,30\nKEN,2011,,\n"
                    "CHI,2010,5,5\n")
    pop = load_population(path)
    assert pop.children_5_17("KEN", 2010) == pytest.approx(1500 * 0.3 * 13 / 15)
    assert np.isnan(pop.persons("KEN", 2011)) and np.isnan(pop.children_5_17("KEN", 2011))
    path.write_text("iso3,year,population,pop_age_0_14_pct\nKEN,2010,1500,130\n")
    with pytest.raises(InputError, match="line 2: column pop_age_0_14_pct: 130.0 is outside"):
        load_population(path)


def test_history_uses_strictly_earlier_rows() -> None:
    src = Outcome(np.array(["A", "A", "B"]), np.array([2000, 2005, 2001]),
                  np.array([1.0, 2.0, 3.0]), "s")
    v, age = latest_before(src, np.array(["A", "A", "A", "B", "C"]),
                           np.array([2000, 2005, 2009, 2001, 2009]))
    assert np.isnan(v[0]) and v[1] == 1.0 and (v[2], age[2]) == (2.0, 4.0)
    assert np.isnan(v[3]) and np.isnan(v[4])
    reported = History("fl", Outcome(np.array(["A", "B"]), np.array([2010, 2010]),
                                     np.array([0.5, 0.0]), "s"))
    f = reported.features(np.array(["A", "A", "B", "C"]), np.array([2010, 2011, 2011, 2011]))
    assert f[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0]  # B reported only a zero


def _rows(n_countries: int = 24, seed: int = 0, signal: str = "base"):
    """Rows where the share follows column 0 (base) or the extra column (extra)."""
    rng = np.random.default_rng(seed)
    iso3 = np.repeat([f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n_countries)], 3)
    X = rng.normal(size=(len(iso3), 4)).astype(np.float32)
    driver = X[:, 0] if signal == "base" else X[:, 3]
    value = 100 / (1 + np.exp(-(driver * 1.2 - 1.5 + rng.normal(0, 0.2, len(iso3)))))
    features = ("a", "b", "c", CL.extra[0])
    return X, value, iso3, features


def test_nested_choice_takes_extra_information_where_it_helps() -> None:
    X, value, iso3, features = _rows(signal="extra")
    m = TargetModel(CL, "model", features).fit(X[:48], value[:48], iso3[:48])
    assert m.chosen_["extra"] is True and 3 in m.columns_
    # Baselines read the base features only, whatever the extra column holds.
    assert 3 not in TargetModel(CL, "linear", features).fit(
        X[:48], value[:48], iso3[:48]).columns_
    v, lo, hi = m.predict(X[48:])
    assert (lo <= v).all() and (v <= hi).all() and (hi <= 100).all()
    assert np.corrcoef(v, value[48:])[0, 1] > 0.7
    assert np.mean((value[48:] >= lo) & (value[48:] <= hi)) >= 0.6


def test_standard_detection_removes_the_proxy_effect() -> None:
    rng = np.random.default_rng(3)
    iso3 = np.repeat([f"Y{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(40)], 3)
    tier = rng.integers(1, 5, len(iso3)).astype(np.float32)
    need = rng.normal(size=len(iso3)).astype(np.float32)
    # Detected victims rise with need and fall with the tier (weaker detection).
    rate = np.expm1(np.clip(0.6 + 0.3 * need - 0.15 * tier, 0, None))
    X = np.stack([need, tier], axis=1)
    m = TargetModel(FL, "model", ("need", "tip_tier")).fit(X, rate, iso3)
    same_need = np.array([[0.5, 1.0], [0.5, 4.0]], np.float32)
    as_reported = m.predict(same_need)[0]
    standard = m.predict(m.standard_detection(same_need))[0]
    assert as_reported[0] > as_reported[1] * 1.2
    assert standard[0] == standard[1]
    assert m.standard_detection(same_need)[:, 1].tolist() == [2.0, 2.0]


def _fixture(codes: list[str], years: range, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    shape = (len(years), len(codes))
    a = rng.normal(size=shape).cumsum(0).astype(np.float32) * 0.3
    tier = rng.integers(1, 5, size=shape).astype(np.float32)
    a[:, -1] = np.nan
    tier[:, -1] = np.nan  # the last country has no inputs
    return xr.Dataset({"a": (("year", "country"), a), "tip_tier": (("year", "country"), tier),
                       "population": (("year", "country"),
                                      np.full(shape, 1e6, np.float32))},
                      coords={"year": np.array(years), "country": codes})


def _outcome(cube: xr.Dataset, name: str, seed: int = 1) -> LabourOutcome:
    rng = np.random.default_rng(seed)
    codes = [str(c) for c in cube["country"].values[:-1]]
    iso3, year, value = [], [], []
    for j, c in enumerate(codes):
        for y in rng.choice(np.arange(2004, 2012), size=2, replace=False):
            a = float(cube["a"].sel(year=y, country=c))
            iso3.append(c)
            year.append(int(y))
            value.append(100 / (1 + np.exp(-(a - 1))) if name == "cl" else np.exp(0.5 * a))
    return LabourOutcome(Outcome(np.array(iso3), np.array(year), np.array(value), "t.csv"))


CODES = ["KEN", "UGA", "TZA", "RWA", "ETH", "MWI", "ZMB", "MOZ", "GHA", "NGA", "SEN", "MLI",
         "NER", "BFA", "CIV", "CMR", "TCD", "SDN", "EGY", "MAR", "IND", "PAK", "BGD", "NPL",
         "FRA"]


@pytest.fixture(scope="module")
def world() -> tuple[xr.Dataset, dict[str, LabourOutcome]]:
    cube = _fixture(CODES, range(2002, 2015))
    return cube, {n: _outcome(cube, n) for n in ("cl", "fl")}


@pytest.mark.parametrize("name", ["cl", "fl"])
def test_predict_contract_uses_only_earlier_rows(world, name: str) -> None:
    cube, reads = world
    read = reads[name]
    doc, _ = predict_target(cube, read, name, 2009)
    later = read.outcome.year >= 2009
    wild = LabourOutcome(Outcome(read.outcome.iso3, read.outcome.year,
                                 np.where(later, 55.0, read.outcome.value), "t.csv"))
    assert predict_target(cube, wild, name, 2009)[0] == doc
    assert doc["training_years"][1] <= 2008 and doc["level"] == "country"
    assert len(doc["predictions"]) == len(CODES) - 1   # every country with inputs
    keys = {"iso3", "value", "lo", "hi"} | ({"value_standard_detection"} if name == "fl"
                                            else set())
    for p in doc["predictions"]:
        assert set(p) == keys and p["lo"] <= p["value"] <= p["hi"]
    with pytest.raises(InputError, match="year 2003: only 0"):
        predict_target(cube, read, name, 2003)


def test_region_predictions_roll_up_to_the_country(world) -> None:
    cube, reads = world
    codes = CODES[:-1]
    # Two regions per country with their country's features: the population-weighted
    # roll-up must equal the country prediction. (With regions unlike each other a
    # non-linear model's roll-up differs from the country value; that gap is measured on
    # the real region cube, not asserted here.)
    def regions(shift: float) -> xr.Dataset:
        a = cube["a"].sel(country=codes).values
        ra = np.concatenate([a + shift, a - shift], axis=1)
        tier = cube["tip_tier"].sel(country=codes).values
        gdl = [f"{c}r{k}" for k in (1, 2) for c in codes]
        return xr.Dataset(
            {"a": (("year", "region"), ra), "tip_tier": (("year", "region"),
                                                         np.concatenate([tier, tier], 1)),
             "population": (("year", "region"), np.full(ra.shape, 5e5, np.float32))},
            coords={"year": cube["year"].values, "region": gdl,
                    "iso3": ("region", codes + codes),
                    "region_name": ("region", [f"=Region {g}" for g in gdl])})
    country, _ = predict_target(cube, reads["cl"], "cl", 2012)
    by_country = {p["iso3"]: p["value"] for p in country["predictions"]}
    for shift, tolerance in ((0.0, 1e-3),):
        at = regions(shift)
        doc, model = predict_target(cube, reads["cl"], "cl", 2012, at=at)
        assert doc["level"] == "region" and len(doc["predictions"]) == 2 * len(codes)
        assert set(doc["predictions"][0]) == {"iso3", "gdlcode", "value", "lo", "hi"}
        pop = dict(zip(at["region"].values.tolist(),
                       at["population"].sel(year=2012).values.tolist()))
        up = rollup(doc, pop)
        gap = max(abs(up[c] - by_country[c]) for c in codes)
        assert gap <= tolerance, (shift, gap)
    weighted = {"predictions": [{"iso3": "KEN", "gdlcode": "k1", "value": 10.0},
                                {"iso3": "KEN", "gdlcode": "k2", "value": 40.0},
                                {"iso3": "KEN", "gdlcode": "k3", "value": 99.0}]}
    assert rollup(weighted, {"k1": 3e6, "k2": 1e6}) == {"KEN": pytest.approx(17.5)}
    rows = ranking_rows(doc, reads["cl"], load_population(), model.halfwidth_, at=at)
    assert rows[0]["name"].startswith("=Region") and rows[0]["country"]
    assert ",'=Region" in csv_text(rows)            # no formula reaches a spreadsheet


def test_table_sorted_with_counts_status_and_top10(world) -> None:
    cube, reads = world
    doc, model = predict_target(cube, reads["cl"], "cl", 2012)
    pop = load_population()
    rows = ranking_rows(doc, reads["cl"], pop, model.halfwidth_)
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True) and [r["rank"] for r in rows][:2] == [1, 2]
    ken = next(r for r in rows if r["iso3"] == "KEN")
    assert ken["name"] == "Kenya" and ken["status"] == "surveyed"
    assert ken["last_survey_year"] < 2012
    assert ken["count"] == round(ken["value"] / 100 * pop.children_5_17("KEN", 2012))
    assert ken["count_lo"] <= ken["count"] <= ken["count_hi"]
    assert sum(r["p_top10"] for r in rows) == pytest.approx(10, abs=0.02)
    text = csv_text(rows).splitlines()
    assert text[0].startswith("rank,iso3,name,value,lo,hi,status,last_survey_value")


def test_top_probability_follows_the_gap() -> None:
    z = np.array([5.0] + [0.0] * 30)
    p = top_probability(z, halfwidth=0.5)
    assert p[0] == 1.0 and p.sum() == pytest.approx(10)
    assert top_probability(np.zeros(5), 1.0).tolist() == [1.0] * 5


def test_model_store_round_trip_and_tamper(world, tmp_path: Path) -> None:
    cube, reads = world
    doc, model = predict_target(cube, reads["fl"], "fl", 2012)
    folder = save_target_model(model, tmp_path / "fl", {"year": 2012})
    booster, meta = load_target_model(folder)
    X = np.random.default_rng(0).normal(size=(3, len(model.features))).astype(np.float32)
    raw = booster.predict(X[:, meta["columns"]])
    assert np.allclose(raw, model.point_.booster_.predict(X[:, model.columns_]))
    assert meta["features"][-1] == "hist_fl_reported_before" and meta["year"] == 2012
    (folder / "model.txt").write_text((folder / "model.txt").read_text() + "\n")
    with pytest.raises(ModelError, match="sha256 .* does not match"):
        load_target_model(folder)


def test_size_dependent_features_are_not_model_features():
    # A country-fitted model must not read a region's own (smaller) population as a
    # smaller country: the cube names such features and rows leave them out.
    import json

    import xarray as xr

    from riskmodel.countries.rows import cube_features
    cube = xr.Dataset({n: (("year", "country"), np.zeros((2, 3), np.float32))
                       for n in ("hdi", "log_unit_population", "population")},
                      coords={"year": [2000, 2001], "country": ["AAA", "BBB", "CCC"]},
                      attrs={"size_dependent_features": json.dumps(["log_unit_population"])})
    assert cube_features(cube) == ("hdi",)
