"""`riskmodel serve`: the partner portal (token-scoped API, CAP feed and map page) over HTTP.

Finds the alert store and partners file like `riskmodel alerts` (`--config` and/or
`--store`/`--partners`), then runs the Starlette application under uvicorn in one process
(the per-token rate limit is kept in memory, so one worker is what makes it exact). It
listens on 127.0.0.1 by default: put a TLS-terminating reverse proxy in front of it before
partners reach it over a network (docs/portal.md).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from riskmodel.errors import EXIT_OK, ConfigError

INSTALL_HINT = ("the partner portal needs the `portal` extra (Starlette and uvicorn): "
                "pip install 'riskmodel[portal]'")


def register(subparsers: Any) -> None:
    """Add the `serve` parser."""
    from riskmodel.commands.alerts import _common
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run the partner portal (alerts API, CAP Atom feed, map page)",
        description="Serve the partner portal over HTTP; see docs/portal.md. Partners "
                    "authenticate with tokens from `riskmodel partners token create`.")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                                                      "127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    p.add_argument("--rate", type=float, default=10.0,
                   help="requests per second per token, sustained (default: 10)")
    p.add_argument("--burst", type=int, default=60,
                   help="requests a token may make at once (default: 60)")
    p.add_argument("--max-body", type=int, default=16 * 1024, metavar="BYTES",
                   help="largest POST body accepted (default: 16384)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS",
                   help="proxies whose X-Forwarded-For is trusted for the audit log's "
                        "remote address (default: 127.0.0.1)")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the portal until interrupted."""
    try:
        import uvicorn

        from riskmodel.portal.app import create_app
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    from riskmodel.commands.alerts import _alerts_cfg, _partners
    from riskmodel.portal.limits import Limits
    if args.rate <= 0 or args.burst < 1 or args.max_body < 256:
        raise ConfigError("--rate must be > 0, --burst >= 1 and --max-body >= 256")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a TCP port")
    cfg = _alerts_cfg(args)
    partners = _partners(cfg)
    if not partners.partner:
        raise ConfigError("no partners: give --partners PARTNERS.toml or a --config whose "
                          "[alerts] names one")
    app = create_app(cfg.store, partners,
                     Limits(rate=args.rate, burst=args.burst, max_body=args.max_body))
    print(f"riskmodel portal: http://{args.host}:{args.port}/ (store {cfg.store}, "
          f"{len(partners.partner)} partner(s))", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
                server_header=False, date_header=True, limit_concurrency=1000)
    return EXIT_OK
