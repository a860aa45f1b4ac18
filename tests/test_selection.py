"""The scenario presets use the model settings the selection script chose on the selection
seeds, and the selection never looked at a report seed."""

from __future__ import annotations

import json
from pathlib import Path

from riskmodel.config import load_config
from riskmodel.models.seeds import SELECTION_SEEDS, report_seeds

ROOT = Path(__file__).resolve().parents[1]
SELECTION = ROOT / "benchmarks" / "selection" / "model-settings.json"


def test_presets_use_the_chosen_settings() -> None:
    doc = json.loads(SELECTION.read_text())
    assert doc["chosen"] in doc["tried"]
    assert doc["chosen_settings"] == doc["tried"][doc["chosen"]]["settings"]
    for preset in sorted((ROOT / "configs" / "scenarios").glob("*.toml")):
        model = load_config(preset).model
        for key, value in doc["chosen_settings"].items():
            assert getattr(model, key) == value, (preset.name, key)


def test_selection_used_selection_seeds_only() -> None:
    doc = json.loads(SELECTION.read_text())
    assert set(doc["seeds"]) <= set(SELECTION_SEEDS)
    assert not set(doc["seeds"]) & set(report_seeds(100))
    for result in doc["tried"].values():
        for preset in doc["presets"]:
            assert {r["seed"] for r in result[preset]["per_seed"]} == set(doc["seeds"])


INTERVAL = ROOT / "benchmarks" / "selection" / "interval-method.json"


def _chosen_by_the_rule_on_selection_worlds(doc: dict) -> None:
    """An interval selection record (`interval-method.json`, `interval-refit.json`): the
    rule as written (no candidate has more coverages in [0.70, 0.90] than the chosen one),
    and every world judged is a selection world, none a report world."""
    chosen = doc["tried"][doc["chosen"]]
    best = max(t["summary"]["share_in_range"] for t in doc["tried"].values())
    assert chosen["summary"]["share_in_range"] == best
    seeds = {int(w.rsplit(":", 1)[1]) for w in doc["worlds"]}
    assert seeds <= set(SELECTION_SEEDS) and not seeds & set(report_seeds(100))
    for t in doc["tried"].values():
        assert {k.split("/")[1] for k in t["coverage"]} <= {str(s) for s in seeds}


def test_interval_uses_the_settings_chosen_on_selection_worlds() -> None:
    from riskmodel.models import interval

    doc = json.loads(INTERVAL.read_text())
    chosen = doc["tried"][doc["chosen"]]
    assert doc["chosen_settings"] == {"weight_power": chosen["weight_power"],
                                      "scale": chosen["scale"]}
    assert (interval.WEIGHT_POWER, interval.SCALE) == (chosen["weight_power"],
                                                      chosen["scale"])
    _chosen_by_the_rule_on_selection_worlds(doc)


REFIT = ROOT / "benchmarks" / "selection" / "interval-refit.json"


def test_interval_refit_uses_the_settings_chosen_on_selection_worlds() -> None:
    from riskmodel.models import interval

    doc = json.loads(REFIT.read_text())
    chosen = doc["tried"][doc["chosen"]]
    keys = ("estimator", "months", "weight_power", "scale")
    assert doc["chosen_settings"] == {k: chosen[k] for k in keys}
    assert (interval.REFIT_ESTIMATOR, interval.REFIT_MONTHS, interval.REFIT_WEIGHT_POWER,
            interval.REFIT_SCALE) == tuple(chosen[k] for k in keys)
    assert doc["min_refit_windows"] == interval.MIN_REFIT_WINDOWS
    _chosen_by_the_rule_on_selection_worlds(doc)


def test_a_selection_record_keeps_its_document_and_says_when_and_where(tmp_path: Path
                                                                        ) -> None:
    import sys
    import time
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.selection.record import write_record

    out = tmp_path / "choice.json"
    write_record(out, {"chosen": "a", "tried": {"a": 1}}, time.perf_counter() - 2.0, 0.5)
    doc = json.loads(out.read_text())
    assert doc["chosen"] == "a" and doc["tried"] == {"a": 1} and doc["load_start"] == 0.5
    assert doc["seconds"] >= 2.0 and doc["cpus"] >= 1 and doc["date"].endswith("+00:00")


DIAGNOSIS = ROOT / "benchmarks" / "selection" / "interval-diagnosis.json"


def _diagnosis():
    import sys
    sys.path.insert(0, str(ROOT))
    from benchmarks.selection import interval_diagnosis
    return interval_diagnosis


def test_the_diagnosis_moment_spread_is_the_interval_estimator() -> None:
    import numpy as np

    from riskmodel.models import interval

    rng = np.random.default_rng(3)
    lam = rng.lognormal(-2.0, 1.0, 20_000)
    count = rng.poisson(lam * rng.lognormal(-0.18, 0.6, lam.size)).astype(float)
    member_sd = rng.uniform(0.0, 0.2, lam.size)
    fitted = interval.fit_interval(interval.probability(lam), member_sd, count,
                                   np.ones(lam.size), 0.8, bins=1, weight_power=1.0,
                                   scale=1.0)
    d = _diagnosis()
    risk = interval.probability(lam)
    assert abs(d.moment_spread(risk, count, member_sd, 1.0, 0.0) - fitted.sigma[0]) < 1e-9
    # leaving out the lowest rows reads fewer rows: a different figure, same estimator
    keep = lam >= np.quantile(lam, 0.5)
    top = interval.fit_interval(risk[keep], member_sd[keep],
                                count[keep], np.ones(int(keep.sum())), 0.8, bins=1,
                                weight_power=1.0, scale=1.0)
    assert abs(d.moment_spread(risk, count, member_sd, 1.0, 0.5) - top.sigma[0]) < 1e-9
    assert abs(top.sigma[0] - fitted.sigma[0]) > 1e-3


def test_the_diagnosis_truth_moment_recovers_a_log_normal_spread() -> None:
    import numpy as np

    rng = np.random.default_rng(4)
    lam = rng.lognormal(-1.0, 0.5, 400_000)
    s = 0.5
    lam_true = lam * np.exp(s * rng.standard_normal(lam.size) - s * s / 2)
    got = _diagnosis().truth_moment(lam, lam_true, np.zeros(lam.size))
    assert abs(got - s) < 0.02
    # the members' spread is taken off, as the estimator does
    with_members = _diagnosis().truth_moment(lam, lam_true, np.full(lam.size, 0.3))
    assert abs(with_members - np.sqrt(s * s - 0.09)) < 0.03


def test_the_interval_diagnosis_read_selection_worlds_and_the_deployed_refit() -> None:
    from riskmodel.models import interval

    doc = json.loads(DIAGNOSIS.read_text())
    seeds = {int(w.rsplit(":", 1)[1]) for w in doc["worlds"]}
    assert seeds <= set(SELECTION_SEEDS) and not seeds & set(report_seeds(100))
    deployed = doc["summary"]["decomposition"]["deployed"]
    assert deployed == _diagnosis().stem(interval.REFIT_ESTIMATOR, interval.REFIT_MONTHS,
                                         interval.REFIT_WEIGHT_POWER)
    assert deployed in json.loads((ROOT / "benchmarks" / "selection" / "interval-refit.json")
                                  .read_text())["monthly_spread_at_scale_1"]
    assert all(deployed in w and "window_truth" in w for w in doc["per_world"].values())
