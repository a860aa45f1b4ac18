"""`riskmodel predict` on a small fixture cube of real country codes: the JSON contract, the
CSV beside it, the stored model, and refusals that leave nothing behind."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from riskmodel import cli
from riskmodel.commands import predict as predict_command
from riskmodel.countries.labour import load_child_labour

YEARS = range(2000, 2019)


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    """The 30 countries with the most child-labour surveys plus two never surveyed, with
    one driver and a TIP tier; the shipped outcomes are the training rows."""
    o = load_child_labour().outcome
    codes, counts = np.unique(o.iso3, return_counts=True)
    codes = sorted(codes[np.argsort(-counts, kind="stable")][:30].tolist() + ["SAU", "ISL"])
    rng = np.random.default_rng(0)
    shape = (len(YEARS), len(codes))
    return xr.Dataset({"a": (("year", "country"), rng.normal(size=shape).astype(np.float32)),
                       "tip_tier": (("year", "country"),
                                    rng.integers(1, 5, shape).astype(np.float32))},
                      coords={"year": np.array(YEARS), "country": codes})


@pytest.fixture
def main(cube, monkeypatch):
    monkeypatch.setattr(predict_command, "feature_cube", lambda config, level: cube)

    def run(argv: list[str]) -> int:
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        return int(info.value.code)
    return run


@pytest.mark.parametrize("target", ["cl", "fl"])
def test_predict_writes_contract_csv_and_model(main, cube, tmp_path: Path, capsys,
                                               target: str) -> None:
    out = tmp_path / "p.json"
    assert main(["predict", "--target", target, "--year", "2018", "--json", str(out),
                 "--save-model", str(tmp_path / "m")]) == 0
    doc = json.loads(out.read_text())
    assert {"target", "year", "level", "quantity", "units", "predictions"} <= set(doc)
    assert (doc["target"], doc["year"], doc["level"]) == (target, 2018, "country")
    assert len(doc["predictions"]) == cube.sizes["country"]
    assert doc["training_years"][1] <= 2017
    with (tmp_path / "p.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [float(r["value"]) for r in rows] == sorted((p["value"] for p in
                                                        doc["predictions"]), reverse=True)
    never = {r["iso3"]: r for r in rows}["SAU"]
    assert never["status"] == "extrapolated" and never["last_survey_year"] == ""
    assert never["name"] == "Saudi Arabia" and int(never["count"]) > 0
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.txt"]
    captured = capsys.readouterr()
    printed = captured.out.splitlines()
    assert len(printed) == 22 and "country predictions of " + target in printed[-1]
    # Progress goes to stderr, one start and one done line per stage; stdout is the table.
    stages = [line for line in captured.err.splitlines() if "stage=" in line]
    assert [re.search(r"stage=(\w+) status=(\w+)", line).groups() for line in stages] == [
        (s, status) for s in ("cube", "fit", "table") for status in ("start", "done")]
    assert not any("stage=" in line for line in printed)


def test_quiet_predict_prints_no_progress(main, capsys) -> None:
    assert main(["predict", "--target", "cl", "--year", "2018", "--rows", "1",
                 "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.splitlines()) == 3


def test_refusals_write_nothing(main, tmp_path: Path, capsys) -> None:
    out = tmp_path / "p.txt"
    assert main(["predict", "--target", "cl", "--year", "2018", "--json", str(out)]) == 2
    assert "must end in .json" in capsys.readouterr().err and not list(tmp_path.iterdir())
    out = tmp_path / "p.json"
    assert main(["predict", "--target", "cl", "--year", "2030", "--json", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "year 2030" in err and not list(tmp_path.iterdir())


def test_region_level_needs_a_region_config(capsys) -> None:
    # A country config (monthly sources, no sub-national polygons) has no region level.
    with pytest.raises(SystemExit) as info:
        cli.main(["predict", "--target", "cl", "--year", "2018", "--level", "region",
                  "--config", "configs/real-countries.toml"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "region-level prediction needs a yearly region config" in err
