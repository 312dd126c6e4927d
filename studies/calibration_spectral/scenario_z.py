#!/usr/bin/env python3
"""Any increment scenario with its generator parameters and the estimator's options
changed: mean z² and coverage of ln D* and ln σ (development only).

The evaluation scenarios (``synthetic.INCREMENT_SCENARIOS``) all have 64 mobile ions and
a 0.3 Å cage rattle.  Ab initio cells are smaller, and a stiff cage rattles less; this
script runs a scenario with ``--generator`` overrides (e.g. 8 ions, a 0.1 Å rattle) and
``--option`` overrides of :func:`fit_spectral`, on replica seeds of your choice (the
evaluation uses 500000+ and 6x0000+; the session-13 check used 7000+), and prints for each
quantity mean z² (1 for calibrated intervals; z from the 95 % interval), the 95 %
coverage, the mean z (bias in posterior s.d.) and the mean relative 95 % width.

    python studies/calibration_spectral/scenario_z.py brownian_3x100ps --generator n_mobile 8 \\
        --generator rattle_amplitude 0.1 --replicas 200 --first-seed 7000
    python studies/calibration_spectral/scenario_z.py brownian_3x100ps --generator n_mobile 8 \\
        --generator rattle_amplitude 0.1 --option order_allowance "{'tr': 'next', 'P': 'window'}"

Session 13 (200 replicas each, seeds 7000-7199, default options; docs/spectral.md,
"Session 13"): σ's mean z² is 1.47 (95 % coverage 0.895) with 8 ions and a 0.1 Å rattle,
1.17 (0.915) with 24 ions and 0.1 Å, 0.78 (0.980) with 8 ions and the usual 0.3 Å.
"""

from __future__ import annotations

import argparse

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import DEFAULTS, SpectralSeries, fit_spectral

Z95 = 1.959964


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(synthetic.INCREMENT_SCENARIOS))
    ap.add_argument("--generator", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="override a parameter of increment_campaign (value: a Python literal)")
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="override an option of fit_spectral (value: a Python literal)")
    ap.add_argument("--replicas", type=int, default=200)
    ap.add_argument("--first-seed", type=int, default=7000)
    a = ap.parse_args(argv)
    generator = {k: eval(v, {}) for k, v in a.generator}
    options = {k: eval(v, {}) for k, v in a.option}
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        ap.error(f"unknown fit_spectral options {sorted(unknown)}")
    params = {**synthetic.INCREMENT_SCENARIOS[a.scenario], **generator}
    rows = []
    for r in range(a.first_seed, a.first_seed + a.replicas):
        camp = synthetic.increment_campaign(rng=r, **params)
        fit = fit_spectral([SpectralSeries(**s) for s in camp.seeds], rng=np.random.default_rng(r), n_draws=2000,
                           band_check=False, **options)
        row = []
        for key in ("slope_tr", "slope_P"):
            lo, med, hi = np.quantile(np.log(fit.draws[key].ravel()), [0.025, 0.5, 0.975])
            row += [(med - np.log(camp.truth[key])) / ((hi - lo) / (2 * Z95)), np.exp(hi) - np.exp(lo),
                    np.exp(med)]
        rows.append(row)
    e = np.array(rows)
    print(f"{a.scenario} {generator or ''} options {options or 'default'}, seeds {a.first_seed}-"
          f"{a.first_seed + a.replicas - 1}")
    for j, name in enumerate(("D*", "σ")):
        z, width = e[:, 3 * j], e[:, 3 * j + 1] / e[:, 3 * j + 2]
        print(f"  {name}: mean z² {np.mean(z**2):.3f}, 95 % coverage {np.mean(np.abs(z) <= Z95):.3f}, "
              f"mean z {z.mean():+.2f} ± {z.std(ddof=1) / np.sqrt(len(z)):.2f}, 95 % width / median {width.mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
