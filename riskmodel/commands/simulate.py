"""`riskmodel simulate`: the closed feedback loop on synthetic worlds, many seeds, with a
JSON document and an HTML report (riskmodel.simulate; docs/simulate.md)."""

from __future__ import annotations

import argparse
import sys

from riskmodel.io.atomic import write_json
from riskmodel.models.seeds import SELECTION_SEEDS, report_seeds
from riskmodel.progress import Progress
from riskmodel.simulate.report import write_simulation_report
from riskmodel.simulate.runner import simulate_seeds
from riskmodel.simulate.settings import load_simulation

HEADLINE = ("cases_per_visit_random", "cases_per_visit_oracle")


def handle(args: argparse.Namespace) -> int:
    cfg, settings = load_simulation(args.config)
    update = {k: v for k, v in (("months", args.months), ("budget", args.budget),
                                ("policy", args.policy)) if v is not None}
    settings = settings.model_validate({**settings.model_dump(), **update})
    seeds = SELECTION_SEEDS if args.selection else report_seeds(args.seeds)
    progress = Progress(quiet=args.quiet)
    with progress.stage("simulate"):
        doc = simulate_seeds(cfg, settings, seeds, note=progress.note)
    doc["seed_set"] = "selection" if args.selection else "report"
    if args.json:
        write_json(args.json, doc)
    if args.report:
        write_simulation_report(args.report, doc)
    level = next(iter(next(iter(doc["summary"].values()))["figures"].values()))
    lines = [f"{len(seeds)} {doc['seed_set']} seeds, scenario {doc['scenario']}, "
             f"{settings.months} months, budget {settings.budget}: median "
             f"[{level['median_level']:.0%} interval of the median] (share of seeds > 0)"]
    for target, summ in doc["summary"].items():
        keys = [*HEADLINE] + [k for k in summ["figures"]
                              if k.startswith(("cases_per_visit_top", "cases_per_visit_exp",
                                               "loop_gain", "explore_minus",
                                               "loop_concordance"))]
        for key in keys:
            f = summ["figures"][key]
            lines.append(f"{target} {key:<32} {f['median']:7.3f} [{f['median_lo']:.3f}, "
                         f"{f['median_hi']:.3f}] ({f['share_positive']:.0%})")
    print("\n".join(lines), file=sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate the feedback loop of visits on synthetic "
                                        "worlds",
                       description="Each simulated month partners visit BUDGET admin-1 "
                                   "areas (the top-scored, or with `explore` a share where "
                                   "the model is least sure); the world's truth decides what "
                                   "a visit finds; outcomes flow back into the models, which "
                                   "retrain on the config's [simulate] schedule. Compares "
                                   "cases found per visit and the ranking of true risk with "
                                   "the loop on and off, against random visits and the "
                                   "oracle, across seeds (docs/simulate.md).")
    p.add_argument("--config", required=True, metavar="TOML",
                   help="simulation config: a synthetic-world run config with a [simulate] "
                        "table (configs/simulate/)")
    p.add_argument("--months", type=int, metavar="N", help="simulated months (default: the "
                                                           "config's)")
    p.add_argument("--budget", type=int, metavar="K", help="areas visited a month per target "
                                                           "(default: the config's)")
    p.add_argument("--policy", choices=("top", "explore", "both"),
                   help="visit policy of the model arms (default: the config's)")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=10, metavar="S",
                       help="report seeds 1..S, one world each (default 10)")
    seeds.add_argument("--selection", action="store_true",
                       help="the selection seeds instead (for choosing settings only)")
    p.add_argument("--json", metavar="OUT.json", help="per-seed figures, curves and summary")
    p.add_argument("--report", metavar="OUT.html", help="HTML report with the curves "
                                                         "(figures in OUT-figures/)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=handle)
