#!/usr/bin/env python3
"""Analyse a campaign archive on a dask cluster: SLURM through dask-jobqueue, or a local stand-in.

    # on a SLURM login node (pip install dask-jobqueue):
    python analyse_on_cluster.py campaign.nc results.nc --slurm --jobs 8 --queue normal --walltime 02:00:00

    # anywhere, with a LocalCluster of 2 worker processes standing in for the cluster:
    python analyse_on_cluster.py campaign.nc results.nc --local 2

Every run is diagnosed and every group analysed as a separate task; the numbers are
identical to `ugk analyze campaign.nc -o results.nc` in one process (each group draws
from its own random stream).  See docs/large_campaigns.md.
"""

from __future__ import annotations

import argparse
import contextlib

import uncertainty_gk as ugk
from uncertainty_gk.execution import local_client


@contextlib.contextmanager
def slurm_client(jobs: int, queue: str, walltime: str, cores: int, memory: str):
    from dask.distributed import Client
    from dask_jobqueue import SLURMCluster            # pip install dask-jobqueue

    # one single-threaded worker process per core: the analysis is numpy/emcee, not thread-parallel
    cluster = SLURMCluster(queue=queue, walltime=walltime, cores=cores, processes=cores, memory=memory,
                           job_extra_directives=["--exclusive"] if cores > 1 else [])
    cluster.scale(jobs=jobs)
    with cluster, Client(cluster) as client:
        yield client


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archive")
    ap.add_argument("results", help="results file to write (.nc)")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", type=int, metavar="N", help="a LocalCluster of N worker processes")
    where.add_argument("--slurm", action="store_true", help="SLURM jobs through dask-jobqueue")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--queue", default="normal")
    ap.add_argument("--walltime", default="01:00:00")
    ap.add_argument("--cores", type=int, default=8, help="cores (= worker processes) per SLURM job")
    ap.add_argument("--memory", default="16GB", help="memory per SLURM job")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-steps", type=int, help="MCMC steps per walker (default: AnalysisSettings')")
    ap.add_argument("--per-seed-steps", type=int, help="steps of each seed's own fit (default: AnalysisSettings')")
    a = ap.parse_args(argv)
    steps = {k: v for k, v in (("n_steps", a.n_steps), ("per_seed_steps", a.per_seed_steps)) if v is not None}
    client_cm = local_client(a.local) if a.local else slurm_client(a.jobs, a.queue, a.walltime, a.cores, a.memory)
    with client_cm as client, ugk.open_archive(a.archive) as camp:
        result = ugk.analyse(camp, ugk.AnalysisSettings(seed=a.seed, **steps), client=client)
    ugk.save_results(result, a.results, overwrite=True)
    print(f"wrote {a.results}: {len(result.groups)} groups")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
