"""End-to-end timings of `riskmodel run` (per stage) on the real world and on the synthetic
demo, and of a `riskmodel backtest`.

    python benchmarks/pipeline.py --json OUT.json        # real + demo runs, demo backtest
    python benchmarks/pipeline.py --quick --json OUT.json  # tiny configs, a smoke test

The real-world run (configs/real.toml) is run twice in the same folder: the second run must
leave `risk.nc` byte-identical (recorded as `rerun_identical`), and its time is the peer the
real run is compared with in the same session, beside the demo run (`real_over_demo`).

Each command runs in its own process, as a user runs it, from the repository root with a
temporary copy of its config whose output folders (runs, model registry, alert store) point
into a temporary folder, so nothing in the working tree changes and `riskmodel run` always
trains (an empty registry). Stage timings and peak memory come from the commands' own
progress lines (`stage=NAME status=done seconds=S peak_rss_mib=M`); wall time and the
process's peak resident memory are measured here. The machine's load average is recorded
before and after each command: on a shared machine it explains slow numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from riskmodel.config import redirected_config

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"stage=(?P<name>.+?) status=done seconds=(?P<s>[\d.]+) "
                   r"peak_rss_mib=(?P<m>[\d.]+)")
CONFIGS = {"full": ("configs/demo.toml", "configs/backtest.toml"),
           "quick": ("configs/tiny.toml", "configs/backtest-tiny.toml")}
REAL_CONFIG = "configs/real.toml"


def timed(argv: list[str]) -> dict[str, Any]:
    """Run `riskmodel argv` in a child process; wall time, stages, peak memory, load."""
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "riskmodel", *argv], cwd=ROOT,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"riskmodel {' '.join(argv)} failed ({proc.returncode}):\n"
                         f"{proc.stderr[-2000:]}")
    stages = {m["name"]: {"seconds": float(m["s"]), "peak_rss_mib": float(m["m"])}
              for m in STAGE.finditer(proc.stderr)}
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"argv": argv, "wall_s": round(wall, 2), "stages": stages,
            "peak_rss_mib_any_child": round(peak_child, 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", required=True, metavar="OUT.json")
    p.add_argument("--quick", action="store_true", help="tiny configs (a smoke test)")
    args = p.parse_args(argv)
    run_config, backtest_config = CONFIGS["quick" if args.quick else "full"]
    results: dict[str, Any] = {
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")},
    }
    with tempfile.TemporaryDirectory(prefix="riskmodel-bench-") as tmp:
        folder = Path(tmp)
        if not args.quick:
            (folder / "real").mkdir()
            real_cfg = redirected_config(ROOT / REAL_CONFIG, folder / "real")
            first = timed(["run", "--config", str(real_cfg)])
            risk = next((folder / "real" / "runs").glob("*/*/risk.nc"))
            digest = hashlib.sha256(risk.read_bytes()).hexdigest()
            again = timed(["run", "--config", str(real_cfg)])
            results["real"] = {"config": REAL_CONFIG, **first,
                               "rerun_wall_s": again["wall_s"],
                               "rerun_identical": hashlib.sha256(
                                   risk.read_bytes()).hexdigest() == digest}
        run_cfg = redirected_config(ROOT / run_config, folder)
        results["run"] = {"config": run_config,
                          **timed(["run", "--config", str(run_cfg)])}
        bt_cfg = redirected_config(ROOT / backtest_config, folder)
        results["backtest"] = {"config": backtest_config,
                               **timed(["backtest", "--config", str(bt_cfg),
                                        "--json", str(folder / "backtest.json"),
                                        "--report", str(folder / "backtest.html")])}
    if "real" in results:
        results["real_over_demo"] = round(results["real"]["wall_s"]
                                          / results["run"]["wall_s"], 2)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("real", "run", "backtest"):
        if name not in results:
            continue
        r = results[name]
        print(f"{name} ({r['config']}): {r['wall_s']:.1f} s wall; stages: "
              + ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in r["stages"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
