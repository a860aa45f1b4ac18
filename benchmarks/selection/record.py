"""The JSON record a selection script leaves: its document plus when and where it ran."""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def write_record(path: str | Path, doc: dict[str, Any], t0: float, load0: float) -> None:
    """Write `doc` to `path` (indented JSON) with the date (UTC), machine, CPU count, the
    1-minute load at the start (`load0`) and now, and the seconds since `t0`
    (`time.perf_counter()` at the start)."""
    doc = {**doc, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": platform.platform(), "cpus": os.cpu_count(), "load_start": load0,
           "load_end": os.getloadavg()[0], "seconds": round(time.perf_counter() - t0, 1)}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")
