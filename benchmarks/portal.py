"""Load test of the partner portal: concurrent partners polling feeds and posting outcomes.

    python benchmarks/portal.py --json OUT.json                 # 50 partners, 60 s
    python benchmarks/portal.py --seconds 10 --json OUT.json    # a shorter run

A temporary alert store is published from the fake risk dataset of the tests
(`tests/test_alerts_fakes.py`: 3 countries, 6 admin-1 areas, 12 alerts) with `--partners`
partners (partner i covers country i mod 3; every other one only one admin-1 area, so
partners overlap and scoping does real work), one token each. `riskmodel serve` runs in
its own process on 127.0.0.1 with its default limits; this process runs one asyncio task
per partner over a shared HTTP/1.1 keep-alive pool (a connection per partner), each task
cycling through the Atom feed, the GeoJSON, the alert list, one alert's detail, one CAP
message and one outcome POST, paced to `--rate` requests per second per partner (below
the portal's per-token limit, so a 429 counts as an error). After an untimed warm-up (one
`/me` per partner), latency is wall time per request as the client sees it. The exit
code is 1 when the target below is missed.

After the run the server is stopped and the store checked: every outcome the server
acknowledged with 200 has exactly one audit row (its note is unique), no other outcome
rows exist, and the stored feedback row of each (alert, partner) carries the note of that
partner's last acknowledged post for it. The result (request count, errors, p50/p99
latency overall and per endpoint, machine, date) is written as JSON. Target: zero errors
and p99 <= 200 ms with 50 partners on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The repository first (this folder's kernels.py would otherwise shadow the package), then
# the tests folder for the fake risk dataset the alert tests use.
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx2 as httpx  # noqa: E402
from test_alerts_fakes import ADMIN1, COUNTRIES, make_risk  # noqa: E402

from riskmodel.alerts.partners import load_partners  # noqa: E402
from riskmodel.alerts.publish import publish_alerts  # noqa: E402
from riskmodel.alerts.store import AlertStore  # noqa: E402
from riskmodel.config import AlertsConfig  # noqa: E402
from riskmodel.portal.tokens import create_token  # noqa: E402

ENDPOINTS = ("feed", "geojson", "alerts", "detail", "cap", "outcome")


def build(folder: Path, n_partners: int) -> tuple[Path, Path, dict[str, str],
                                                  dict[str, list[str]]]:
    """Store, partners file, {partner: token}, {partner: covered alert ids}."""
    lines = []
    for i in range(n_partners):
        country = COUNTRIES[i % len(COUNTRIES)]
        lines += ["[[partner]]", f'id = "p{i:03d}"', f'name = "Partner {i}"',
                  f'countries = ["{country}"]']
        if i % 2:
            lines.append(f'admin1 = ["{country}-{1 + (i // 2) % 2:02d}"]')
        lines.append("")
    partners_path = folder / "partners.toml"
    partners_path.write_text("\n".join(lines))
    cfg = AlertsConfig(store=str(folder / "alerts.sqlite"), partners=str(partners_path))
    levels = {a: 0.6 + 0.05 * k for k, a in enumerate(ADMIN1)}
    publish_alerts(make_risk(levels), run_dir=folder / "run", cfg=cfg, run_id="bench",
                   sent=datetime(2026, 6, 2, 1, tzinfo=timezone.utc))
    partners = load_partners(partners_path)
    tokens, covered = {}, {}
    with AlertStore(cfg.store) as store:
        alerts = store.alerts()
        for p in partners.partner:
            tokens[p.id] = create_token(store, p.id, label="benchmark")[1]
            covered[p.id] = [a["alert_id"] for a in alerts if p.covers(a)]
            if not covered[p.id]:
                raise SystemExit(f"benchmark set-up: partner {p.id} covers no alert")
    return Path(cfg.store), partners_path, tokens, covered


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def start_server(store: Path, partners: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskmodel", "serve", "--store", str(store), "--partners",
         str(partners), "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"riskmodel serve exited ({proc.returncode}): {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("riskmodel serve did not start within 120 s")


async def partner_loop(client: httpx.AsyncClient, pid: str, token: str, alerts: list[str],
                       until: float, rate: float, rec: dict[str, Any], seed: int) -> None:
    """One partner: cycle through the endpoints at `rate` requests per second."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    seq = 0
    next_at = time.monotonic() + rng.random() / rate  # spread the partners' phases
    while True:
        for name in ENDPOINTS:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() >= until:
                return
            next_at += 1.0 / rate
            aid = rng.choice(alerts)
            body = None
            if name == "feed":
                req = ("GET", "/api/v1/feed.atom")
            elif name == "geojson":
                req = ("GET", "/api/v1/alerts.geojson")
            elif name == "alerts":
                req = ("GET", "/api/v1/alerts")
            elif name == "detail":
                req = ("GET", f"/api/v1/alerts/{aid}")
            elif name == "cap":
                req = ("GET", f"/api/v1/cap/{aid}.1.xml")
            else:
                seq += 1
                body = {"outcome": rng.choice(("confirmed", "not_found", "not_visited")),
                        "note": f"bench {pid} {seq}"}
                req = ("POST", f"/api/v1/alerts/{aid}/outcome")
            t0 = time.perf_counter()
            try:
                r = await client.request(*req, json=body, headers=headers)
                ok = r.status_code == 200
                status: Any = r.status_code
            except httpx.HTTPError as exc:
                ok, status = False, type(exc).__name__
            ms = (time.perf_counter() - t0) * 1000
            rec["lat"][name].append(ms)
            if not ok:
                rec["errors"].append({"endpoint": name, "status": status})
            if body is not None:
                rec["posted"].append((pid, aid, body["note"], ok))


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))], 2)


def check_store(store: Path, posted: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
    """Every acknowledged outcome stored exactly once; the latest one per (alert, partner)
    is the feedback row."""
    with sqlite3.connect(store) as db:
        audit = [(p, a, json.loads(d)["note"]) for p, a, d in db.execute(
            "SELECT partner, alert_id, detail FROM portal_audit WHERE action='outcome'")]
        feedback = {(a, p): n for a, p, n in db.execute(
            "SELECT alert_id, partner, note FROM feedback")}
    ok_notes = [n for _, _, n, ok in posted if ok]
    counts: dict[str, int] = {}
    for _, _, n in audit:
        counts[n] = counts.get(n, 0) + 1
    missing = [n for n in ok_notes if counts.get(n, 0) == 0]
    duplicated = [n for n, k in counts.items() if k > 1]
    unconfirmed = {n for _, _, n, ok in posted if not ok}
    extra = [n for n in counts if n not in set(ok_notes) and n not in unconfirmed]
    last: dict[tuple[str, str], str] = {}
    for pid, aid, note, ok in posted:  # each partner posts in order, one at a time
        if ok:
            last[(aid, pid)] = note
    wrong_latest = [k for k, n in last.items() if feedback.get(k) != n]
    return {"outcomes_acknowledged": len(ok_notes), "audit_rows": len(audit),
            "missing": len(missing), "duplicated": len(duplicated), "unexpected": len(extra),
            "feedback_rows": len(feedback), "latest_mismatch": len(wrong_latest),
            "stored_exactly_once": not (missing or duplicated or extra or wrong_latest)}


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def run_clients(base: str, tokens: dict[str, str], covered: dict[str, list[str]],
                      seconds: float, rate: float, rec: dict[str, Any], server_pid: int
                      ) -> float:
    # One client (one TLS-free connection pool, a connection per partner): building an
    # httpx client per partner costs more client CPU than the requests themselves.
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(base_url=base, timeout=10.0, limits=limits) as client:
        # Warm-up, untimed: each partner opens its connection and checks its token once.
        warm = await asyncio.gather(*(client.get("/api/v1/me", headers={
            "Authorization": f"Bearer {tokens[pid]}"}) for pid in sorted(tokens)))
        bad = [r.status_code for r in warm if r.status_code != 200]
        if bad:
            raise SystemExit(f"warm-up failed: HTTP {bad[:5]}")
        rec["cpu0"] = (process_cpu_s(server_pid), time.process_time())
        t0 = time.monotonic()
        until = t0 + seconds
        await asyncio.gather(*(partner_loop(client, pid, tokens[pid], covered[pid], until,
                                            rate, rec, seed=i)
                               for i, pid in enumerate(sorted(tokens))))
        return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", required=True, metavar="OUT.json")
    p.add_argument("--seconds", type=float, default=60.0, help="load duration (default 60)")
    p.add_argument("--partners", type=int, default=50, help="concurrent partners (default 50)")
    p.add_argument("--rate", type=float, default=4.0,
                   help="requests per second per partner (default 4)")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.partners < 1 or args.rate <= 0:
        p.error("--seconds and --rate must be > 0, --partners >= 1")
    rec: dict[str, Any] = {"lat": {n: [] for n in ENDPOINTS}, "errors": [], "posted": []}
    with tempfile.TemporaryDirectory(prefix="riskmodel-portal-bench-") as tmp:
        folder = Path(tmp)
        store, partners_path, tokens, covered = build(folder, args.partners)
        port = free_port()
        server = start_server(store, partners_path, port, folder / "serve.log")
        try:
            load_before = os.getloadavg()
            wall = asyncio.run(run_clients(f"http://127.0.0.1:{port}", tokens, covered,
                                           args.seconds, args.rate, rec, server.pid))
            load_after = os.getloadavg()
            server_cpu = process_cpu_s(server.pid)
            client_cpu = time.process_time()
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        check = check_store(store, rec["posted"])
        server_log = (folder / "serve.log").read_text(errors="replace")[-2000:]
    all_lat = [x for xs in rec["lat"].values() for x in xs]
    errors: dict[str, int] = {}
    for e in rec["errors"]:
        key = f"{e['endpoint']} {e['status']}"
        errors[key] = errors.get(key, 0) + 1
    result = {
        "benchmark": "portal",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "arch": platform.machine(),
                    "python": platform.python_version(), "system": platform.system()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "partners": args.partners, "seconds": round(wall, 1),
        "rate_per_partner": args.rate,
        # CPU seconds used during the timed run: with the load average they show how much
        # of the machine the test had, and server CPU per request is the portal's own cost.
        "server_cpu_s": None if server_cpu is None else round(server_cpu - rec["cpu0"][0], 2),
        "client_cpu_s": round(client_cpu - rec["cpu0"][1], 2),
        "server_cpu_ms_per_request": None if server_cpu is None or not all_lat else round(
            (server_cpu - rec["cpu0"][0]) / len(all_lat) * 1000, 2),
        "requests": len(all_lat), "throughput_rps": round(len(all_lat) / wall, 1),
        "errors": len(rec["errors"]), "errors_by_kind": errors,
        "p50_ms": pct(all_lat, 50), "p99_ms": pct(all_lat, 99),
        "max_ms": round(max(all_lat), 2) if all_lat else None,
        "by_endpoint": {n: {"requests": len(xs), "p50_ms": pct(xs, 50), "p99_ms": pct(xs, 99)}
                        for n, xs in rec["lat"].items()},
        "outcomes": check,
        "target": {"errors": 0, "p99_ms": 200},
        "target_met": (not rec["errors"] and check["stored_exactly_once"]
                       and (pct(all_lat, 99) or 0) <= 200),
    }
    if rec["errors"] or not check["stored_exactly_once"]:
        result["server_log_tail"] = server_log
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"portal: {result['requests']} requests in {result['seconds']} s "
          f"({result['throughput_rps']}/s) by {args.partners} partners; errors "
          f"{result['errors']}; p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; "
          f"outcomes stored exactly once: {check['stored_exactly_once']} "
          f"({check['outcomes_acknowledged']} posted)")
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
