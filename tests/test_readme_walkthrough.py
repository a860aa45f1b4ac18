"""The README's walk-through, run as written: in a fresh folder holding what a clone holds
(configs/), bash runs the README's block (its `make venv` aside: this environment has
riskmodel installed, and the checkout's code runs through PYTHONPATH as an editable install
would); the night runs on fresh inputs, delivery sends, and the partner's receiver from the
README gets every queued message, each signed. The block is the recipe's cron line with
the walk-through's config, and its receiver refuses forged or stale deliveries."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT
from test_ops_recipes import nightly_section, riskmodel_commands

MARKER = "<!-- walkthrough: tests/test_readme_walkthrough.py runs this block -->"
PORT = 8787
SECRET = "walkthrough-test-secret-0123456789abcdef"


def walkthrough() -> str:
    """The bash block after the README's walk-through marker."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```bash\n", text.index(MARKER)) + len("```bash\n")
    return text[start:text.index("\n```\n", start) + 1]


def receiver_source(block: str) -> str:
    """The receiver.py the block writes with its here-document."""
    start = block.index("cat > receiver.py <<'PY'\n") + len("cat > receiver.py <<'PY'\n")
    return block[start:block.index("\nPY\n", start) + 1]


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else a free port of 127.0.0.1."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def kill_group(proc: subprocess.Popen) -> None:
    """End the process group this test started (the block's background receiver too)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def test_walkthrough_runs_the_recipes_cron_line_with_its_config() -> None:
    block = walkthrough()
    cron = next(ln for ln in nightly_section().splitlines()
                if re.match(r"^[\d*/,-]+ [\d*/,-]+ ", ln))
    night = next(ln for ln in block.splitlines() if "bin/riskmodel run " in ln)
    ours, recipe = riskmodel_commands(night), riskmodel_commands(cron)
    assert [c[:2] for c in ours] == [["run", "--config"], ["alerts", "deliver"]]
    local = [[w.replace("configs/demo.toml", "configs/local-delivery.toml") for w in c]
             for c in recipe]
    assert ours[0] == local[0]  # the night exactly as cron runs it, on fresh inputs
    strip = lambda c: [w for w in c if not re.fullmatch(r"\d+", w)]  # noqa: E731
    assert strip(ours[1]) == strip(local[1])  # delivery too, with a shorter wait
    assert "make venv" in block and ".venv/bin/riskmodel world" in block
    assert f"http://127.0.0.1:{PORT}/" in (ROOT / "configs" / "partners-local.toml").read_text()


@pytest.fixture
def clone(tmp_path: Path, tiny_run: dict) -> Iterator[dict]:
    """A folder with the clone's configs (on a free port), the models the tiny run trained
    (the walk-through's config has the tiny world's model settings, so their ids match and
    the block needs no training here) and the compiled kernels."""
    root = tmp_path / "clone"
    shutil.copytree(ROOT / "configs", root / "configs")
    shutil.copytree(Path(tiny_run["folder"]) / "models", root / "models")
    # The block compiles the kernels into its own .cache/numba; the suite's cache (keyed by
    # the source files, the same here) spares the minutes that takes on a loaded machine.
    cache = Path(os.environ.get("NUMBA_CACHE_DIR") or ROOT / ".cache" / "numba")
    if cache.is_dir():
        # skip the temporary files of a cache write in progress (another test process)
        shutil.copytree(cache, root / ".cache" / "numba", ignore=shutil.ignore_patterns("*.tmp.*"))
    port = free_port(PORT)
    partners = root / "configs" / "partners-local.toml"
    partners.write_text(partners.read_text().replace(f":{PORT}/", f":{port}/"))
    yield {"root": root, "port": port}


def test_walkthrough_delivers_signed_alerts_to_the_local_receiver(clone: dict) -> None:
    root, port = clone["root"], clone["port"]
    bin_dir = Path(sys.executable).parent
    lines = [ln for ln in walkthrough().splitlines() if not ln.startswith("make venv")]
    script = "\n".join(lines).replace(".venv/bin/", f"{shlex.quote(str(bin_dir))}/")
    script = script.replace(str(PORT), str(port))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT)}
    env.pop("RISKMODEL_SECRET_LOCAL", None)  # the block makes its own
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=900)
    finally:
        kill_group(proc)
    logs = {n: (root / "runs" / n).read_text() if (root / "runs" / n).is_file() else ""
            for n in ("nightly.log", "deliver.log", "receiver.log")}
    assert proc.returncode == 0, (out, logs)

    counts = dict(re.findall(r"(\w+) (\d+)", logs["deliver.log"].splitlines()[-1]))
    delivered = int(counts["delivered"])
    assert delivered > 0 and int(counts["dead"]) == 0, logs["deliver.log"]
    verdicts = [ln.split()[0] for ln in logs["receiver.log"].splitlines()
                if ln.startswith(("genuine ", "REFUSED "))]  # not the server's access log
    assert verdicts == ["genuine"] * delivered, logs["receiver.log"]
    assert f"\n{delivered}\n" in f"\n{out}"  # the block's `grep -c genuine`
    received = sorted((root / "received").iterdir())
    assert len(received) == delivered
    with sqlite3.connect(root / "runs" / "local-delivery-alerts.sqlite") as db:
        rows = db.execute("SELECT filename, body, state FROM outbox").fetchall()
    assert rows and {r[2] for r in rows} == {"delivered"}
    assert len(rows) == delivered
    by_name = {re.sub(r"[^A-Za-z0-9._-]", "_", f) : bytes(b) for f, b, _ in rows}
    for path in received:
        name = max((n for n in by_name if path.name.endswith("-" + n)), key=len)
        assert path.read_bytes() == by_name[name]
    names = " ".join(by_name)
    assert "cap_" in names and "alerts.csv" in names and "alerts.geojson" in names
    assert (root / "runs" / "local-delivery").is_dir()
    assert list((root / "runs" / "local-delivery").glob("*/report.html"))


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_readme_receiver_refuses_forged_and_stale_deliveries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskmodel.alerts.deliver import webhook_headers
    from riskmodel.alerts.partners import Partner

    port = free_port(PORT)
    (tmp_path / "receiver.py").write_text(
        receiver_source(walkthrough()).replace("8787", str(port)))
    env = {**os.environ, "RISKMODEL_SECRET_LOCAL": SECRET}
    proc = subprocess.Popen([sys.executable, "receiver.py"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/local-receiver"
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "no receiver"
                time.sleep(0.1)
        monkeypatch.setenv("RISKMODEL_TEST_WALK_SECRET", SECRET)
        partner = Partner(id="local-receiver", name="t", countries=("XAA",),
                          secret_env="RISKMODEL_TEST_WALK_SECRET")
        body = b"<alert>cap</alert>"
        now = int(time.time())
        good = webhook_headers(partner, "msg_1", now, body, "application/xml",
                               "cap/a../../x.xml")
        assert _post(url, body, good) == 200
        assert _post(url, body + b" ", good) == 401  # body changed after signing
        stale = webhook_headers(partner, "msg_2", now - 3600, body, "application/xml", "b")
        assert _post(url, body, stale) == 401
        assert _post(url, body, {k: v for k, v in good.items()
                                 if k.lower() != "webhook-signature"}) == 401
        stored = sorted(p.name for p in (tmp_path / "received").iterdir())
        assert stored == ["msg_1-cap_a.._.._x.xml"]  # kept inside received/, as one name
        assert (tmp_path / "received" / stored[0]).read_bytes() == body
    finally:
        kill_group(proc)
        proc.wait(10)
