"""The many-worlds backtest on the report seeds: one pooled backtest per scenario preset.

Backtests (`riskmodel.backtest.run_backtest_worlds`, what `riskmodel backtest --seeds N
--scenario S` runs) `configs/backtest-scenarios.toml` with the `[model]` variant that
`benchmarks/selection/select_backtest.py` chose on the selection seeds
(`benchmarks/selection/backtest-variant.json`; its `chosen_settings` are applied to the
config's `[model]`, so when they are not the deployed settings every document says where
they differ from `configs/demo.toml`). Each preset's worlds of report seeds 1..N are
pooled and the full OUT.json document is kept, with its wall time, machine and load.

Presets run in the order given and each one is written as soon as it finishes, merged into
the existing results file (presets not rerun are kept), so a long suite can be run in
parts. `benchmarks/backtest_docs.py` renders the file into docs/backtest.md.

Usage (heavy: about 4-5 minutes per world on 2 shared cores):
    nice -n 10 python benchmarks/backtest_scenarios.py --seeds 5 \
        --scenario well-specified nonlinear hidden-detection proxies drift
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The repository first: this folder's kernels.py would otherwise shadow the package.
sys.path.insert(0, str(ROOT))

from riskmodel.backtest import backtest_json, load_backtest_config  # noqa: E402
from riskmodel.backtest import run_backtest_worlds  # noqa: E402
from riskmodel.backtest.config import BacktestConfig  # noqa: E402
from riskmodel.backtest.verdict import SUITE_SCENARIOS  # noqa: E402
from riskmodel.config import load_config  # noqa: E402
from riskmodel.io.atomic import write_json  # noqa: E402
from riskmodel.models.seeds import report_seeds  # noqa: E402
from riskmodel.progress import Progress  # noqa: E402
from riskmodel.world.scenarios import SCENARIOS  # noqa: E402

CONFIG = "configs/backtest-scenarios.toml"
VARIANT = "benchmarks/selection/backtest-variant.json"
DEPLOYED = "configs/demo.toml"
RESULTS = ROOT / "benchmarks" / "results-backtest-scenarios.json"


def judged_config(config: str, variant: dict[str, Any]) -> BacktestConfig:
    """`config` with the selection's chosen `[model]` settings applied; the selection must
    have been made on the same config file."""
    if variant["config"] != config:
        raise SystemExit(f"{VARIANT}: chosen on {variant['config']}, not {config}")
    base = load_backtest_config(ROOT / config)
    return base.model_copy(update={"model": base.model.model_copy(
        update=variant["chosen_settings"])})


def run_scenario(cfg: BacktestConfig, scenario: str, seeds: list[int],
                 deployed: tuple[Any, str]) -> dict[str, Any]:
    """The pooled backtest document of `scenario` on the worlds of `seeds`, with its wall
    time, date and load average."""
    cfg = cfg.model_copy(update={"world": cfg.world.model_copy(update={"scenario": scenario})})
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    run = run_backtest_worlds(cfg, seeds, source=CONFIG, progress=Progress())
    doc = backtest_json(run, deployed)
    return {"backtest": doc, "seconds": round(time.perf_counter() - t0, 1),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "load_start": load0, "load_end": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="report seeds 1..N per preset")
    ap.add_argument("--scenario", nargs="+", choices=SUITE_SCENARIOS,
                    default=list(SUITE_SCENARIOS),
                    help="presets to run, in this order")
    ap.add_argument("--json", type=Path, default=RESULTS, help="results file to merge into")
    args = ap.parse_args(argv)
    variant = json.loads((ROOT / VARIANT).read_text())
    cfg = judged_config(CONFIG, variant)
    deployed = (load_config(ROOT / DEPLOYED).model, DEPLOYED)
    seeds = list(report_seeds(args.seeds))
    results: dict[str, Any] = (json.loads(args.json.read_text()) if args.json.is_file()
                               else {"scenarios": {}})
    results.update({
        "what": "riskmodel backtest pooled over report seeds, one document per scenario preset",
        "config": CONFIG,
        "variant": {"file": VARIANT, "chosen": variant["chosen"],
                    "chosen_settings": variant["chosen_settings"]},
        "machine": platform.platform(), "cpus": os.cpu_count()})
    for scenario in args.scenario:
        if scenario not in SCENARIOS:
            raise SystemExit(f"--scenario {scenario}: not a scenario preset")
        print(f"{scenario}: backtesting report seeds {seeds}", flush=True)
        entry = run_scenario(cfg, scenario, seeds, deployed)
        results["scenarios"][scenario] = entry
        results["scenarios"] = {k: results["scenarios"][k] for k in SUITE_SCENARIOS
                                if k in results["scenarios"]}
        write_json(args.json, results)
        print(f"{scenario}: {entry['seconds']} s; "
              + " ".join(entry["backtest"]["verdict"]["lines"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
