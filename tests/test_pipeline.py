"""`riskmodel run` end to end on the tiny world: outputs exist and are valid, reruns are
byte-identical, and the CLI fails with one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from riskmodel.cli import COMMAND_MODULES, main


def test_outputs_exist_and_valid(tiny_run: dict) -> None:
    run_dir: Path = tiny_run["run_dir"]
    for name in ("risk.nc", "alerts.geojson", "alerts.csv", "report.html", "manifest.json",
                 "maps/risk_fl.png", "maps/risk_cl.png", "targeting.json"):
        assert (run_dir / name).is_file(), name
    with xr.open_dataset(run_dir / "risk.nc") as risk:
        for var in ("risk", "risk_lo", "risk_hi"):
            v = risk[var].values
            assert np.isfinite(v).any()
            assert np.nanmin(v) >= 0 and np.nanmax(v) <= 1, var
        assert (risk["risk_lo"] <= risk["risk"] + 1e-6).where(risk["risk"].notnull(), True).all()
        assert (risk["risk_hi"] >= risk["risk"] - 1e-6).where(risk["risk"].notnull(), True).all()
        assert risk["lat"].attrs["units"] == "degrees_north"
        assert risk["lon"].attrs["standard_name"] == "longitude"
        assert risk["risk"].attrs["units"] == "1" and "long_name" in risk["risk"].attrs
        assert risk.attrs["Conventions"].startswith("CF-")
        assert risk.attrs["synthetic"] == 1 and "not evidence" in risk.attrs["comment"]
        assert risk["driver_feature"].dtype.kind == "i"
        sea = risk["country_id"].values < 0
        assert np.isnan(risk["risk"].values[..., sea]).all()
    geo = json.loads((run_dir / "alerts.geojson").read_text())
    assert geo["type"] == "FeatureCollection"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["synthetic"] is True
    assert set(manifest["timings_s"]) >= {"world", "features", "models", "score", "report"}
    assert manifest["peak_rss_mib"] > 0
    assert set(manifest["models"]) == {"fl", "cl"}
    assert "Synthetic world" in (run_dir / "report.html").read_text()


def test_rerun_is_byte_identical(tiny_run: dict, capsys: pytest.CaptureFixture) -> None:
    run_dir: Path = tiny_run["run_dir"]
    first = (run_dir / "risk.nc").read_bytes()
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(tiny_run["config"]), "--quiet"])
    assert info.value.code == 0
    assert (run_dir / "risk.nc").read_bytes() == first
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert not any(m["trained_now"] for m in manifest["models"].values()), "model reused"


def test_score_without_model_fails_clearly(tiny_config: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["score", "--config", str(tiny_config), "--as-of", "2024-06", "--quiet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("riskmodel: error:")]
    assert len(errors) == 1 and "no fl model registered" in errors[0]
    assert "Traceback" not in err


def test_bad_config_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the refusal is recorded under ./runs/bad (no --out)
    bad = tmp_path / "bad.toml"
    bad.write_text("[world]\nny = 'many'\n")
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(bad)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("riskmodel: error:")]
    assert len(errors) == 1 and "world.ny" in errors[0] and "Traceback" not in err
    assert (tmp_path / "runs" / "bad" / "history.jsonl").is_file()


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture) -> None:
    # In process: one interpreter per subcommand cost over a minute of imports.
    for name in [m.rsplit(".", 1)[1] for m in COMMAND_MODULES]:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0, name
        assert f"usage: riskmodel {name}" in capsys.readouterr().out, name
    # and the module entry point a shell uses
    out = subprocess.run([sys.executable, "-m", "riskmodel", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "usage: riskmodel" in out.stdout, out.stderr


def test_world_command_writes_netcdf(tiny_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "world"
    with pytest.raises(SystemExit) as info:
        main(["world", "--config", str(tiny_config), "--world-dir", str(out), "--quiet"])
    assert info.value.code == 0
    with xr.open_dataset(out / "world.nc") as ds:
        assert ds["temperature"].attrs["units"] == "degC"
        assert ds.attrs["synthetic"] == 1
    assert (out / "events.csv").read_text().startswith("iso3,year,event,instrument\n")


def test_run_on_real_sources_without_labels_fails_clearly(
        capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(root / "configs" / "real-countries.toml"),
              "--out", str(tmp_path), "--quiet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "no identified-case labels" in err and "Traceback" not in err
    assert not any(tmp_path.rglob("risk.nc"))


def test_reference_feature_is_never_a_driver(tiny_run: dict) -> None:
    import features
    from riskmodel.config import load_config
    from riskmodel.models.registry import load_model
    from riskmodel.models.table import feature_matrix, land_cells
    from riskmodel.scoring import EVERY_CELL, score_rows, scoring_matrix
    from riskmodel.world import make_world

    cfg = load_config(tiny_run["config"])
    world = make_world(cfg.world, cfg.seed)
    cube = features.build_cube(world)
    folder = next(Path(cfg.model.registry).glob("cl-*"))
    registered = load_model(folder, features=tuple(cube.data_vars))
    model = registered.estimator
    cells = land_cells(world["country_id"].values)
    month = world.sizes["time"] - 1
    col = model.feature_names_in_.index("inspection_coverage")
    raw = model.predict_contrib(feature_matrix(cube, model.feature_names_in_, month, cells))
    assert np.abs(raw[:, col]).max() > 0, "the model uses coverage, so the test can fail"
    X = scoring_matrix(model, registered.meta, cube, month, cells)
    scored = score_rows(model, registered.meta, X, np.ones(len(cells), bool), EVERY_CELL)
    assert (scored["contrib"][:, col] == 0).all()
    with xr.open_dataset(tiny_run["run_dir"] / "risk.nc") as risk:
        for var in ("driver_feature", "admin1_driver_feature"):
            assert not (risk[var].values == col).any(), var


def test_train_registry_option(tiny_config: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture) -> None:
    registry = tmp_path / "elsewhere"
    with pytest.raises(SystemExit) as info:
        main(["train", "--config", str(tiny_config), "--registry", str(registry), "--quiet",
              "--json"])
    assert info.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"fl", "cl"}
    for entry in printed.values():
        assert Path(entry["folder"]).parent == registry
        assert (Path(entry["folder"]) / "model.json").is_file()


def test_driver_floor_is_the_lowest_enabled_alert_level() -> None:
    # The driver rule's default cut: every cell that can hold an area in alert is explained.
    from riskmodel.alerts.rules import RiseRule, RulesConfig, ThresholdRule, load_rules

    root = Path(__file__).resolve().parents[1]
    assert load_rules(root / "configs" / "alerts.toml").hold_floor() == 0.3
    assert load_rules(None).hold_floor() == 0.4  # the default rules: the threshold's leave
    off = RulesConfig(threshold=ThresholdRule(enabled=False, enter=0.45),
                      rise=RiseRule(enabled=False))
    assert off.hold_floor() == 0.45  # nothing enabled: the threshold's enter


def test_missing_zarr_store_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tests.conftest import write_tiny_config

    config = write_tiny_config(tmp_path, scale={"inputs": str(tmp_path / "absent.zarr")})
    with pytest.raises(SystemExit) as info:
        main(["score", "--config", str(config), "--as-of", "2024-01", "--quiet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "absent.zarr: no Zarr store there" in err and "riskmodel store --config" in err
