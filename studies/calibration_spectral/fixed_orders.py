#!/usr/bin/env python3
"""σ's bias at each fixed model order against the order the default chooses (issue 12, session 21).

    python studies/calibration_spectral/fixed_orders.py channel_1d_3x100ps --replicas 80 --first-seed 790500

For every replica of a scenario family (``synthetic.INCREMENT_SCENARIOS``, as in ``ablation.py``)
the collective is fitted with the default rule and with each forced level 1-5 (option
``order``: the number of columns after the level; no allowance, no band halving), and the
mean ln(median / truth) of σ's slope, the 68 % coverage and the mean 68 % log-width are
printed per level; then how often the default chose each level, whether the collective kept
the relaxation column, and the tracer's levels.  A rigid level's truncation shows as a
positive bias that the default's choice inherits when it keeps such levels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import replica  # noqa: E402

from uncertainty_gk.estimators.spectral import fit_spectral  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("--replicas", type=int, default=80)
    ap.add_argument("--first-seed", type=int, required=True)
    a = ap.parse_args(argv)
    res: dict = {}
    info = []
    for r in range(a.replicas):
        series, truth = replica(a.scenario, a.first_seed + r)
        for o in [None, 1, 2, 3, 4, 5]:
            fit = fit_spectral(series, rng=np.random.default_rng(10_000 + a.first_seed + r), frame="lab",
                               band_check=False, n_draws=2000, **({} if o is None else {"order": o}))
            x = np.log(fit.draws["slope_P"].ravel() / truth["slope_P"])
            q16, q50, q84 = np.quantile(x, [0.16, 0.5, 0.84])
            res.setdefault(o, []).append((q50, q16 <= 0 <= q84, q84 - q16))
            if o is None:
                info.append((fit.band["P"]["level"], fit.band["P"]["relaxation_time_ps"] is not None,
                             fit.band["tr"]["level"]))
    n = a.replicas
    print(f"{a.scenario}, replicas {a.first_seed}-{a.first_seed + n - 1}: σ per level (None = the default's choice)")
    for o, v in res.items():
        v = np.array(v, dtype=float)
        print(f"  level {o}: bias {100 * v[:, 0].mean():+.2f} ± {100 * v[:, 0].std() / np.sqrt(n):.2f} %, "
              f"68 % coverage {v[:, 1].mean():.3f}, mean 68 % log-width {v[:, 2].mean():.3f}")
    arr = np.array(info, dtype=float)
    print("  default's collective levels", np.bincount(arr[:, 0].astype(int)).tolist(),
          f"| collective keeps the relaxation column in {arr[:, 1].mean():.2f}",
          "| tracer levels", np.bincount(arr[:, 2].astype(int)).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
