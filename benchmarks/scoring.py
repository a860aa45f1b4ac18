"""Nightly scoring at scale: `riskmodel score` (block-wise, from a Zarr store) vs a
straightforward peer.

Usage: python benchmarks/scoring.py --config configs/global-0p1.toml --json OUT.json
       [--as-of YYYY-MM] [--dask local|tcp://HOST:PORT]

Steps (each timed; generation and training are reported apart, never in `wall_s`):
1. generate: the config's [scale] inputs store, written by `riskmodel store` if absent;
2. train: the models of the config (or of its `[scale] models_from`) if not registered,
   with `riskmodel train`;
3. ours: `riskmodel score` in child processes, with the run folders and alert store in a
   temporary folder: input checks, features and scores block by block, drivers by the
   driver rule, risk.nc, alerts, targeting and report (stages from its manifest). Two
   nights on one alert store: the first, for the month before --as-of, also backfills the
   months the alert rules' persistence needs (it scores three months; `first_night`);
   the second, --as-of itself, is a night as every later one runs (one month scored), and
   gives `wall_s` and `peak_rss_gib`. `peer_over_ours` compares it with the peer, which
   scores that one month too; `peer_over_first_night` is reported beside;
4. peer: in another child, what a data scientist would write: load the whole store into
   memory, build the feature cube with plain numpy/scipy (the kernels' reference twins,
   `kernels/reference.py`: shifted-array windows, groupby-style calendar slots, shifted
   neighbourhoods), select the month, `to_dataframe()`, keep land rows, LightGBM `predict`
   per target and `pred_contrib` for the same cells as the driver rule. Three kernels keep
   our compiled version in the peer (`ewm_mean`, `trend`, `spi`): their twins loop over
   cells in Python (24 million gamma fits for SPI on the global grid), which no one would
   run at scale; so the peer is faster than a naive one;
5. check: both give the same risk for every land cell (max abs difference and share of
   cells differing by more than 1e-6 reported; the reference twins agree with the
   kernels within float rounding, which can move a LightGBM split).

The JSON holds {"land_cells", "months", "wall_s", "peak_rss_gib",
"peer_wall_s", "peer_peak_rss_gib", "stages": {...}} plus the check, the machine's load and
the generation and training times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Kernels whose reference twin is a per-cell Python loop: the peer keeps ours for them.
PEER_COMPILED = ("ewm_mean", "trend", "spi")


def _peak_gib() -> float:
    """Peak resident memory of this process in GiB: VmHWM, which starts afresh at exec.

    (`ru_maxrss` does not: Linux carries it across exec, so a child started by a parent
    that held 1.7 GB reports at least 1.7 GB whatever it does itself.)
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0 ** 2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 ** 2


def _store(config: str) -> str:
    """The config's [scale] inputs store; the benchmark needs one."""
    from riskmodel.config import load_config

    path = load_config(config).scale.inputs
    if not path:
        raise SystemExit(f"{config}: the benchmark needs a [scale] inputs store")
    return path


def _nights(config: str, as_of: str | None) -> tuple[str, str | None]:
    """The night to time (`as_of`, else the config's, else the store's latest month) and
    the month before it (the first night; None at the store's first month), as YYYY-MM."""
    from riskmodel.config import load_config
    from riskmodel.pipeline import month_index, month_label
    from riskmodel.scale.store import open_inputs

    cfg = load_config(config)
    inputs = open_inputs(_store(config))
    i = month_index(inputs, as_of or cfg.as_of)
    return month_label(inputs, i), (month_label(inputs, i - 1) if i > 0 else None)


def _run_config(config: str, out: Path) -> Path:
    """A copy of `config` whose runs and alert store lie in `out`, reading the same store
    and registry (absolute paths)."""
    from riskmodel.config import load_config, redirected_config

    cfg = load_config(config)
    scale = {"inputs": str(Path(_store(config)).resolve())}
    if cfg.scale.models_from:
        scale["models_from"] = str(Path(cfg.scale.models_from).resolve())
    return redirected_config(config, out, {"model": {"registry": str(
        Path(cfg.model.registry).resolve())}, "scale": scale})


def run_ours(config: str, as_of: str, out: Path, dask: str | None) -> dict:
    """`riskmodel score` in this process; its risk of every cell saved beside."""
    import xarray as xr

    from riskmodel.cli import build_parser

    argv = ["score", "--config", str(_run_config(config, out)), "--as-of", as_of, "--quiet"]
    args = build_parser().parse_args(argv + (["--dask", dask] if dask else []))
    t = time.perf_counter()
    code = args.handler(args)
    wall = time.perf_counter() - t
    if code:
        raise SystemExit(f"riskmodel score exited {code}")
    run_dir = next((out / "runs").glob(f"*/{as_of}"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    with xr.open_dataset(run_dir / "risk.nc") as risk:
        np.save(out / "ours.npy", risk["risk"].values[:, 0])
        land = np.isfinite(risk["risk"].values[:, 0])
        explained = int(((risk["driver_feature"].values[:, 0, 0] >= -1) & land).sum())
    return {"wall_s": round(wall, 2), "peak_rss_gib": round(_peak_gib(), 3),
            "stages": manifest["timings_s"], "peak_mib_by_stage":
            manifest["peak_rss_mib_by_stage"], "explained_share": round(explained / land.sum(), 4)}


def run_peer(config: str, as_of: str, out: Path) -> dict:
    """The straightforward peer: everything in memory, plain numpy/scipy features, one
    DataFrame, LightGBM predict and pred_contrib."""
    import kernels
    from kernels.registry import KERNELS

    for spec in KERNELS:  # the plain numpy/scipy twins, where they are vectorised
        if spec.name not in PEER_COMPILED:
            setattr(kernels, spec.name, spec.reference)

    import features
    from riskmodel.config import load_config
    from riskmodel.models.registry import load_model, model_dir
    from riskmodel.models.table import land_cells
    from riskmodel.pipeline import driver_rule, model_config, month_index
    from riskmodel.scale.store import open_inputs
    from riskmodel.scoring import admin1_sample
    from riskmodel.training import model_id

    cfg = load_config(config)
    owner = model_config(cfg)
    stages = {}
    t0 = t = time.perf_counter()
    inputs = open_inputs(_store(config)).load()
    stages["load"] = time.perf_counter() - t
    t = time.perf_counter()
    cube = features.build_cube(inputs)
    stages["features"] = time.perf_counter() - t
    month = month_index(inputs, as_of)
    names = tuple(str(n) for n in cube.data_vars)
    t = time.perf_counter()
    frame = (cube.isel(time=month).assign(country_id=inputs["country_id"],
                                          admin1_id=inputs["admin1_id"]).to_dataframe())
    frame = frame[frame["country_id"] >= 0]
    stages["dataframe"] = time.perf_counter() - t
    t = time.perf_counter()
    ny, nx = inputs.sizes["lat"], inputs.sizes["lon"]
    risk = np.full((len(cfg.targets), ny * nx), np.nan, np.float32)
    rows = land_cells(inputs["country_id"].values)
    rule = driver_rule(cfg)
    sampled = admin1_sample(inputs["admin1_id"].values, rule)[rows]
    for k, target in enumerate(cfg.targets):
        folder = model_dir(owner.model.registry, target, model_id(owner, target, names))
        registered = load_model(folder, features=names, threads=cfg.model.threads)
        model = registered.estimator
        X = frame[list(names)].to_numpy(np.float32, copy=True)
        for name, value in registered.reference_values.items():
            X[:, names.index(name)] = value
        risk[k, rows] = model.predict_interval(X)[0]
        # the drivers: LightGBM's TreeSHAP of member 0 on every explained row, as one calls
        # it (ours asks it once per distinct path of each tree, riskmodel.models.contrib)
        member = model.boosters_[0]
        member.predict(X[sampled | (risk[k, rows] >= rule.min_risk)], pred_contrib=True,
                       num_iteration=member.best_iteration or None,
                       num_threads=cfg.model.threads)
    stages["predict"] = time.perf_counter() - t
    np.save(out / "peer.npy", risk.reshape(len(cfg.targets), ny, nx))
    return {"wall_s": round(time.perf_counter() - t0, 2), "peak_rss_gib":
            round(_peak_gib(), 3), "stages": {k: round(v, 2) for k, v in stages.items()}}


def prepare(config: str) -> dict:
    """Generate the store if absent and train missing models (of `[scale] models_from`
    when set); return the times and the world's size."""
    from riskmodel.config import load_config
    from riskmodel.pipeline import model_config, models_registered
    from riskmodel.scale.store import open_inputs

    cfg = load_config(config)
    store = _store(config)
    out: dict = {}
    if not Path(store).exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "riskmodel", "store", "--config", config],
                       check=True)
        out["generation_s"] = round(time.perf_counter() - t, 1)
    inputs = open_inputs(store)
    owner = model_config(cfg)
    t = time.perf_counter()
    if not models_registered(cfg, owner, inputs):
        source = cfg.scale.models_from or config
        subprocess.run([sys.executable, "-m", "riskmodel", "train", "--config", source,
                        "--quiet"], check=True)
    out["train_s"] = round(time.perf_counter() - t, 1)
    out.update(land_cells=int((inputs["country_id"].values >= 0).sum()),
               months=int(inputs.sizes["time"]))
    return out


def peer_gib(config: str) -> float:
    """Memory the peer needs at least (GiB): every input loaded, plus the whole feature
    cube (features x time x lat x lon float32)."""
    import features
    from riskmodel.scale.store import open_inputs

    inputs = open_inputs(_store(config))
    cells = inputs.sizes["time"] * inputs.sizes["lat"] * inputs.sizes["lon"]
    loaded = sum(v.size * v.dtype.itemsize for v in inputs.variables.values())
    return (loaded + len(features.plan_features(inputs)[0]) * cells * 4) / 1024.0 ** 3


def child(role: str, config: str, as_of: str, out: Path, dask: str | None) -> dict:
    """Run `role` in a fresh process so each peak RSS is its own."""
    cmd = [sys.executable, __file__, "--config", config, "--role", role, "--out", str(out),
           "--as-of", as_of] + (["--dask", dask] if dask else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(f"{role} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    """Prepare, run ours and the peer in child processes, check, and report JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--as-of", metavar="YYYY-MM")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                    help="run ours with `riskmodel score --dask` (the peer stays in-process)")
    ap.add_argument("--peer-max-gib", type=float, default=8.0,
                    help="skip the peer when it needs more memory than this (default 8)")
    ap.add_argument("--role", choices=("ours", "peer"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "ours":
        print(json.dumps(run_ours(args.config, args.as_of, args.out, args.dask)))
        return 0
    if args.role == "peer":
        print(json.dumps(run_peer(args.config, args.as_of, args.out)))
        return 0
    record = {"config": args.config, "dask": args.dask, "machine": platform.machine(),
              "cpus": os.cpu_count(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              **prepare(args.config)}
    as_of, previous = _nights(args.config, args.as_of)
    with tempfile.TemporaryDirectory() as tmp:
        # Two nights on one alert store: the first (the month before as-of) also backfills
        # the months the alert rules' persistence needs; the second, at as-of, is a night
        # as it runs from then on (one month scored), the same work as the peer's.
        record["load_before"] = os.getloadavg()
        first = None
        if previous is not None:
            first = child("ours", args.config, previous, Path(tmp), args.dask)
        record["load_after_first_night"] = os.getloadavg()
        ours = child("ours", args.config, as_of, Path(tmp), args.dask)
        record["load_after_ours"] = os.getloadavg()
        need = peer_gib(args.config)
        peer = None
        if need <= args.peer_max_gib:
            peer = child("peer", args.config, as_of, Path(tmp), None)
            record["load_after_peer"] = os.getloadavg()
            a, b = np.load(Path(tmp) / "ours.npy"), np.load(Path(tmp) / "peer.npy")
    record.update({
        "as_of": as_of, "wall_s": ours["wall_s"], "peak_rss_gib": ours["peak_rss_gib"],
        "explained_share": ours["explained_share"], "stages": {"ours": ours["stages"]},
        "peak_mib_by_stage": ours["peak_mib_by_stage"],
        "peer_wall_s": None, "peer_peak_rss_gib": None, "peer_min_gib": round(need, 1)})
    if first is not None:
        record.update({"first_night": {"as_of": previous, "wall_s": first["wall_s"],
                                       "peak_rss_gib": first["peak_rss_gib"],
                                       "stages": first["stages"]}})
    if peer is None:
        record["peer_skipped"] = (f"the peer holds every input and the whole feature cube "
                                  f"in memory, at least {need:.1f} GiB, above "
                                  f"--peer-max-gib {args.peer_max_gib:g}")
    else:
        diff = np.abs(a - b)
        record.update({
            "peer_wall_s": peer["wall_s"], "peer_peak_rss_gib": peer["peak_rss_gib"],
            "peer_over_ours": round(peer["wall_s"] / ours["wall_s"], 2),
            "peer_over_first_night": (round(peer["wall_s"] / first["wall_s"], 2)
                                      if first is not None else None),
            "max_abs_risk_diff": float(np.nanmax(diff)),
            "share_cells_diff_gt_1e-6": float(np.mean(diff[np.isfinite(diff)] > 1e-6)),
            "same_land_cells": bool(np.array_equal(np.isnan(a), np.isnan(b)))})
        record["stages"]["peer"] = peer["stages"]
    print(json.dumps(record, indent=2))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
