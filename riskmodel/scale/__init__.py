"""Scale-out (issue 10; docs/scale.md): one month scored in spatial blocks, here or on Dask.

- `blocks`: plan blocks, read each with a halo for neighbourhood features, score its cells.
- `score`: `score_months`, the one scoring entry point: the whole grid in memory as one block,
  or the blocks in this process or as Dask tasks.
- `store`: canonical inputs as Zarr, chunked over space, whole time axis per chunk.
- `cluster`: `--dask local` (LocalCluster of processes) or an existing scheduler.
- `inference`: LightGBM members compiled to C with tl2cgen, cached by model sha256.
- `train`: one booster trained with `lightgbm.dask`.
- `cli`: `python -m riskmodel.scale store|score`.
"""
