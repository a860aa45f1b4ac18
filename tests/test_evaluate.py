"""`riskmodel evaluate` end to end on the tiny world: the JSON has exactly its fixed keys
per target, the figures are sane and tied to the world's truth, bad use fails clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from riskmodel.cli import COMMAND_MODULES, main
from riskmodel.models.evaluate import KEYS, window_probability
from tests.conftest import write_tiny_config

ISSUE_KEYS = {"auc", "oracle_auc", "pr_auc", "oracle_pr_auc", "precision_at_budget",
              "oracle_precision_at_budget", "ece", "interval_coverage",
              "auc_truth_standard_detection", "auc_truth_naive"}


def test_evaluate_tiny_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert "riskmodel.commands.evaluate" in COMMAND_MODULES
    # One LightGBM thread: on a shared runner two OpenMP threads can spin for each other.
    config = write_tiny_config(tmp_path, model={"n_estimators": 25, "ensemble": 2,
                                                "threads": 1})
    out, details = tmp_path / "eval.json", tmp_path / "details.json"
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--config", str(config), "--json", str(out), "--details",
              str(details), "--quiet"])
    assert info.value.code == 0
    result = json.loads(out.read_text())
    assert set(result) == {"fl", "cl"}
    assert set(KEYS) == ISSUE_KEYS
    for target, m in result.items():
        assert set(m) == ISSUE_KEYS, target
        assert all(isinstance(v, float) and np.isfinite(v) for v in m.values()), m
        for key in ("auc", "oracle_auc", "auc_truth_standard_detection", "auc_truth_naive"):
            assert 0.6 < m[key] <= 1.0, (target, key, m[key])  # far better than chance
        assert 0 < m["pr_auc"] <= m["oracle_pr_auc"] + 0.1
        assert 0 <= m["ece"] < 0.1
        assert 0 < m["interval_coverage"] <= 1
    d = json.loads(details.read_text())
    assert d["holdout"]["months"] == 24 and d["holdout"]["horizon"] == 3
    for target in ("fl", "cl"):
        rel = d[target]["reliability"]
        assert len(rel) == 10 and sum(r["rows"] for r in rel) == d[target]["rows"]
        assert d[target]["rows"] == 24 * d["holdout"]["cells"]
        assert d[target]["interval_width_median"] < 0.5  # not [0, 1]
        # One interval refit per held-out month, reading only windows closed by then.
        refits = d[target]["interval_refit"]
        assert len(refits) == 24
        assert [r["scored_month"] for r in refits] == sorted({r["scored_month"]
                                                              for r in refits})
        for r in refits:
            assert r["source"] in ("newest labelled months", "calibration fold")
            if r["months"]:
                assert r["months"][1] + 3 == r["scored_month"], r
        # The naive score is the model at actual coverage, the adjusted one at the
        # reference: the adjustment must move the ranking, and the model blind to
        # coverage is a third, separate fit.
        m = result[target]
        assert m["auc_truth_naive"] != m["auc_truth_standard_detection"]
        assert 0.6 < d[target]["auc_truth_without_coverage"] <= 1.0
        assert d[target]["auc_truth_without_coverage"] not in (
            m["auc_truth_naive"], m["auc_truth_standard_detection"])
    printed = capsys.readouterr().out
    assert "auc_truth_naive" in printed and "fl" in printed


def test_window_probability_is_the_oracle_formula() -> None:
    rate = np.full((6, 1, 2), 0.1)
    p = window_probability(rate, 3)
    np.testing.assert_allclose(p[:3], 1 - np.exp(-0.3))
    assert np.isnan(p[3:]).all()


def test_evaluate_names_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--config", str(tmp_path / "tiny.toml")])   # --json is optional
    assert info.value.code == 2
    assert str(tmp_path / "tiny.toml") in capsys.readouterr().err
    config = write_tiny_config(tmp_path, model={"bogus": 1})
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--config", str(config), "--json", str(tmp_path / "o.json")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "model.bogus: unknown key" in err and str(config) in err
    assert not (tmp_path / "o.json").exists()


def _judged(**override: np.ndarray) -> dict[str, float]:
    from riskmodel.models.evaluate import judge

    rng = np.random.default_rng(5)
    n = 2000
    true_any = (rng.random(n) < 0.2).astype(float)
    oracle = np.clip(0.05 + 0.3 * true_any + rng.normal(0, 0.02, n), 0.001, 0.999)
    y = (rng.random(n) < oracle).astype(float)
    args = {"y": y, "true_any": true_any, "oracle": oracle, "group": np.arange(n) // 200,
            "risk": rng.random(n), "lo": oracle - 0.05, "hi": oracle + 0.05,
            "risk_std": true_any + rng.normal(0, 0.1, n)}
    args.update(override)
    return judge(**args)


def test_judge_keeps_standard_detection_and_naive_apart() -> None:
    """The standard-detection score here ranks true incidence almost perfectly, the naive
    one at chance: a swap of the two scores in `judge` fails this."""
    m = _judged()
    assert m["auc_truth_standard_detection"] > 0.95
    assert abs(m["auc_truth_naive"] - 0.5) < 0.05


def test_interval_coverage_is_against_the_oracle_probability() -> None:
    """Intervals that hold the true probability cover fully; judged against the 0/1 label
    they would miss every positive (no interval reaches 1)."""
    m = _judged()
    assert m["interval_coverage"] == 1.0
    lo = np.full(2000, 0.6)
    assert _judged(lo=lo, hi=lo + 0.1)["interval_coverage"] == 0.0
