"""The real world's night (`riskmodel run --config configs/real.toml`) end to end: every
region scored from the shipped data, outputs that say what they are, CAP messages about
real places marked Exercise, a rerun that changes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from riskmodel.config import is_region_config, load_config
from riskmodel.errors import InputError
from riskmodel.region_night import as_of_year

ROOT = Path(__file__).resolve().parents[1]


def _real_config(tmp: Path) -> Path:
    """configs/real.toml with its store, registry and rules paths inside `tmp`."""
    text = (ROOT / "configs" / "real.toml").read_text(encoding="utf-8")
    for name in ("alerts-real.toml", "partners-real.toml"):
        shutil.copy(ROOT / "configs" / name, tmp / name)
        text = text.replace(f'"configs/{name}"', f'"{(tmp / name).as_posix()}"')
    text = text.replace('"runs/real-alerts.sqlite"', f'"{(tmp / "alerts.sqlite").as_posix()}"')
    text += f'\n[model]\nregistry = "{(tmp / "models").as_posix()}"\n'
    cfg = tmp / "real.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def _run(cfg: Path, out: Path, *extra: str) -> int:
    from riskmodel.cli import main
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(cfg), "--out", str(out), "--quiet", *extra])
    return int(exit_.value.code or 0)


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("real")
    cfg = _real_config(tmp)
    assert _run(cfg, tmp / "runs") == 0
    run_dir = next((tmp / "runs" / "real").glob("*/manifest.json")).parent
    return {"tmp": tmp, "cfg": cfg, "run_dir": run_dir,
            "risk_sha": hashlib.sha256((run_dir / "risk.nc").read_bytes()).hexdigest()}


@pytest.mark.slow
def test_every_region_is_scored_or_listed(night: dict[str, Path]) -> None:
    run_dir = night["run_dir"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["synthetic"] is False
    ds = xr.open_dataset(run_dir / "risk.nc")
    year = int(ds.attrs["as_of"])
    assert str(year) == manifest["as_of"] == run_dir.name
    for t in ("cl", "fl"):
        scored = np.isfinite(ds["risk"].sel(target=t, year=year).values)
        assert scored.sum() >= 1500
        assert len(set(ds["iso3"].values[scored])) >= 150
        listed = {u["region"] for u in manifest["unscored_regions"] if u["target"] == t}
        assert listed == set(ds["region"].values[~scored])
    # Models are fitted on outcome years before the scored year only.
    for t, m in manifest["models"].items():
        assert m["years"][1] < year
        assert (Path(m["folder"]) / "model.txt").is_file()
    ds.close()


@pytest.mark.slow
def test_outputs_say_what_they_are(night: dict[str, Path]) -> None:
    run_dir = night["run_dir"]
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "not validated at region level" in report
    regions = json.loads((run_dir / "regions.geojson").read_text())
    assert len(regions["features"]) >= 1500
    caps = sorted((run_dir / "alerts" / "cap").glob("*.xml"))
    assert caps, "a first night publishes alerts"
    for p in caps[:20]:
        text = p.read_text(encoding="utf-8")
        assert "<status>Exercise</status>" in text
        assert "<polygon>" in text


@pytest.mark.slow
def test_first_night_delivers_only_the_scored_year(night: dict[str, Path]) -> None:
    """The years before a first night are history: the store holds only alerts opened in
    the scored year (what partners were sent), and the report calls them new, first
    delivery, never "ongoing" from years nobody was told about."""
    import sqlite3
    run_dir = night["run_dir"]
    year = run_dir.name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    alerts = manifest["summary"]["alerts"]
    assert alerts["history_years"] == [str(int(year) - 2), str(int(year) - 1)]
    assert alerts["first_delivery"] is True and alerts["new"] == alerts["active"] > 0
    db = sqlite3.connect(night["tmp"] / "alerts.sqlite")
    try:
        assert db.execute("SELECT DISTINCT opened_as_of, state FROM alerts").fetchall() \
            == [(year, "new")]
        assert {r[0] for r in db.execute("SELECT as_of FROM outbox")} == {year}
        history = [json.loads(s) for (s,) in db.execute(
            "SELECT summary FROM runs WHERE as_of < ? ORDER BY as_of", (year,))]
        assert [h.get("history_only") for h in history] == [True, True]
    finally:
        db.close()
    assert not (run_dir / "backfill").exists()
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert f">new (opened {year}, first delivery)<" in report
    assert ">ongoing" not in report


@pytest.mark.slow
def test_rerun_changes_nothing(night: dict[str, Path]) -> None:
    assert _run(night["cfg"], night["tmp"] / "runs") == 0
    run_dir = night["run_dir"]
    assert hashlib.sha256((run_dir / "risk.nc").read_bytes()).hexdigest() == \
        night["risk_sha"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["summary"]["alerts"].get("rerun_of") == f"real-{run_dir.name}"


def test_real_config_is_a_region_config() -> None:
    assert is_region_config(load_config(ROOT / "configs" / "real.toml"))
    assert not is_region_config(load_config(ROOT / "configs" / "demo.toml"))


def test_as_of_must_be_a_year_of_the_cube() -> None:
    years = list(range(1995, 2027))
    assert as_of_year(None, years) == 2026
    assert as_of_year("2020", years) == 2020
    with pytest.raises(InputError, match="YYYY"):
        as_of_year("2020-05", years)
    with pytest.raises(InputError, match="1995 to 2026"):
        as_of_year("1990", years)



@pytest.mark.slow
def test_real_risk_nc_passes_the_cf_checker(night: dict[str, Path], tmp_path: Path) -> None:
    from tests.test_cf import cf_issues
    issues = cf_issues(night["run_dir"] / "risk.nc", tmp_path)
    assert issues == {"errors": [], "warnings": []}


@pytest.mark.slow
def test_features_build_writes_the_region_cube(tmp_path: Path) -> None:
    from riskmodel.cli import main
    out = tmp_path / "cube.nc"
    with pytest.raises(SystemExit) as exit_:
        main(["features", "build", "--config", str(ROOT / "configs" / "real.toml"),
              "--cube", str(out), "--quiet"])
    assert exit_.value.code == 0
    with xr.open_dataset(out) as cube:
        assert cube.sizes["region"] >= 1500 and "hdi" in cube
        assert cube.attrs["frequency"] == "yearly"
