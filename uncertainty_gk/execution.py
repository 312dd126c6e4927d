"""Where the work runs: in this process, or on a dask.distributed cluster.

Per-run (diagnostics) and per-group (analysis) steps are independent: each group draws
from its own random stream (spawned from the root seed and the group's key), so the
numbers are the same, bit for bit, whether the steps run here one after the other or on
any number of dask workers in any completion order.

>>> from uncertainty_gk.execution import local_client        # doctest: +SKIP
>>> with local_client(2) as client:                             # a LocalCluster of 2 processes
...     result = ugk.analyse(camp, settings, client=client)

For an existing cluster (e.g. dask-jobqueue's ``SLURMCluster``) pass its
``dask.distributed.Client``; ``ugk ... --scheduler ADDRESS`` connects to one.  dask is
imported only when a client is used (``pip install "uncertainty_gk[distributed]"``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import progress
from .errors import UGKError

__all__ = ["map_tasks", "share", "local_client", "connect", "TaskFailure", "worker_environ"]


class TaskFailure:
    """The exception a task raised, kept in place of its result (see :func:`map_tasks`)."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def __repr__(self) -> str:
        return f"TaskFailure({self.exc!r})"


def map_tasks(func: Callable, items: Sequence, *, client: Any = None, desc: str = "task", unit: str = "task",
              show_progress: bool | None = None, catch: tuple = (UGKError,)) -> list:
    """``[func(*item) for item in items]``, here or on a dask client; results in input order.

    Exceptions of the types in ``catch`` are returned as :class:`TaskFailure` (so one bad
    run or group does not stop the others); any other exception propagates.  The
    progress bar follows the completion of the tasks.
    """
    out: list = [None] * len(items)
    with progress.bar(total=len(items), desc=desc, unit=unit, enabled=show_progress) as bar:
        if client is None:
            for i, item in enumerate(items):
                try:
                    out[i] = func(*item)
                except catch as exc:
                    out[i] = TaskFailure(exc)
                bar.update(1)
            return out
        from dask.distributed import as_completed

        futures = [client.submit(func, *item, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            exc = fut.exception()
            if exc is None:
                out[i] = fut.result()
            elif isinstance(exc, catch):
                out[i] = TaskFailure(exc)
            else:
                raise exc
            bar.update(1)
    return out


def share(client: Any, obj: Any) -> Any:
    """``obj`` as an argument of many tasks of :func:`map_tasks`: with a client it is sent to
    the cluster once and every task gets it from there (a future, resolved on the worker);
    without one, ``obj`` itself."""
    if client is None:
        return obj
    return client.scatter(obj, hash=False)


def _require_distributed():
    try:
        import dask.distributed as dd
    except ImportError:
        raise UGKError("running on several workers needs dask.distributed: pip install "
                       "\"uncertainty_gk[distributed]\" (or pip install \"dask[distributed]\")") from None
    return dd


@contextlib.contextmanager
def local_client(n_workers: int) -> Iterator[Any]:
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes and its client."""
    if n_workers < 1:
        raise UGKError(f"--workers {n_workers}: need at least 1 worker")
    dd = _require_distributed()
    import dask

    with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}), \
            dd.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=40) as cluster, dd.Client(cluster) as client:
        yield client


def worker_environ() -> dict:
    """dask's environment for new worker processes, without ``MALLOC_TRIM_THRESHOLD_``.

    dask sets it so that workers give freed memory back to the system at once; setting it
    at all also freezes glibc's mmap threshold at 128 KiB, so every large numpy temporary
    is mapped and zeroed anew, and the diagnostics and MSDs ran 1.5-2x slower on a worker
    than in one process (measured with benchmarks/bench_distributed_overhead.py).  Worker
    processes of ``local_client`` allocate as this process does.  For a cluster of your
    own, set ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_`` likewise (see
    docs/large_campaigns.md).
    """
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return env


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A client of an existing scheduler (e.g. ``tcp://10.0.0.1:8786`` or a SLURMCluster's)."""
    dd = _require_distributed()
    try:
        client = dd.Client(address, timeout=30)
    except OSError as exc:
        raise UGKError(f"--scheduler {address}: cannot connect ({exc}); is the scheduler running?") from None
    with client:
        yield client
