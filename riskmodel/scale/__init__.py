"""Scale-out (docs/scale.md): one month scored in spatial blocks, here or on Dask.

- `blocks`: plan blocks, read each with a halo for neighbourhood features, score its cells.
- `score`: `score_months`, the one scoring entry point: the whole grid in memory as one block,
  or the blocks in this process or as Dask tasks.
- `store`: canonical inputs as Zarr, chunked over space, whole time axis per chunk
  (written by `riskmodel store`).
- `cluster`: `--dask local` (LocalCluster of processes) or an existing scheduler.
- `inference`: LightGBM members compiled to C with tl2cgen, cached by model sha256.
"""
