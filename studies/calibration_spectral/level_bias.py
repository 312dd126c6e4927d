#!/usr/bin/env python3
"""Is one Whittle fit's level biased?  Simulated collective ordinates, fixed orders (development).

Per replica: χ²₁ ordinates I_k = S(f_k) χ²₁ of the generator's exact collective spectrum
(``IncrementCampaign.increment_spectrum``, one axis of one seed), fitted by the estimator's
own ``_order_fits`` at a fixed order; prints the mean of S0/truth - 1 (the linear scale, on
which the Whittle level should be unbiased) with its s.e., the noise-free value (the
truncation bias alone, as in ``truncation.py``) and the mean and s.d. of ln(S0/truth).

    python studies/calibration_spectral/level_bias.py --replicas 400

Session 14: brownian_3x100ps order index 3 / 4 / 6: +2.9 ± 1.4, +0.5 ± 1.5, -0.4 ± 2.0 %
(noise-free +2.5, -1.0, -0.2 %); stiff_8ions_3x100ps: +1.3 ± 1.0, +1.2 ± 1.2, -0.7 ± 1.6 %
(noise-free +1.1, -0.2, -0.1 %): no bias of the fit itself beyond its truncation.
"""

from __future__ import annotations

import argparse

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import DEFAULTS, _order_fits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", nargs="+", default=["brownian_3x100ps", "stiff_8ions_3x100ps"])
    ap.add_argument("--orders", type=int, nargs="+", default=[3, 4, 6])
    ap.add_argument("--replicas", type=int, default=400)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    for sc in a.scenarios:
        camp = synthetic.increment_campaign(rng=0, **synthetic.INCREMENT_SCENARIOS[sc])
        dt = float(camp.seeds[0]["dt_ps"])
        M = camp.seeds[0]["polarisation_increments"].shape[0]
        f = np.arange(1, M + 1) / (2.0 * (M + 1) * dt)
        S = camp.increment_spectrum(f, dt, "P")[:, 0]
        s0 = camp.increment_spectrum([0.0], dt, "P")[0, 0]
        for order in a.orders:
            opt = {**DEFAULTS, "max_order": order}
            lv = np.array([np.exp(_order_fits(S * rng.chisquare(1, size=M), f, 0.5, opt, dt, 1.0)[order]["mean"])
                           for _ in range(a.replicas)]) / s0
            free = np.exp(_order_fits(S, f, 0.5, opt, dt, 1.0)[order]["mean"]) / s0
            print(f"{sc} order index {order}: mean S0/truth - 1 {100 * (lv.mean() - 1):+.2f} "
                  f"± {100 * lv.std(ddof=1) / np.sqrt(lv.size):.2f} %, noise-free {100 * (free - 1):+.2f} %, "
                  f"ln: mean {100 * np.log(lv).mean():+.2f} %, s.d. {100 * np.log(lv).std(ddof=1):.1f} %", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
