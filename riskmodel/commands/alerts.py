"""`riskmodel alerts list|show|ack|export|deliver|test|feedback|verify`: the store by hand.

Every subcommand finds the store, rules and partners from a run config (`--config`, its
`[alerts]` section) and/or explicit `--store`/`--partners` paths, which win; the store
must exist (a typo never creates an empty one) and `list`, `show` and `export` only read
it (a read-only file is fine). `list` and `show` print tables or, with `--json`, JSON;
`deliver` drains the outbox (exit 2 and a status line when messages were dead-lettered);
`test` proves a partner's channels with a CAP `Test` message; `feedback` records partner
outcomes (bad rows reported by line, exit 2, valid rows kept); `verify` is the reference
Standard Webhooks check partners can run on a received webhook, or checks CAP files.
Every expected failure is one line naming the file, partner or header at fault.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from riskmodel.config import AlertsConfig, load_config
from riskmodel.errors import EXIT_BAD_INPUT, EXIT_OK, ConfigError, InputError


def _common(p: argparse.ArgumentParser, partners: bool = True) -> None:
    p.add_argument("--config", metavar="RUN.toml", help="run config (its [alerts] section)")
    p.add_argument("--store", metavar="ALERTS.sqlite", help="alert store (overrides --config)")
    if partners:
        p.add_argument("--partners", metavar="PARTNERS.toml",
                       help="partners file (overrides --config)")


def register(subparsers: Any) -> None:
    """Add the `alerts` parser and its subcommands to the CLI's subparsers."""
    top: argparse.ArgumentParser = subparsers.add_parser(
        "alerts", help="alerts for national partners: list, show, ack, export, deliver, "
                       "test, feedback, verify",
        description="Inspect and act on the alert store; see docs/alerts.md.")
    sub = top.add_subparsers(dest="alerts_command", required=True, metavar="SUBCOMMAND")

    p = sub.add_parser("list", help="list alerts (open ones by default)")
    _common(p)
    p.add_argument("--state", choices=("new", "ongoing", "escalated", "resolved", "open", "all"),
                   default="open")
    p.add_argument("--target", choices=("fl", "cl"))
    p.add_argument("--partner", help="only this partner's alerts")
    p.add_argument("--json", action="store_true", help="JSON array instead of a table")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("show", help="one alert with its history, messages and feedback")
    _common(p, partners=False)
    p.add_argument("alert_id", help="alert id or CAP identifier (e.g. fl-XAA-01-2026-05.1)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("ack", help="record a partner's acknowledgement of an alert")
    _common(p)
    p.add_argument("alert_id", help="alert id or CAP identifier")
    p.add_argument("--partner", required=True)
    p.add_argument("--note")
    p.set_defaults(handler=cmd_ack)

    p = sub.add_parser("export", help="write current alerts as CAP/GeoJSON/CSV, or labels")
    _common(p)
    p.add_argument("--dest", required=True, metavar="DIR_OR_FILE",
                   help="folder to write the alert files into (with --labels: the labels "
                        "CSV file to write)")
    p.add_argument("--partner", help="only this partner's alerts")
    p.add_argument("--format", default="cap,geojson,csv", help="comma list of cap,geojson,csv")
    p.add_argument("--labels", action="store_true",
                   help="write feedback labels for training (CSV) to --dest instead")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("deliver", help="send pending outbox messages (retries, dead letter)")
    _common(p)
    p.add_argument("--partner", help="only this partner's messages")
    p.add_argument("--wait", action="store_true",
                   help="keep retrying until nothing is pending or --max-seconds pass")
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--requeue-dead", action="store_true",
                   help="first put dead-lettered messages back in the queue")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_deliver)

    p = sub.add_parser("test", help="send a CAP Test message through a partner's channels")
    _common(p)
    p.add_argument("--partner", required=True)
    p.add_argument("--channel", help="only this channel (its id)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_test)

    p = sub.add_parser("feedback", help="record partner outcomes from a CSV file")
    _common(p)
    p.add_argument("file", metavar="FILE.csv",
                   help="columns: alert_id (an alert id or CAP identifier), outcome "
                        "(confirmed|not_found|not_visited), partner, observed_on, note")
    p.add_argument("--partner", help="partner for rows without a partner column")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_feedback)

    p = sub.add_parser("verify", help="check a webhook delivery's signature (for partners), "
                                      "or CAP files (--cap)")
    p.add_argument("body", nargs="?", metavar="BODY_FILE", help="the received request body")
    p.add_argument("--id", dest="msg_id", help="webhook-id header value")
    p.add_argument("--timestamp", help="webhook-timestamp header value")
    p.add_argument("--signature", help="webhook-signature header value (v1,<base64> ...)")
    p.add_argument("--filename", help="riskmodel-filename header value (checked if given)")
    p.add_argument("--secret-env", metavar="VAR",
                   help="environment variable with the secret(s), space-separated")
    p.add_argument("--secret-file", metavar="FILE", help="file with the secret(s)")
    p.add_argument("--tolerance", type=int, default=300, help="max age in seconds")
    p.add_argument("--now", type=float, help=argparse.SUPPRESS)
    p.add_argument("--cap", nargs="+", metavar="FILE.xml",
                   help="check CAP 1.2 files (well-formed, the CAP 1.2 schema, and the "
                        "spec's polygon/time/reference rules)")
    p.set_defaults(handler=cmd_verify)


# --- helpers -------------------------------------------------------------------------------

def _alerts_cfg(args: argparse.Namespace) -> AlertsConfig:
    cfg = load_config(args.config).alerts if args.config else AlertsConfig()
    upd: dict[str, Any] = {}
    if getattr(args, "store", None):
        upd["store"] = args.store
    if getattr(args, "partners", None):
        upd["partners"] = args.partners
    if not args.config and not getattr(args, "store", None) and not (
            args.alerts_command == "test" and args.partners):
        raise ConfigError("give --config RUN.toml or --store ALERTS.sqlite")
    return cfg.model_copy(update=upd)


def _open(args: argparse.Namespace, readonly: bool = False):  # type: ignore[no-untyped-def]
    from riskmodel.alerts.store import AlertStore
    cfg = _alerts_cfg(args)
    if ".." in Path(cfg.store).parts:
        raise InputError(f"{cfg.store}: alert store path must not contain '..'")
    if not Path(cfg.store).is_file():
        raise InputError(f"{cfg.store}: no alert store (run `riskmodel run` first)")
    return cfg, AlertStore(cfg.store, create=False, readonly=readonly)


def _one_line(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the failures a hostile file or store can cause into one `InputError` line."""
    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        from riskmodel.alerts.verify import SignatureError
        try:
            return fn(args)
        except SignatureError as exc:
            raise InputError(f"verify: {exc}") from None
        except OSError as exc:
            where = exc.filename or "?"
            raise InputError(f"{where}: {exc.strerror or exc}") from None
        except sqlite3.Error as exc:
            raise InputError(f"alert store: {exc}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})") from None
    return run


def _partners(cfg: AlertsConfig):  # type: ignore[no-untyped-def]
    from riskmodel.alerts.partners import load_partners
    return load_partners(cfg.partners)


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def _brief(al: dict[str, Any]) -> dict[str, Any]:
    keys = ("alert_id", "state", "target", "area_kind", "area_key", "name", "country",
            "admin1", "risk", "risk_lo", "risk_hi", "priority", "opened_as_of", "last_as_of",
            "closed_as_of", "acknowledged_by", "drivers", "model_id", "synthetic")
    return {k: al[k] for k in keys}


# --- handlers ------------------------------------------------------------------------------

@_one_line
def cmd_list(args: argparse.Namespace) -> int:
    """List alerts as a table or JSON."""
    from riskmodel.alerts.store import ACTIVE_STATES
    cfg, store = _open(args, readonly=True)
    with store:
        states = {"open": ACTIVE_STATES, "all": None}.get(args.state, (args.state,))
        rows = store.alerts(states=states, target=args.target)
        if args.partner:
            p = _partners(cfg).get(args.partner)
            rows = [r for r in rows if p.covers(r)]
    out = [_brief(r) for r in rows]
    if args.json:
        _print_json(out)
        return EXIT_OK
    print(f"{'alert_id':<32} {'state':<10} {'risk':>5} {'prio':>5}  area")
    for r in out:
        print(f"{r['alert_id']:<32} {r['state']:<10} {r['risk']:5.2f} {r['priority']:5.2f}  "
              f"{r['name']} ({r['country']})")
    print(f"{len(out)} alert(s)")
    return EXIT_OK


@_one_line
def cmd_show(args: argparse.Namespace) -> int:
    """Show one alert with history, messages, feedback and outbox rows."""
    from riskmodel.alerts import outbox
    cfg, store = _open(args, readonly=True)
    with store:
        al = store.find_alert(args.alert_id)  # an alert id or a CAP identifier
        if al is None:
            raise InputError(f"unknown alert {args.alert_id!r} (neither an alert id nor a "
                             f"CAP identifier in this store)")
        aid = al["alert_id"]
        info = _brief(al)
        info["priority_parts"] = al["priority_parts"]
        info["reasons"] = al["reasons"]
        info["history"] = [{k: h[k] for k in ("at", "as_of", "from_state", "to_state", "detail")}
                           for h in store.history(aid)]
        info["messages"] = [{k: m[k] for k in ("identifier", "msg_type", "sent", "as_of")}
                            for m in store.messages(aid)]
        info["feedback"] = [dict(r) for r in store.db.execute(
            "SELECT partner, outcome, observed_on, note, recorded_at FROM feedback "
            "WHERE alert_id=? ORDER BY partner", (aid,))]
        info["deliveries"] = [{k: r[k] for k in ("partner", "channel", "filename", "state",
                                                 "attempts", "last_error")}
                              for r in outbox.rows(store) if r["alert_id"] == aid]
    if args.json:
        _print_json(info)
        return EXIT_OK
    # For people: two decimals (JSON keeps full precision for programs).
    human = {**info, "risk": f"{info['risk']:.2f} (80% interval {info['risk_lo']:.2f}-"
                             f"{info['risk_hi']:.2f})",
             "priority": f"{info['priority']:.2f}"}
    for k in ("alert_id", "state", "target", "name", "country", "risk", "priority",
              "opened_as_of", "last_as_of", "closed_as_of", "acknowledged_by", "model_id"):
        print(f"{k:>16}: {'-' if human[k] is None else human[k]}")
    print(f"{'drivers':>16}: " + "; ".join(f"{f} ({d}, {c:+.2f})" for f, d, c in info["drivers"]))
    print("history:")
    for h in info["history"]:
        print(f"  {h['at']}  {h['from_state'] or '-':>10} -> {h['to_state']}")
    print("messages:")
    for m in info["messages"]:
        print(f"  {m['identifier']}  {m['msg_type']}  {m['sent']}")
    for f in info["feedback"]:
        print(f"feedback: {f['partner']} {f['outcome']} {f['observed_on'] or ''}")
    return EXIT_OK


@_one_line
def cmd_ack(args: argparse.Namespace) -> int:
    """Acknowledge an alert on behalf of a partner."""
    from riskmodel.alerts.ack import acknowledge
    cfg, store = _open(args)
    with store:
        al = store.find_alert(args.alert_id)
        aid = al["alert_id"] if al is not None else args.alert_id
        done = acknowledge(store, aid, args.partner, partners=_partners(cfg), note=args.note)
    print(f"{aid}: {'acknowledged' if done else 'already acknowledged'} by {args.partner}")
    return EXIT_OK


@_one_line
def cmd_export(args: argparse.Namespace) -> int:
    """Export current alerts (or feedback labels)."""
    from riskmodel.alerts.export import export, labels_csv
    from riskmodel.io.atomic import write_text
    cfg, store = _open(args, readonly=True)
    with store:
        if args.labels:
            text = labels_csv(store, _partners(cfg), args.partner)
            write_text(args.dest, text)
            print(f"{args.dest}: {text.count(chr(10)) - 1} label row(s)")
            return EXIT_OK
        formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
        bad = [f for f in formats if f not in ("cap", "geojson", "csv")]
        if bad:
            raise InputError(f"--format: unknown format(s) {', '.join(bad)}")
        n = export(store, Path(args.dest), partners=_partners(cfg), partner=args.partner,
                   formats=formats)
    print(f"{args.dest}: " + ", ".join(f"{k} {v}" for k, v in n.items()))
    return EXIT_OK


@_one_line
def cmd_deliver(args: argparse.Namespace) -> int:
    """Drain the outbox; exit 2 with a status line if messages were dead-lettered."""
    from riskmodel.alerts import outbox
    from riskmodel.alerts.deliver import deliver, requeue_dead
    cfg, store = _open(args)
    store.close()
    partners = _partners(cfg)
    if args.partner:
        partners.get(args.partner)
    if args.requeue_dead:
        n = requeue_dead(cfg.store, args.partner)
        print(f"requeued {n} dead message(s)", file=sys.stderr)
    rep = deliver(cfg.store, partners, wait=args.wait, max_seconds=args.max_seconds,
                  partner=args.partner)
    _, store = _open(args, readonly=True)
    with store:
        dead = [{k: r[k] for k in ("partner", "channel", "filename", "attempts", "last_error")}
                for r in outbox.rows(store, "dead")
                if args.partner is None or r["partner"] == args.partner]
    if args.json:
        _print_json({**rep, "dead_letters": dead})
    else:
        print(", ".join(f"{k} {v}" for k, v in rep.items()))
        for d in dead:
            print(f"dead: {d['partner']} {d['channel']} {d['filename']} after {d['attempts']} "
                  f"tries: {d['last_error']}", file=sys.stderr)
    if rep["dead"]:
        print(f"riskmodel: deliver: {rep['dead']} message(s) dead-lettered in this run "
              f"({len(dead)} dead in all); fix the channel, then `riskmodel alerts deliver "
              f"--requeue-dead`", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


@_one_line
def cmd_test(args: argparse.Namespace) -> int:
    """Send a CAP `Test` message through every channel of one partner, now."""
    from riskmodel.alerts.cap import build_test_message, cap_time, validate_cap
    from riskmodel.alerts.deliver import send_one
    from riskmodel.alerts.outbox import CONTENT_TYPES
    from riskmodel.alerts.rules import load_rules
    cfg = _alerts_cfg(args)
    partners = _partners(cfg)
    p = partners.get(args.partner)
    chans = [(n, ch) for n, ch in p.named_channels() if args.channel in (None, n)]
    if not chans:
        raise ConfigError(f"partner {p.id} has no channel {args.channel!r}" if args.channel
                          else f"partner {p.id} has no channels")
    now = datetime.now(timezone.utc)
    ident = f"test-{p.id}-{now:%Y%m%dT%H%M%S}"
    xml = build_test_message(p.id, identifier=ident, sent=cap_time(now),
                             cap=load_rules(cfg.rules).cap)
    problems = validate_cap(xml)
    if problems:
        raise InputError(f"test message is not valid CAP: {'; '.join(problems[:3])}")
    row = {"body": xml.encode(), "filename": f"cap/{ident}.xml",
           "content_type": CONTENT_TYPES["cap"], "idempotency_key": ident}
    results = []
    for name, ch in chans:
        try:
            send_one(row, p, ch, timeout=partners.delivery.timeout_s)
        except Exception as exc:  # report every channel, not just the first failure
            results.append({"channel": name, "ok": False,
                            "error": (str(exc).splitlines() or [type(exc).__name__])[0]})
        else:
            results.append({"channel": name, "ok": True, "error": None})
    if args.json:
        _print_json({"partner": p.id, "identifier": ident, "channels": results})
    for r in results:
        line = f"{p.id} {r['channel']}: " + ("ok" if r["ok"] else f"FAILED: {r['error']}")
        print(line, file=sys.stdout if r["ok"] and not args.json else sys.stderr)
    return EXIT_OK if all(r["ok"] for r in results) else EXIT_BAD_INPUT


@_one_line
def cmd_feedback(args: argparse.Namespace) -> int:
    """Record a feedback file; exit 2 if any row was malformed (valid rows are kept)."""
    from riskmodel.alerts.feedback import precision, record_feedback
    cfg, store = _open(args)
    partners = _partners(cfg)
    with store:
        res = record_feedback(store, args.file, partners=partners,
                              default_partner=args.partner)
        prec = precision(store)
    for line, msg in res.errors:
        print(f"{args.file}:{line}: {msg}", file=sys.stderr)
    if args.json:
        _print_json({"recorded": res.recorded, "errors": res.errors, "precision": prec})
    else:
        p = prec.get("all", {}).get("precision")
        print(f"{args.file}: recorded {res.recorded} row(s), {len(res.errors)} malformed; "
              f"alert precision {'n/a' if p is None else f'{p:.2f}'}")
    return EXIT_BAD_INPUT if res.errors else EXIT_OK


@_one_line
def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a Standard Webhooks delivery (id, timestamp window, signature), or CAP files."""
    if args.cap:
        return _verify_cap(args.cap)
    from riskmodel.alerts.verify import (FILENAME_HEADER, ID_HEADER, SIGNATURE_HEADER,
                                         TIMESTAMP_HEADER, verify_webhook)
    if not (args.body and args.msg_id and args.timestamp and args.signature):
        raise InputError("verify needs BODY_FILE, --id, --timestamp and --signature "
                         "(or --cap FILES)")
    if args.secret_env:
        secret = os.environ.get(args.secret_env, "")
        if not secret.strip():
            raise ConfigError(f"${args.secret_env} is not set or empty")
    elif args.secret_file:
        secret = Path(args.secret_file).read_text(encoding="utf-8")
        if not secret.strip():
            raise ConfigError(f"{args.secret_file}: empty secret")
    else:
        raise InputError("give --secret-env VAR or --secret-file FILE")
    body = Path(args.body).read_bytes()
    headers = {ID_HEADER: args.msg_id, TIMESTAMP_HEADER: args.timestamp,
               SIGNATURE_HEADER: args.signature}
    if args.filename is not None:
        headers[FILENAME_HEADER] = args.filename
    msg_id = verify_webhook(secret, headers, body, tolerance_s=args.tolerance, now=args.now)
    print(f"{args.body}: signature ok (webhook-id {msg_id})")
    return EXIT_OK


def _verify_cap(files: list[str]) -> int:
    from riskmodel.alerts.cap import validate_cap
    bad = 0
    for f in files:
        try:
            data = Path(f).read_bytes()
        except OSError as exc:
            problems = [f"cannot read: {exc.strerror}"]
        else:
            problems = validate_cap(data)
        for pr in problems:
            print(f"{f}: {pr}", file=sys.stderr)
        bad += bool(problems)
    print(f"{len(files) - bad} of {len(files)} CAP file(s) ok")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m riskmodel.commands.alerts ...`: the alerts CLI on its own (same exit codes)."""
    from riskmodel.errors import RiskmodelError
    parser = argparse.ArgumentParser(prog="riskmodel")
    parser.add_argument("--debug", action="store_true")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except RiskmodelError as exc:
        if args.debug:
            raise
        print(f"riskmodel: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
