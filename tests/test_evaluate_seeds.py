"""Multi-seed evaluation: the seed protocol, the summaries and the command."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riskmodel.errors import ConfigError
from riskmodel.models.seeds import (
    SELECTION_SEEDS,
    median_interval,
    report_seeds,
    seed_figures,
    summarise,
)


def test_report_and_selection_seeds_never_meet() -> None:
    assert not set(report_seeds(1000)) & set(SELECTION_SEEDS)
    with pytest.raises(ConfigError):
        report_seeds(0)


def test_median_interval_order_statistics() -> None:
    x = np.arange(10.0)[::-1]        # order must not matter
    lo, hi, cov = median_interval(x)
    # n = 10: x(2), x(9) cover the median with 1 - 2 * 11/1024; x(3), x(8) only 0.891
    assert (lo, hi) == (1.0, 8.0)
    assert cov == pytest.approx(1 - 2 * 11 / 1024)
    lo, hi, cov = median_interval([3.0, 1.0])
    assert (lo, hi) == (1.0, 3.0) and cov == pytest.approx(0.5)
    # the stated coverage is the true one: simulate draws around a known median
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(4000):
        lo, hi, cov = median_interval(rng.normal(size=10))
        hits += lo <= 0.0 <= hi
    assert hits / 4000 == pytest.approx(cov, abs=0.015)


def _result(auc: float, oracle: float, sd: float, naive: float, blind: float) -> dict:
    m = {"auc": auc, "oracle_auc": oracle, "precision_at_budget": 0.3,
         "oracle_precision_at_budget": 0.4, "auc_truth_standard_detection": sd,
         "auc_truth_naive": naive}
    return {"metrics": {"fl": m}, "details": {"fl": {"auc_truth_without_coverage": blind}}}


def test_seed_figures_keep_naive_and_standard_detection_apart() -> None:
    f = seed_figures(_result(0.8, 0.9, 0.86, 0.84, 0.85))["fl"]
    assert f["auc_ratio_chance_corrected"] == pytest.approx(0.3 / 0.4)
    assert f["auc_ratio"] == pytest.approx(0.8 / 0.9)
    assert f["precision_ratio"] == pytest.approx(0.75)
    assert f["sd_minus_naive"] == pytest.approx(0.02)
    assert f["sd_minus_without_coverage"] == pytest.approx(0.01)


def test_summarise_counts_wins_per_seed() -> None:
    per_seed = [seed_figures(_result(0.8, 0.9, 0.86, naive, 0.87))
                for naive in (0.80, 0.81, 0.90, 0.82)]
    s = summarise(per_seed)["fl"]
    assert s["share_sd_beats_naive"] == 0.75
    assert s["share_sd_beats_without_coverage"] == 0.0
    assert s["sd_minus_naive"]["median"] == pytest.approx(np.median([0.06, 0.05, -0.04,
                                                                      0.04]))
    assert s["auc"]["n"] == 4 and not math.isnan(s["auc"]["median_lo"])


@pytest.mark.slow
def test_evaluate_seeds_command(tmp_path: Path) -> None:
    out = tmp_path / "seeds.json"
    r = subprocess.run([sys.executable, "-m", "riskmodel", "evaluate", "--config",
                        "configs/tiny.toml", "--seeds", "2", "--json", str(out), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["seeds"] == [1, 2] and doc["seed_set"] == "report"
    assert [row["seed"] for row in doc["per_seed"]] == [1, 2]
    # the worlds differ by seed, so do their figures
    assert doc["per_seed"][0]["fl"]["auc"] != doc["per_seed"][1]["fl"]["auc"]
    for target in ("fl", "cl"):
        f = doc["summary"][target]["auc_ratio_chance_corrected"]
        assert f["median_lo"] <= f["median"] <= f["median_hi"]
    assert "standard detection beats naive" in r.stdout
