"""Whole files: clean-up of leftover temporary files, and a check that a run folder's files
open and validate.

Atomic writes leave only hidden `.<name>.*.tmp` files behind when a process is killed
mid-write; the next run removes them under the run lock (no other writer can be using
them then). `verify_tree` opens every output by its format, so crash tests (and operators)
can see that nothing present is half written.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import xarray as xr

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def temp_files(folder: Path | str) -> list[Path]:
    """Leftover temporary files of atomic writes under `folder`."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob(".*.tmp") if p.is_file())


def remove_temp_files(folder: Path | str) -> list[Path]:
    """Delete leftover temporary files under `folder` (call with the run lock held)."""
    removed = temp_files(folder)
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def verify_file(path: Path) -> str | None:
    """None if `path` opens and validates by its extension, else what is wrong."""
    try:
        suffix = path.suffix.lower()
        data = path.read_bytes()
        if suffix == ".nc":
            with xr.open_dataset(path) as ds:
                ds.load()
        elif suffix in (".json", ".geojson"):
            obj = json.loads(data)
            if suffix == ".geojson" and obj.get("type") != "FeatureCollection":
                return "not a GeoJSON FeatureCollection"
        elif suffix == ".jsonl":
            for line in data.decode("utf-8").splitlines():
                json.loads(line)
        elif suffix == ".xml":
            ET.fromstring(data)
        elif suffix == ".csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
            if not rows:
                return "empty CSV (no header)"
            if any(len(r) != len(rows[0]) for r in rows):
                return "ragged CSV rows"
        elif suffix == ".html":
            if b"</html>" not in data.lower():
                return "HTML without its closing tag"
        elif suffix == ".png":
            if not data.startswith(PNG_MAGIC):
                return "not a PNG"
    except Exception as exc:  # any failure to open is the finding, not a crash of the check
        return f"{type(exc).__name__}: {exc}"
    return None


def verify_tree(folder: Path | str) -> dict[str, str]:
    """Relative path -> problem for every file under `folder` that does not validate,
    including leftover temporary files (lock files and the SQLite store are skipped)."""
    folder = Path(folder)
    problems: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.endswith(".lock") or ".sqlite" in p.name:
            continue
        rel = str(p.relative_to(folder))
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            problems[rel] = "leftover temporary file"
            continue
        bad = verify_file(p)
        if bad:
            problems[rel] = bad
    return problems
