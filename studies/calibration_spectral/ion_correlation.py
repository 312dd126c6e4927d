#!/usr/bin/env python3
"""The ion correlation factor R and the tracer-collective factor κ as the spectral estimator
measures them, against their known values (issue 12, session 24).

Independent ions have R = 1 and N κ = 1 whatever their increments' distribution; ions in rigid
pairs have R = 2 where the pairs' shared motion dominates the spectrum (a rattle of each ion's
own lowers it towards 1 where the rattle is a sizeable part of the spectrum in the window of
``corr_window`` ordinates).  For each rattle amplitude and each setting of
``correlation_kurtosis`` (R and κ net of the hops' fourth cumulant, or raw) this prints the
mean over campaigns and axes of R and N κ:

    python studies/calibration_spectral/ion_correlation.py                     # pairs and independent ions, hops
    python studies/calibration_spectral/ion_correlation.py --process gaussian --rattle 0.3

Campaigns: ``synthetic.increment_campaign(process=..., n_mobile=32, durations_ps=(100, 100,
100))`` with rng seeds FIRST + r (default 920420: the independent-ion campaigns of
tests/test_spectral.py::test_ion_correlation_of_hopping_ions_is_net_of_their_fourth_cumulant,
whose pairs campaign is 920425 with a 0.05 Å rattle).
"""

from __future__ import annotations

import argparse

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--process", default="hops", choices=("hops", "gaussian"))
    ap.add_argument("--rattle", type=float, nargs="+", default=[0.3, 0.05], help="rattle amplitudes, Å")
    ap.add_argument("--campaigns", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=920420)
    a = ap.parse_args(argv)
    n = 32
    print("| ions | rattle Å | correlation_kurtosis | R (mean over campaigns and axes) | N κ |")
    print("|---|---|---|---|---|")
    for pairs in (0.0, 1.0):
        for rattle in a.rattle:
            for net in (True, False):
                R, K = [], []
                for r in range(a.campaigns):
                    camp = synthetic.increment_campaign(process=a.process, pair_fraction=pairs, n_mobile=n,
                                                        durations_ps=(100, 100, 100), rattle_amplitude=rattle,
                                                        rng=a.first_seed + r)
                    fit = fit_spectral([SpectralSeries(**s) for s in camp.seeds], rng=np.random.default_rng(r),
                                       n_draws=500, band_check=False, frame="lab", correlation_kurtosis=net)
                    R.extend(fit.diagnostics["ion_correlation_R"])
                    K.extend(fit.diagnostics["kappa"])
                print(f"| {'rigid pairs' if pairs else 'independent'} | {rattle:g} | {net} | {np.mean(R):.3f} "
                      f"| {n * np.mean(K):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
