"""`riskmodel countries predict|cv` on the real country-year cube (built once per module)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from riskmodel import cli, sources
from riskmodel.countries.labour import load_child_labour
from riskmodel.countries.outcome import DEFAULT_OUTCOME

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "real-countries.toml"


@pytest.fixture(scope="module")
def cube():
    return sources.build_country_cube(CONFIG)


@pytest.fixture
def main(cube, monkeypatch):
    """`cli.main` with the module's cube standing in for a rebuild on every call."""
    monkeypatch.setattr(sources, "build_country_cube", lambda config: cube)

    def run(argv: list[str]) -> int:
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        return int(info.value.code)
    return run


def test_predict_covers_every_country_with_inputs(main, cube, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    assert main(["countries", "predict", "--config", str(CONFIG), "--year", "2016",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert (doc["target"], doc["year"], doc["level"]) == ("cl", 2016, "country")
    assert doc["units"] == "percent of children aged 5-17"
    preds = {p["iso3"]: p for p in doc["predictions"]}
    assert len(preds) > 150
    surveyed = set(load_child_labour().outcome.iso3)
    assert set(preds) - surveyed, "never-surveyed countries must be predicted too"
    for p in preds.values():
        assert set(p) == {"iso3", "value", "lo", "hi"}
        assert 0 <= p["lo"] <= p["value"] <= p["hi"] <= 100
    assert doc["training_years"][1] <= 2015
    table = (tmp_path / "p.csv").read_text().splitlines()
    assert len(table) == len(preds) + 1 and table[1].startswith("1,")


def test_predict_uses_only_earlier_surveys(main, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    assert main(["countries", "predict", "--year", "2014", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["training_years"][1] == 2013
    assert doc["training_rows"] < 60


def test_predict_year_outside_cube_fails_cleanly(main, tmp_path: Path, capsys) -> None:
    out = tmp_path / "p.json"
    assert main(["countries", "predict", "--year", "2040", "--json", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "year 2040" in err and not out.exists()
    # Without --quiet the stages that ran are reported first; the error stays one line.
    assert main(["countries", "predict", "--year", "2040", "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "riskmodel: stage=cube status=done" in err[1] and "status=failed" in err[-2]
    assert "year 2040" in err[-1] and not out.exists()


def test_cv_writes_scores_and_table(main, tmp_path: Path) -> None:
    # A third of the countries keeps the test quick; the README numbers use all of them.
    lines = DEFAULT_OUTCOME.read_text().splitlines()
    keep = sorted({line.split(",")[0] for line in lines[1:]})[::3]
    small = tmp_path / "outcome.csv"
    small.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split(",")[0] in keep]))
    out, md = tmp_path / "cv.json", tmp_path / "cv.md"
    assert main(["countries", "cv", "--scheme", "loro", "--outcome", str(small),
                 "--json", str(out), "--markdown", str(md)]) == 0
    doc = json.loads(out.read_text())
    res = doc["schemes"]["loro"]
    assert set(res["all_rows"]) == {"model", "linear", "composite", "global_mean"}
    assert "last_observed" in res["rows_with_earlier_survey"]
    for m in ("model", "linear"):
        s = res["all_rows"][m]
        assert s["n"] == doc["rows"] and 0 <= s["coverage"] <= 1 and s["mae"] > 0
    table = md.read_text()
    assert "leave-one-region-out" in table and "| model |" in table


def _small_outcome(folder: Path, every: int = 6) -> Path:
    lines = DEFAULT_OUTCOME.read_text().splitlines()
    keep = sorted({line.split(",")[0] for line in lines[1:]})[::every]
    small = folder / "outcome.csv"
    small.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split(",")[0] in keep]))
    return small


def test_cv_without_json_prints_table_and_reports_each_fold(main, tmp_path: Path, capsys,
                                                            monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    small = _small_outcome(tmp_path)
    assert main(["countries", "cv", "--config", str(CONFIG), "--scheme", "loro",
                 "--outcome", str(small)]) == 0
    cap = capsys.readouterr()
    assert "| leave-one-region-out" in cap.out and "| model |" in cap.out
    folds = re.findall(r"riskmodel: cv scheme=loro fold=(\d+)/(\d+) ", cap.err)
    assert "stage=cube status=done" in cap.err
    assert folds and [int(i) for i, _ in folds] == list(range(1, int(folds[0][1]) + 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outcome.csv"]
    assert main(["countries", "cv", "--config", str(CONFIG), "--scheme", "loro",
                 "--outcome", str(small), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "fold=" not in err and "stage=" not in err


def test_predict_without_json_prints_table(main, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--config", str(CONFIG), "--target", "fl", "--year", "2016",
                 "--rows", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "victims/100k" in lines[0] and "country predictions of fl for 2016" in lines[-1]
    rows = lines[1:-1]
    assert len(rows) > 150 and not list(tmp_path.iterdir())
    values = [float(r[33:45]) for r in rows]  # the value column (3 + 1 + 28 + 1 wide)
    assert values == sorted(values, reverse=True)
