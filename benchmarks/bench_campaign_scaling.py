"""Benchmark: diagnose + analyse of a 48-run campaign on 1 and 2 dask workers, and per-run time as the campaign doubles.

The campaign: 12 groups (labels ``model = m0 ... m11``) x 4 velocity seeds of the bundled
LPSO cell with vibrating atoms and Li vacancy hops (:mod:`lpso_replica`, one cell: 290
atoms, ``--frames`` frames of 10 fs; reader name ``benchmark``, so every run is diagnosed
as a real one), archived with ``write_archive`` (the workers read the runs from the
archive).  Sub-campaigns of the first 3 and 6 groups give 12 and 24 runs.

Timed in this process (wall time of ``uncertainty_gk.pipeline.analyse``: diagnostics of
every run, then every group's fits), with light MCMC settings so that the whole benchmark
takes a few minutes:

* 48 runs in this process (no dask);
* 48 runs on a ``LocalCluster`` of 1 worker and of 2 workers (single-threaded processes);
* 12, 24 and 48 runs on the 2-worker cluster: the time per run, and its ratio to the
  12-run figure (1.0 is linear scaling).

The clusters are started and warmed up (the workers import the package) before the
timings; their start-up is printed separately.  Every distributed result is checked to
equal the single-process one bit for bit.  The machine is shared and noisy: compare the
ratios; the seconds are for orientation.

Usage (from the repository root)::

    nice -n 10 python benchmarks/bench_campaign_scaling.py
    nice -n 10 python benchmarks/bench_campaign_scaling.py --frames 600
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lpso_replica import lpso_run  # noqa: E402

from uncertainty_gk.archive import open_archive, write_archive  # noqa: E402
from uncertainty_gk.execution import local_client  # noqa: E402
from uncertainty_gk.pipeline import analyse  # noqa: E402
from uncertainty_gk.settings import AnalysisSettings  # noqa: E402

GROUPS, SEEDS = 12, 4


def campaign(n_frames: int) -> dict:
    runs = {}
    for g in range(GROUPS):
        for s in range(SEEDS):
            ds = lpso_run(n_frames, rng=np.random.default_rng(100 * g + s), reps=(1, 1, 1), vacancies=7,
                          hop_probability=0.2)
            ds.attrs["labels"] = json.dumps({"structure": "lpso_replica", "model": f"m{g}", "seed": s})
            runs[f"m{g}_s{s}"] = ds
    return runs


def timed(path: Path, settings, client=None):
    with open_archive(path) as camp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        result = analyse(camp, settings, client=client, show_progress=False)
        return time.perf_counter() - t0, result


def same(a, b) -> bool:
    """Every group's draws and its whole summary (estimates, curves, per-seed fits) identical."""
    if [g.key for g in a.groups] != [g.key for g in b.groups]:
        return False
    return all(np.array_equal(x.draws[m][k], y.draws[m][k], equal_nan=True)
               for x, y in zip(a.groups, b.groups) for m in x.draws for k in x.draws[m]) and \
        all(json.dumps(x.to_dict(), sort_keys=True, default=str) == json.dumps(y.to_dict(), sort_keys=True, default=str)
            for x, y in zip(a.groups, b.groups))


def started(n_workers: int):
    """A warmed-up local cluster (workers have imported the package) and its start-up time."""
    t0 = time.perf_counter()
    ctx = local_client(n_workers)
    client = ctx.__enter__()
    client.run(lambda: __import__("uncertainty_gk.pipeline"))
    client.run(warnings.simplefilter, "ignore")          # as in this process (short runs warn about their fits)
    return ctx, client, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=400, help="frames per run (10 fs apart; default 400)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = ap.parse_args(argv)
    st = AnalysisSettings(seed=0, n_walkers=16, n_steps=200, per_seed_steps=100)
    fig: dict = {"frames": a.frames, "runs": GROUPS * SEEDS}
    with tempfile.TemporaryDirectory(prefix="bench_campaign_scaling_") as tmp:
        t0 = time.perf_counter()
        runs = campaign(a.frames)
        names = list(runs)
        paths = {}
        for n in (12, 24, 48):
            paths[n] = Path(tmp) / f"c{n}.nc"
            write_archive({k: runs[k] for k in names[:n]}, paths[n], show_progress=False)
        print(f"campaign: {GROUPS} groups x {SEEDS} seeds, 290 atoms x {a.frames} frames per run "
              f"(generated and archived in {time.perf_counter() - t0:.0f} s)", flush=True)

        fig["single_48_s"], ref = timed(paths[48], st)
        print(f"48 runs, this process: {fig['single_48_s']:.1f} s", flush=True)
        ctx, client, fig["startup_1_s"] = started(1)
        try:
            fig["w1_48_s"], r1 = timed(paths[48], st, client)
        finally:
            ctx.__exit__(None, None, None)
        print(f"48 runs, 1 worker: {fig['w1_48_s']:.1f} s (cluster start-up {fig['startup_1_s']:.1f} s)", flush=True)
        ctx, client, fig["startup_2_s"] = started(2)
        try:
            for n in (12, 24, 48):
                fig[f"w2_{n}_s"], r2 = timed(paths[n], st, client)
                print(f"{n} runs, 2 workers: {fig[f'w2_{n}_s']:.1f} s", flush=True)
        finally:
            ctx.__exit__(None, None, None)
        fig["identical"] = same(ref, r1) and same(ref, r2)

    print()
    print("| runs | where | seconds | seconds per run | per run / per run at 12 |")
    print("|---|---|---|---|---|")
    print(f"| 48 | this process | {fig['single_48_s']:.1f} | {fig['single_48_s'] / 48:.2f} | |")
    print(f"| 48 | 1 worker | {fig['w1_48_s']:.1f} | {fig['w1_48_s'] / 48:.2f} | |")
    base = fig["w2_12_s"] / 12
    for n in (12, 24, 48):
        print(f"| {n} | 2 workers | {fig[f'w2_{n}_s']:.1f} | {fig[f'w2_{n}_s'] / n:.2f} | "
              f"{fig[f'w2_{n}_s'] / n / base:.2f} |")
    print()
    print(f"2 workers / 1 worker speed-up on 48 runs: {fig['w1_48_s'] / fig['w2_48_s']:.2f}x; "
          f"1 worker / this process: {fig['w1_48_s'] / fig['single_48_s']:.2f}")
    print(f"cluster start-up (excluded above): 1 worker {fig['startup_1_s']:.1f} s, 2 workers "
          f"{fig['startup_2_s']:.1f} s")
    print(f"results identical bit for bit (this process, 1 worker, 2 workers): {fig['identical']}")
    if a.json:
        a.json.write_text(json.dumps(fig, indent=1))
    return 0 if fig["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
