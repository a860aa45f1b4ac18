"""CSV tables keyed by ISO 3166-1 alpha-3: long and wide layouts, country- and
admin-year, and one clear error (file, row, column) for each kind of malformed input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskmodel.config import CsvSource
from riskmodel.errors import InputError
from riskmodel.sources.codes import is_admin1_code, is_country_code
from riskmodel.sources.notices import Notices
from riskmodel.sources.tables import read_csv_table

YEARS = (2000, 2003)


def _source(**kw: object) -> CsvSource:
    spec = {"reader": "csv", "path": "x.csv",
            "variables": {"gdp": {"column": "gdp", "units": "USD"},
                          "poor": {"column": "poor_pct", "units": "1", "scale": 0.01}}}
    spec.update(kw)
    return CsvSource.model_validate(spec)


def _read(tmp_path: Path, text: str, **kw: object):
    path = tmp_path / "table.csv"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    notices = Notices()
    return read_csv_table(path, _source(**kw), YEARS, notices), notices


LONG = ("iso3,year,gdp,poor_pct\n"
        "KEN,2000,400,40\n"
        "KEN,2001,420,\n"
        "BRA,2001,3000,10.5\n"
        "BRA,1990,2000,20\n")


def test_long_table(tmp_path: Path) -> None:
    ds, notices = _read(tmp_path, LONG)
    assert list(ds["country"].values) == ["BRA", "KEN"]
    assert list(ds["year"].values) == [2000, 2001, 2002, 2003]
    assert ds["gdp"].dims == ("year", "country")
    assert ds["gdp"].sel(country="KEN", year=2001) == 420
    assert ds["poor"].sel(country="BRA", year=2001) == pytest.approx(0.105)
    assert ds["poor"].attrs["units"] == "1"
    # Gaps (an empty cell, missing years) stay NaN and are reported, never filled.
    assert np.isnan(ds["poor"].sel(country="KEN", year=2001))
    assert np.isnan(ds["gdp"].sel(country="BRA", year=2000))
    assert any("poor" in n and "gaps" in n and "table.csv" in n for n in notices.lines)


def test_wide_table(tmp_path: Path) -> None:
    text = "Country Name,iso3,2000,2001,2002\nKenya,KEN,1,2,\nBrazil,BRA,3,,5\n"
    ds, notices = _read(tmp_path, text, layout="wide",
                        variables={"pop": {"units": "1", "scale": 1000}})
    assert ds["pop"].sel(country="BRA", year=2002) == 5000
    assert np.isnan(ds["pop"].sel(country="BRA", year=2001))
    assert np.isnan(ds["pop"].sel(country="KEN", year=2003))
    assert notices.lines


def test_admin_year_table(tmp_path: Path) -> None:
    text = "code,year,gdp,poor_pct\nKEN-01,2000,1,2\nKEN-02,2000,3,4\n"
    ds, _ = _read(tmp_path, text, key="admin1", code_column="code")
    assert list(ds["admin1"].values) == ["KEN-01", "KEN-02"]


def test_categories_and_skip_codes(tmp_path: Path) -> None:
    text = ("iso3,year,level\nKEN,2000,Minimal Advancement – Efforts Made but X\n"
            "BRA,2000,No Assessment\nCHI,2000,Moderate Advancement\n")
    cats = {"No Assessment": float("nan"), "Minimal Advancement": 1.0,
            "Moderate Advancement": 2.0}
    ds, notices = _read(tmp_path, text, skip_codes=["CHI"],
                        variables={"adv": {"column": "level", "units": "1",
                                           "categories": cats}})
    assert ds["adv"].sel(country="KEN", year=2000) == 1.0
    assert np.isnan(ds["adv"].sel(country="BRA", year=2000))
    assert "CHI" not in ds["country"].values
    assert any("CHI" in n for n in notices.lines)


@pytest.mark.parametrize("text, kw, expected", [
    ("iso3,year,gdp,poor_pct\nKEN,2000,1,2\nXYZ9,2000,1,2\n", {},
     "row 3, column iso3: unknown ISO 3166-1 alpha-3 code 'XYZ9'"),
    ("iso3,year,gdp,poor_pct\nKEN,2000,1,2\nABC,2000,1,2\n", {},
     "row 3, column iso3: unknown ISO 3166-1 alpha-3 code 'ABC'"),
    ("iso3,year,gdp,poor_pct\nKEN,2000,1,2\nBRA,2001,1,2\nKEN,2000,5,6\n", {},
     "rows 2 and 4 both have key KEN 2000"),
    ("iso3,year,gdp,poor_pct\nKEN,2000,1,2\nKEN,2001,n/a,2\n", {},
     "row 3, column gdp: 'n/a' is not a number"),
    ("iso3,year,gdp,poor_pct\nKEN,2000,inf,2\n", {},
     "row 2, column gdp: 'inf' is not a finite number"),
    ("iso3,year,gdp,poor_pct\nKEN,2000.5,1,2\n", {},
     "row 2, column year: '2000.5' is not a year"),
    ("iso3,year,gdp\nKEN,2000,1\n", {}, "no column(s) ['poor_pct']"),
    ("country,year,gdp,poor_pct\nKEN,2000,1,2\n", {}, "no column 'iso3' (the code column)"),
    ("iso3,year,gdp,poor_pct\nKEN,2000,1\n", {}, "row 2: 3 fields, the header has 4"),
    ("", {}, "empty file (no header row)"),
    (b"iso3,year,gdp,poor_pct\nKEN,2000,\xff,2\n", {}, "not UTF-8 text"),
    ("iso3,year,gdp,poor_pct\nKEN,1990,1,2\n", {}, "no rows for years 2000-2003"),
    ("code,year,gdp,poor_pct\nKEN,2000,1,2\n", {"key": "admin1", "code_column": "code"},
     "row 2, column code: unknown admin-1 code (ISO3-local) 'KEN'"),
    ("iso3,2000,2001\nKEN,1,2\nKEN,3,4\n",
     {"layout": "wide", "variables": {"pop": {"units": "1"}}},
     "rows 2 and 3 both have code KEN"),
    ("iso3,y2000\nKEN,1\n", {"layout": "wide", "variables": {"pop": {"units": "1"}}},
     "a wide table needs year columns"),
    ("iso3,year,level\nKEN,2000,Great\n",
     {"variables": {"adv": {"column": "level", "units": "1", "categories": {"Good": 1}}}},
     "row 2, column level: unknown category 'Great'"),
], ids=["malformed-code", "unassigned-code", "duplicate-key", "non-numeric", "non-finite",
        "bad-year", "missing-column", "missing-code-column", "ragged-row", "empty-file",
        "not-utf8", "no-rows-in-years", "bad-admin1-code", "wide-duplicate",
        "wide-no-years", "unknown-category"])
def test_malformed_tables_fail_with_one_clear_error(tmp_path: Path, text: str | bytes,
                                                     kw: dict, expected: str) -> None:
    with pytest.raises(InputError) as err:
        _read(tmp_path, text, **kw)
    msg = str(err.value)
    assert msg.startswith(str(tmp_path / "table.csv") + ": "), msg
    assert expected in msg, msg
    assert "\n" not in msg


def test_many_problems_are_counted_not_dumped(tmp_path: Path) -> None:
    rows = "".join(f"KEN,{2000 + i % 4},bad{i},1\n" for i in range(4))
    with pytest.raises(InputError, match=r"and 1 more problem\(s\)"):
        _read(tmp_path, "iso3,year,gdp,poor_pct\n" + rows)


def test_config_rejects_inconsistent_layouts() -> None:
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="wide table"):
        _source(layout="wide")
    with pytest.raises(ValidationError, match="needs its `column`"):
        _source(variables={"x": {"units": "1"}})


def test_codes() -> None:
    assert is_country_code("KEN") and is_country_code("XKX") and is_country_code("XAA")
    assert is_country_code("QMZ") and not is_country_code("QAA")
    assert not is_country_code("CHI") and not is_country_code("ken")
    assert not is_country_code("-99") and not is_country_code("KENY")
    assert is_admin1_code("KEN-01") and not is_admin1_code("KEN") and not is_admin1_code("ABC-1")
