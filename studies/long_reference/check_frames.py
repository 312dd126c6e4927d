#!/usr/bin/env python3
"""Where ``relaxation_check_frames=1`` (session 31's option) would change the long-reference fits.

For the whole run, every 50 and 100 ps piece and every rest-of-run reference (the campaigns
of ``analyse_pieces.py``), the spectral fit with its default options and on the full band
(``low_band=False, first_step=False``, the references' variant), with the option.  Prints
every fit whose tracer τ is shorter than a frame (where the option may skip the collective's
relaxation check): τ against the frame interval and the search's lower edge Δt/3, the check's
gain (negative: the cosine series preferred; its size: how decisive) and power (the expected
gain were either fitted spectrum true; the option skips the check only below
``relaxation_check_power`` and with τ off the lower edge), whether it was skipped, and where
it was, the collective's order and σ's median and 95 % log-width without and with the
option.  Development and validation only: reads the runs of ``studies/long_reference/runs``
(read only); ``default_rng(0)`` per fit::

    python studies/long_reference/check_frames.py
    python studies/long_reference/check_frames.py --power 1e9     # the session-31 first version (no power limit)
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pieces as pc  # noqa: E402

import uncertainty_gk as ugk  # noqa: E402
from uncertainty_gk.estimators import build_group_data  # noqa: E402
from uncertainty_gk.estimators.spectral import fit_spectral, spectral_series_of  # noqa: E402

VARIANTS = {"default": {}, "full_band": {"low_band": False, "first_step": False}}


def sigma_summary(fit) -> str:
    x = np.log(np.asarray(fit.draws["slope_P"]).ravel())
    lo, hi = np.percentile(x, [2.5, 97.5])
    return f"{np.exp(np.median(x)):.2f} (w95 {hi - lo:.3f}, order {fit.band['P']['level']})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--power", type=float, default=None, help="relaxation_check_power (default: the estimator's)")
    a = ap.parse_args(argv)
    option = {"relaxation_check_frames": 1, **({} if a.power is None else {"relaxation_check_power": a.power})}
    seeds = pc.load_seeds(pc.DEFAULT_RUNS)
    specs = [("whole", pc.whole_ranges(seeds))]
    for length in (50, 100):
        for k, ranges in enumerate(pc.piece_ranges(seeds, length)):
            specs += [(f"{length}ps_{k}", ranges), (f"rest_{length}ps_{k}", pc.rest_ranges(seeds, ranges))]
    print("| campaign | variant | Δt (ps) | τ_tr (ps) | check gain | check power | skipped | "
          "slope_P without (order) | slope_P with the option (order) |")
    print("|---|---|---|---|---|---|---|---|---|")
    n_fits = n_fired = 0
    for name, ranges in specs:
        gd = build_group_data(pc.campaign_runs(seeds, ranges),
                              ugk.AnalysisSettings(seed=0, per_seed=False).resolved(), show_warnings=False)
        series = [spectral_series_of(s) for s in gd.seeds]
        dt = min(s.dt_ps for s in series)
        for variant, options in VARIANTS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                new = fit_spectral(series, rng=np.random.default_rng(0), **option, **options)
                n_fits += 1
                tau = new.band["tr"]["relaxation_time_ps"]
                if tau is None or tau >= dt:
                    continue
                skipped = bool(new.band["P"]["relaxation_unchecked"])
                n_fired += skipped
                old = fit_spectral(series, rng=np.random.default_rng(0), **options) if skipped else new
            band = new.band["P"]
            print(f"| {name} | {variant} | {dt:g} | {tau:.4f} (Δt/3 = {dt / 3:.4f}) | {band['relaxation_check_gain']:+.1f} | "
                  f"{band['relaxation_check_power']:.2f} | {'yes' if skipped else 'no'} | {sigma_summary(old)} | "
                  f"{sigma_summary(new) if skipped else '(the same)'} |", flush=True)
    print(f"\nThe option skips the collective's check in {n_fired} of {n_fits} fits.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
