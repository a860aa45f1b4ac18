"""The rows an interval method is chosen and judged on, one world at a time, cached.

An interval method (`riskmodel.models.interval`) is fitted on the calibration fold of a
trained model and judged on the held-out months of `riskmodel evaluate` against the world's
probability of the label. Both need only the fitted model's predictions, so this module
fits the product model of each target once per (preset, seed), exactly as
`riskmodel.models.evaluate` does, and keeps per row:

- calibration fold (what a method may be fitted on): `cal_risk`, `cal_sd` (members'
  log-odds spread), `cal_count` (identified cases in the label window), `cal_weight`,
  `cal_month`, `cal_cell`; and `cal_oracle`, the world's probability of the label, which
  no method may read (kept to diagnose what a method gets wrong);
- held-out rows: `test_risk`, `test_sd`, `test_oracle`, `test_month`, `test_cell`, and the
  same at standard detection (`std_risk`, `std_sd`, `std_truth`);
- labelled rows a refit at scoring may read (`riskmodel.models.interval.refit_interval`):
  every land cell of the `LABELLED_BEFORE` months before the held-out period and of the
  held-out months, at actual coverage, with the identified cases of each row's window:
  `seq_risk`, `seq_sd`, `seq_count`, `seq_month` (a refit for month m reads only rows
  with month + H <= m); and `seq_oracle`, their probability of the label, which no
  method may read (a diagnosis: how well the months a refit reads stand for the months
  it scores).

Arrays go to `<cache>/<preset>-<seed>-<target>.npz`; a cached file is reused, so choosing
among methods costs no refit (a file from before `seq_oracle` was kept gets it added from
the regenerated world, without refitting). The cache is scratch data, not a result.
"""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import numpy as np

import features
from riskmodel.config import load_config
from riskmodel.io.atomic import write_with
from riskmodel.models.evaluate import _rows, holdout_split, window_probability
from riskmodel.models import interval
from riskmodel.models.metrics import interval_coverage
from riskmodel.models.fitting import (
    COVERAGE_FEATURE,
    fit_model,
    reference_values,
    training_table,
)
from riskmodel.models.labels import future_sum
from riskmodel.models.table import feature_rows, land_cells
from riskmodel.world import make_world
from riskmodel.world.truth import detection_probability

ROOT = Path(__file__).resolve().parents[2]
# Months before the held-out period kept as labelled rows: the most a refit reads (48
# months, the longest window select_interval_refit.py tries, plus the horizon).
LABELLED_BEFORE = 51
KEYS = ("cal_risk", "seq_risk")   # a cached file without these is from an older layout


def band_coverage(a: dict[str, np.ndarray], prefix: str, spread: float,
                  nominal: float = 0.8) -> float:
    """Coverage of the `prefix` rows' ("cal" or "test") oracle probabilities by the
    `nominal` band of one constant residual spread around their scores."""
    band = interval.IntervalCalibration(nominal, np.zeros(1), np.array([spread]))
    lo, hi = interval.predict_band(a[f"{prefix}_risk"], a[f"{prefix}_sd"], band)
    return interval_coverage(a[f"{prefix}_oracle"], lo, hi)


def covering_spread(a: dict[str, np.ndarray], prefix: str, nominal: float = 0.8) -> float:
    """The constant residual spread whose band covers `nominal` of the `prefix` rows'
    oracle probabilities (a diagnosis: it reads the truth). Coverage grows with the spread
    up to z (beyond it the band's upper end, centred at log L_hat - s^2 / 2, falls back
    towards the score), so it is bisected on [0, z], 40 halvings."""
    lo, hi = 0.0, NormalDist().inv_cdf(0.5 + nominal / 2)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if band_coverage(a, prefix, mid, nominal) < nominal else (lo, mid)
    return hi


def _grid_rows(grid: np.ndarray, month: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Values of a (time, lat, lon) array at rows (month, flat cell)."""
    return grid.reshape(grid.shape[0], -1)[month, cell]


def _oracle_grid(world, target: str, horizon: int) -> np.ndarray:
    """The world's probability of the label of `target`, (time, lat, lon)."""
    rate = np.nan_to_num(world[f"true_rate_{target}"].values.astype(np.float64))
    detect = np.nan_to_num(world["detection_prob"].values.astype(np.float64))
    return window_probability(rate * detect, horizon)


def _months(world, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out months, labelled months `seq_*` rows are read at)."""
    months = holdout_split(world.sizes["time"], horizon).test_months
    return months, np.arange(months[0] - LABELLED_BEFORE, months[-1] + 1)


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a cache file whole or not at all (a stopped run leaves the old one)."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file handle: savez would add ".npz" to the name
            np.savez_compressed(f, **arrays)

    write_with(path, write, durable=False)


def _with_window_oracle(cfg, loaded: dict[str, dict[str, np.ndarray]],
                        paths: dict[str, Path]) -> dict[str, dict[str, np.ndarray]]:
    """Cached arrays of an older layout with `seq_oracle` added from the regenerated world
    (no model is fitted: the oracle depends on the world only)."""
    world = make_world(cfg.world, cfg.seed)
    horizon = cfg.model.horizon
    _, seq_months = _months(world, horizon)
    cells = land_cells(world["country_id"].values)
    for target, a in loaded.items():
        oracle = _rows(_oracle_grid(world, target, horizon), seq_months, cells)
        if len(oracle) != len(a["seq_month"]):
            raise ValueError(f"{paths[target]}: {len(a['seq_month'])} labelled rows, the "
                             f"regenerated world has {len(oracle)}")
        a["seq_oracle"] = oracle
        _save(paths[target], a)
    return loaded


def collect(preset: str, seed: int, cache: Path) -> dict[str, dict[str, np.ndarray]]:
    """{target: arrays} of one world (module docstring), from the cache when present."""
    cfg = load_config(ROOT / "configs" / "scenarios" / f"{preset}.toml")
    cfg = cfg.model_copy(update={"seed": int(seed)})
    paths = {t: cache / f"{preset}-{seed}-{t}.npz" for t in cfg.targets}
    if all(p.exists() for p in paths.values()):
        loaded = {t: dict(np.load(p)) for t, p in paths.items()}
        if all(k in a for a in loaded.values() for k in KEYS) and all(
                len(np.unique(a["seq_month"])) - len(np.unique(a["test_month"]))
                >= LABELLED_BEFORE for a in loaded.values()):
            if all("seq_oracle" in a for a in loaded.values()):
                return loaded
            return _with_window_oracle(cfg, loaded, paths)
    world = make_world(cfg.world, cfg.seed)
    cube = features.build_cube(world)
    horizon = cfg.model.horizon
    split = holdout_split(world.sizes["time"], horizon)
    names = tuple(str(n) for n in cube.data_vars)
    cells = land_cells(world["country_id"].values)
    months, seq_months = _months(world, horizon)
    X_test = feature_rows(cube, names, months, cells)
    X_pre = feature_rows(cube, names, seq_months[:LABELLED_BEFORE], cells)
    out: dict[str, dict[str, np.ndarray]] = {}
    for target in cfg.targets:
        table = training_table(cfg, world, cube, target, names, split.train_months)
        model = fit_model(cfg, table, target)
        rate = np.nan_to_num(world[f"true_rate_{target}"].values.astype(np.float64))
        oracle_grid = _oracle_grid(world, target, horizon)
        cal = np.isin(table.month, model.folds_.calibration)
        logits = model._member_logits(table.X[cal])
        ref = reference_values(cfg, table)
        X_std = X_test.copy()
        X_std[:, names.index(COVERAGE_FEATURE)] = ref[COVERAGE_FEATURE]
        test_logits = model._member_logits(X_test)
        std_logits = model._member_logits(X_std)
        detect_ref = detection_probability(np.asarray(ref[COVERAGE_FEATURE]))
        pre_logits = model._member_logits(X_pre)
        seq_logits = np.concatenate([pre_logits, test_logits], axis=1)
        counts = future_sum(world[f"identified_{target}"].values, horizon)
        arrays = {
            "cal_risk": model._calibrate(logits.mean(0)), "cal_sd": logits.std(0),
            "cal_count": table.count[cal], "cal_weight": table.weight[cal],
            "cal_month": table.month[cal], "cal_cell": table.cell[cal],
            "cal_oracle": _grid_rows(oracle_grid, table.month[cal], table.cell[cal]),
            "test_risk": model._calibrate(test_logits.mean(0)), "test_sd": test_logits.std(0),
            "test_oracle": _rows(oracle_grid, months, cells),
            "test_month": np.repeat(months, len(cells)),
            "test_cell": np.tile(cells, len(months)),
            "std_risk": model._calibrate(std_logits.mean(0)), "std_sd": std_logits.std(0),
            "std_truth": _rows(window_probability(rate * detect_ref, horizon), months, cells),
            "seq_risk": model._calibrate(seq_logits.mean(0)), "seq_sd": seq_logits.std(0),
            "seq_count": _rows(counts, seq_months, cells),
            "seq_month": np.repeat(seq_months, len(cells)),
            "seq_oracle": _rows(oracle_grid, seq_months, cells),
        }
        _save(paths[target], arrays)
        out[target] = arrays
    return out
