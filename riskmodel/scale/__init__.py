"""Scale-out: compiled inference, block-wise (streaming) scoring and Dask (issue 10).

- `inference`: LightGBM members compiled to C with tl2cgen, cached by model sha256.
- `blocks`: one month scored block by block over space, with halos for neighbourhood
  features, so peak memory follows the block size, not the grid.
- `score`: the risk dataset of a month from blocks, computed in this process or as tasks
  on a Dask cluster (`cluster`), identical either way.
"""
