"""Read canonical inputs saved as NetCDF (`riskmodel world` writes them) for a run.

`riskmodel run --inputs world.nc` scores a frozen snapshot of inputs instead of generating
the synthetic world. The file is opened with every failure turned into one `InputError`
line naming the file: a truncated or foreign file, undecodable times, and any schema
problem (`checks.schema`) of the variables the features and the scoring read.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from features.cube import plan_features
from riskmodel.checks.schema import check_schema, required_inputs
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
    _, found = check_schema(inputs, required_inputs(plan_features(inputs)[0]))
    failed = [f for f in found if f.status == "fail"]
    if failed:
        shown = "; ".join(f"{f.subject}: {f.message}" for f in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise InputError(f"{p}: inputs fail their schema: {shown}{more}")
    return inputs
