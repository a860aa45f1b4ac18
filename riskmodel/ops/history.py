"""The run history: one JSON object per run in `<out>/<name>/history.jsonl`, newest last.

A run adds its entry when it starts (status `running`) and replaces it when it ends (`ok`
or `failed`, with exit code, error, alerts raised and warnings). The whole file is
rewritten atomically each time and only by the holder of the run lock, so it is never half
written and never interleaved; it keeps the last `KEEP` runs. An entry still `running` whose
lock is free belongs to a run that was killed: `riskmodel status` shows it as interrupted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from riskmodel.io.atomic import write_text

FILENAME = "history.jsonl"
KEEP = 500


def history_path(folder: Path | str) -> Path:
    """The history file of a run folder family."""
    return Path(folder) / FILENAME


def read_history(path: Path | str) -> list[dict[str, Any]]:
    """All entries, oldest first; lines that are not JSON objects are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a hand-edited or foreign line must not hide the other runs
        if isinstance(entry, dict):
            out.append(entry)
    return out


def record(path: Path | str, entry: dict[str, Any]) -> None:
    """Add `entry`, or replace the entry with the same `run_id`; keep the last `KEEP`."""
    entries = [e for e in read_history(path) if e.get("run_id") != entry["run_id"]]
    entries.append(entry)
    entries = entries[-KEEP:]
    write_text(path, "".join(json.dumps(e, sort_keys=True, default=str) + "\n"
                             for e in entries))
