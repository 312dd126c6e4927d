"""How much the located relaxation time τ moves D*: the same replicas fitted with τ estimated and with τ fixed at its truth.

The tracer's variance counts τ's error by the delta method (``relaxation_variance``). This
script measures τ's real effect instead. It fits each replica twice with the same draws'
rng: once as the estimator does (τ located on the tracer's ion average), once with τ fixed
at the generator's rattle time. It prints the s.d. over replicas of ln D*'s median in each
case and the s.d. of their paired difference (session 18, ``ablation_2026-12-05_session18.md``)::

    python studies/calibration_spectral/tau_effect.py brownian_3x50ps --first-seed 781000 --replicas 150
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import replica  # noqa: E402

from uncertainty_gk import synthetic  # noqa: E402
from uncertainty_gk.estimators.spectral import fit_spectral  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(synthetic.INCREMENT_SCENARIOS))
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=150)
    a = ap.parse_args(argv)
    # the generator's rattle time: the scenario's own, or increment_campaign's default
    tau_true = synthetic.INCREMENT_SCENARIOS[a.scenario].get(
        "rattle_time_ps", synthetic.increment_campaign.__kwdefaults__["rattle_time_ps"])
    est, true = [], []
    for r in range(a.replicas):
        series, truth = replica(a.scenario, a.first_seed + r)
        kw = dict(n_draws=400, frame="lab", band_check=False, relaxation_variance=False)
        fits = [fit_spectral(series, rng=np.random.default_rng(1), **kw),
                fit_spectral(series, rng=np.random.default_rng(1), _relaxation_ps={"tr": tau_true}, **kw)]
        if fits[0].band["tr"].get("relaxation_time_ps") is None:
            continue                      # no column located: nothing to compare
        est.append(np.median(np.log(fits[0].draws["slope_tr"] / truth["slope_tr"])))
        true.append(np.median(np.log(fits[1].draws["slope_tr"] / truth["slope_tr"])))
    e, t = 100 * np.array(est), 100 * np.array(true)
    print(f"{a.scenario}, {len(e)} of {a.replicas} replicas with a column (τ true = {tau_true} ps); s.d. over replicas "
          f"of ln D*'s median: τ estimated {e.std(ddof=1):.2f} %, τ true {t.std(ddof=1):.2f} %, "
          f"paired difference {(e - t).std(ddof=1):.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
