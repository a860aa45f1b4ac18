"""`riskmodel partners token create|revoke|list` and `riskmodel partners audit`.

Tokens let a partner use the portal (`riskmodel serve`). `create` prints the new token once
on stdout (and nothing else there, so it can be piped into a secret store); only its hash
is kept. `revoke` takes a token id, or `--partner P --all` for every live token of a
partner. `audit` lists the portal's audit log (who acknowledged or reported what, when,
from where). The partner must be in the partners file, so a typo cannot mint a token for
a partner that does not exist.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskmodel.errors import EXIT_OK, InputError


def register(subparsers: Any) -> None:
    """Add the `partners` parser and its subcommands."""
    from riskmodel.commands.alerts import _common
    top: argparse.ArgumentParser = subparsers.add_parser(
        "partners", help="partner portal access: API tokens and the audit log",
        description="Manage partner portal tokens and read the audit log; see docs/portal.md.")
    sub = top.add_subparsers(dest="partners_command", required=True, metavar="SUBCOMMAND")

    tok = sub.add_parser("token", help="create, revoke or list portal API tokens")
    tsub = tok.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    p = tsub.add_parser("create", help="create a token for a partner (printed once)")
    _common(p)
    p.add_argument("--partner", required=True)
    p.add_argument("--label", help="who or what the token is for (kept with it)")
    p.set_defaults(handler=cmd_create)

    p = tsub.add_parser("revoke", help="revoke a token (by id) or all of a partner's")
    _common(p)
    p.add_argument("token_id", nargs="?", help="the token id (see `token list`)")
    p.add_argument("--partner", help="with --all: revoke every live token of this partner")
    p.add_argument("--all", action="store_true")
    p.set_defaults(handler=cmd_revoke)

    p = tsub.add_parser("list", help="list tokens (ids, partner, created, revoked)")
    _common(p)
    p.add_argument("--partner")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("audit", help="the portal's audit log")
    _common(p)
    p.add_argument("--partner")
    p.add_argument("--limit", type=int, default=100, help="newest N rows (default: 100)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_audit)


def _store_and_partners(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from riskmodel.commands.alerts import _open, _partners
    cfg, store = _open(args)
    return store, _partners(cfg)


def cmd_create(args: argparse.Namespace) -> int:
    """Create a token and print it once."""
    from riskmodel.portal.tokens import create_token
    store, partners = _store_and_partners(args)
    with store:
        partners.get(args.partner)  # ConfigError naming the known partners if unknown
        token_id, token = create_token(store, args.partner, label=args.label)
    print(token)
    print(f"token {token_id} for {args.partner}: shown once, keep it in a secret store; "
          f"revoke with `riskmodel partners token revoke {token_id}`", file=sys.stderr)
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke one token or all of a partner's."""
    from riskmodel.portal.tokens import revoke_partner, revoke_token
    if bool(args.token_id) == bool(args.all):
        raise InputError("give a TOKEN_ID, or --partner P --all")
    if args.all and not args.partner:
        raise InputError("--all needs --partner P")
    store, partners = _store_and_partners(args)
    with store:
        if args.all:
            partners.get(args.partner)
            ids = revoke_partner(store, args.partner)
            print(f"revoked {len(ids)} token(s) of {args.partner}"
                  + (f": {', '.join(ids)}" if ids else ""))
        else:
            done = revoke_token(store, args.token_id)
            print(f"token {args.token_id}: {'revoked' if done else 'already revoked'}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """List tokens without their hashes."""
    from riskmodel.commands.alerts import _print_json
    from riskmodel.portal.tokens import list_tokens
    store, _ = _store_and_partners(args)
    with store:
        rows = list_tokens(store, args.partner)
    if args.json:
        _print_json(rows)
        return EXIT_OK
    print(f"{'token_id':<17} {'partner':<24} {'created':<26} {'revoked':<26} label")
    for r in rows:
        print(f"{r['token_id']:<17} {r['partner']:<24} {r['created_at']:<26} "
              f"{r['revoked_at'] or '-':<26} {r['label'] or ''}")
    print(f"{len(rows)} token(s)")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the newest audit rows."""
    from riskmodel.commands.alerts import _print_json
    from riskmodel.portal.tokens import audit_rows
    if args.limit < 1:
        raise InputError("--limit must be at least 1")
    store, _ = _store_and_partners(args)
    with store:
        rows = audit_rows(store, args.partner, args.limit)
    if args.json:
        _print_json(rows)
        return EXIT_OK
    for r in rows:
        detail = " ".join(f"{k}={v}" for k, v in sorted(r["detail"].items()) if v is not None)
        print(f"{r['at']}  {r['partner']:<20} {r['action']:<14} {r['alert_id'] or '-':<28} "
              f"{r['remote'] or '-':<15} {r['token_id'] or '-'}  {detail}")
    print(f"{len(rows)} row(s)")
    return EXIT_OK
