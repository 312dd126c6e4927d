#!/usr/bin/env python3
"""How far the estimate moves with the band when the data *are* diffusive (issue 12, item 0; session 25).

docs/long_reference.md scores item 0 on real MD as the shift of the median when the band
is halved or quartered (``fit_spectral(..., band_fraction=0.5 / 0.25)``), in units of the
default's own log-s.e., and counts the campaigns beyond 1 s.e.  A narrower band is a
noisier estimate of the same value, so even a perfectly diffusive campaign moves: this
script measures that null distribution on synthetic families (diffusive by construction),
with the same statistic, so the real-MD shares can be read against it.

    python studies/calibration_spectral/band_shift.py --first-seed 797300 --replicas 60 \\
        --scenarios hops_3x100ps brownian_3x50ps pairs_hr067_3x100ps

Prints per family, band and quantity the median |shift|, the 90 % quantile and the share
beyond 1 s.e.  Randomness: the replica seed for the data and ``default_rng(seed)`` for
the draws (every band of a replica uses the same draws' seed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "long_reference"))

import scoring  # noqa: E402

BANDS = (0.5, 0.25)
QUANTITIES = {"D*": lambda f: f.draws["slope_tr"], "σ": lambda f: f.draws["slope_P"],
              "H_R": lambda f: f.draws["slope_tr"] / f.draws["slope_P"]}


def log_se(x: np.ndarray) -> float:
    """The draws' log-s.e. exactly as docs/long_reference.md scores a row (``scoring.log_se``)."""
    lo, med, hi = np.quantile(np.asarray(x).ravel(), [0.16, 0.5, 0.84])
    return scoring.log_se({"lo68": lo, "hi68": hi, "median": med})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=60)
    ap.add_argument("--scenarios", nargs="+", default=["hops_3x100ps", "brownian_3x50ps", "pairs_hr067_3x100ps"])
    a = ap.parse_args(argv)
    print("| family | band | quantity | replicas | median \\|shift\\| (s.e.) | 90 % quantile | share > 1 s.e. |")
    print("|---|---|---|---|---|---|---|")
    for sc in a.scenarios:
        shifts: dict = {(b, q): [] for b in BANDS for q in QUANTITIES}
        for r in range(a.replicas):
            seed = a.first_seed + r
            camp = synthetic.increment_campaign(rng=seed, **synthetic.INCREMENT_SCENARIOS[sc])
            series = [SpectralSeries(**s) for s in camp.seeds]
            base = fit_spectral(series, rng=np.random.default_rng(seed), n_draws=2000, band_check=False, frame="lab")
            for b in BANDS:
                fit = fit_spectral(series, rng=np.random.default_rng(seed), n_draws=2000, band_check=False,
                                   frame="lab", band_fraction=b)
                for q, get in QUANTITIES.items():
                    x0, x1 = get(base), get(fit)
                    shifts[(b, q)].append((np.median(np.log(x1)) - np.median(np.log(x0))) / log_se(x0))
        for (b, q), s in shifts.items():
            s = np.abs(np.array(s))
            print(f"| {sc} | {b:g} | {q} | {len(s)} | {np.median(s):.2f} | {np.quantile(s, 0.9):.2f} | "
                  f"{np.mean(s > 1):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
