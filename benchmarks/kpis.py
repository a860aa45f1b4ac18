"""Time `riskmodel kpis` on the demo's alert store: the command, its start-up, its own work.

    python benchmarks/kpis.py --json benchmarks/results-kpis.json [--repeat 3]

Needs a demo run first (`riskmodel run --config configs/demo.toml --out DIR`, then pass
`--out DIR`), so the store, the partners file and a run folder with targeting inputs and
risk.nc exist. Three timings, each the median of `--repeat` rounds:

- **command**: `python -m riskmodel kpis --config C --run RUN --json TMP` in a fresh
  process, wall clock and CPU (user + system) as the OS counts the child;
- **start-up**: `python -m riskmodel kpis --help` the same way: the interpreter and the
  command line's parser, which imports every subcommand module, before any KPI work;
- **command alone**: the same command in a fresh process whose parser registers only
  `riskmodel.commands.kpis` (what the command costs without the other commands' imports);
- **work**: `gather_kpis` in this process (imports done): the alert KPIs per partner,
  country, target and period, programme results, the targeting join and risk per country.

Target: the command under 5 s on the demo store. The JSON records machine, date and load
average before and after (wall times move with the load of a shared machine; CPU times
much less).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0
# The command with a parser that knows only `kpis` (argv as for `python -m riskmodel`).
ALONE = ("import argparse, sys; from riskmodel.commands import kpis; "
         "p = argparse.ArgumentParser(prog='riskmodel'); kpis.register(p.add_subparsers()); "
         "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")


def _child(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one child process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median(rounds: list[tuple[float, float]]) -> dict[str, float]:
    return {"wall_s": round(statistics.median(r[0] for r in rounds), 3),
            "cpu_s": round(statistics.median(r[1] for r in rounds), 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="configs/demo.toml")
    ap.add_argument("--out", required=True, help="--out of the demo run (its newest run "
                    "folder is used)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", required=True, metavar="OUT.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from riskmodel.alerts.partners import load_partners
    from riskmodel.config import load_config
    from riskmodel.kpis.section import gather_kpis
    from riskmodel.targeting.pipeline import open_risk

    cfg = load_config(ROOT / args.config)
    family = Path(args.out) / cfg.name
    run_dir = sorted(d for d in family.iterdir() if (d / "inputs").is_dir())[-1]
    store = ROOT / cfg.alerts.store
    load_before = list(os.getloadavg())
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        words = ["kpis", "--config", args.config, "--run", str(run_dir), "--json",
                 str(Path(tmp) / "k.json")]
        cmd_rounds = [_child([py, "-m", "riskmodel", *words]) for _ in range(args.repeat)]
        data = json.loads((Path(tmp) / "k.json").read_text())
        alone_rounds = [_child([py, "-c", ALONE, *words]) for _ in range(args.repeat)]
    start_rounds = [_child([py, "-m", "riskmodel", "kpis", "--help"])
                    for _ in range(args.repeat)]
    partners = load_partners(ROOT / cfg.alerts.partners)
    work = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        gather_kpis(store, partners, run_dir=run_dir, risk=open_risk(run_dir / "risk.nc"))
        work.append(time.perf_counter() - t)
    cmd = _median(cmd_rounds)
    out = {
        "benchmark": "kpis",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "arch": platform.machine(),
                    "python": platform.python_version(), "system": platform.system()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "store": {"alerts": data["total"]["alerts"], "rows": len(data["rows"]),
                  "countries": len(data["countries"]),
                  "results": len(data["results"])},
        "repeat": args.repeat,
        "command": cmd,
        "startup": _median(start_rounds),
        "command_alone": _median(alone_rounds),
        "work_s": round(statistics.median(work), 3),
        "target_s": TARGET_S,
        "target_met_wall": cmd["wall_s"] < TARGET_S,
        "target_met_cpu": cmd["cpu_s"] < TARGET_S,
        "target_met_cpu_alone": _median(alone_rounds)["cpu_s"] < TARGET_S,
    }
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0 if out["target_met_wall"] else 1


if __name__ == "__main__":
    sys.exit(main())
