"""Dask clusters: a `LocalCluster` of worker processes, or an existing scheduler.

`--dask local` starts worker processes on this machine; `--dask tcp://HOST:PORT` joins a
running scheduler. Workers run one thread each with `NUMBA_NUM_THREADS=1` and
`OMP_NUM_THREADS=1`: parallelism comes from processes, one level only, so Numba's and
LightGBM's thread pools never fight over the cores (nested pools oversubscribe them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Set in every worker process (one level of parallelism: processes, not threads).
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def connect(spec: str, *, n_workers: int | None = None, threads_per_worker: int = 1) -> Any:
    """A `dask.distributed.Client` for `spec`: "local" (a LocalCluster of `n_workers`
    processes, default one per core) or a scheduler address "tcp://HOST:PORT".

    The caller closes it (`client.close()`, and `client.cluster.close()` for a local one),
    or uses it as a context manager.
    """
    from distributed import Client, LocalCluster

    if spec == "local":
        cache = os.environ.get("NUMBA_CACHE_DIR")
        env = {**WORKER_ENV, **({"NUMBA_CACHE_DIR": cache} if cache else {})}
        cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1,
                               threads_per_worker=threads_per_worker, processes=True,
                               dashboard_address=":0", env=env)
        return Client(cluster)
    if spec.startswith(("tcp://", "tls://")):
        return Client(spec)
    raise ValueError(f"--dask {spec!r}: expected 'local' or a scheduler address "
                     f"tcp://HOST:PORT")


@contextmanager
def dask_client(spec: str | None) -> Iterator[Any]:
    """`connect(spec)` for the duration of a `with` block (None: no client, yields None);
    a LocalCluster started here is shut down on the way out."""
    if spec is None:
        yield None
        return
    client = connect(spec)
    try:
        yield client
    finally:
        cluster = client.cluster if spec == "local" else None
        client.close()
        if cluster is not None:
            cluster.close()
