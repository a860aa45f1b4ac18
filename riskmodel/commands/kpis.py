"""`riskmodel kpis`: alert KPIs, programme results and need per country; `kpis import`.

`riskmodel kpis --config C [--from YYYY-MM --to YYYY-MM] [--json OUT] [--html OUT]` prints
the catalogue's KPIs per partner, country, target and period (`--by` to choose), the
programme results partners reported, and per country the targeting view's need and
programmes beside results and alert KPIs (from the config's newest run folder, or
`--run DIR`). `riskmodel kpis import FILE --partner P` validates a harmonised results CSV
and stores it beside the alert store (any bad row: one line each on stderr, exit 2,
nothing stored). `riskmodel kpis catalogue [--markdown]` lists the indicators (the
Markdown is the generated part of docs/kpis.md). See docs/kpis.md.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

from riskmodel.errors import EXIT_BAD_INPUT, EXIT_OK, ConfigError, InputError

SHORT = {"alert_precision": "precision", "share_visited": "visited",
         "time_to_acknowledge": "t_ack", "time_to_visit": "t_visit", "lead_time": "lead",
         "cases_per_visit": "cases/visit", "population_covered": "pop_covered",
         "alerts_per_period": "alerts/period"}
RUN_DIR_RE = re.compile(r"^\d{4}-\d{2}$")


def _sources(p: argparse.ArgumentParser, sub: bool) -> None:
    # On the subcommand the shared options must not reset values given before it.
    d = {"default": argparse.SUPPRESS} if sub else {}
    p.add_argument("--config", metavar="RUN.toml", help="run config (its [alerts] section "
                   "names the alert store and the partners file)", **d)
    p.add_argument("--store", metavar="ALERTS.sqlite", help="alert store (overrides --config)",
                   **d)
    p.add_argument("--partners", metavar="PARTNERS.toml",
                   help="partners file (overrides --config)", **d)


def register(subparsers: Any) -> None:
    """Add the `kpis` parser (and `kpis import`, `kpis catalogue`) to the CLI."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "kpis", help="key performance indicators: alert KPIs, programme results, need",
        description="Alert KPIs from the alert store per partner, country, target and "
                    "period; programme results partners reported; the targeting view's "
                    "need and programmes per country beside them. See docs/kpis.md.")
    _sources(p, sub=False)
    # A run folder, not --out: this command reads one and writes nothing there.
    p.add_argument("--run", metavar="RUN_DIR", help="run folder whose targeting inputs "
                   "and risk.nc the country view uses (default: the newest one under the "
                   "config's out/<name>/)")
    p.add_argument("--from", dest="start", metavar="YYYY-MM",
                   help="first month of alerts and results (included)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM",
                   help="last month of alerts and results (included)")
    p.add_argument("--period", choices=("month", "quarter", "year"), default="month",
                   help="period of the `period` dimension (default: month)")
    p.add_argument("--by", default="partner,country,target,period",
                   help="comma list of partner,country,target,period to group by "
                        "(default: all four)")
    p.add_argument("--partner", help="only this partner's view (alerts, outcomes, results)")
    p.add_argument("--json", metavar="OUT.json", help="also write everything as JSON here")
    p.add_argument("--html", metavar="OUT.html", help="also write the KPI section as HTML")
    p.set_defaults(handler=cmd_kpis, kpis_command=None)
    sub = p.add_subparsers(dest="kpis_command", metavar="SUBCOMMAND")
    q = sub.add_parser("import", help="validate and store a programme results CSV",
                       description="Validate a harmonised programme results CSV "
                                   "(country,sector,programme,period,indicator,value,unit; "
                                   "docs/kpi-template.csv) of one partner and store it "
                                   "beside the alert store. Any bad row: one line each, "
                                   "exit 2, nothing stored.")
    q.add_argument("file", metavar="FILE.csv")
    q.add_argument("--partner", required=True, help="the reporting partner (its countries "
                   "bound the rows)")
    _sources(q, sub=True)
    q.set_defaults(handler=cmd_import)
    c = sub.add_parser("catalogue", help="list the KPIs and the result indicators")
    c.add_argument("--markdown", action="store_true",
                   help="the generated part of docs/kpis.md")
    c.set_defaults(handler=cmd_catalogue)


def _paths(args: argparse.Namespace) -> tuple[str, str | None, Any]:
    """(alert store, partners file, run config or None) from --config/--store/--partners."""
    from riskmodel.config import load_config
    config = getattr(args, "config", None)
    cfg = load_config(config) if config else None
    store = getattr(args, "store", None) or (cfg.alerts.store if cfg else None)
    partners = getattr(args, "partners", None) or (cfg.alerts.partners if cfg else None)
    if not store:
        raise ConfigError("give --config RUN.toml or --store ALERTS.sqlite")
    if ".." in Path(store).parts:
        raise InputError(f"{store}: alert store path must not contain '..'")
    return store, partners, cfg


def _newest_run(args: argparse.Namespace, cfg: Any) -> Path | None:
    if args.run:
        rd = Path(args.run)
        if not rd.is_dir():
            raise InputError(f"{rd}: no run folder here")
        return rd
    if cfg is None:
        return None
    family = Path(cfg.out) / cfg.name
    runs = sorted(d for d in family.glob("*") if RUN_DIR_RE.match(d.name) and d.is_dir()
                  and (d / "inputs").is_dir()) if family.is_dir() else []
    return runs[-1] if runs else None


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip()] + [fmt.format(*r).rstrip() for r in rows]


def _printable(text: str) -> str:
    # Names come from files partners and configs write: no terminal control characters.
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def render_text(g: Any) -> str:
    """The gathered KPIs as the printed tables (alert KPIs, results, countries)."""
    from riskmodel.kpis.catalogue import CATALOGUE
    from riskmodel.kpis.html import cell
    from riskmodel.kpis.interventions import INDICATORS
    from riskmodel.kpis.join import COUNTRY_KPIS
    rep = g.report
    lines = [f"alert KPIs, alerts opened {rep.start or 'from the first month'} to "
             f"{rep.end or 'the last month'} (n/a: no denominator; reasons in --json)"]
    header = [*rep.by, "alerts", *(SHORT[k] for k in CATALOGUE)]
    rows = []
    for r in [*rep.rows, rep.total]:
        keys = ([_printable(r.key[d]) for d in rep.by] if r is not rep.total else
                [f"all ({_printable(r.key['partner'])})"] + [""] * (len(rep.by) - 1))
        rows.append([*keys[:max(len(rep.by), 1)], str(r.alerts),
                     *(cell(k, r.values[k]) for k in CATALOGUE)])
    if not rep.by:
        header = ["", *header]
    lines += _table(header, rows)
    lines.append("")
    lines.append("programme results reported by partners (by country and sector)")
    if g.results:
        lines += _table(["country", "sector", "indicator", "value", "unit", "programmes"],
                        [[r["country"], r["sector"], r["indicator"],
                          f"{r['value']:,}" if r["value"] is not None else "n/a",
                          r["unit"], ",".join(r["programmes"])
                          + (f" (+{r['partial']} past the range)" if r["partial"] else "")]
                         for r in g.results])
    else:
        lines.append("none")
    lines.append("")
    w = g.window
    lines.append("per country: need (targeting"
                 + (f" {w[0]}-{w[1]}" if w else ", no run folder: not assessed")
                 + "), programmes, results, alert KPIs")
    crow = []
    for c in g.countries:
        need = "-" if c["need"] is None else ("; ".join(c["need"]) or "none")
        progs = "-" if c["programmes"] is None else (",".join(c["programmes"]) or "none")
        res = "; ".join(f"{i}={v['value'] if v['value'] is not None else 'n/a'}"
                        for i, v in sorted(c["results"].items()) if i in INDICATORS) or "none"
        crow.append([c["country"], _printable(need), _printable(progs), _printable(res),
                     str(c["alerts"]), *(cell(k, c[k]) for k in COUNTRY_KPIS),
                     *(("-" if c[k] is None else f"{c[k]:.2f}")
                       for k in sorted(c) if k.startswith("risk_"))])
    risks = sorted(k for k in (g.countries[0] if g.countries else {}) if k.startswith("risk_"))
    lines += _table(["country", "need", "programmes", "results", "alerts",
                     *(SHORT[k] for k in COUNTRY_KPIS), *risks], crow)
    return "\n".join(lines)


def cmd_kpis(args: argparse.Namespace) -> int:
    """Compute and print the KPIs; write JSON/HTML when asked."""
    from riskmodel.alerts.partners import load_partners
    from riskmodel.io.atomic import write_json, write_text
    from riskmodel.kpis.html import kpi_section
    from riskmodel.kpis.section import gather_kpis
    from riskmodel.targeting.pipeline import open_risk
    store, partners_path, cfg = _paths(args)
    if not Path(store).is_file():
        raise InputError(f"{store}: no alert store (run `riskmodel run` first)")
    partners = load_partners(partners_path)
    by = tuple(b.strip() for b in args.by.split(",") if b.strip())
    run_dir = _newest_run(args, cfg)
    risk = None
    if run_dir is not None and (run_dir / "risk.nc").is_file():
        risk = open_risk(run_dir / "risk.nc")
    try:
        g = gather_kpis(store, partners, by=by, start=args.start, end=args.end,
                        period=args.period, partner=args.partner, run_dir=run_dir, risk=risk)
    except sqlite3.Error as exc:
        raise InputError(f"{store}: {exc}") from None
    if args.json:
        data = g.to_dict()
        data["run_dir"] = str(run_dir) if run_dir is not None else None
        write_json(args.json, data)
    if args.html:
        write_text(args.html, "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                              "<title>riskmodel KPIs</title></head><body>"
                              + kpi_section(g.report, g.results, g.countries)
                              + "</body></html>\n")
    print(render_text(g))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Validate and store a results file; exit 2 with one line per bad row otherwise."""
    from riskmodel.alerts.partners import load_partners
    from riskmodel.kpis.interventions import ResultsStore, import_results, interventions_path
    store, partners_path, _ = _paths(args)
    partners = load_partners(partners_path)
    if not partners.partner:
        raise ConfigError("importing results needs the partners file (--partners or the "
                          "run config's [alerts] partners): a partner's countries bound "
                          "its rows")
    who = partners.get(args.partner)
    if not Path(store).is_file():
        raise InputError(f"{store}: no alert store (run `riskmodel run` first); results "
                         f"are kept beside it")
    try:
        with ResultsStore(interventions_path(store)) as rs:
            res = import_results(rs, args.file, partner=who.id, countries=who.countries)
    except sqlite3.Error as exc:
        raise InputError(f"{interventions_path(store)}: {exc}") from None
    for line in res.errors:
        print(_printable(line), file=sys.stderr)
    if res.errors:
        print(f"{_printable(args.file)}: {len(res.errors)} problem(s); nothing stored",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{_printable(args.file)}: stored {res.stored} result(s) of partner {who.id} "
          f"in {interventions_path(store)}")
    return EXIT_OK


def cmd_catalogue(args: argparse.Namespace) -> int:
    """Print the KPI catalogue and the result indicators (or their Markdown)."""
    from riskmodel.kpis.docs import catalogue_markdown, catalogue_rows
    print(catalogue_markdown() if args.markdown else "\n".join(catalogue_rows()),
          end="" if args.markdown else "\n")
    return EXIT_OK
