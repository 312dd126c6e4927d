#!/usr/bin/env python3
"""What the tracer's lowest ordinate alone costs on diffusive data (issue 12; a lead of session 28).

On the long-reference pieces the tracer's level at the lowest ordinate alone is nearly
unbiased against the rest-of-run references (+2.1 / +0.4 %) where the spectral estimate is
+11 / +9 % (``studies/long_reference/first_ordinate.py``): the slow relaxation is partly
inside each piece.  An estimator that leans on that ordinate pays in precision wherever the
data are diffusive.  This script measures the price on the calibration families
(``synthetic.INCREMENT_SCENARIOS``, diffusive by construction): per family, the mean and
s.d. of ln(estimate / truth) for the default's D* and for the lowest ordinate's level
(Σ over axes of the ion-averaged periodogram at f = 1/(2T) over Δt, seeds weighted by their
increments), and the ratio of the two s.d.s.

    python studies/calibration_spectral/first_level.py --first-seed 797600 --replicas 40

Randomness: the replica seed (``synthetic.increment_campaign(rng=seed)``) and
``numpy.random.default_rng(seed)`` for the draws.
"""

from __future__ import annotations

import argparse

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import SpectralSeries, TracerStatistics, fit_spectral


def first_level(series: list[SpectralSeries]) -> float:
    """The tracer's level at the lowest ordinate alone (slope units), seeds weighted by their increments."""
    M = np.array([s.tracer_increments.n_increments for s in series], dtype=float)
    return float(M @ np.array([s.tracer_increments.periodogram()[0].sum() / s.dt_ps for s in series]) / M.sum())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=40)
    ap.add_argument("--scenarios", nargs="*", default=None)
    a = ap.parse_args(argv)
    print("| family | replicas | D*: mean / s.d. of ln(est/truth) | first ordinate: mean / s.d. | s.d. ratio |")
    print("|---|---|---|---|---|")
    ratios = []
    for sc in a.scenarios or sorted(synthetic.INCREMENT_SCENARIOS):
        est, first = [], []
        for r in range(a.replicas):
            seed = a.first_seed + r
            camp = synthetic.increment_campaign(rng=seed, **synthetic.INCREMENT_SCENARIOS[sc])
            # the tracer reduced once, for the fit and for the lowest ordinate alike
            series = [SpectralSeries(**{**s, "tracer_increments": TracerStatistics.of(s["tracer_increments"])})
                      for s in camp.seeds]
            fit = fit_spectral(series, rng=np.random.default_rng(seed), n_draws=500, band_check=False)
            truth = camp.truth["slope_tr"]
            est.append(np.log(fit.interval("slope_tr")[0] / truth))
            first.append(np.log(first_level(series) / truth))
        e, f = np.array(est), np.array(first)
        ratios.append(f.std(ddof=1) / e.std(ddof=1))
        print(f"| {sc} | {a.replicas} | {100 * e.mean():+.1f} / {100 * e.std(ddof=1):.1f} % | "
              f"{100 * f.mean():+.1f} / {100 * f.std(ddof=1):.1f} % | {ratios[-1]:.2f} |", flush=True)
    print(f"\ns.d. ratio first ordinate / estimate: median {np.median(ratios):.2f}, range "
          f"{min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} families")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
