"""Small extracts of real public data shipped with riskmodel, each folder with its
SOURCE.md (origin, licence, units, caveats, and what the extract keeps).

`configs/real-countries.toml` reads them through paths of the form
`dataset:<folder>/<file>`, which `dataset_path` resolves inside the installed package, so
a clone or an installed wheel finds them without the shared data folder.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def dataset_path(relative: str) -> Path:
    """The absolute path of `relative` (e.g. "wdi_covariates/covariates_1993_2022.csv")
    inside the shipped datasets folder."""
    return ROOT / relative
