"""The closed-loop simulation on a very small world (2 simulated months, 1 seed): visits,
policies, the loop's effect on the models, the command's outputs, and the presets'
settings being the ones chosen on the selection seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from riskmodel.cli import main as cli
from riskmodel.config import RunConfig
from riskmodel.errors import ConfigError
from riskmodel.models.seeds import SELECTION_SEEDS
from riskmodel.models.outcomes import Outcome, OutcomeSet
from riskmodel.simulate.loop import FitCache, Simulation, concordance, prepare
from riskmodel.simulate.settings import SimulateSettings, load_simulation
from riskmodel.training import ensure_model, ensure_partner_models, model_id

ROOT = Path(__file__).resolve().parents[1]
WORLD = {"ny": 12, "nx": 16, "resolution": 0.5, "n_countries": 2, "n_admin1": 8,
         "start_year": 2010, "n_months": 144}
MODEL = {"horizon": 3, "n_estimators": 8, "num_leaves": 7, "min_child_samples": 20,
         "negative_rate": 0.5, "positive_rate": 1.0, "calibration_months": 6, "ensemble": 2,
         "threads": 1}


def small_config(registry: str = "models") -> RunConfig:
    return RunConfig.model_validate({"name": "sim-test", "seed": 1, "targets": ["fl"],
                                     "world": WORLD, "model": {**MODEL,
                                                               "registry": registry}})


@pytest.fixture(scope="module")
def sw():
    return prepare(small_config(), 3, months=2)


def settings(**kw) -> SimulateSettings:
    return SimulateSettings(**{"months": 2, "budget": 3, "retrain_every": 1, **kw})


def test_concordance_by_hand() -> None:
    assert concordance(np.array([1., 2, 3]), np.array([1., 3, 2])) == pytest.approx(2 / 3)
    # A tie in the score counts one half; pairs tied in the truth do not count.
    assert concordance(np.array([1., 1, 2]), np.array([1., 2, 3])) == pytest.approx(2.5 / 3)
    assert concordance(np.array([3., 1, 2]), np.array([1., 1, 2])) == pytest.approx(1 / 2)


def test_visits_follow_the_truth_with_common_draws(sw) -> None:
    sim = Simulation(sw, "fl", settings(sites_per_visit=50), ("top",))
    v = sw.start + 1
    areas = np.arange(sim.areas.n)
    found = sim.visit(areas, v)
    np.testing.assert_array_equal(found, sim.visit(areas[::-1], v)[::-1])  # same draw
    assert found.max() <= 50
    # Same uniforms: a higher prevalence never finds fewer cases.
    sim.areas.truth[v] = np.minimum(sim.areas.truth[v] * 2, 1.0)
    assert np.all(sim.visit(areas, v) >= found)
    sim.areas.truth[v] = 1.0
    assert np.all(sim.visit(areas, v) == 50)


def test_policies_choose_top_and_least_certain(sw) -> None:
    sim = Simulation(sw, "fl", settings(budget=4, explore_share=0.25), ("top", "explore"))
    n = sim.areas.n
    score = np.arange(n, dtype=float)            # area n-1 scores highest
    sd = np.zeros(n)
    sd[0] = 5.0                                    # the lowest-scored area is least certain
    assert list(sim.choose("top", score, sd)) == [n - 1, n - 2, n - 3, n - 4]
    assert list(sim.choose("explore", score, sd)) == [n - 1, n - 2, n - 3, 0]


def test_loop_feeds_outcomes_back(sw) -> None:
    rows = Simulation(sw, "fl", settings(), ("top",))
    out = rows.run(2)
    top = rows.arms["top"]
    # Rows on: after the first month's visits the loop arm trains its own model.
    assert out["outcomes_seen"] == {"off": 0, "top": 6}
    assert out["fits"] == {"off": 2, "top": 1} and top.model is not rows.arms["off"].model
    assert top.offset is not None and np.abs(top.offset).max() > 0   # visited areas moved
    assert (top.offset != 0).sum() <= 3 and (top.offset_sd < 1.0).sum() == 3
    s = out["series"]
    assert s["top_on"]["visits"] == [3.0, 3.0] and len(s["oracle"]["cases"]) == 2
    assert np.isnan(s["random"]["concordance"]).all() and s["oracle"]["concordance"] == [1, 1]
    # Offsets only: no rows, so the loop arm shares the loop-off model and fits nothing.
    offsets = Simulation(sw, "fl", settings(outcome_rows=False), ("top",))
    out = offsets.run(2)
    assert out["fits"] == {"off": 2, "top": 0}
    assert offsets.arms["top"].model is offsets.arms["off"].model
    # Loop fully off in the settings: the loop arm is the loop-off arm.
    none = Simulation(sw, "fl", settings(outcome_rows=False, outcome_offsets=False), ("top",))
    s = none.run(2)["series"]
    assert s["top_on"] == s["top_off"]


def test_monthly_offsets_and_a_shared_cache(sw) -> None:
    # Trees kept (retrain_every 0): without monthly offsets the first month's visits never
    # move the ranking; with them the second month's offsets come from those visits.
    kept = Simulation(sw, "fl", settings(retrain_every=0, outcome_rows=False), ("top",))
    kept.run(2)
    assert not kept.arms["top"].offset.any()
    monthly = Simulation(sw, "fl", settings(retrain_every=0, outcome_rows=False,
                                            offsets_monthly=True), ("top",))
    monthly.run(2)
    top = monthly.arms["top"]
    assert np.abs(top.offset).max() > 0 and (top.offset_sd < 1.0).sum() == 3
    # A shared cache fits the loop-off arm once for several simulations, same results.
    cache = FitCache()
    a = Simulation(sw, "fl", settings(), ("top",), cache=cache).run(2)
    b = Simulation(sw, "fl", settings(outcome_weight=3.0), ("top",), cache=cache).run(2)
    assert a["fits"]["off"] == 2 and b["fits"]["off"] == 0
    alone = Simulation(sw, "fl", settings(outcome_weight=3.0), ("top",)).run(2)
    for arm in ("top_off", "top_on"):
        for key in ("cases", "concordance"):
            assert alone["series"][arm][key] == b["series"][arm][key], (arm, key)


def test_model_metadata_counts_outcomes(sw, tmp_path: Path) -> None:
    cfg = small_config(str(tmp_path / "models"))
    world, cube = sw.world, sw.cube
    feats = tuple(str(n) for n in cube.data_vars)
    cells = np.flatnonzero(world["admin1_id"].values.ravel() == 0)
    outs = OutcomeSet("pa", tuple(Outcome(month=sw.start - k, cells=cells, label=k % 2, area=0)
                                  for k in range(3)))
    reg, fitted = ensure_model(cfg, world, cube, "fl", outcomes=outs, outcome_weight=2.0)
    assert fitted and reg.model_id == model_id(cfg, "fl", feats, outs, 2.0)
    meta = reg.meta["outcomes"]
    assert (meta["partner"], meta["outcomes"], meta["confirmed"], meta["not_found"]) == (
        "pa", 3, 1, 2)
    assert reg.meta["rows"] > 3 * len(cells)
    # Without outcomes the id is the one models always had.
    assert model_id(cfg, "fl", feats) == model_id(cfg, "fl", feats, None)


def test_command_writes_json_and_report(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "sim.toml"
    world = "\n".join(f"{k} = {v}" for k, v in WORLD.items())
    model = "\n".join(f"{k} = {v}" for k, v in MODEL.items())
    cfg.write_text(f'name = "sim-test"\nseed = 1\ntargets = ["fl"]\n[world]\n{world}\n'
                   f'[model]\n{model}\n[simulate]\nmonths = 3\nbudget = 2\n'
                   f'retrain_every = 2\n')
    out, rep = tmp_path / "sim.json", tmp_path / "sim.html"
    with pytest.raises(SystemExit) as exc:
        cli(["simulate", "--config", str(cfg), "--months", "2", "--seeds", "1", "--quiet",
             "--json", str(out), "--report", str(rep)])
    assert exc.value.code == 0
    doc = json.loads(out.read_text())
    assert doc["seeds"] == [1] and doc["policies"] == ["top", "explore"]
    assert doc["settings"]["months"] == 2 and doc["settings"]["budget"] == 2
    figs = doc["summary"]["fl"]["figures"]
    for key in ("loop_gain_top", "loop_gain_explore", "explore_minus_top_on",
                "cases_per_visit_oracle", "concordance_top_on", "oracle_share_top_on"):
        assert key in figs and figs[key]["n"] == 1
    row = doc["per_seed"][0]["fl"]
    assert row["outcomes_seen"] == {"off": 0, "top": 4, "explore": 4}
    assert len(row["curves"]["top_on"]["cases_per_visit"]) == 2
    html = rep.read_text()
    assert "Synthetic world" in html and "curves-fl.png" in html
    assert (tmp_path / "sim-figures" / "curves-fl.png").stat().st_size > 1000
    assert "loop_gain_top" in capsys.readouterr().out


def test_bad_simulate_table_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text('[world]\nn_months = 144\n[simulate]\nbudget = 0\n')
    with pytest.raises(ConfigError, match=r"bad.toml: simulate.budget: .*greater than or "
                                          r"equal to 1 \(got 0\)"):
        load_simulation(p)
    p.write_text('[simulate]\nbugdet = 3\n')
    with pytest.raises(ConfigError, match=r"bad.toml: simulate.bugdet: unknown key"):
        load_simulation(p)
    p.write_text('simulate = 3\n')
    with pytest.raises(ConfigError, match=r"simulate: expected a table"):
        load_simulation(p)


def test_presets_hold_the_settings_chosen_on_selection_seeds() -> None:
    chosen = json.loads((ROOT / "benchmarks" / "selection" / "simulate_settings.json")
                        .read_text())
    # Every round ran on selection seeds only, and the last round's choice is the one.
    assert all(s in SELECTION_SEEDS for r in chosen["rounds"] for s in r["seeds"])
    assert chosen["chosen"] == chosen["rounds"][-1]["chosen"]
    assert chosen["report_seeds"]["chosen"] >= 10
    for preset in ("well-specified", "hidden-detection"):
        _, s = load_simulation(ROOT / "configs" / "simulate" / f"{preset}.toml")
        for key, value in chosen["chosen_settings"].items():
            assert getattr(s, key) == value, (preset, key)


def test_nightly_switch_trains_on_the_partners_outcomes_and_retrains_on_new_ones(
        sw, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from test_alerts_fakes import make_risk

    from riskmodel.alerts.feedback import record_feedback
    from riskmodel.alerts.partners import load_partners
    from riskmodel.alerts.publish import publish_alerts
    from riskmodel.alerts.store import AlertStore
    from riskmodel.config import AlertsConfig

    code = str(sw.world["admin1"].values[0])
    (tmp_path / "partners.toml").write_text(
        f'[[partner]]\nid = "pa"\nname = "A"\ncountries = ["{code[:3]}"]\n')
    alerts = AlertsConfig(store=str(tmp_path / "a.sqlite"),
                          partners=str(tmp_path / "partners.toml"))
    publish_alerts(make_risk({"XAA-01": 0.7}), run_dir=tmp_path / "run", cfg=alerts,
                   run_id="r1", sent=datetime(2026, 6, 2, 1, tzinfo=timezone.utc))
    with AlertStore(alerts.store) as store, store.transaction():
        # The fake alert placed in this world's first admin-1 area.
        store.db.execute("UPDATE alerts SET country=?, admin1=? WHERE alert_id=?",
                         (code[:3], json.dumps([code]), "fl-XAA-01-2026-05"))
    month = str(sw.world["time"].values[sw.start])[:7]

    def report(outcome: str) -> None:
        f = tmp_path / f"{outcome}.csv"
        f.write_text(f"alert_id,outcome,partner,observed_on\n"
                     f"fl-XAA-01-2026-05,{outcome},pa,{month}-15\n")
        with AlertStore(alerts.store) as store:
            assert record_feedback(store, f, partners=load_partners(alerts.partners)).recorded

    base = small_config(str(tmp_path / "models"))
    cfg = base.model_copy(update={"alerts": alerts, "model": base.model.model_copy(
        update={"outcomes_partner": "pa"})})
    def partner_model():
        return ensure_partner_models(cfg, sw.world, sw.cube)["pa"]["fl"]

    report("confirmed")
    first, fitted = partner_model()
    assert fitted and first.meta["outcomes"]["outcomes"] == 1
    assert first.meta["outcomes"]["confirmed"] == 1 and first.meta["outcomes"]["skipped"] == 0
    # One visited area: its offset is recorded, and 0 (the intercept takes a partner's
    # overall confirmation rate; offsets move areas relative to its other visits).
    assert first.meta["outcomes"]["area_offsets"]["areas"][code]["offset"] == 0
    again, fitted = partner_model()
    assert not fitted and again.model_id == first.model_id      # nothing new: loaded
    report("not_found")                                         # the partner's latest word
    newer, fitted = partner_model()
    assert fitted and newer.model_id != first.model_id
    assert newer.meta["outcomes"]["not_found"] == 1
    assert newer.meta["outcomes"]["area_offsets"]["prior_sd"] == 1.0
