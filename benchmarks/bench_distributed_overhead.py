"""Benchmark: the cost of the distributed path on one worker against one process, on the bundled example.

The bundled example (``examples/lpso_T1000``: three 40 ps seeds of Li3.25P0.75Si0.25O4,
297 atoms x 201 frames, one group) is ingested once, then analysed with default settings:

* **command**: ``ugk analyze lpso_T1000.nc -o r.nc`` and the same with ``--workers 1``, each
  in a fresh subprocess, wall time to exit (interpreter, imports, and for ``--workers 1``
  starting and stopping the ``LocalCluster``: what a user waits for);
* **API**: ``ugk.analyse(camp, settings)`` in this process, and with the client of a
  running, warmed-up 1-worker ``LocalCluster`` (the per-task cost alone: sending the runs
  as file paths, the worker reading them, sending results back).

Runs are interleaved (single, distributed, single, ...) ``--repeat`` times and the median
ratio distributed / single is printed (target: under 1.5 on one worker); the results
are checked to be identical bit for bit.  The machine is shared and noisy: compare the
ratios; the seconds are for orientation.

Usage (from the repository root)::

    nice -n 10 python benchmarks/bench_distributed_overhead.py
    nice -n 10 python benchmarks/bench_distributed_overhead.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "examples" / "lpso_T1000" / "campaign.toml"


def command(args: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "uncertainty_gk.cli", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ugk {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def same(a, b) -> bool:
    """Every group's draws and its whole summary (estimates, curves, per-seed fits) identical."""
    return [g.key for g in a.groups] == [g.key for g in b.groups] and all(
        np.array_equal(x.draws[m][k], y.draws[m][k], equal_nan=True)
        for x, y in zip(a.groups, b.groups) for m in x.draws for k in x.draws[m]) and all(
        json.dumps(x.to_dict(), sort_keys=True, default=str) == json.dumps(y.to_dict(), sort_keys=True, default=str)
        for x, y in zip(a.groups, b.groups))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2, help="interleaved pairs of each kind (default 2)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = ap.parse_args(argv)

    import uncertainty_gk as ugk
    from uncertainty_gk.execution import local_client
    from uncertainty_gk.results import load_results

    fig: dict = {"cmd_single_s": [], "cmd_worker_s": [], "api_single_s": [], "api_worker_s": []}
    with tempfile.TemporaryDirectory(prefix="bench_distributed_overhead_") as tmp:
        tmp = Path(tmp)
        arch = tmp / "lpso_T1000.nc"
        ugk.ingest(MANIFEST, arch, show_progress=False)
        for _ in range(a.repeat):
            fig["cmd_single_s"].append(command(["analyze", str(arch), "-o", str(tmp / "one.nc"), "-q", "--overwrite"]))
            fig["cmd_worker_s"].append(command(["analyze", str(arch), "-o", str(tmp / "w1.nc"), "-q", "--overwrite",
                                                "--workers", "1"]))
            print(f"command: single {fig['cmd_single_s'][-1]:.1f} s, --workers 1 {fig['cmd_worker_s'][-1]:.1f} s",
                  flush=True)
        one, w1 = load_results(tmp / "one.nc"), load_results(tmp / "w1.nc")
        identical = same(one, w1)

        st = ugk.AnalysisSettings(seed=0)
        t0 = time.perf_counter()
        with local_client(1) as client, ugk.open_archive(arch) as camp, warnings.catch_warnings():
            client.run(lambda: __import__("uncertainty_gk.pipeline"))
            fig["startup_s"] = time.perf_counter() - t0
            warnings.simplefilter("ignore")
            ugk.analyse(camp, st, show_progress=False)           # warm this process too (imports, caches)
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                here = ugk.analyse(camp, st, show_progress=False)
                fig["api_single_s"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                there = ugk.analyse(camp, st, show_progress=False, client=client)
                fig["api_worker_s"].append(time.perf_counter() - t0)
                print(f"API: single {fig['api_single_s'][-1]:.1f} s, 1 worker {fig['api_worker_s'][-1]:.1f} s",
                      flush=True)
        identical = identical and same(here, there)

    r_cmd = statistics.median(w / s for w, s in zip(fig["cmd_worker_s"], fig["cmd_single_s"]))
    r_api = statistics.median(w / s for w, s in zip(fig["api_worker_s"], fig["api_single_s"]))
    fig.update(ratio_command=r_cmd, ratio_api=r_api, identical=identical)
    print()
    print("| path | single process (s, median) | 1 worker (s, median) | 1 worker / single (median of pairs) |")
    print("|---|---|---|---|")
    print(f"| `ugk analyze` command (start-up included) | {statistics.median(fig['cmd_single_s']):.1f} | "
          f"{statistics.median(fig['cmd_worker_s']):.1f} | {r_cmd:.2f} |")
    print(f"| `ugk.analyse` API, cluster running | {statistics.median(fig['api_single_s']):.1f} | "
          f"{statistics.median(fig['api_worker_s']):.1f} | {r_api:.2f} |")
    print(f"\n1-worker LocalCluster start-up and warm-up: {fig['startup_s']:.1f} s; "
          f"results identical bit for bit: {identical}; target: ratio under 1.5")
    if a.json:
        a.json.write_text(json.dumps(fig, indent=1))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
