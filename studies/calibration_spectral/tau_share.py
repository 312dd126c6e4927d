"""Is the relaxation time's share of D*'s variance right?  Three fits of every replica.

Each replica is fitted (cell's frame, no band check, no seed random effect and no kurtosis
term for the tracer, so that only the within-seed variance is tested) with τ located and
counted in the variance (the estimator), with τ located but not counted, and with τ fixed
at the generator's rattle time.  Printed: the s.d. over replicas of ln D*'s median in each
case, the paired effect of locating τ, the share the delta method predicts (the mean
reported variance with τ counted minus without), and mean z² of the three (session 19,
``ablation_2026-12-05_session19.md``)::

    python studies/calibration_spectral/tau_share.py brownian_3x50ps --first-seed 782000 --replicas 150 --option order 2
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import replica  # noqa: E402

from uncertainty_gk import synthetic  # noqa: E402
from uncertainty_gk.estimators.spectral import fit_spectral  # noqa: E402


def _pooled(fit, truth: float) -> tuple[float, float]:
    """ln median error and the squared 68 % half-width of ln D*."""
    d = np.log(fit.draws["slope_tr"].ravel() / truth)
    lo, med, hi = np.quantile(d, [0.16, 0.5, 0.84])
    return float(med), float(((hi - lo) / 2) ** 2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(synthetic.INCREMENT_SCENARIOS))
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=150)
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="an estimator option for all three fits (a Python literal), e.g. --option order 2")
    a = ap.parse_args(argv)
    extra = {k: ast.literal_eval(v) for k, v in a.option}
    tau_true = synthetic.INCREMENT_SCENARIOS[a.scenario].get(
        "rattle_time_ps", synthetic.increment_campaign.__kwdefaults__["rattle_time_ps"])
    kw = dict(n_draws=2000, frame="lab", band_check=False, kurtosis_correction=False,
              tau_null_prob={"tr": 1.0, "P": 0.0}, **extra)
    rows = []
    for r in range(a.replicas):
        series, truth = replica(a.scenario, a.first_seed + r)
        counted = fit_spectral(series, rng=np.random.default_rng(1), **kw)
        if counted.band["tr"].get("relaxation_time_ps") is None:
            continue                      # no column located: nothing to compare
        located = fit_spectral(series, rng=np.random.default_rng(1), relaxation_variance=False, **kw)
        fixed = fit_spectral(series, rng=np.random.default_rng(1), _relaxation_ps={"tr": tau_true},
                             relaxation_variance=False, **kw)
        rows.append([*_pooled(counted, truth["slope_tr"]), *_pooled(located, truth["slope_tr"]),
                     *_pooled(fixed, truth["slope_tr"])])
    e, ve, k, vk, t, vt = (100 * np.array(rows) * np.array([1, 100, 1, 100, 1, 100])).T
    print(f"{a.scenario} {extra}: {len(e)} of {a.replicas} replicas locate a column (τ true {tau_true} ps)")
    print(f"  s.d. of ln D* (%): τ located {k.std(ddof=1):.2f}, τ fixed at its truth {t.std(ddof=1):.2f}; "
          f"paired effect of locating τ {(k - t).std(ddof=1):.2f}; delta-method share "
          f"{np.sqrt(max(ve.mean() - vk.mean(), 0.0)):.2f}")
    print(f"  mean z²: τ located and counted {np.mean(e**2 / ve):.3f}, located not counted {np.mean(k**2 / vk):.3f}, "
          f"fixed at its truth {np.mean(t**2 / vt):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
