#!/usr/bin/env python3
"""Where ``relaxation_check_frames=1`` (session 31's option) would change the long-reference fits.

For the whole run, every 50 and 100 ps piece and every rest-of-run reference (the campaigns
of ``analyse_pieces.py``), the spectral fit with its default options and on the full band
(``low_band=False, first_step=False``, the references' variant), with the default
(``relaxation_check_frames=0``: the collective's relaxation check everywhere) and with the
option.  Prints every fit where the option skips the check: the tracer's τ against the frame
interval and the search's lower edge Δt/3, the check's gain under the default (negative: the
cosine series preferred; its size: how decisive), the collective's order and σ's median
and 95 % log-width under both.  Development and validation only: reads the runs of
``studies/long_reference/runs`` (read only); ``default_rng(0)`` per fit::

    python studies/long_reference/check_frames.py
"""

from __future__ import annotations

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


def main() -> int:
    seeds = pc.load_seeds(pc.DEFAULT_RUNS)
    specs = [("whole", pc.whole_ranges(seeds))]
    for length in (50, 100):
        for k, ranges in enumerate(pc.piece_ranges(seeds, length)):
            specs += [(f"{length}ps_{k}", ranges), (f"rest_{length}ps_{k}", pc.rest_ranges(seeds, ranges))]
    print("| campaign | variant | Δt (ps) | τ_tr (ps) | default's check gain | slope_P default (order) | "
          "slope_P option (order) |")
    print("|---|---|---|---|---|---|---|")
    n_fits = n_fired = 0
    for name, ranges in specs:
        gd = build_group_data(pc.campaign_runs(seeds, ranges),
                              ugk.AnalysisSettings(seed=0, per_seed=False).resolved(), show_warnings=False)
        series = [spectral_series_of(s) for s in gd.seeds]
        dt = min(s.dt_ps for s in series)
        for variant, options in VARIANTS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                new = fit_spectral(series, rng=np.random.default_rng(0), relaxation_check_frames=1, **options)
                n_fits += 1
                if not new.band["P"]["relaxation_unchecked"]:
                    continue
                n_fired += 1
                old = fit_spectral(series, rng=np.random.default_rng(0), **options)
            gain = old.band["P"]["relaxation_check_gain"]
            print(f"| {name} | {variant} | {dt:g} | {new.band['tr']['relaxation_time_ps']:.4f} (Δt/3 = {dt / 3:.4f}) | "
                  f"{gain:+.1f} | {sigma_summary(old)} | {sigma_summary(new)} |", flush=True)
    print(f"\nThe option skips the collective's check in {n_fired} of {n_fits} fits.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
