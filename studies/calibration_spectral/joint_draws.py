#!/usr/bin/env python3
"""The joint draws' tracer-collective correlation against the errors' (issue 12, session 30).

For replicas of one synthetic scenario, fits every replica with ``joint_correlation="covariance"``
(sessions 1-29) and ``"sampling"`` (the default since session 30) on the same data and the same
draws' rng, and prints the mean correlation of the draws of ln slope_tr and ln slope_P of each,
beside the correlation of the two posterior medians' errors ln(median/truth) across replicas (what
the draws' correlation should be; ± its s.e. (1 - ρ²)/√n).  ``--option NAME VALUE`` (a Python
literal) passes an estimator option to every fit, e.g. ``--option order 3``: a fixed number of
cosine coefficients (no order choice, so no allowance).

    python studies/calibration_spectral/joint_draws.py hops_3x100ps --first-seed 797800 --replicas 150
    python studies/calibration_spectral/joint_draws.py pairs_hr05_3x300ps --first-seed 797800 --replicas 150 --option order 3
    python studies/calibration_spectral/joint_draws.py hops_3x100ps --first-seed 797800 --replicas 100 \
        --option kurtosis_correction False

Randomness: the replica's data from its seed (``ablation.replica``), the draws from
default_rng(10000 + seed), as ``ablation.py``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import replica  # noqa: E402

from uncertainty_gk.estimators.spectral import fit_spectral  # noqa: E402

MODES = ("covariance", "sampling")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=150)
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="an estimator option (a Python literal), for every fit")
    a = ap.parse_args(argv)
    extra = {k: ast.literal_eval(v) for k, v in a.option}
    draws_corr = {m: [] for m in MODES}
    err = []
    for r in range(a.replicas):
        seed = a.first_seed + r
        series, truth = replica(a.scenario, seed)
        for mode in MODES:
            fit = fit_spectral(series, rng=np.random.default_rng(10_000 + seed), frame="lab", band_check=False,
                               joint_correlation=mode, **extra)
            lt, lp = np.log(fit.draws["slope_tr"].ravel()), np.log(fit.draws["slope_P"].ravel())
            draws_corr[mode].append(np.corrcoef(lt, lp)[0, 1])
        # the medians (and so their errors) are the same in both modes: only the pairing of the draws differs
        err.append((np.median(lt) - np.log(truth["slope_tr"]), np.median(lp) - np.log(truth["slope_P"])))
    e = np.array(err)
    rho = float(np.corrcoef(e[:, 0], e[:, 1])[0, 1])
    print(f"`{a.scenario}`, seeds {a.first_seed}-{a.first_seed + a.replicas - 1}, options "
          f"{extra or 'default'}: errors' correlation "
          f"{rho:.3f} ± {(1 - rho**2) / np.sqrt(len(e)):.3f}; draws' mean correlation "
          + ", ".join(f"{m} {np.mean(v):.3f}" for m, v in draws_corr.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
