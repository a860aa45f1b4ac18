"""Hostile endpoints and configs against delivery: per-partner queues, one deadline per
request, Standard Webhooks signatures with rotation, HTTPS-only URLs, channel tests, and
dead letters that fail the command. Servers run on 127.0.0.1; every test is time-bounded."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from local_endpoint import LocalEndpoint
from test_alerts_fakes import ADMIN1, make_risk

from riskmodel.alerts import deliver as deliver_mod
from riskmodel.alerts.cap import validate_cap
from riskmodel.alerts.deliver import DeliveryError, deliver, post
from riskmodel.alerts.partners import load_partners
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.alerts.verify import SignatureError, sign, verify_webhook
from riskmodel.commands.alerts import main as cli
from riskmodel.config import AlertsConfig
from riskmodel.errors import ConfigError

SENT = datetime(2026, 6, 2, 3, 0, tzinfo=timezone.utc)
KEY_A = "whsec_" + base64.b64encode(b"k" * 32).decode()
KEY_A_NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
KEY_B = "secret-of-partner-b-0123456789"
KEY_C = "secret-of-partner-c-0123456789"


class Good(LocalEndpoint):
    """An endpoint that verifies every request and records ids (once) and headers."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.lock = threading.Lock()
        self.secrets = secrets
        self.got: dict[str, tuple[str, bytes, dict[str, str]]] = {}
        self.rejected: list[str] = []
        super().__init__(self.handle)

    def handle(self, partner: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            mid = verify_webhook(self.secrets[partner], headers, body)
        except (SignatureError, KeyError) as exc:
            with self.lock:
                self.rejected.append(str(exc))
            return 401
        with self.lock:
            self.got.setdefault(mid, (partner, body, headers))
        return 200


class RawServer:
    """A TCP server whose every connection runs `reply(conn)`: garbage or a slow drip."""

    def __init__(self, reply) -> None:  # type: ignore[no-untyped-def]
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.reply = reply
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(2)
            try:
                conn.recv(65536)
            except OSError:
                pass
            self.reply(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"SSH-2.0-not-http\r\n\r\n")  # http.client.BadStatusLine on the sender


def drip(conn: socket.socket, stop: threading.Event) -> None:
    for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:  # one byte every 0.25 s
        if stop.is_set():
            return
        conn.sendall(bytes([b]))
        time.sleep(0.25)


def publish(tmp: Path, channels: dict[str, str], *, max_attempts: int = 5,
            timeout_s: float = 3.0) -> AlertsConfig:
    """Partners pa (XAA), pb (XAB), pc (XAC) with webhook URLs `channels[pid]`; one night."""
    secrets = {"pa": "TEST_WH_A", "pb": "TEST_WH_B", "pc": "TEST_WH_C"}
    text = f"""
[delivery]
max_attempts = {max_attempts}
base_delay_s = 0.05
max_delay_s = 0.2
timeout_s = {timeout_s}
"""
    for pid, country in (("pa", "XAA"), ("pb", "XAB"), ("pc", "XAC")):
        text += f"""
[[partner]]
id = "{pid}"
name = "{pid}"
countries = ["{country}"]
secret_env = "{secrets[pid]}"
channels = [{{ kind = "webhook", url = "{channels[pid]}/{pid}" }}]
"""
    (tmp / "partners.toml").write_text(text)
    cfg = AlertsConfig(store=str(tmp / "a.sqlite"), partners=str(tmp / "partners.toml"))
    publish_alerts(make_risk({a: 0.8 for a in ADMIN1}), run_dir=tmp / "run", cfg=cfg,
                   run_id="r1", sent=SENT)
    return cfg


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_WH_A", KEY_A)
    monkeypatch.setenv("TEST_WH_B", KEY_B)
    monkeypatch.setenv("TEST_WH_C", KEY_C)


def states(cfg: AlertsConfig) -> dict[tuple[str, str], int]:
    with AlertStore(cfg.store) as st:
        return {(p, s): n for p, s, n in st.db.execute(
            "SELECT partner, state, count(*) FROM outbox GROUP BY partner, state")}


def test_drip_and_garbage_endpoints_do_not_delay_other_partners(tmp_path: Path, env) -> None:
    good = Good({"pa": KEY_A})
    slow, bad = RawServer(drip), RawServer(garbage)
    try:
        cfg = publish(tmp_path, {"pa": good.url, "pb": slow.url, "pc": bad.url})
        t0 = time.monotonic()
        rep = deliver(cfg.store, load_partners(cfg.partners), wait=True, max_seconds=5)
        took = time.monotonic() - t0
    finally:
        good.close()
        slow.close()
        bad.close()
    assert took < 5 + 1.5, f"deliver ran {took:.1f} s past --max-seconds 5"
    s = states(cfg)
    assert s.get(("pa", "delivered")) == 6 and ("pa", "pending") not in s  # all of pa's
    assert len(good.got) == 6 and good.rejected == []
    assert s.get(("pb", "delivered"), 0) == 0  # the drip never completes a reply
    assert s.get(("pc", "delivered"), 0) == 0
    with AlertStore(cfg.store) as st:
        errs = {p: e for p, e in st.db.execute(
            "SELECT partner, last_error FROM outbox WHERE partner IN ('pb','pc') "
            "AND last_error IS NOT NULL")}
        tries = st.db.execute("SELECT min(attempts) FROM outbox WHERE partner='pc'").fetchone()
    assert "BadStatusLine" in errs["pc"] and tries[0] >= 1  # recorded, not a crash
    assert "no complete reply within" in errs["pb"]
    assert rep["delivered"] == 6


def test_request_deadline_is_total_not_per_read() -> None:
    slow = RawServer(drip)
    try:
        t0 = time.monotonic()
        with pytest.raises(DeliveryError, match="no complete reply within 1.0 s"):
            post(slow.url + "/x", b"x", {"Content-Type": "text/plain"}, timeout=1.0)
        assert time.monotonic() - t0 < 2.0
    finally:
        slow.close()


def test_any_exception_of_one_message_is_recorded_and_others_go_on(
        tmp_path: Path, env, monkeypatch: pytest.MonkeyPatch) -> None:
    good = Good({"pa": KEY_A, "pb": KEY_B, "pc": KEY_C})
    try:
        cfg = publish(tmp_path, {"pa": good.url, "pb": good.url, "pc": good.url})
        real = deliver_mod.send_one

        def flaky(row, partner, ch, **kw):  # type: ignore[no-untyped-def]
            if partner.id == "pb":
                raise http.client.InvalidURL("nonnumeric port: '80a'")
            return real(row, partner, ch, **kw)

        monkeypatch.setattr(deliver_mod, "send_one", flaky)
        rep = deliver(cfg.store, load_partners(cfg.partners))
    finally:
        good.close()
    s = states(cfg)
    assert s[("pa", "delivered")] == 6 and s[("pc", "delivered")] == 6
    assert s[("pb", "pending")] == 6 and rep["failed"] == 6 and rep["attempted"] == 18
    with AlertStore(cfg.store) as st:
        err = st.db.execute("SELECT last_error FROM outbox WHERE partner='pb'").fetchone()[0]
    assert err.startswith("InvalidURL")


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:80a/x", "port"),
    ("http://partner.example/x", "https"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/x", "link-local"),
    ("http://localhost@evil.example/", "user info"),
    ("https://user:pw@partner.example/", "user info"),
    ("ftp://partner.example/x", "scheme"),
    ("https://0.0.0.0/x", "unspecified"),
    ("https://partner.example/x#frag", "fragment"),
])
def test_webhook_urls_refused(tmp_path: Path, url: str, why: str) -> None:
    (tmp_path / "p.toml").write_text(f"""
[[partner]]
id = "pa"
name = "A"
countries = ["XAA"]
secret_env = "X"
channels = [{{ kind = "webhook", url = "{url}" }}]
""")
    with pytest.raises(ConfigError, match=why):
        load_partners(tmp_path / "p.toml")


@pytest.mark.parametrize("url", ["https://partner.example/hook", "http://127.0.0.1:8080/x",
                                 "http://[::1]:9/x", "http://localhost:8000/"])
def test_webhook_urls_accepted(tmp_path: Path, url: str) -> None:
    (tmp_path / "p.toml").write_text(f"""
[[partner]]
id = "pa"
name = "A"
countries = ["XAA"]
secret_env = "X"
channels = [{{ kind = "webhook", url = "{url}" }}]
""")
    assert load_partners(tmp_path / "p.toml").partner[0].channels[0].url == url


def test_names_resolving_to_metadata_or_loopback_are_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"meta.example": "169.254.169.254", "sneaky.example": "127.0.0.1"}

    def fake(host, port, *a, **kw):  # type: ignore[no-untyped-def]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    for host, why in (("meta.example", "link-local"), ("sneaky.example", "loopback")):
        with pytest.raises(DeliveryError, match=why):
            post(f"https://{host}/x", b"x", {}, timeout=1.0)


def test_standard_webhooks_headers_and_key_rotation(tmp_path: Path, env,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    good = Good({"pa": KEY_A_NEW})  # the partner already switched to the new key
    try:
        cfg = publish(tmp_path, {"pa": good.url, "pb": good.url, "pc": good.url})
        monkeypatch.setenv("TEST_WH_A", f"{KEY_A} {KEY_A_NEW}")  # rotating: both sign
        deliver(cfg.store, load_partners(cfg.partners), partner="pa")
    finally:
        good.close()
    assert len(good.got) == 6 and good.rejected == []
    mid, (_, body, headers) = next(iter(good.got.items()))
    sigs = headers["webhook-signature"].split()
    assert len(sigs) == 2 and all(s.startswith("v1,") for s in sigs)
    ts = headers["webhook-timestamp"]
    assert headers["webhook-id"] == mid
    # Either key verifies on its own (the old one until the partner drops it).
    for key in (KEY_A, KEY_A_NEW):
        assert verify_webhook(key, headers, body) == mid
    # The signature is the spec's: base64 HMAC-SHA256 over "id.timestamp.body".
    assert sign(KEY_A, mid, ts, body) in sigs


def test_replay_under_new_id_or_traversal_filename_fails() -> None:
    key, body, now = KEY_B, b"<alert/>", 1_780_000_000
    h = {"webhook-id": "abc123", "webhook-timestamp": str(now),
         "webhook-signature": sign(key, "abc123", now, body)}
    assert verify_webhook(key, h, body, now=now) == "abc123"
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(key, {**h, "webhook-id": "new-id-for-replay"}, body, now=now)
    with pytest.raises(SignatureError, match="safe relative path"):
        verify_webhook(key, {**h, "riskmodel-filename": "../../etc/cron.d/x"}, body, now=now)
    with pytest.raises(SignatureError, match="webhook-id"):
        verify_webhook(key, {**h, "webhook-id": "../x y"}, body, now=now)


def test_verify_refuses_empty_and_short_secrets(tmp_path: Path, capsys) -> None:
    body, now = b"<alert/>", 1_780_000_000
    (tmp_path / "body").write_bytes(body)
    for name, secret in (("empty", b"\n"), ("short", b"x")):
        (tmp_path / name).write_bytes(secret)
        import hashlib
        import hmac
        forged = "v1," + base64.b64encode(hmac.new(secret.strip(), f"i.{now}.".encode() + body,
                                                   hashlib.sha256).digest()).decode()
        rc = cli(["alerts", "verify", str(tmp_path / "body"), "--id", "i", "--timestamp",
                  str(now), "--signature", forged, "--secret-file", str(tmp_path / name),
                  "--now", str(now)])
        assert rc == 2, name
    err = capsys.readouterr().err
    assert "empty secret" in err and "at least 24" in err
    with pytest.raises(SignatureError, match="empty secret"):
        verify_webhook("", {"webhook-id": "i", "webhook-timestamp": str(now),
                            "webhook-signature": "v1,AAAA"}, body, now=now)


def test_short_partner_secret_is_never_used(tmp_path: Path, env,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    good = Good({"pa": KEY_A})
    try:
        cfg = publish(tmp_path, {"pa": good.url, "pb": good.url, "pc": good.url},
                      max_attempts=1)
        monkeypatch.setenv("TEST_WH_B", "x")  # 1 byte
        deliver(cfg.store, load_partners(cfg.partners), partner="pb")
    finally:
        good.close()
    assert good.got == {}
    with AlertStore(cfg.store) as st:
        errs = {r[0] for r in st.db.execute("SELECT last_error FROM outbox WHERE partner='pb'")}
    assert len(errs) == 1 and "at least 24" in errs.pop()


def test_deliver_exits_nonzero_when_messages_dead_letter(tmp_path: Path, env, capsys) -> None:
    cfg = publish(tmp_path, {p: "http://127.0.0.1:9" for p in ("pa", "pb", "pc")},
                  max_attempts=1)
    rc = cli(["alerts", "deliver", "--store", cfg.store, "--partners", cfg.partners])
    err = capsys.readouterr().err
    assert rc == 2
    assert "18 message(s) dead-lettered" in err


def test_partner_channel_test_message(tmp_path: Path, env, capsys) -> None:
    good = Good({"pa": KEY_A})
    try:
        cfg = publish(tmp_path, {"pa": good.url, "pb": "http://127.0.0.1:9", "pc": good.url})
        args = ["alerts", "test", "--store", cfg.store, "--partners", cfg.partners]
        assert cli([*args, "--partner", "pa"]) == 0
        assert cli([*args, "--partner", "pb"]) == 2
    finally:
        good.close()
    out = capsys.readouterr()
    assert "pa webhook-1: ok" in out.out and "pb webhook-1: FAILED" in out.err
    (mid, (pid, body, headers)), = good.got.items()
    assert pid == "pa" and mid.startswith("test-pa-")
    assert validate_cap(body) == [] and b"<status>Test</status>" in body
    with AlertStore(cfg.store) as st:  # a test is not an alert: nothing queued or recorded
        assert st.db.execute("SELECT count(*) FROM outbox WHERE idempotency_key LIKE "
                             "'test-%'").fetchone()[0] == 0


@pytest.mark.parametrize("snippet, why", [
    ('budget = "3"', "budget"),
    ('countries = ["xaa"]', "countries"),
    ('countries = ["NOT-A-CODE"]', "countries"),
    ('countries = ["ABC"]', "ISO 3166-1"),
    ('admin1 = ["XAA-01/../x"]', "admin1"),
])
def test_partner_values_are_not_coerced(tmp_path: Path, snippet: str, why: str) -> None:
    base = {"budget": "budget = 3", "countries": 'countries = ["XAA"]', "admin1": ""}
    key = snippet.split(" =")[0]
    lines = [snippet if k == key else v for k, v in base.items()]
    (tmp_path / "p.toml").write_text('[[partner]]\nid = "pa"\nname = "A"\n' + "\n".join(lines))
    with pytest.raises(ConfigError, match=why):
        load_partners(tmp_path / "p.toml")
    (tmp_path / "d.toml").write_text('[delivery]\nmax_attempts = "5"\n')
    with pytest.raises(ConfigError, match="max_attempts"):
        load_partners(tmp_path / "d.toml")


def test_drop_folders_no_dotdot_not_shared(tmp_path: Path) -> None:
    one = '[[partner]]\nid = "{id}"\nname = "x"\ncountries = ["{c}"]\n' \
          'channels = [{{ kind = "directory", path = "{path}" }}]\n'
    (tmp_path / "a.toml").write_text(one.format(id="pa", c="XAA", path="drops/../../etc"))
    with pytest.raises(ConfigError, match=r"\.\."):
        load_partners(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text(
        one.format(id="pa", c="XAA", path=f"{tmp_path}/drop") +
        one.format(id="pb", c="XAB", path=f"{tmp_path}/drop/pb"))
    with pytest.raises(ConfigError, match="share drop folder"):
        load_partners(tmp_path / "b.toml")


def test_json_report_of_deliver(tmp_path: Path, env, capsys) -> None:
    good = Good({"pa": KEY_A, "pb": KEY_B, "pc": KEY_C})
    try:
        cfg = publish(tmp_path, {"pa": good.url, "pb": good.url, "pc": good.url})
        assert cli(["alerts", "deliver", "--store", cfg.store, "--partners", cfg.partners,
                    "--json"]) == 0
    finally:
        good.close()
    rep = json.loads(capsys.readouterr().out)
    assert rep["delivered"] == 18 and rep["outbox_delivered"] == 18 and rep["dead"] == 0
    assert os.path.exists(cfg.store)


def test_run_config_month_is_a_month(tmp_path: Path) -> None:
    from riskmodel.config import load_config
    (tmp_path / "run.toml").write_text('as_of = "2024-13"\n')
    with pytest.raises(ConfigError, match="as_of"):
        load_config(tmp_path / "run.toml")


def test_verify_missing_files_are_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "secret").write_text(KEY_B)
    base = ["alerts", "verify", "--id", "i", "--timestamp", "1", "--signature", "v1,AA=="]
    assert cli([*base, str(tmp_path / "absent-body"), "--secret-file",
                str(tmp_path / "secret")]) == 2
    (tmp_path / "body").write_bytes(b"x")
    assert cli([*base, str(tmp_path / "body"), "--secret-file",
                str(tmp_path / "absent-secret")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "absent-body" in err[0] and "absent-secret" in err[1]
