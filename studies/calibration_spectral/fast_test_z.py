#!/usr/bin/env python3
"""The fast calibration test's scenario with estimator options changed (development only).

``tests/test_calibration_fast.py`` analyses replicas of ``synthetic.generate`` (3 seeds x
300 ps, 24 ions with a rattle in a vibrating, drifting framework; even replicas
independent walkers, odd ones rigid pairs) through ``analyse_group``, as a user's
campaign would be.  This script does the same on any replica seeds with spectral options
overridden, and prints mean z² of ln D* and ln σ (z from the 95 % interval, 1 for a
calibrated one) with 95 % coverage, so a change of the estimator can be seen on the
test's own kind of data before the test is run.  Use seeds other than the test's
(600000+) when deciding anything:

    python studies/calibration_spectral/fast_test_z.py --first-seed 790000 --replicas 60
    python studies/calibration_spectral/fast_test_z.py --option kurtosis_estimate "'clipped'"

``--out FILE.csv`` keeps the per-replica errors (one row per replica and quantity), so two
runs on the same seeds can be compared replica by replica (``paired_z.py``).
"""

from __future__ import annotations

import argparse
import csv
import warnings

import numpy as np
from scipy import stats

from uncertainty_gk import synthetic
from uncertainty_gk.analysis import analyse_group
from uncertainty_gk.estimators import spectral
from uncertainty_gk.settings import AnalysisSettings

SCENARIO = dict(n_mobile=24, n_frames=3000, frame_interval_ps=0.1, n_seeds=3, D=0.05, rattle_amplitude=0.3,
                rattle_time_ps=0.2, drift_D=0.01, temperature_K=800)
Z95 = stats.norm.ppf(0.975)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--first-seed", type=int, default=600000)
    ap.add_argument("--replicas", type=int, default=60)
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--out", help="write the per-replica errors to this CSV file")
    a = ap.parse_args(argv)
    options = {k: eval(v, {}) for k, v in a.option}
    unknown = set(options) - set(spectral.DEFAULTS)
    if unknown:
        ap.error(f"unknown spectral options {sorted(unknown)}")
    spectral.DEFAULTS.update(options)       # the registered estimator reads its defaults at fit time
    z = {"D_tr": [], "sigma": []}
    cover = {"D_tr": [], "sigma": []}
    rows = []
    for r in range(a.first_seed, a.first_seed + a.replicas):
        system = synthetic.generate(**SCENARIO, haven_ratio=1.0 if r % 2 == 0 else 0.5, rng=r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = analyse_group(system.runs, AnalysisSettings(method="spectral", seed=r, per_seed=False))
        for q in z:
            e, t = res.quantities[q], system.truth[q]
            z[q].append(np.log(e.median / t) / (np.log(e.upper / e.lower) / (2 * Z95)))
            cover[q].append(e.lower <= t <= e.upper)
            rows.append({"replica": r, "haven_ratio": system.truth["haven_ratio"], "quantity": q, "z": z[q][-1],
                         "median": e.median, "lower": e.lower, "upper": e.upper, "truth": t})
    if a.out:
        with open(a.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    both = np.concatenate([np.square(z[q]) for q in z])
    print(f"options {options or 'default'}, seeds {a.first_seed}-{a.first_seed + a.replicas - 1}")
    for q in z:
        zz = np.asarray(z[q])
        print(f"  {q}: mean z² {np.mean(zz**2):.3f} (± {np.std(zz**2, ddof=1) / np.sqrt(zz.size):.3f}), "
              f"mean z {np.mean(zz):+.3f} (± {np.std(zz, ddof=1) / np.sqrt(zz.size):.3f}), "
              f"95 % coverage {np.mean(cover[q]):.3f}, n = {zz.size}")
    print(f"  both: mean z² {np.mean(both):.3f} (the test's band for 120 errors: "
          f"[{stats.chi2.ppf(0.01, 120) / 120:.3f}, {stats.chi2.ppf(0.995, 120) / 120:.3f}])")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
