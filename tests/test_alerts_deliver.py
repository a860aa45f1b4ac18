"""Outbox delivery: signed webhooks to a flaky loopback receiver, kill and restart, dead letter,
and the reference verifier rejecting tampered bodies and old timestamps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from local_endpoint import LocalEndpoint
from test_alerts_fakes import ADMIN1, make_risk

from riskmodel.alerts.deliver import _Lock, backoff, deliver
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.alerts.verify import SignatureError, sign, verify_webhook
from riskmodel.commands.alerts import main as cli
from riskmodel.config import AlertsConfig
from riskmodel.errors import LockHeldError

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {"pa": b"secret-of-a-0123456789-abcdef", "pc": b"secret-of-c-9876543210-fedcba"}
COUNTRY = {"pa": "XAA", "pc": "XAC"}


class Receiver(LocalEndpoint):
    """A partner's endpoint on 127.0.0.1: verifies signatures, fails every 3rd request,
    records each idempotency key once, and can stall once after recording (kill window)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.recorded: dict[str, tuple[str, bytes]] = {}
        self.duplicates = 0
        self.rejected = 0
        self.stall_after = -1  # stall after recording this many keys
        self.stalled = threading.Event()
        super().__init__(self.handle)

    def handle(self, partner: str, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            self.requests += 1
            n = self.requests
        try:
            key = verify_webhook(SECRETS[partner], headers, body)
        except (SignatureError, KeyError):
            with self.lock:
                self.rejected += 1
            return 401
        if n % 3 == 0:
            return 503  # a flaky endpoint
        stall = False
        with self.lock:
            if key in self.recorded:
                self.duplicates += 1
            else:
                self.recorded[key] = (partner, body)
                stall = len(self.recorded) == self.stall_after
        if stall:  # recorded but not yet acknowledged: the deliverer dies here
            self.stalled.set()
            time.sleep(3)
        return 200


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def setup_store(tmp: Path, url: str, *, max_attempts: int = 10) -> AlertsConfig:
    (tmp / "partners.toml").write_text(f"""
[delivery]
max_attempts = {max_attempts}
base_delay_s = 0.02
max_delay_s = 0.2
timeout_s = 5

[[partner]]
id = "pa"
name = "A"
countries = ["XAA"]
secret_env = "TEST_SECRET_PA"
channels = [{{ kind = "webhook", url = "{url}/pa" }}]

[[partner]]
id = "pc"
name = "C"
countries = ["XAC"]
secret_file = "{tmp}/pc.secret"
channels = [{{ kind = "webhook", url = "{url}/pc" }}]
""")
    (tmp / "pc.secret").write_bytes(SECRETS["pc"] + b"\n")
    cfg = AlertsConfig(store=str(tmp / "a.sqlite"), partners=str(tmp / "partners.toml"))
    levels = {a: 0.8 for a in ADMIN1}
    for i, m in enumerate(("2026-03", "2026-04")):  # two nights: Alerts, then Updates
        lv = {a: v + 0.15 * i for a, v in levels.items()}
        publish_alerts(make_risk(lv, as_of=m), run_dir=tmp / f"run{i}", cfg=cfg,
                       run_id=f"r{i}", sent=datetime(2026, 6, 2 + i, tzinfo=timezone.utc))
    return cfg


def outbox_keys(cfg: AlertsConfig) -> dict[str, str]:
    with AlertStore(cfg.store) as st:
        return {k: p for k, p in st.db.execute("SELECT idempotency_key, partner FROM outbox")}


def test_kill_and_restart_delivers_everything_once(tmp_path: Path, receiver: Receiver) -> None:
    cfg = setup_store(tmp_path, receiver.url)
    keys = outbox_keys(cfg)
    assert len(keys) == 2 * (4 + 4 + 4)  # per partner: 4 Alerts, 4 Updates, 2 x 2 feeds
    receiver.stall_after = 5
    env = {**os.environ, "TEST_SECRET_PA": SECRETS["pa"].decode()}
    cmd = [sys.executable, "-m", "riskmodel.commands.alerts", "alerts", "deliver",
           "--store", cfg.store, "--partners", cfg.partners, "--wait", "--max-seconds", "30",
           "--json"]
    first = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert receiver.stalled.wait(20), "deliverer never reached the receiver"
    first.send_signal(signal.SIGKILL)  # dies after the receiver recorded, before the ack
    first.wait(10)
    with AlertStore(cfg.store) as st:
        pending = st.db.execute("SELECT count(*) FROM outbox WHERE state='pending'").fetchone()[0]
    assert 0 < pending < len(keys)
    second = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, timeout=60)
    assert second.returncode == 0, second.stderr.decode()
    with AlertStore(cfg.store) as st:
        states = dict(st.db.execute("SELECT state, count(*) FROM outbox GROUP BY state"))
    assert states == {"delivered": len(keys)}
    assert set(receiver.recorded) == set(keys)  # every message reached the receiver ...
    assert receiver.duplicates >= 1  # ... the one in flight at the kill came twice ...
    assert len(receiver.recorded) == len(keys)  # ... and was recorded once by its key
    assert receiver.rejected == 0 and receiver.requests > len(keys)  # retries happened
    for key, (pid, body) in receiver.recorded.items():
        assert keys[key] == pid  # each partner's endpoint got only its own messages
        other = COUNTRY["pc" if pid == "pa" else "pa"]
        assert other.encode() not in body


def test_dead_letter_after_max_attempts(tmp_path: Path) -> None:
    cfg = setup_store(tmp_path, "http://127.0.0.1:9", max_attempts=3)  # discard port: refused
    os.environ["TEST_SECRET_PA"] = SECRETS["pa"].decode()
    try:
        rep = deliver(cfg.store, load_partners(cfg.partners), wait=True, max_seconds=20)
    finally:
        del os.environ["TEST_SECRET_PA"]
    n = len(outbox_keys(cfg))
    assert rep["outbox_dead"] == n and rep["outbox_pending"] == 0
    with AlertStore(cfg.store) as st:
        attempts = {r[0] for r in st.db.execute("SELECT attempts FROM outbox")}
    assert attempts == {3}


def test_missing_secret_is_retried_not_sent_unsigned(tmp_path: Path, receiver) -> None:
    cfg = setup_store(tmp_path, receiver.url, max_attempts=2)
    os.environ.pop("TEST_SECRET_PA", None)
    rep = deliver(cfg.store, load_partners(cfg.partners), partner="pa", wait=True,
                  max_seconds=10)
    assert rep["delivered"] == 0 and rep["dead"] == 12
    assert receiver.requests == 0


def test_single_deliverer_lock(tmp_path: Path) -> None:
    cfg = setup_store(tmp_path, "http://127.0.0.1:9")
    with _Lock(Path(cfg.store)):
        with pytest.raises(LockHeldError):
            deliver(cfg.store, load_partners(cfg.partners))


def test_backoff_grows_and_is_capped() -> None:
    d = [backoff(n, "k", 1.0, 30.0) for n in range(1, 8)]
    assert all(0.5 * min(30, 2 ** (n - 1)) <= x <= min(30, 2 ** (n - 1))
               for n, x in zip(range(1, 8), d, strict=True))
    assert d[-1] <= 30


def test_verifier_rejects_tampered_and_old(tmp_path: Path, capsys) -> None:
    secret = b"s3cret-s3cret-s3cret-s3cret"
    body = b'{"hello": "partner"}'
    now = 1_780_000_000
    mid = "msg_0123456789abcdef"
    sig = sign(secret, mid, now, body)

    def check(sig: str, body: bytes, ts: int, clock: float | None = None) -> str:
        return verify_webhook(secret, {"webhook-id": mid, "webhook-timestamp": str(ts),
                                       "webhook-signature": sig}, body,
                              now=ts if clock is None else clock)

    assert check(sig, body, now, clock=now + 10) == mid
    with pytest.raises(SignatureError, match="does not match"):
        check(sig, body.replace(b"partner", b"Partner"), now)
    with pytest.raises(SignatureError, match="stale"):
        check(sign(secret, mid, now - 301, body), body, now - 301, clock=now)
    with pytest.raises(SignatureError, match="does not match"):
        check(sig, body, now + 1, clock=now)  # timestamp swapped
    # The same checks from the shell, as a partner would run them.
    (tmp_path / "body").write_bytes(body)
    (tmp_path / "tampered").write_bytes(body + b" ")
    (tmp_path / "secret").write_bytes(secret + b"\n")
    base = ["alerts", "verify", "--secret-file", str(tmp_path / "secret"), "--id", mid,
            "--timestamp", str(now), "--signature", sig, "--now", str(now + 5)]
    assert cli([*base, str(tmp_path / "body")]) == 0
    assert cli([*base, str(tmp_path / "tampered")]) == 2
    old = ["alerts", "verify", "--secret-file", str(tmp_path / "secret"), "--id", mid,
           "--timestamp", str(now), "--signature", sig, "--now", str(now + 3600),
           str(tmp_path / "body")]
    assert cli(old) == 2
    assert "stale" in capsys.readouterr().err


def test_redirects_refused_and_dead_letters_requeued(tmp_path: Path, receiver, capsys) -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(307)
            self.send_header("Location", receiver.url + "/pc")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        cfg = setup_store(tmp_path, f"http://127.0.0.1:{srv.server_address[1]}", max_attempts=1)
        os.environ["TEST_SECRET_PA"] = SECRETS["pa"].decode()
        args = ["alerts", "deliver", "--store", cfg.store, "--partners", cfg.partners, "--json"]
        assert cli(args) == 2  # everything dead-lettered: not a success
        import json
        rep = json.loads(capsys.readouterr().out)
        assert rep["outbox_dead"] == 24 and receiver.requests == 0  # never followed
        assert "refused" in rep["dead_letters"][0]["last_error"]
        # The partner fixed its endpoint: point the config at the real receiver and requeue.
        text = Path(cfg.partners).read_text().replace(
            f"127.0.0.1:{srv.server_address[1]}", receiver.url.split("//")[1])
        Path(cfg.partners).write_text(text.replace("max_attempts = 1", "max_attempts = 10"))
        assert cli([*args, "--requeue-dead", "--wait", "--max-seconds", "20"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert rep["outbox_delivered"] == 24 and rep["dead_letters"] == []
    finally:
        os.environ.pop("TEST_SECRET_PA", None)
        srv.shutdown()
        srv.server_close()
