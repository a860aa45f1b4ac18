"""Read canonical inputs saved as NetCDF (`riskmodel world` writes them) for a run.

`riskmodel run --inputs world.nc` scores a frozen snapshot of inputs instead of generating
the synthetic world. The file is opened with every failure turned into one `InputError`
line naming the file: a truncated or foreign file, undecodable times, a missing or odd
`synthetic` attribute, a missing input variable (every driver of the synthetic world, and
for any file, a feature with some but not all of its inputs) rather than silently training
on fewer features, and any schema problem (`checks.schema`) of the variables the features
and the scoring read.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from features.cube import plan_features
from riskmodel.checks.schema import check_schema, required_inputs
from riskmodel.contract import VARIABLES
from riskmodel.errors import InputError


def open_inputs(path: Path | str) -> xr.Dataset:
    """Load the inputs NetCDF at `path` into memory and check its schema."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: inputs file not found")
    try:
        with xr.open_dataset(p, engine="netcdf4") as ds:
            inputs = ds.load()
    except Exception as exc:  # netCDF4/HDF5 raise OSError, RuntimeError, ValueError... on bad files
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise InputError(f"{p}: not a readable NetCDF inputs file ({type(exc).__name__}: "
                         f"{first})") from None
    _check_completeness(p, inputs)
    _, found = check_schema(inputs, required_inputs(plan_features(inputs)[0]))
    failed = [f for f in found if f.status == "fail"]
    if failed:
        shown = "; ".join(f"{f.subject}: {f.message}" for f in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise InputError(f"{p}: inputs fail their schema: {shown}{more}")
    return inputs


def _check_completeness(p: Path, inputs: xr.Dataset) -> None:
    """Refuse a file whose `synthetic` attribute is missing or odd, or that lacks inputs."""
    from features.catalogue import CATALOGUE
    raw = inputs.attrs.get("synthetic")
    raw = raw.item() if hasattr(raw, "item") else raw
    flags = {1: True, 0: False, "1": True, "0": False, "true": True, "false": False}
    key = raw.strip().lower() if isinstance(raw, str) else raw
    if raw is None or isinstance(raw, float) or key not in flags:
        raise InputError(f"{p}: attribute 'synthetic' is {raw!r}; expected 1 (synthetic "
                         f"world) or 0 (real data)")
    missing: set[str] = set()
    if flags[key]:
        missing |= {v for v, var in VARIABLES.items()
                    if var.role == "driver" and v not in inputs}
    for name, why in plan_features(inputs)[1].items():
        need = CATALOGUE[name].inputs
        if any(v in inputs for v in need):  # some inputs present: the others were lost
            missing |= {v for v in need if v not in inputs}
    if missing:
        raise InputError(f"{p}: input variable(s) {', '.join(sorted(missing))} missing; "
                         f"refusing to score (the models would silently use fewer features)")
