"""Time of a full default analysis of three seeds, as a ratio to a plain numpy MSD.

    python benchmarks/bench_analyze.py                 # 3 seeds x 500 atoms x 50,000 frames
    python benchmarks/bench_analyze.py --frames 5000   # a quick run

Generates a synthetic 3-seed campaign (uncertainty_gk.synthetic), then times, in the
same process:

* the reference: a plain numpy rfft MSD of every atom of every seed (what any
  analysis must at least do once);
* ``analyse_group`` with the default (Bayesian) method, per-seed fits included;
* ``diagnose`` of every seed (what ``ugk analyze`` runs first on real data; synthetic
  runs are not diagnosed by ``ugk analyze`` because their point walkers overlap, so
  it is timed separately here).

Prints seconds and ratios; the machine is shared, so compare the ratios.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=50_000)
    ap.add_argument("--mobile", type=int, default=180, help="mobile ions (framework fills to ~500 atoms)")
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args(argv)

    from uncertainty_gk import synthetic
    from uncertainty_gk.analysis import analyse_group
    from uncertainty_gk.settings import AnalysisSettings
    from uncertainty_gk.diagnostics import diagnose

    t0 = time.perf_counter()
    system = synthetic.generate(n_mobile=a.mobile, n_frames=a.frames, n_seeds=a.seeds, rattle_amplitude=0.3,
                                rattle_time_ps=0.2, box_length=20.0, rng=0)
    n_atoms = system.runs[0].sizes["atom"]
    print(f"generated {a.seeds} seeds x {n_atoms} atoms x {a.frames} frames in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    for ds in system.runs:
        numpy_msd_all_atoms(np.asarray(ds["positions"].values))
    t_ref = time.perf_counter() - t0

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyse_group(system.runs, AnalysisSettings(seed=0))
    t_an = time.perf_counter() - t0

    t0 = time.perf_counter()
    for ds in system.runs:
        diagnose(ds, temperature_K=float(ds.attrs["temperature_K"]))
    t_dg = time.perf_counter() - t0

    s = res.quantities["sigma"]
    print(f"result: sigma {s.median:.4g} [{s.lower:.4g}, {s.upper:.4g}] S/cm (truth {system.truth['sigma']:.4g})")
    print(f"{'step':<40} {'seconds':>9} {'ratio to numpy MSD':>20}")
    for name, t in (("reference: numpy rfft MSD, all atoms", t_ref), ("analyse_group (bayes, per-seed fits)", t_an),
                    ("diagnose, all seeds", t_dg), ("analysis + diagnostics", t_an + t_dg)):
        print(f"{name:<40} {t:9.2f} {t / t_ref:20.2f}")


if __name__ == "__main__":
    main()
