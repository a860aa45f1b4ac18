"""Shared fixtures: a tiny run config in a temporary folder, and one tiny run per session.

The tiny world (configs/tiny.toml) runs the whole pipeline in seconds. Every path the
config names (run folders, model registry, alert store) is redirected into a temporary
folder so tests never touch the working tree.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
os.environ.setdefault("MPLBACKEND", "Agg")


def toml_dumps(data: dict, prefix: str = "") -> str:
    """Minimal TOML writer for test configs (tables, strings, numbers, bools, lists)."""
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines = [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{prefix}{k}]")
            lines.append(toml_dumps(v, prefix=f"{prefix}{k}."))
    return "\n".join(lines) + "\n"


def write_tiny_config(folder: Path, **overrides: dict) -> Path:
    """Copy configs/tiny.toml into `folder` with every output path inside `folder`."""
    data = tomllib.loads((ROOT / "configs" / "tiny.toml").read_text())
    data["out"] = str(folder / "runs")
    data.setdefault("model", {})["registry"] = str(folder / "models")
    alerts = data.setdefault("alerts", {})
    alerts["store"] = str(folder / "alerts.sqlite")
    for key in ("rules", "partners"):  # repo-relative in the config; absolute in tmp copies
        if key in alerts:
            alerts[key] = str(ROOT / alerts[key])
    for section, values in overrides.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    path = folder / "tiny.toml"
    path.write_text(toml_dumps(data))
    return path


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """A tiny config whose outputs all land in this test's tmp_path."""
    return write_tiny_config(tmp_path)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One `riskmodel run` on the tiny world, shared by the tests that only read outputs."""
    from riskmodel.cli import main

    folder = tmp_path_factory.mktemp("tiny_run")
    config = write_tiny_config(folder)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--config", str(config), "--quiet"])
    assert exit_info.value.code == 0
    run_dirs = sorted(p for p in (folder / "runs" / "tiny").iterdir()
                      if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name))
    return {"folder": folder, "config": config, "run_dir": run_dirs[-1]}
