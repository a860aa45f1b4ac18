"""Bad-input campaign, partner feedback files (`riskmodel alerts feedback`): random cells,
truncation and corrupted bytes end in rows true to the file (every other row reported by
line) or one `InputError` naming the file, never a traceback and never a half-recorded file.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_alerts_fakes import make_risk

from riskmodel.alerts.feedback import OUTCOMES, record_feedback
from riskmodel.alerts.partners import PartnersConfig
from riskmodel.alerts.publish import publish_alerts
from riskmodel.alerts.store import AlertStore
from riskmodel.config import AlertsConfig
from riskmodel.errors import InputError

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
ALERT = st.sampled_from(["fl-XAA-01-2026-05", "cl-XAC-02-2026-05", "fl-XAC-02-2026-05.1",
                         "fl-XZZ-01-2026-05", "", "FL-XAA-01-2026-05", "fl-XAA-01-2026-05 "])
OUTCOME = st.sampled_from(["confirmed", "not found", "Not_Visited", "maybe", "", "confirmed "])
OBSERVED = st.sampled_from(["2026-06-20", "", "21/06/2026", "2026-02-30"])
KNOWN = {"fl-XAA-01-2026-05", "cl-XAC-02-2026-05", "fl-XAC-02-2026-05"}
# A CAP identifier names its alert in either column (partners copy it from the CAP file).
CAP_OF = {"fl-XAC-02-2026-05.1": "fl-XAC-02-2026-05"}
NOTE = st.sampled_from(["", "two workers", "a,b", '"quoted"', "ünïcode"])
# Feedback is only taken from configured partners on their own areas.
PARTNERS = PartnersConfig.model_validate({"partner": [
    {"id": "pa", "name": "A", "countries": ["XAA", "XAB", "XAC"]},
    {"id": "pc", "name": "C", "countries": ["XAC"]}]})
VALID = ("alert_id,outcome,partner,observed_on,note\n"
         "fl-XAA-01-2026-05,confirmed,pa,2026-06-20,two workers\n"
         "cl-XAC-02-2026-05,not_found,pc,,\n").encode()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with four published alerts (fl/cl x XAA-01, XAC-02); copied per example."""
    tmp = tmp_path_factory.mktemp("fb")
    cfg = AlertsConfig(store=str(tmp / "a.sqlite"))
    publish_alerts(make_risk({"XAA-01": 0.7, "XAC-02": 0.9}), run_dir=tmp / "run", cfg=cfg,
                   run_id="r1", sent=datetime(2026, 6, 2, 1, tzinfo=timezone.utc))
    return Path(cfg.store)


def _feedback(store_path: Path) -> list[tuple]:
    with AlertStore(store_path) as s:
        return sorted(tuple(r) for r in s.db.execute(
            "SELECT alert_id, partner, outcome, observed_on, note FROM feedback"))


def outcome(published: Path, tmp: Path, data: bytes) -> tuple[int, list[tuple]] | None:
    """Record `data` as a feedback file into a fresh copy of the store: (recorded, rows) or
    None when the whole file was refused (then nothing may have been recorded)."""
    db = tmp / "a.sqlite"
    db.write_bytes(published.read_bytes())
    path = tmp / "fb.csv"
    path.write_bytes(data)
    with AlertStore(db) as s:
        try:
            res = record_feedback(s, path, partners=PARTNERS, default_partner="pa")
        except InputError as exc:
            msg = str(exc)
            assert str(path) in msg and "Traceback" not in msg, msg
            res = None
    rows = _feedback(db)
    if res is None:
        assert rows == []
        return None
    # One outcome per alert and partner (the latest row wins), so repeats collapse.
    assert len(rows) <= res.recorded and bool(rows) == bool(res.recorded)
    for line, why in res.errors:
        assert isinstance(line, int) and line >= 2 and why
    return res.recorded, rows


@SETTINGS
@given(rows=st.lists(st.tuples(ALERT, OUTCOME, OBSERVED, NOTE), max_size=6))
def test_feedback_rows_true_or_reported(published: Path, tmp_path: Path,
                                        rows: list[tuple[str, ...]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["alert_id", "outcome", "observed_on", "note"])
    w.writerows(rows)
    got = outcome(published, tmp_path, buf.getvalue().encode())
    assert got is not None  # a well-formed header is never refused as a whole
    recorded, stored = got
    written = {(CAP_OF.get(a.strip(), a.strip()), o.strip().lower().replace(" ", "_"))
               for a, o, *_ in rows}
    for alert_id, partner, out, observed, _ in stored:  # every stored row is from the file
        assert (alert_id, out) in written and partner == "pa"
        assert observed in (None, "2026-06-20")
    valid = [r for r in rows if CAP_OF.get(r[0].strip(), r[0].strip()) in KNOWN
             and r[1].strip().lower().replace(" ", "_") in OUTCOMES
             and r[2] in ("2026-06-20", "")]
    assert recorded == len(valid)


@SETTINGS
@given(cut=st.integers(0, len(VALID)), at=st.integers(0, len(VALID) - 1),
       byte=st.sampled_from([0x80, 0xFF, 0x00, ord(","), ord("\n"), ord('"'), ord("x")]))
def test_feedback_truncated_or_corrupted(published: Path, tmp_path: Path, cut: int, at: int,
                                         byte: int) -> None:
    outcome(published, tmp_path, VALID[:cut])
    data = bytearray(VALID)
    data[at] = byte
    got = outcome(published, tmp_path, bytes(data))
    if got is not None:
        for alert_id, partner, out, _, _ in got[1]:  # true to the corrupted bytes
            assert alert_id in KNOWN and out in OUTCOMES
            assert f"{alert_id},".encode() in data
            assert partner == "pa" or f",{partner}".encode() in data  # "pa": the default
