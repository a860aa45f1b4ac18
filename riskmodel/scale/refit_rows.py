"""The interval refit's scored rows kept between nights (`RefitRows`).

Each night refits the interval on the newest labelled months (`riskmodel.scoring`), so it
scores every land cell of the refit's plan at each of those months with the model; from
one night to the next all but the newest labelled month are the same rows. A `RefitRows`
folder keeps each (model, month's feature rows) score, the calibrated risk and the
members' log-odds spread, under a key made of the model's metadata (which holds every
member's sha256 and the calibration), the way it is run (native or compiled members) and
the sha256 of the exact feature rows. A row set is read back only when its features are
bit-identical to what was scored, so revised inputs, another block size or a retrained
model simply miss and are scored afresh: a night gives the same values with or without
the folder, and a lost, truncated or foreign file is a miss, never an error.

Files are `<folder>/<key[:2]>/<key>.npy` (numpy's own format, read without pickle), a
(2, rows) float64 array of risk and member spread. Reading one touches it; `prune` removes
the files no night has read or written for `KEEP_DAYS`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from riskmodel import __version__
from riskmodel.io.atomic import write_with

Spread = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

# A file not read by any night for this long belongs to months no longer labelled or to
# inputs or models since replaced.
KEEP_DAYS = 7.0


def model_key(meta: Mapping[str, Any], names: tuple[str, ...], compiled: bool) -> str:
    """sha256 (hex) naming a model as it scores: its registry metadata `meta` (model id,
    calibration and every member file's sha256), the feature order `names`, whether
    compiled members score it (their float rounding may differ from LightGBM's) and the
    versions of the code that scores (riskmodel's and LightGBM's), so an upgrade scores
    afresh."""
    text = json.dumps([dict(meta), list(names), bool(compiled), __version__,
                       lightgbm.__version__], sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def rows_digest(X: np.ndarray) -> str:
    """sha256 (hex) of the feature rows `X` (2-D), their dtype and shape included."""
    X = np.ascontiguousarray(X)
    h = hashlib.sha256(f"{X.dtype.str}{X.shape}".encode())
    h.update(memoryview(X).cast("B"))
    return h.hexdigest()


@dataclass(frozen=True)
class RefitRows:
    """A folder of scored refit rows (module docstring); `folder` is created on first write."""

    folder: Path

    def _path(self, model: str, rows: str) -> Path:
        key = hashlib.sha256(f"{model}:{rows}".encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, model: str, rows: str, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(risk, member_sd), each (n,) float64, of the rows with digest `rows` scored by
        the model `model` (`model_key`), or None when not kept (or unreadable, or not n
        rows)."""
        path = self._path(model, rows)
        try:
            arr = np.load(path, allow_pickle=False)
            os.utime(path)
        except (OSError, ValueError, EOFError):
            return None
        if arr.dtype != np.float64 or arr.shape != (2, n):
            return None
        return arr[0], arr[1]

    def put(self, model: str, rows: str, risk: np.ndarray, sd: np.ndarray) -> None:
        """Keep the (risk, member_sd) of the rows with digest `rows` scored by `model`."""
        arr = np.stack([np.asarray(risk, np.float64), np.asarray(sd, np.float64)])

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # a file handle: np.save would add ".npy"
                np.save(fh, arr, allow_pickle=False)

        # Not durable: a file lost in a crash is a miss, and a night writes one per block,
        # month and target.
        write_with(self._path(model, rows), write, durable=False)

    def prune(self, keep_days: float = KEEP_DAYS) -> int:
        """Remove the kept rows (and leftover temporary files) not read or written for
        `keep_days`; returns how many files went."""
        if not self.folder.is_dir():
            return 0
        cutoff = time.time() - keep_days * 86400.0
        gone = 0
        for path in self.folder.glob("??/*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:  # removed by another night meanwhile
                continue
        return gone


def kept_spread(kept: RefitRows, model: str, n: int, spread: Spread) -> Spread:
    """`spread` (feature rows -> (risk, member_sd), as `RiskModel.predict_spread`) of a
    model keyed `model` (`model_key`), reading from `kept` what an earlier night scored.

    The rows it is given are months of `n` rows each, month-major (as
    `riskmodel.scoring.labelled_spread` builds them); a month whose exact rows `kept`
    holds is read, the others are scored together and kept. LightGBM scores each row on
    its own, so a row has the same value in any batch and the result equals
    `spread(X)`."""
    def scored(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if n <= 0 or len(X) % n:
            raise ValueError(f"{len(X)} refit rows are not whole months of {n} cells")
        months = len(X) // n
        risk, sd = np.empty((months, n)), np.empty((months, n))
        missing: list[tuple[int, str]] = []
        for i in range(months):
            digest = rows_digest(X[i * n:(i + 1) * n])
            got = kept.get(model, digest, n)
            if got is None:
                missing.append((i, digest))
            else:
                risk[i], sd[i] = got
        if missing:
            rows = X if len(missing) == months else np.concatenate(
                [X[i * n:(i + 1) * n] for i, _ in missing])
            r, s = (np.asarray(v, np.float64).reshape(len(missing), n)
                    for v in spread(rows))
            for j, (i, digest) in enumerate(missing):
                risk[i], sd[i] = r[j], s[j]
                kept.put(model, digest, r[j], s[j])
        return risk.ravel(), sd.ravel()
    return scored
