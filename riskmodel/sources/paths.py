"""Where a source's `path` points: `dataset:<folder>/<file>` inside the shipped
riskmodel/datasets, anything else as given (relative to the cwd, the project's rule)."""

from __future__ import annotations

from pathlib import Path

from riskmodel.datasets import dataset_path
from riskmodel.errors import InputError

PREFIX = "dataset:"


def resolve_path(text: str, *, what: str) -> Path:
    """The file `text` names, which must exist; `what` (e.g. "input 'wdi'") is named in
    the error otherwise."""
    path = dataset_path(text[len(PREFIX):]) if text.startswith(PREFIX) else Path(text)
    if not path.exists():
        raise InputError(f"{what}: file not found: {path}")
    return path
