"""Tests of uncertainty_gk.estimators.blocking on series with known answers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.signal import lfilter

from uncertainty_gk.errors import ConvergenceWarning
from uncertainty_gk.estimators.blocking import (autocorrelation, blocking_levels, flyvbjerg_petersen,
                                                integrated_autocorr_time, statistical_inefficiency)


def ar1(phi: float, n: int, rng) -> np.ndarray:
    """x_t = phi x_{t-1} + e_t with unit-variance e, started in equilibrium."""
    e = rng.standard_normal(n)
    e[0] /= np.sqrt(1 - phi**2)
    return lfilter([1.0], [1.0, -phi], e)


def ar1_se(phi: float, n: int) -> float:
    """Asymptotic SE of the mean of AR(1): sigma_e / (1 - phi) / sqrt(n)."""
    return 1.0 / (1.0 - phi) / np.sqrt(n)


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_ar1_blocking_recovers_se(phi):
    n = 2**17
    x = ar1(phi, n, np.random.default_rng(7))
    r = flyvbjerg_petersen(x)
    assert r.converged
    assert r.se == pytest.approx(ar1_se(phi, n), rel=0.15)
    # the chosen level's SE is consistent with the truth within a few of its own errors
    assert abs(r.se - ar1_se(phi, n)) < 4 * r.se_error + 0.05 * r.se
    assert r.mean == pytest.approx(x.mean())


def test_ar1_autocorrelation_time_convention():
    # Sokal's convention: tau_int = (1/2)(1+phi)/(1-phi); g = 2 tau_int = (1+phi)/(1-phi)
    phi, n = 0.8, 2**17
    x = ar1(phi, n, np.random.default_rng(3))
    tau = integrated_autocorr_time(x)
    assert tau == pytest.approx(0.5 * (1 + phi) / (1 - phi), rel=0.1)
    assert statistical_inefficiency(x) == pytest.approx((1 + phi) / (1 - phi), rel=0.1)
    # blocking and the autocorrelation route agree on the SE
    se_g = np.sqrt(statistical_inefficiency(x) * x.var() / n)
    assert flyvbjerg_petersen(x).se == pytest.approx(se_g, rel=0.15)


def test_white_noise():
    x = np.random.default_rng(0).standard_normal(20000)
    assert statistical_inefficiency(x) == pytest.approx(1.0, abs=0.1)
    assert integrated_autocorr_time(x) == pytest.approx(0.5, abs=0.05)
    r = flyvbjerg_petersen(x)
    assert r.converged
    assert r.se == pytest.approx(x.std(ddof=1) / np.sqrt(x.size), rel=0.15)


def test_lee_criterion_level():
    """White noise: smallest B = 2^k with B^3 > 2n (ratio ~ 1), i.e. B just above (2n)^(1/3)."""
    n = 2**15
    x = np.random.default_rng(1).standard_normal(n)
    r = flyvbjerg_petersen(x)
    ratio4 = (r.se_per_level / r.se_per_level[0]) ** 4
    expected = int(np.nonzero(r.block_sizes.astype(float) ** 3 > 2 * n * ratio4)[0][0])
    assert r.level == expected
    assert 16 <= r.block_size <= 128          # (2n)^(1/3) = 40
    # correlated data need longer blocks, still with many blocks left
    y = ar1(0.95, n, np.random.default_rng(2))
    ry = flyvbjerg_petersen(y)
    assert ry.block_size > r.block_size
    assert ry.n_blocks >= 8
    # the criterion is met at the chosen level and not below it
    assert ry.criterion_met[ry.level] and not ry.criterion_met[:ry.level].any()


def test_no_plateau_warns_and_flags():
    x = ar1(0.999, 4096, np.random.default_rng(5))
    with pytest.warns(ConvergenceWarning, match="no blocking plateau"):
        r = flyvbjerg_petersen(x)
    assert not r.converged
    assert r.n_blocks >= 8
    assert r.se == pytest.approx(np.max(r.se_per_level[r.n_blocks_per_level >= 8]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not flyvbjerg_petersen(x, warn=False).converged


def test_table_and_levels():
    x = np.arange(37, dtype=float)
    levels = blocking_levels(x)
    assert [len(v) for v in levels] == [37, 18, 9, 4, 2]
    np.testing.assert_allclose(levels[1][:3], [0.5, 2.5, 4.5])
    r = flyvbjerg_petersen(np.random.default_rng(0).standard_normal(1000))
    ds = r.to_dataset()
    assert ds.sizes["level"] == len(r.block_sizes)
    assert ds["se"].attrs["long_name"]
    np.testing.assert_allclose(r.se_error_per_level, r.se_per_level / np.sqrt(2 * (r.n_blocks_per_level - 1)))


def test_constant_and_bad_input():
    r = flyvbjerg_petersen(np.full(100, 2.0))
    assert r.se == 0 and r.mean == 2.0
    rho = autocorrelation(np.full(10, 1.0))
    assert rho[0] == 1 and not rho[1:].any()
    with pytest.raises(ValueError, match="1-D"):
        flyvbjerg_petersen(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        flyvbjerg_petersen(np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match="at least 4"):
        integrated_autocorr_time([1.0, 2.0])
