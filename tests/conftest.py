"""Shared fixtures: a tiny run config in a temporary folder, and one tiny run per session.

The tiny world (configs/tiny.toml) runs the whole pipeline in seconds. Every path the
config names (run folders, model registry, alert store) is redirected into a temporary
folder so tests never touch the working tree.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from riskmodel.config import redirected_config, toml_text

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
os.environ.setdefault("MPLBACKEND", "Agg")


def toml_dumps(data: dict) -> str:
    """TOML text of `data` (the project's writer; tests build malformed configs with it)."""
    return toml_text(data)


def write_tiny_config(folder: Path, **overrides: dict) -> Path:
    """Copy configs/tiny.toml into `folder` with every output path inside `folder`."""
    return redirected_config(ROOT / "configs" / "tiny.toml", folder, overrides)


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
