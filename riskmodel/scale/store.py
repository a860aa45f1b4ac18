"""Canonical inputs stored as Zarr, chunked over space with the whole time axis per chunk.

The chunking matches the scoring blocks: a block reads whole chunks (plus the halo from its
neighbours), every time kernel finds its whole series in one chunk, and a Dask worker reads
only the chunks of its blocks. Region tables ((time, country), (time, admin1)) and lookup
coordinates are small and stored whole.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import xarray as xr

from riskmodel.contract import GRID, REGIONS, VARIABLES
from riskmodel.world.generate import world_dataset
from riskmodel.world.geography import grid_centres
from riskmodel.world.tiled import SurveyTotals, TiledWorld, regions_at, world_window

TEXT_COORDS = ("country", "country_name", "admin1", "admin1_name")


def _storable(inputs: xr.Dataset, chunk: int) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """`inputs` with text coordinates as fixed-width unicode (which every Zarr format reads
    back as the same strings) and the encoding that chunks (lat, lon) by `chunk` cells,
    whole along every other dimension."""
    ds = inputs.copy()
    for name in TEXT_COORDS:
        if name in ds.coords and ds[name].dtype == object:
            ds = ds.assign_coords({name: ds[name].astype(str)})
    encoding: dict[str, dict[str, Any]] = {}
    for key, var in ds.data_vars.items():
        encoding[str(key)] = {"chunks": tuple(min(chunk, ds.sizes[d]) if d in ("lat", "lon")
                                               else ds.sizes[d] for d in var.dims)}
    return ds, encoding


def write_inputs(inputs: xr.Dataset, path: Path | str, *, chunk: int = 256) -> Path:
    """Write `inputs` to a Zarr store at `path`, (lat, lon) chunks of `chunk` cells."""
    path = Path(path)
    ds, encoding = _storable(inputs, chunk)
    # Zarr format 2: its fixed-width text type is specified (format 3 warns it is not).
    ds.to_zarr(path, mode="w", encoding=encoding, consolidated=True, zarr_format=2)
    return path


def write_tiled_world(world: TiledWorld, path: Path | str, *, chunk: int = 256,
                      progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Generate the tiled `world` chunk by chunk into a Zarr store at `path`; a summary.

    The layout is `write_inputs`' ((lat, lon) chunks of `chunk` cells, whole time axis).
    Metadata and the tables go first; then each chunk is generated alone and written with
    a `region=` write, so memory follows one chunk, not the grid. Chunks without land are
    not written except for the region rasters (their -1 is not the fill value): readers
    get NaN (floats) and 0 (counts) there, as `make_world` has at sea. The store is built
    under a temporary name beside `path` and renamed into place when whole, so a store at
    `path` is always complete. `progress(done, total)` is called after each chunk.
    """
    path = Path(path)
    if chunk < 1:
        raise ValueError(f"{path}: chunk must be at least 1 cell, got {chunk}")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        info = _write_chunks(world, tmp, chunk, progress)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written stays behind
        raise
    _publish(tmp, path)
    return info


def _write_chunks(world: TiledWorld, tmp: Path, chunk: int,
                  progress: Callable[[int, int], None] | None) -> dict[str, Any]:
    """The body of `write_tiled_world`: the whole store at `tmp`."""
    cfg = world.cfg
    template, encoding = _storable(_tiled_template(world, chunk), chunk)
    template.to_zarr(tmp, mode="w", encoding=encoding, consolidated=True, zarr_format=2,
                     compute=False)
    totals = SurveyTotals(world)
    starts = [(r0, c0) for r0 in range(0, cfg.ny, chunk) for c0 in range(0, cfg.nx, chunk)]
    land_cells = written = 0
    for done, (r0, c0) in enumerate(starts, 1):
        r1, c1 = min(cfg.ny, r0 + chunk), min(cfg.nx, c0 + chunk)
        window = world_window(world, r0, r1, c0, c1)
        if window is None:
            rows, cols = np.arange(r0, r1), np.arange(c0, c1)
            land, country_id, admin1_id = regions_at(world, rows, cols)
            window = {"land": land.astype(np.int8), "country_id": country_id,
                      "admin1_id": admin1_id}
        else:
            totals.add(window)
            land_cells += int(window["land"].sum())
            written += 1
        tile = xr.Dataset({k: (template[k].dims, v) for k, v in window.items()
                           if not k.startswith("_")})
        tile.to_zarr(tmp, region={"lat": slice(r0, r1), "lon": slice(c0, c1)}, zarr_format=2)
        del window, tile
        if progress:
            progress(done, len(starts))
    surveys = totals.surveys()
    xr.Dataset({"survey_cl_prevalence": (("time", "admin1"), surveys)}).to_zarr(
        tmp, region={"time": slice(None), "admin1": slice(None)}, zarr_format=2)
    return {"land_cells": land_cells, "chunks": len(starts), "chunks_with_land": written}


def _tiled_template(world: TiledWorld, chunk: int) -> xr.Dataset:
    """The tiled world's dataset with lazy zeros for every gridded variable and the survey
    table (written later) and real values for the other tables: what `make_world` would
    return, minus the data."""
    cfg = world.cfg
    sizes = {"time": cfg.n_months, "lat": cfg.ny, "lon": cfg.nx,
             "admin1": len(world.regions.admin1_codes)}
    arrays: dict[str, Any] = {}
    rasters = [name for name, dims in REGIONS.items() if dims == GRID]
    for name in (*VARIABLES, *rasters):
        if name in world.tables:
            arrays[name] = world.tables[name].astype(np.float32)
            continue
        dims = VARIABLES[name].dims if name in VARIABLES else REGIONS[name]
        dtype = {"land": np.int8, "country_id": np.int32, "admin1_id": np.int32,
                 "incidence_fl": np.int32, "incidence_cl": np.int32,
                 "identified_fl": np.int32, "identified_cl": np.int32}.get(name, np.float32)
        arrays[name] = dask.array.zeros(
            tuple(sizes[d] for d in dims), dtype=dtype,
            chunks=tuple(chunk if d in ("lat", "lon") else sizes[d] for d in dims))
    lat, lon = grid_centres(cfg)
    return world_dataset(arrays, world.regions, lat, lon, cfg, world.seed, world.supervision)


def _publish(tmp: Path, path: Path) -> None:
    """Rename the finished store `tmp` to `path`, replacing an older store there; the old
    one is moved aside first, so `path` never holds a mixture of the two."""
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    if old.exists():
        shutil.rmtree(old)


def open_inputs(path: Path | str) -> xr.Dataset:
    """The inputs in the Zarr store at `path`, lazily indexed (nothing read until used).

    Slicing a block out of it and pickling it to a Dask worker sends only the store path
    and the slice, so workers read their own chunks from shared storage.
    """
    # cache=False: otherwise xarray keeps every variable read whole (the input checks read
    # each gridded input once) in memory for the life of the dataset: +2.9 GiB on the
    # global world.
    ds = xr.open_dataset(path, engine="zarr", chunks=None, consolidated=True, cache=False)
    for name in ("country", "country_name", "admin1", "admin1_name"):
        if name in ds.coords:
            ds = ds.assign_coords({name: ds[name].astype(object)})
    for name in ("country_id", "admin1_id", "admin1_country"):
        if name in ds:
            ds[name] = ds[name].load()  # small region layers, read on every block
    ds["time"] = ds["time"].astype("datetime64[ns]")
    return ds
