"""Full analysis with diagnostics of one run, as a ratio to a plain numpy FFT MSD of the same data.

    python benchmarks/bench_analyze.py                      # 580 atoms x 10,000 frames, 3 repeats
    python benchmarks/bench_analyze.py --frames 3000 --repeats 1

Input: one run of the bundled LPSO cell doubled along x, 580 atoms, Li diffusing by vacancy
hops among vibrating atoms, 10 fs between frames (:mod:`lpso_replica`; realistic
neighbour density; its reader name is ``benchmark``, so ``analyse`` diagnoses it as it
would a real run; it passes the diagnostics, so nothing is truncated).

Timed in one process, interleaved, ``--repeats`` times (the machine is shared and noisy:
compare the ratios, the seconds are for orientation only):

* **reference**: a plain numpy rfft MSD of every atom (what any analysis does at least once);
* **analyse**: ``uncertainty_gk.pipeline.analyse`` (``ugk.analyse``) on a campaign holding that one run,
  default settings (diagnostics, the default estimator - spectral since session 8 - and per-seed values);
* **analyse, c84a6c9 diagnostics**: the same with the structural checks of the code before
  issue 13 (``reference_structure_c84a6c9.py``), for the before/after comparison;
* the breakdown: ``diagnose`` alone, the MSDs alone (``estimators.data.prepare_seed``: tracer
  and polarisation MSD), and the rest of ``analyse`` (window, noise model, the estimator's fits, result)
  as the difference; imports: a fresh interpreter importing ``uncertainty_gk.cli`` and
  ``uncertainty_gk.analysis`` minus a bare interpreter (what ``ugk analyze`` pays first).

Target: analyse / numpy MSD ≤ 8 (45 on c84a6c9 for ``ugk analyze`` on a 500-atom run).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_structure_c84a6c9 as old_structure  # noqa: E402
from lpso_replica import lpso_run  # noqa: E402


def numpy_msd_all_atoms(pos: np.ndarray) -> np.ndarray:
    """Reference: per-atom FFT MSD over all origins with numpy only, averaged over atoms."""
    T = pos.shape[0]
    n = 1 << int(np.ceil(np.log2(2 * T)))
    out = np.zeros(T)
    for a in range(0, pos.shape[1], 64):
        x = pos[:, a:a + 64, :] - pos[:1, a:a + 64, :]
        f = np.fft.rfft(x, n=n, axis=0)
        s2 = np.fft.irfft(f * np.conj(f), n=n, axis=0)[:T].sum(axis=(1, 2))
        sq = (x * x).sum(axis=2)
        cs = np.concatenate([np.zeros((1, sq.shape[1])), np.cumsum(sq, axis=0)])
        m = np.arange(T)
        s1 = (cs[T - m] + (cs[T] - cs[m])).sum(axis=1)
        out += (s1 - 2 * s2) / (T - m)
    return out / pos.shape[1]


def import_seconds(repeats: int = 3) -> float:
    """Median wall time of importing the CLI and the analysis in a fresh interpreter, minus a bare one."""
    def run(code):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t0
    full = [run("import uncertainty_gk.cli, uncertainty_gk.analysis") for _ in range(repeats)]
    bare = [run("pass") for _ in range(repeats)]
    return max(0.0, statistics.median(full) - statistics.median(bare))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-old", action="store_true", help="skip the c84a6c9-diagnostics variant")
    a = ap.parse_args(argv)

    from uncertainty_gk.campaign import Campaign
    from uncertainty_gk.estimators.data import prepare_seed
    from uncertainty_gk.pipeline import analyse
    from uncertainty_gk.settings import AnalysisSettings
    from uncertainty_gk.diagnostics import diagnose
    from uncertainty_gk.diagnostics import run as diagnose_module

    t0 = time.perf_counter()
    ds = lpso_run(a.frames, rng=np.random.default_rng(a.seed))
    campaign = Campaign({"lpso_replica_s0": ds})
    print(f"input: {ds.sizes['atom']} atoms x {a.frames} frames, one seed (built in {time.perf_counter() - t0:.1f} s)")
    pos = np.asarray(ds["positions"].values)

    def run_analyse():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return analyse(campaign, AnalysisSettings(seed=0), show_progress=False)

    def run_analyse_old():
        with mock.patch.object(diagnose_module, "_structure", old_structure):
            return run_analyse()

    steps = {"reference: numpy rfft MSD, all atoms": lambda: numpy_msd_all_atoms(pos),
             "analyse (diagnostics + MSD + fits)": run_analyse,
             "  diagnose alone": lambda: diagnose(ds),
             "  MSDs alone (prepare_seed)": lambda: prepare_seed(ds)}
    if not a.no_old:
        steps["analyse with c84a6c9 diagnostics"] = run_analyse_old
    seconds = {k: [] for k in steps}
    results = {}
    for rep in range(a.repeats):
        names = list(steps) if rep % 2 == 0 else list(steps)[::-1]
        for name in names:
            dt, out = timed(steps[name])
            seconds[name].append(dt)
            results[name] = out
        print(f"  repeat {rep + 1}/{a.repeats} done", flush=True)
    t_imp = import_seconds()

    ref = seconds["reference: numpy rfft MSD, all atoms"]
    res = results["analyse (diagnostics + MSD + fits)"]
    status = [r["status"] for r in res.provenance["diagnostics"]]
    g = res.groups[0]
    s = g.quantities["sigma_tr"]
    print(f"diagnostics status: {status}; sigma_tr {s.median:.4g} [{s.lower:.4g}, {s.upper:.4g}] S/cm, "
          f"method {g.method}")
    print()
    print(f"{'step':<42} {'median s':>9} {'median ratio to numpy MSD':>26}   per repeat")
    for name in steps:
        ratios = [t / r for t, r in zip(seconds[name], ref)]
        print(f"{name:<42} {statistics.median(seconds[name]):9.2f} {statistics.median(ratios):26.2f}   "
              f"{', '.join(f'{x:.1f}' for x in ratios)}")
    an = [t for t in seconds["analyse (diagnostics + MSD + fits)"]]
    rest = [x - d - m for x, d, m in zip(an, seconds["  diagnose alone"], seconds["  MSDs alone (prepare_seed)"])]
    print(f"{'  rest of analyse (window, noise, fits)':<42} {statistics.median(rest):9.2f} "
          f"{statistics.median([x / r for x, r in zip(rest, ref)]):26.2f}")
    print(f"{'imports (fresh interpreter, cli+analysis)':<42} {t_imp:9.2f} {t_imp / statistics.median(ref):26.2f}")
    total = [x + t_imp for x in an]
    print(f"{'analyse + imports (~ ugk analyze)':<42} {statistics.median(total):9.2f} "
          f"{statistics.median([x / r for x, r in zip(total, ref)]):26.2f}")
    print("target: analyse / numpy MSD <= 8")


if __name__ == "__main__":
    main()
