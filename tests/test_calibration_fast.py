"""Coverage of the default (Bayesian) intervals on known-answer synthetic systems.

The full study is studies/calibration/run_calibration.py (docs/calibration.md); this
runs a fast version in the suite: 50 replicas of small 3-seed systems of 300 ps (independent
and paired walkers, vibrating and drifting framework, rattling regime).  Replica i
uses rng seed i, so the test is deterministic; its bounds are three binomial
standard errors below the 95 % target, so a calibrated estimator passes and a
broken one (intervals too narrow by ~30 % or more, or a biased estimate) fails.
"""

import warnings

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.analysis import analyse_group
from uncertainty_gk.settings import AnalysisSettings

QUANTS = ("D_tr", "sigma_tr", "sigma", "haven_ratio")


def run_replicas(n, haven, n_frames, n_steps, first_seed=0):
    hits = {q: [] for q in QUANTS}
    rel = {q: [] for q in QUANTS}
    for i in range(first_seed, first_seed + n):
        system = synthetic.generate(n_mobile=24, n_frames=n_frames, n_seeds=3, haven_ratio=haven,
                                    rattle_amplitude=0.3, rattle_time_ps=0.2, drift_D=0.01, rng=i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = analyse_group(system.runs, AnalysisSettings(seed=1000 + i, per_seed=False, n_steps=n_steps))
        for q in QUANTS:
            e = res.quantities[q]
            hits[q].append(e.lower <= system.truth[q] <= e.upper)
            rel[q].append(e.median / system.truth[q] - 1)
    return ({q: float(np.mean(v)) for q, v in hits.items()},
            {q: (float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(len(v)))) for q, v in rel.items()})


def check(coverage, bias, n, lo_cov):
    for q in QUANTS:
        assert coverage[q] >= lo_cov, f"{q}: 95 % coverage {coverage[q]:.3f} over {n} replicas"
        m, se = bias[q]
        assert abs(m) <= 0.02 + 3 * se, f"{q}: mean relative error {m:+.3f} ± {se:.3f}"


@pytest.mark.parametrize("haven", [1.0, 0.5])
def test_coverage_fast(haven):
    n = 50
    coverage, bias = run_replicas(n, haven, n_frames=3000, n_steps=600)
    check(coverage, bias, n, lo_cov=0.95 - 3 * np.sqrt(0.95 * 0.05 / n))


@pytest.mark.slow
@pytest.mark.parametrize("haven", [1.0, 0.5])
def test_coverage_slow(haven):
    n = 200
    coverage, bias = run_replicas(n, haven, n_frames=3000, n_steps=1500, first_seed=500)
    check(coverage, bias, n, lo_cov=0.95 - 3 * np.sqrt(0.95 * 0.05 / n))
    for q in QUANTS:
        assert coverage[q] <= 0.99, f"{q}: intervals too wide (coverage {coverage[q]:.3f})"
