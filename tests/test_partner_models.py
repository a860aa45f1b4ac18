"""Outcome partners in the nightly run: each partner's visit outcomes train its own model
and area offsets, which score only that partner's countries; another partner's cells,
model and labels never change with them; a rerun gives the same bytes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import write_tiny_config
from test_alerts_fakes import make_risk

from riskmodel.alerts.feedback import record_feedback
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.config import AlertsConfig, RunConfig, load_config
from riskmodel.errors import ModelError
from riskmodel.models.outcomes import apply_area_offsets
from riskmodel.pipeline import RunContext, run_night
from riskmodel.progress import Progress
from riskmodel.training import check_outcome_partners
from riskmodel.world import make_world

FAKE = ("fl-XAA-01-2026-05", "fl-XAA-02-2026-05", "fl-XAB-01-2026-05", "fl-XAB-02-2026-05")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny config with partners pa (first country) and pb (second), both for FL only;
    four FL alerts placed in the world: in pa's areas X and X2, in pb's areas Y and Z."""
    folder = tmp_path_factory.mktemp("partner_models")
    cfg = load_config(write_tiny_config(folder))
    world = make_world(cfg.world, cfg.seed)
    countries = [str(c) for c in world["country"].values]
    codes = [str(a) for a in world["admin1"].values]
    owner = world["admin1_country"].values
    x, x2 = [a for a, c in zip(codes, owner, strict=True) if c == 0][:2]
    y, z = [a for a, c in zip(codes, owner, strict=True) if c == 1][:2]
    (folder / "partners.toml").write_text(
        f'[[partner]]\nid = "pa"\nname = "A"\ncountries = ["{countries[0]}"]\n'
        f'targets = ["fl"]\n\n'
        f'[[partner]]\nid = "pb"\nname = "B"\ncountries = ["{countries[1]}"]\n'
        f'targets = ["fl"]\n')
    alerts = AlertsConfig(store=str(folder / "alerts.sqlite"),
                          partners=str(folder / "partners.toml"), rules=cfg.alerts.rules)
    publish_alerts(make_risk({"XAA-01": 0.7, "XAA-02": 0.7, "XAB-01": 0.7, "XAB-02": 0.7}),
                   run_dir=folder / "fake", cfg=alerts, run_id="r1",
                   sent=datetime(2026, 6, 2, 1, tzinfo=timezone.utc))
    with AlertStore(alerts.store) as store, store.transaction():
        for alert, (c, a) in zip(FAKE, [(0, x), (0, x2), (1, y), (1, z)], strict=True):
            n = store.db.execute("UPDATE alerts SET country=?, admin1=? WHERE alert_id=?",
                                 (countries[c], json.dumps([a]), alert)).rowcount
            assert n == 1, alert
    base = cfg.model_copy(update={"alerts": alerts})
    return {"folder": folder, "cfg": base, "world": world, "x": x, "x2": x2, "y": y, "z": z,
            "countries": countries, "alerts": alerts}


def report(setup: dict, name: str, rows: list[tuple[str, str, str]]) -> None:
    """Record feedback rows (alert, outcome, partner), observed 2024-09-15."""
    f = setup["folder"] / f"{name}.csv"
    f.write_text("alert_id,outcome,partner,observed_on\n"
                 + "".join(f"{a},{o},{p},2024-09-15\n" for a, o, p in rows))
    with AlertStore(setup["alerts"].store) as store:
        res = record_feedback(store, f, partners=load_partners(setup["alerts"].partners))
    assert res.recorded == len(rows) and not res.errors


def night(setup: dict, out: str, partners: tuple[str, ...] | None) -> Path:
    cfg: RunConfig = setup["cfg"]
    if partners is not None:
        cfg = cfg.model_copy(update={"model": cfg.model.model_copy(
            update={"outcomes_partner": partners})})
    ctx = RunContext(cfg, "tiny.toml", Progress(quiet=True), setup["folder"] / out)
    return run_night(ctx, None, train_missing=True, alerts=False)


def cells_of(risk: xr.Dataset, country: int) -> np.ndarray:
    return risk["country_id"].values == country


@pytest.fixture(scope="module")
def nights(setup: dict) -> dict:
    """Nights without outcome partners (plain), with pa and pb after their first reports
    (first), a rerun of that, and after pb alone reported more (later)."""
    plain = night(setup, "plain", None)
    report(setup, "first", [(FAKE[0], "confirmed", "pa"), (FAKE[1], "not_found", "pa"),
                            (FAKE[2], "confirmed", "pb"), (FAKE[3], "not_found", "pb")])
    first = night(setup, "first", ("pa", "pb"))
    first_bytes = (first / "risk.nc").read_bytes()
    rerun = night(setup, "first", ("pa", "pb"))
    report(setup, "later", [(FAKE[3], "confirmed", "pb")])   # pb's latest word on Z
    later = night(setup, "later", ("pa", "pb"))
    return {"plain": plain, "first": first, "first_bytes": first_bytes, "rerun": rerun,
            "later": later}


def load(run: Path) -> xr.Dataset:
    with xr.open_dataset(run / "risk.nc") as ds:
        return ds.load()


def test_a_partners_confirmed_visits_raise_its_areas_score(setup: dict, nights: dict) -> None:
    plain, first = load(nights["plain"]), load(nights["first"])
    codes = [str(a) for a in first["admin1"].values]
    offset = first["admin1_offset"].sel(target="fl").values
    x, x2, y, z = (codes.index(setup[k]) for k in ("x", "x2", "y", "z"))
    # Confirmed up, not found down (relative to the partner's own visits: the intercept
    # takes the partner's overall confirmation rate); only visited areas move.
    assert offset[x] > 0 > offset[x2] and offset[y] > 0 > offset[z]
    assert np.count_nonzero(offset) == 4
    r0, r1 = (d["risk"].sel(target="fl").values[0] for d in (plain, first))
    aid = first["admin1_id"].values
    assert np.nanmean(r1[aid == x]) > np.nanmean(r0[aid == x])
    assert np.nanmean(r1[aid == x2]) < np.nanmean(r0[aid == x2])
    assert first.attrs["outcomes_partners"] == "pa pb"
    manifest = json.loads((nights["first"] / "manifest.json").read_text())
    pa = manifest["partner_models"]["pa"]["fl"]
    assert pa["outcomes"]["outcomes"] == 2 and pa["outcomes"]["confirmed"] == 1
    assert set(pa["outcomes"]["area_offsets"]["areas"]) == {setup["x"], setup["x2"]}
    assert first.attrs["model_id_fl_pa"] == pa["model_id"]


def test_cells_of_no_outcome_partner_keep_the_configs_model(nights: dict) -> None:
    plain, first = load(nights["plain"]), load(nights["first"])
    rest = ~(cells_of(first, 0) | cells_of(first, 1))
    for name in ("risk", "risk_lo", "risk_hi"):
        a = plain[name].sel(target="fl").values[0][rest]
        b = first[name].sel(target="fl").values[0][rest]
        np.testing.assert_array_equal(a, b)
    assert not first["admin1_offset"].values[:, first["admin1_country"].values >= 2].any()
    # The partners cover FL only: CL everywhere is the config's model.
    np.testing.assert_array_equal(plain["risk"].sel(target="cl").values,
                                  first["risk"].sel(target="cl").values)
    assert set(json.loads((nights["first"] / "manifest.json").read_text())
               ["partner_models"]["pa"]) == {"fl"}


def test_one_partners_outcomes_never_reach_another_partners_cells(nights: dict) -> None:
    first, later = load(nights["first"]), load(nights["later"])
    pa_cells, pb_cells = cells_of(first, 0), cells_of(first, 1)
    for name in ("risk", "risk_lo", "risk_hi", "driver_contrib", "domain_contrib"):
        a, b = first[name].sel(target="fl").values, later[name].sel(target="fl").values
        np.testing.assert_array_equal(a[..., pa_cells], b[..., pa_cells])
    assert not np.array_equal(first["risk"].values[..., pb_cells],
                              later["risk"].values[..., pb_cells])
    m1 = json.loads((nights["first"] / "manifest.json").read_text())["partner_models"]
    m2 = json.loads((nights["later"] / "manifest.json").read_text())["partner_models"]
    assert m1["pa"]["fl"]["model_id"] == m2["pa"]["fl"]["model_id"]   # pa's labels unchanged
    assert m1["pb"]["fl"]["model_id"] != m2["pb"]["fl"]["model_id"]
    assert m2["pb"]["fl"]["outcomes"]["outcomes"] == 2
    assert m2["pa"]["fl"]["outcomes"]["outcomes"] == 2


def test_rerun_is_byte_identical(nights: dict) -> None:
    assert (nights["rerun"] / "risk.nc").read_bytes() == nights["first_bytes"]


def test_a_country_shared_with_another_partner_is_refused(setup: dict) -> None:
    c = setup["countries"][0]
    path = setup["folder"] / "shared.toml"
    path.write_text(f'[[partner]]\nid = "pa"\nname = "A"\ncountries = ["{c}"]\n\n'
                    f'[[partner]]\nid = "pc"\nname = "C"\ncountries = ["{c}"]\n'
                    f'targets = ["fl"]\n')
    cfg = setup["cfg"]
    cfg = cfg.model_copy(update={
        "alerts": cfg.alerts.model_copy(update={"partners": str(path)}),
        "model": cfg.model.model_copy(update={"outcomes_partner": "pa"})})
    with pytest.raises(ModelError, match=rf"partner 'pc' .* also covers {c} \(fl\)"):
        check_outcome_partners(cfg)
    unknown = setup["cfg"].model_copy(update={"model": cfg.model.model_copy(
        update={"outcomes_partner": ("pa", "px")})})
    with pytest.raises(ModelError, match="unknown partner 'px'"):
        check_outcome_partners(unknown)


def test_offsets_shift_log_odds_of_their_units_only() -> None:
    risk = make_risk({"XAA-01": 0.5, "XAB-01": 0.2})
    out = apply_area_offsets(risk, {"fl": {"XAA-01": np.log(3.0)}}, "pa")
    aid = risk["admin1_id"].values
    r0, r1 = risk["risk"].sel(target="fl").values[0], out["risk"].sel(target="fl").values[0]
    np.testing.assert_allclose(r1[aid == 0], 0.75, rtol=1e-6)   # odds 1 -> 3
    np.testing.assert_array_equal(r1[aid != 0], r0[aid != 0])
    np.testing.assert_array_equal(out["risk"].sel(target="cl").values,
                                  risk["risk"].sel(target="cl").values)
    assert out["admin1_offset"].attrs["outcomes_partner"] == "pa"
    with pytest.raises(ValueError, match="'XZZ-01': not an admin-1 unit"):
        apply_area_offsets(risk, {"fl": {"XZZ-01": 1.0}}, "pa")


def test_train_lists_the_partners_models_after_the_configs() -> None:
    from types import SimpleNamespace

    from riskmodel.commands.train import table, trained
    from riskmodel.pipeline import RunModels

    def model(mid: str) -> SimpleNamespace:
        return SimpleNamespace(model_id=mid, folder=Path("reg") / mid, rows=10,
                               training_window=("2010-01", "2020-12"))

    runs = RunModels({"fl": model("m-fl"), "cl": model("m-cl")}, {}, {},
                     partners={"pa": {"fl": model("m-pa")}, "pb": {}})
    out = trained(runs)
    assert set(out) == {"fl", "cl", "partners"}
    assert out["partners"] == {"pa": {"fl": {"model_id": "m-pa", "folder": "reg/m-pa",
                                             "rows": 10,
                                             "training_window": ["2010-01", "2020-12"]}}}
    lines = table(out)
    assert [line.split()[0] for line in lines[1:]] == ["fl", "cl", "fl"]
    assert lines[3].startswith("fl (pa)") and "m-pa" in lines[3]
    # no outcome partners: the config's models only, as before
    assert set(trained(RunModels({"fl": model("m-fl")}, {}, {}))) == {"fl"}
