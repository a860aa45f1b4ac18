"""Shared fixtures: a tiny run config in a temporary folder, and one tiny run per session.

The tiny world (configs/tiny.toml) runs the whole pipeline in seconds. Every path the
config names (run folders, model registry, alert store) is redirected into a temporary
folder so tests never touch the working tree.

`make test` runs the suite on every core with pytest-xdist (`--dist loadfile`: one file's
tests, and so its module fixtures, stay in one worker process); each worker has its own
session, so its own `tiny_run`. With a cold Numba cache the workers first compile the
kernels between them (`numba_cache_warm`).
"""

from __future__ import annotations

import os
import re
import time
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


@pytest.fixture(scope="session", autouse=True)
def numba_cache_warm(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under pytest-xdist, fill the shared Numba cache once, split between the workers,
    before any test runs.

    Compiling the kernels (most are `parallel=True`) takes minutes of CPU with a cold
    cache, and two workers that each meet a kernel first would each compile it. Here
    worker i calls every case of `kernels.cases` whose kernel is i, i+n, ... in the
    registry order, on the case's small grid in float32 and float64 (all signatures of one
    kernel in one process, so no two processes write one function's cache index at once),
    then marks itself done in the session's shared temporary folder and waits for the
    others (at most 5 minutes, then it goes on: the tests still compile what they miss).
    Afterwards every worker loads the kernels from the cache. Outside xdist, or with the
    JIT off, it does nothing; with a warm cache it only loads.
    """
    worker = getattr(request.config, "workerinput", None)
    if worker is None or os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return
    import numpy as np

    from kernels.cases import CASES

    index, count = int(worker["workerid"].removeprefix("gw")), int(worker["workercount"])
    kernels = list(dict.fromkeys(c.kernel for c in CASES))
    mine = set(kernels[index::count])
    shared = tmp_path_factory.getbasetemp().parent
    try:
        for case in CASES:
            if case.kernel in mine:
                for dtype in (np.float32, np.float64):
                    call = case.call(case.small, 0, dtype)
                    try:
                        case.spec.func(*call.args, **call.kwargs)
                    except Exception:  # noqa: BLE001 - the kernel's own tests report it
                        pass
    finally:
        (shared / f"numba-warm-{index}.done").touch()
    deadline = time.monotonic() + 300
    while (time.monotonic() < deadline
           and not all((shared / f"numba-warm-{i}.done").exists() for i in range(count))):
        time.sleep(0.2)
