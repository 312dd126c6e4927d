"""Two-sided calibration checks from standardised errors, shared by the coverage tests.

For an interval estimator that is calibrated, the standardised error of a replica,
``z = (estimate - truth) / s`` with ``s`` the standard deviation its central interval
implies, is close to N(0, 1), so the mean of z² over n independent replicas is
distributed as χ²_n / n.  Intervals a factor c too wide (c > 1) or too narrow (c < 1)
divide every z by c and mean(z²) by c²; a band on mean(z²) rejects both, with the
power :func:`band_power`.  Unlike a count of hits, it uses how far outside or inside
each interval the truth lies, so it needs far fewer replicas.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def z_from_interval(point, truth, lower, upper, prob: float = 0.95, log: bool = True):
    """``(point - truth) / s`` with ``s = (upper - lower) / (2 z_{(1+prob)/2})``; on the log
    scale (relative errors of a positive quantity) when ``log``."""
    f = np.log if log else np.asarray
    half = (f(upper) - f(lower)) / 2
    return (f(point) - f(truth)) / (half / stats.norm.ppf((1 + prob) / 2))


def chi2_band(n: int, alpha_low: float = 0.01, alpha_high: float = 0.005) -> tuple[float, float]:
    """Acceptance band of mean(z²) over n standard-normal z: the ``alpha_low`` and
    ``1 - alpha_high`` points of χ²_n / n (a calibrated estimator is accepted with
    probability ``1 - alpha_low - alpha_high``, 0.985 by default)."""
    return float(stats.chi2.ppf(alpha_low, n) / n), float(stats.chi2.ppf(1 - alpha_high, n) / n)


def band_power(n: int, width_factor: float) -> float:
    """Probability that mean(z²) of n Gaussian z falls outside :func:`chi2_band` when every
    interval is ``width_factor`` times the calibrated width (mean(z²) ~ χ²_n / (n c²))."""
    lo, hi = chi2_band(n)
    c2 = width_factor**2
    return float(1 - (stats.chi2.cdf(hi * n * c2, n) - stats.chi2.cdf(lo * n * c2, n)))


def assert_mean_z2_in_band(z, label: str) -> None:
    """mean(z²) inside :func:`chi2_band` of ``len(z)``, with a message naming the direction."""
    z = np.asarray(z, dtype=float)
    assert np.all(np.isfinite(z)), f"{label}: non-finite standardised errors"
    lo, hi = chi2_band(z.size)
    m = float(np.mean(z**2))
    assert lo <= m <= hi, (f"{label}: mean z² = {m:.3f} over {z.size} errors, outside [{lo:.3f}, {hi:.3f}] "
                           f"(intervals too {'narrow' if m > hi else 'wide'})")
