#!/usr/bin/env python3
"""Where the collective's relaxation check is skipped (``relaxation_check_frames``, session 31).

For each increment scenario (default: all of ``synthetic.INCREMENT_SCENARIOS``), fits the
default estimator to ``--replicas`` replicas and prints the frame interval, the tracer's
relaxation time τ (smallest and median; how many replicas had no column), in how many
replicas τ is shorter than ``relaxation_check_frames`` frames (the collective then keeps the
column unchecked), and the collective's check gain where the check was made (median, and
how many were near ties, |gain| < 2)::

    python studies/calibration_spectral/tau_scan.py --first-seed 798500 --replicas 40
    python studies/calibration_spectral/tau_scan.py sparse_05ps_3x300ps --first-seed 798500 --replicas 40
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import replica  # noqa: E402

from uncertainty_gk import synthetic  # noqa: E402
from uncertainty_gk.estimators.spectral import DEFAULTS, fit_spectral  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", default=list(synthetic.INCREMENT_SCENARIOS))
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=40)
    a = ap.parse_args(argv)
    frames = DEFAULTS["relaxation_check_frames"]
    print("| scenario | Δt (ps) | τ_tr min / median (ps) | no column | τ_tr < "
          f"{frames:g} frame(s) | unchecked | check gain, median | near ties (|gain| < 2) |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario in a.scenarios:
        taus, gains, unchecked = [], [], 0
        dt = np.nan
        for k in range(a.replicas):
            series, _ = replica(scenario, a.first_seed + k)
            dt = min(s.dt_ps for s in series)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_spectral(series, rng=np.random.default_rng(k), n_draws=500, frame="lab", band_check=False)
            tau = fit.band["tr"].get("relaxation_time_ps")
            taus.append(np.nan if tau is None else tau)
            g = fit.band["P"].get("relaxation_check_gain")
            gains.append(np.nan if g is None else g)
            unchecked += bool(fit.band["P"].get("relaxation_unchecked"))
        t, g = np.array(taus), np.array(gains)
        med_g = f"{np.nanmedian(g):.1f}" if np.isfinite(g).any() else "-"
        print(f"| {scenario} | {dt:g} | {np.nanmin(t):.3f} / {np.nanmedian(t):.3f} | {int(np.isnan(t).sum())} | "
              f"{int(np.sum(t < frames * dt))} | {unchecked} | {med_g} | {int(np.sum(np.abs(g) < 2))} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
