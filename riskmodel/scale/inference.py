"""Compiled inference: LightGBM boosters turned into C shared libraries with tl2cgen.

LightGBM's own `predict` walks pointer-linked trees; tl2cgen (treelite's code generator)
writes each tree as nested if/else C code that gcc compiles to straight-line branches,
which scores the same rows faster with the same raw scores (benchmarks/README.md has the
measurement). Each compiled library is cached under `cache_dir` by a key derived from the
model text's sha256, the number of trees used (`best_iteration`) and the tl2cgen/treelite
versions, so a changed model file or a new compiler release never reuses a stale library.
Without tl2cgen or a C compiler every function here returns None and callers fall back to
LightGBM's native predict.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

# Code-generation parameters. `parallel_comp` splits the C into files gcc compiles in
# parallel; `quantize` replaces float comparisons by integer comparisons of bin indices
# (exact for thresholds taken from the model), which measured here is what makes the
# compiled code about 2x faster than native predict instead of 1.2x.
CODEGEN_PARAMS: dict[str, int] = {"parallel_comp": 8, "quantize": 1}


def _toolchain() -> str | None:
    """The C toolchain tl2cgen should use, or None when no compiler is installed."""
    for name in ("gcc", "clang"):
        if shutil.which(name):
            return name
    return None


def compiler_available() -> bool:
    """True when tl2cgen, treelite and a C compiler are all present."""
    try:
        import tl2cgen  # noqa: F401
        import treelite  # noqa: F401
    except ImportError:
        return False
    return _toolchain() is not None


class CompiledBooster:
    """A loaded tl2cgen library of one booster; `raw_score` equals `predict(raw_score=True)`."""

    def __init__(self, libpath: Path, threads: int) -> None:
        import tl2cgen

        self.libpath = libpath
        self._predictor = tl2cgen.Predictor(str(libpath), nthread=threads)

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """(n,) float64 raw log-odds for `X` (n, F) float32; NaN means missing, as in
        LightGBM."""
        import tl2cgen

        dmat = tl2cgen.DMatrix(np.ascontiguousarray(X, dtype=np.float32), dtype="float32")
        out = self._predictor.predict(dmat, pred_margin=True)
        return np.asarray(out, dtype=np.float64).reshape(len(X))


def cache_key(model_sha256: str, best_iteration: int | None) -> str:
    """Name of the cached library for a model text's sha256 and the trees it uses."""
    import tl2cgen
    import treelite

    text = (f"{model_sha256}:{best_iteration or 0}:{sorted(CODEGEN_PARAMS.items())}:"
            f"{tl2cgen.__version__}:{treelite.__version__}")
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def compile_model_text(text: str, cache_dir: Path | str, *, threads: int = 2,
                       best_iteration: int | None = None) -> CompiledBooster | None:
    """Compile (or load from `cache_dir`) the LightGBM model `text` (its text format).

    Only the first `best_iteration` trees are compiled (all when None), matching
    `predict(num_iteration=best_iteration)`. The library is built in a temporary folder and
    renamed into place, so concurrent processes never load a half-written file. Returns
    None when tl2cgen or a C compiler is missing.
    """
    if not compiler_available():
        return None
    import tl2cgen
    import treelite

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    key = cache_key(hashlib.sha256(text.encode()).hexdigest(), best_iteration)
    lib = cache / f"{key}.so"
    if not lib.exists():
        booster = lgb.Booster(model_str=text)
        if best_iteration:
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best_iteration))
        model = treelite.frontend.from_lightgbm(booster)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            built = Path(tmp) / lib.name
            tl2cgen.export_lib(model, toolchain=str(_toolchain()), libpath=built,
                               params=CODEGEN_PARAMS, nthread=threads)
            os.replace(built, lib)
    return CompiledBooster(lib, threads)


def compile_booster(booster: lgb.Booster, cache_dir: Path | str, *, threads: int = 2,
                    best_iteration: int | None = None) -> CompiledBooster | None:
    """`compile_model_text` for an in-memory booster (all its trees are kept in the text)."""
    return compile_model_text(booster.model_to_string(num_iteration=-1), cache_dir,
                              threads=threads, best_iteration=best_iteration)


def compile_members(model: Any, cache_dir: Path | str) -> list[CompiledBooster] | None:
    """Compiled libraries of every member of a fitted `RiskModel` (None: no compiler).

    Each member is keyed by the sha256 of its model text (the bytes the registry stores and
    checks on load) and its best iteration.
    """
    out = []
    for booster, best in zip(model.boosters_, model.best_iterations_, strict=True):
        compiled = compile_booster(booster, cache_dir, threads=model.threads,
                                   best_iteration=best or None)
        if compiled is None:
            return None
        out.append(compiled)
    return out


def member_logits(compiled: list[CompiledBooster], X: np.ndarray) -> np.ndarray:
    """(members, n) raw log-odds of each compiled member: `RiskModel._member_logits`."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    return np.stack([c.raw_score(X) for c in compiled])


def spread_from_logits(model: Any, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(risk, member_sd) of a `RiskModel` from its members' (members, n) logits, as
    `predict_spread` does (the scale tests compare the two, so a change there cannot pass
    unnoticed)."""
    return model._calibrate(logits.mean(0)), logits.std(0)


def interval_from_logits(model: Any, logits: np.ndarray, band: Any = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(risk, lo, hi) of a `RiskModel` from its members' logits, as `predict_interval`
    does; `band` a refitted interval calibration, else the model's own."""
    from riskmodel.models.interval import predict_band

    risk, sd = spread_from_logits(model, logits)
    lo, hi = predict_band(risk, sd, model.interval_ if band is None else band)
    return risk, lo, hi
