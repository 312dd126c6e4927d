#!/usr/bin/env python3
"""How well the joint draws carry the tracer-collective correlation (development only).

Independent Gaussian walkers with P = Σ tracer (``increment_campaign``, 8 ions, 3 x 100 ps
by default): across replicas, the correlation of the posterior medians of ln slope_tr and
ln slope_P is the sampling correlation of the two estimates; within one fit, the
correlation of the draws is what the estimator claims for it.  For each fourth-cumulant
treatment (``kurtosis_estimate``) prints both, the smallest per-fit value and the fraction
below 0.1.  Session 12 (120 replicas, seeds 5000+): sampling 0.291; draws 0.187 (clipped),
0.141 (raw), 0.133 (shrunk): the estimator under-states the correlation.

    python studies/calibration_spectral/joint_correlation.py --replicas 120 --first-seed 5000
"""

from __future__ import annotations

import argparse

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import KURTOSIS_ESTIMATES, SpectralSeries, fit_spectral


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=120)
    ap.add_argument("--first-seed", type=int, default=5000)
    ap.add_argument("--ions", type=int, default=8)
    a = ap.parse_args(argv)
    medians = {m: [] for m in KURTOSIS_ESTIMATES}
    within = {m: [] for m in KURTOSIS_ESTIMATES}
    for r in range(a.first_seed, a.first_seed + a.replicas):
        camp = synthetic.increment_campaign(process="gaussian", durations_ps=(100, 100, 100), n_mobile=a.ions,
                                            rattle_amplitude=0.1, rng=r)
        seeds = [SpectralSeries(**s) for s in camp.seeds]
        for m in KURTOSIS_ESTIMATES:
            fit = fit_spectral(seeds, rng=np.random.default_rng(r), n_draws=2000, kurtosis_estimate=m, frame="lab",
                               band_check=False)
            lt, lp = np.log(fit.draws["slope_tr"].ravel()), np.log(fit.draws["slope_P"].ravel())
            medians[m].append((np.median(lt), np.median(lp)))
            within[m].append(np.corrcoef(lt, lp)[0, 1])
    for m in KURTOSIS_ESTIMATES:
        e, w = np.array(medians[m]), np.array(within[m])
        print(f"{m:8s} sampling correlation of the medians {np.corrcoef(e.T)[0, 1]:.3f} | draws: mean "
              f"{w.mean():.3f}, min {w.min():.3f}, fraction < 0.1 {np.mean(w < 0.1):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
