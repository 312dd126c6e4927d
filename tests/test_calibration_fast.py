"""Calibration of the intervals: powered, two-sided tests on known answers.

Scenario: the one docs/calibration.md claims calibration for - 3 seeds × 300 ps (3000
frames of 0.1 ps), 24 mobile ions with a 0.3 Å / 0.2 ps rattle, in a vibrating and
drifting framework; half the replicas independent walkers (H_R = 1), half rigidly
paired walkers (H_R = 0.5).  Each replica is analysed by :func:`analyse_group` with
:class:`AnalysisSettings`, as a user's campaign would be: the default method
(``spectral``) with 60 replicas, powered at 20 % (its test powered at 15 % is in
tests/test_spectral.py), and the former default (``bayes``) with 30, a guard against
gross miscalibration.

Replica rng seeds 600000 + r (fast) and 810000 + r (slow), disjoint from every study's:
the calibration study uses 0-199 (its former slow test 500-699), the spectral study and
the side-by-side comparison 1000+ and 500000+ (the spectral evaluation sets 600000+ and
640000+ run on another generator, increment_campaign), the spectral ablations 700000+
and 710000+, the spectral tests 900000+.  The spectral seed set was fixed before the
test was first run.

The statistic: for ln D* and ln σ of every replica, the standardised error
``z = (ln median - ln truth) / s`` with ``s = (ln upper - ln lower) / (2 · 1.96)``, the
log-scale standard deviation the 95 % interval implies.  For calibrated intervals z is
close to N(0, 1), and mean(z²) ~ χ²_n / n (the two z of one replica correlate weakly,
ρ ≈ 0.0 for independent and 0.3 for paired ions here, which widens the spread of
mean(z²) by about 2 %).  Intervals a factor c too wide or too narrow scale every z by
1/c and mean(z²) by 1/c²: a two-sided band on mean(z²) catches both, with a power
computed in the tests (``zscores.band_power``).  The 68 % interval is checked the same
way, from its own half-width.

Bayes, shown once (scratch run, 2026-12-03): with every posterior's log-draws scaled
about their median so that all half-widths are × 0.8, mean z² = 1.52 (> 1.364, fails);
× 1.25, 0.62 (< 0.724, fails); unscaled, 0.97 (95 %) and 0.99 (68 %).

Bayes is not robust, an open finding (issue 12): a second, equally fresh set of 60
replicas (seeds 800000-800059) gives mean z² = 1.47 and fails (95 % coverage of D* 0.90;
four D* errors beyond 2.9 s.d., e.g. replica 800048: D* 10 % low with a 95 % width of
11 %, the same at the default 2000 MCMC steps).  Over both sets (240 errors) mean z² =
1.22, inside that size's band [0.80, 1.25] but near its top: its D* intervals have
heavier tails than the posterior says.  This is one of the reasons the default moved to
the spectral estimator (docs/methods.md, section 0).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from uncertainty_gk import synthetic
from uncertainty_gk.analysis import analyse_group
from uncertainty_gk.settings import AnalysisSettings
from zscores import assert_mean_z2_in_band, band_power, chi2_band, z_from_interval

Z95 = stats.norm.ppf(0.975)
QUANTS = ("D_tr", "sigma")
SCENARIO = dict(n_mobile=24, n_frames=3000, frame_interval_ps=0.1, n_seeds=3, D=0.05, rattle_amplitude=0.3,
                rattle_time_ps=0.2, drift_D=0.01, temperature_K=800)


def z_scores(n_replicas: int, first_seed: int, method: str, n_steps: int = 300) -> dict[str, np.ndarray]:
    """Standardised errors of ln D* and ln σ from the 95 % and the 68 % intervals, and
    the ratio of the two half-widths, for ``n_replicas`` replicas (even: independent,
    odd: paired)."""
    out: dict[str, list] = {k: [] for k in ("z95", "z68", "ratio", "quantity")}
    for r in range(first_seed, first_seed + n_replicas):
        system = synthetic.generate(**SCENARIO, haven_ratio=1.0 if r % 2 == 0 else 0.5, rng=r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = analyse_group(system.runs, AnalysisSettings(method=method, seed=r, per_seed=False, n_steps=n_steps))
        for q in QUANTS:
            e = res.quantities[q]
            lo68, hi68 = e.interval(0.68)
            out["z95"].append(z_from_interval(e.median, system.truth[q], e.lower, e.upper, 0.95))
            out["z68"].append(z_from_interval(e.median, system.truth[q], lo68, hi68, 0.68))
            out["ratio"].append(np.log(hi68 / lo68) / np.log(e.upper / e.lower))
            out["quantity"].append(q)
    return {k: np.array(v) for k, v in out.items()}


def check_bias(z: dict[str, np.ndarray]) -> None:
    """Mean z of each quantity within 3 of its standard errors."""
    for q in QUANTS:
        zq = z["z95"][z["quantity"] == q]
        se = zq.std(ddof=1) / np.sqrt(zq.size)
        assert abs(zq.mean()) <= 3 * se, f"{q}: mean standardised error {zq.mean():+.3f} ± {se:.3f}"


def check_shape(z: dict[str, np.ndarray]) -> None:
    """The 68/95 half-width ratio of a Gaussian posterior is 0.994/1.960 = 0.507; a
    Laplace- or Student-t(3)-shaped posterior gives 0.38, a flat one 0.72."""
    r = float(np.mean(z["ratio"]))
    assert 0.45 <= r <= 0.57, f"68/95 half-width ratio {r:.3f}: the posterior's shape is far from Gaussian"


# --------------------------------------------------------------------------- fast
#: replicas per method (their power is asserted below)
N_FAST = {"spectral": 60, "bayes": 30}


@pytest.fixture(scope="module", params=sorted(N_FAST))
def fast_z(request):
    return z_scores(N_FAST[request.param], 600000, request.param)


def test_fast_test_has_the_documented_power():
    """The default (spectral): n = 120 errors, band [0.724, 1.364].  Intervals 20 % too
    narrow (c = 0.8) are rejected with probability 0.84, 20 % too wide (c = 1.25) with 0.85;
    15 % too narrow / wide with 0.53 / 0.39 (the slow test has 0.98 / 0.94).  The default
    estimator's own test at 15 % (power 0.91 / 0.82, 280 errors) is
    tests/test_spectral.py::test_calibration_fast_is_two_sided_and_powered: it fits the
    estimator directly, without the MSD summaries and baselines an analysis also makes,
    so it affords more replicas; this test checks the same estimator end to end.
    Bayes (no longer the default; 10 x the cost per replica): n = 60, band [0.625, 1.533],
    a guard against gross miscalibration: power 0.92 at 30 % too narrow, 0.89 at 40 % too
    wide."""
    assert AnalysisSettings().method == "spectral"
    n = 2 * N_FAST["spectral"]
    assert chi2_band(n) == pytest.approx((0.724, 1.364), abs=5e-4)
    assert band_power(n, 0.8) >= 0.8 and band_power(n, 1.25) >= 0.8
    assert band_power(n, 0.85) == pytest.approx(0.53, abs=0.01)
    assert band_power(n, 1.15) == pytest.approx(0.39, abs=0.01)
    n = 2 * N_FAST["bayes"]
    assert chi2_band(n) == pytest.approx((0.625, 1.533), abs=5e-4)
    assert band_power(n, 0.7) >= 0.9 and band_power(n, 1.4) >= 0.85


def test_95_percent_intervals_are_calibrated_two_sided(fast_z):
    """mean(z²) of the errors of ln D* and ln σ (from the 95 % intervals) in the band."""
    assert_mean_z2_in_band(fast_z["z95"], "95 % intervals")


def test_68_percent_intervals_are_calibrated_and_shaped(fast_z):
    """The same band for the errors standardised by the 68 % half-width, and a posterior
    whose 68/95 width ratio is near the Gaussian one.  (docs/calibration.md: the 68 %
    intervals of Bayes's σ for independent walkers cover only 0.58-0.61.)"""
    assert_mean_z2_in_band(fast_z["z68"], "68 % intervals")
    check_shape(fast_z)


def test_no_bias_in_units_of_its_standard_error(fast_z):
    """|mean z| ≤ 3 s.e. per quantity: with 60 errors a bias of 0.4 posterior s.d. -
    about 1 % of D* or 5 % of σ here - fails with probability ~0.5, 0.6 s.d. with ~0.95."""
    check_bias(fast_z)


# --------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_calibration_slow():
    """The default method, 200 replicas (400 errors, band [0.842, 1.193]): 15 % too narrow / wide intervals
    are rejected with probability 0.98 / 0.94; each quantity's 95 % coverage within
    0.93-0.97 ± 2 binomial s.e. (200 replicas: ± 0.031)."""
    n_rep = 200
    assert band_power(2 * n_rep, 0.85) >= 0.95 and band_power(2 * n_rep, 1.15) >= 0.9
    z = z_scores(n_rep, 810000, "spectral")
    assert_mean_z2_in_band(z["z95"], "95 % intervals")
    assert_mean_z2_in_band(z["z68"], "68 % intervals")
    check_shape(z)
    check_bias(z)
    se = np.sqrt(0.95 * 0.05 / n_rep)
    for q in QUANTS:
        cov = float(np.mean(np.abs(z["z95"][z["quantity"] == q]) <= Z95))
        assert 0.93 - 2 * se <= cov <= 0.97 + 2 * se, f"{q}: 95 % coverage {cov:.3f}"
