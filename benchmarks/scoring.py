"""Nightly scoring at scale: block-wise scoring from a Zarr store vs a straightforward peer.

Usage: python benchmarks/scoring.py --config configs/global-0p1.toml --json OUT.json
       [--as-of YYYY-MM]

Steps (each timed; generation and training are reported apart, never in `wall_s`):
1. generate: the config's world, written to its [scale] inputs Zarr store if absent;
2. train: the registered models for the config (trained if missing);
3. ours: `python -m riskmodel.scale score` in a child process (blocks over space, features
   per bordered block, LightGBM scores, risk.nc written) — wall time and peak RSS;
4. peer: in another child, what a data scientist would write: load the whole store into
   memory, build the feature cube for the whole grid (the same catalogue), select the
   month, `to_dataframe()`, keep land rows, LightGBM `predict` per target;
5. check: both give the same risk for every land cell (max abs difference reported).

The JSON follows the issue's contract: {"land_cells", "months", "wall_s", "peak_rss_gib",
"peer_wall_s", "peer_peak_rss_gib", "stages": {...}} plus the check and generation time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

def _peak_gib() -> float:
    """Peak resident memory of this process in GiB: VmHWM, which starts afresh at exec.

    (`ru_maxrss` does not: Linux carries it across exec, so a child started by a parent
    that held 1.7 GB reports at least 1.7 GB whatever it does itself.)
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0 ** 2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 ** 2


def run_ours(config: str, as_of: str | None, out: Path, models_from: str | None) -> dict:
    """Block-wise scoring through the CLI code path; risk of every cell saved beside."""
    import xarray as xr

    from riskmodel.scale.cli import score_command

    t = time.perf_counter()
    path, stages = score_command(config, as_of, None, str(out), quiet=True,
                                 models_from=models_from)
    wall = time.perf_counter() - t
    with xr.open_dataset(path) as risk:
        np.save(out / "ours.npy", risk["risk"].values[:, 0])
    return {"wall_s": round(wall, 2), "peak_rss_gib": round(_peak_gib(), 3),
            "stages": stages}


def run_peer(config: str, as_of: str | None, out: Path, models_from: str | None) -> dict:
    """The straightforward peer: everything in memory, one DataFrame, LightGBM predict."""
    import features
    from riskmodel.config import load_config
    from riskmodel.models.registry import load_model, model_dir
    from riskmodel.pipeline import month_index
    from riskmodel.scale.store import open_inputs
    from riskmodel.training import model_id

    cfg = load_config(config)
    mcfg = load_config(models_from or config)
    stages = {}
    t0 = t = time.perf_counter()
    inputs = open_inputs(cfg.scale.inputs).load()
    stages["load"] = time.perf_counter() - t
    t = time.perf_counter()
    cube = features.build_cube(inputs)
    stages["features"] = time.perf_counter() - t
    month = month_index(inputs, as_of)
    names = tuple(cube.data_vars)
    t = time.perf_counter()
    frame = (cube.isel(time=month).assign(country_id=inputs["country_id"])
             .to_dataframe())
    frame = frame[frame["country_id"] >= 0]
    stages["dataframe"] = time.perf_counter() - t
    t = time.perf_counter()
    ny, nx = inputs.sizes["lat"], inputs.sizes["lon"]
    risk = np.full((len(cfg.targets), ny * nx), np.nan, np.float32)
    rows = np.flatnonzero(inputs["country_id"].values.ravel() >= 0)
    for k, target in enumerate(cfg.targets):
        folder = model_dir(mcfg.model.registry, target, model_id(mcfg, target, names))
        model, meta = load_model(folder, features=names, threads=cfg.model.threads)
        X = frame[list(names)].to_numpy(np.float32, copy=True)
        for name, value in meta.get("reference_values", {}).items():
            X[:, names.index(name)] = value
        risk[k, rows] = model.predict_interval(X)[0]
        model.predict_contrib(X)  # the drivers every nightly score carries
    stages["predict"] = time.perf_counter() - t
    np.save(out / "peer.npy", risk.reshape(len(cfg.targets), ny, nx))
    return {"wall_s": round(time.perf_counter() - t0, 2), "peak_rss_gib":
            round(_peak_gib(), 3), "stages": {k: round(v, 2) for k, v in stages.items()}}


def prepare(config: str, models_from: str | None) -> dict:
    """Generate and store the world if absent and train missing models (of `models_from`
    when given, which must already be registered); times apart."""
    import features
    from riskmodel.config import load_config
    from riskmodel.scale.store import open_inputs, write_inputs
    from riskmodel.training import ensure_model
    from riskmodel.world import make_world

    cfg = load_config(config)
    if not cfg.scale.inputs:
        raise SystemExit(f"{config}: the benchmark needs a [scale] inputs store")
    out: dict = {}
    inputs = None
    if not Path(cfg.scale.inputs).exists():
        t = time.perf_counter()
        inputs = make_world(cfg.world, cfg.seed)
        write_inputs(inputs, cfg.scale.inputs, chunk=cfg.scale.block)
        out["generation_s"] = round(time.perf_counter() - t, 1)
    inputs = open_inputs(cfg.scale.inputs) if inputs is None else inputs
    t = time.perf_counter()
    cube = None
    for target in cfg.targets if models_from is None else ():
        from riskmodel.models.registry import model_dir
        from riskmodel.training import model_id

        names = tuple(features.plan_features(inputs)[0])
        if model_dir(cfg.model.registry, target, model_id(cfg, target, names)).exists():
            continue
        if cube is None:
            inputs = inputs.load()
            cube = features.build_cube(inputs)
        ensure_model(cfg, inputs, cube, target)
    out["train_s"] = round(time.perf_counter() - t, 1)
    land = int((open_inputs(cfg.scale.inputs)["country_id"].values >= 0).sum())
    out.update(land_cells=land, months=int(inputs.sizes["time"]))
    return out


def child(role: str, config: str, as_of: str | None, out: Path,
          models_from: str | None) -> dict:
    """Run `role` in a fresh process so each peak RSS is its own."""
    cmd = [sys.executable, __file__, "--config", config, "--role", role, "--out", str(out)]
    if as_of:
        cmd += ["--as-of", as_of]
    if models_from:
        cmd += ["--models-from", models_from]
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
    ap.add_argument("--models-from", metavar="TOML",
                    help="score with the models registered for this config (same features)")
    ap.add_argument("--role", choices=("ours", "peer"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        fn = run_ours if args.role == "ours" else run_peer
        print(json.dumps(fn(args.config, args.as_of, args.out, args.models_from)))
        return 0
    record = {"config": args.config, "models_from": args.models_from,
              **prepare(args.config, args.models_from)}
    with tempfile.TemporaryDirectory() as tmp:
        ours = child("ours", args.config, args.as_of, Path(tmp), args.models_from)
        peer = child("peer", args.config, args.as_of, Path(tmp), args.models_from)
        a, b = np.load(Path(tmp) / "ours.npy"), np.load(Path(tmp) / "peer.npy")
    diff = float(np.nanmax(np.abs(a - b)))
    record.update({
        "wall_s": ours["wall_s"], "peak_rss_gib": ours["peak_rss_gib"],
        "peer_wall_s": peer["wall_s"], "peer_peak_rss_gib": peer["peak_rss_gib"],
        "peer_over_ours": round(peer["wall_s"] / ours["wall_s"], 2),
        "stages": {"ours": ours["stages"], "peer": peer["stages"]},
        "max_abs_risk_diff": diff, "same_scores": bool(diff <= 1e-6 and np.array_equal(
            np.isnan(a), np.isnan(b))),
    })
    print(json.dumps(record, indent=2))
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
