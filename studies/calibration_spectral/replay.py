#!/usr/bin/env python3
"""Refit single replicas of the spectral study and print σ's interval (issue 12).

Each ``SCENARIO:SEED`` is rebuilt exactly as ``run.py`` builds it (the same data and the same
draws' rng: both the replica seed) and fitted with the current defaults and ``--option``
overrides; prints σ's median and 95 % interval relative to the truth, the regime and the
start of its reason.  For looking again at the worst replicas of an evaluation file:

    python studies/calibration_spectral/replay.py channel_1d_3x100ps:660133 brownian_3x50ps:660252 \\
        --option order_allowance '{"P": "excess"}'
"""

from __future__ import annotations

import argparse
import ast

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("replicas", nargs="+", metavar="SCENARIO:SEED")
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="estimator option (a Python literal)")
    a = ap.parse_args(argv)
    opts = {k: ast.literal_eval(v) for k, v in a.option}
    for item in a.replicas:
        scenario, _, seed_text = item.partition(":")
        if scenario not in synthetic.INCREMENT_SCENARIOS or not seed_text.isdigit():
            ap.error(f"{item!r}: expected SCENARIO:SEED with SCENARIO one of {sorted(synthetic.INCREMENT_SCENARIOS)}")
        seed = int(seed_text)
        camp = synthetic.increment_campaign(rng=seed, **synthetic.INCREMENT_SCENARIOS[scenario])
        fit = fit_spectral([SpectralSeries(**s) for s in camp.seeds], rng=np.random.default_rng(seed),
                           **{"frame": "lab", **opts})
        r = np.asarray(fit.draws["slope_P"]).ravel() / camp.truth["slope_P"]
        lo, med, hi = np.quantile(r, [0.025, 0.5, 0.975])
        print(f"{scenario}:{seed}  σ / truth {med:.3g} [{lo:.3g}, {hi:.3g}]  {fit.regime}  {fit.regime_reason[:120]}")


if __name__ == "__main__":
    main()
