"""Per-seed against pooled standardised errors of the collective's ln slope (issue 12).

For ``--replicas`` replicas of one increment scenario (``synthetic.INCREMENT_SCENARIOS``),
fits the spectral estimator (frame "lab", no band check, options as given) and prints, for
the collective (σ), the mean and median of z² of every seed's own ln slope (its level and
its reported s.e., ``diagnostics["per_seed_log_slope"]``) and of the pooled estimate (median
and s.d. of the log draws).  A calibrated variance gives mean z² ≈ 1 (median ≈ 0.455) in
both; a pooled z² well below the per-seed one would point at the pooling, one below 1 in
both at the per-seed variance.

    python studies/calibration_spectral/per_seed_z.py brownian_3x100ps --replicas 300 \\
        --first-seed 731000 --option order 5 --option tau_scale 0.0
"""

from __future__ import annotations

import argparse
import ast

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", choices=sorted(synthetic.INCREMENT_SCENARIOS))
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--first-seed", type=int, required=True, help="replica r uses rng seed FIRST_SEED + r")
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="estimator option (a Python literal)")
    a = ap.parse_args(argv)
    opts = {k: ast.literal_eval(v) for k, v in a.option}
    z: dict[str, list[float]] = {"seed": [], "pooled": []}
    for r in range(a.first_seed, a.first_seed + a.replicas):
        camp = synthetic.increment_campaign(**synthetic.INCREMENT_SCENARIOS[a.scenario], rng=r)
        fit = fit_spectral([SpectralSeries(**s) for s in camp.seeds], rng=np.random.default_rng(r + 10000),
                           n_draws=2000, band_check=False, frame="lab", **opts)
        truth = np.log(camp.truth["slope_P"])
        z["seed"] += [(y - truth) / sd for y, sd in fit.diagnostics["per_seed_log_slope"]["P"]]
        d = np.log(np.asarray(fit.draws["slope_P"]).ravel())
        z["pooled"].append((np.median(d) - truth) / d.std())
    print(f"{a.scenario}, options {opts}, seeds {a.first_seed}-{a.first_seed + a.replicas - 1}")
    for k, v in z.items():
        x = np.asarray(v)
        se = np.std(x**2, ddof=1) / np.sqrt(x.size)
        print(f"  {k:6s} n {x.size:4d}  mean z {x.mean():+.3f}  mean z² {np.mean(x**2):.3f} (± {se:.3f})  "
              f"median z² {np.median(x**2):.3f}")


if __name__ == "__main__":
    main()
