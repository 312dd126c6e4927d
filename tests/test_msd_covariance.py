"""The Brownian MSD covariance against a brute-force Isserlis computation."""

import numpy as np
import pytest

from uncertainty_gk.msd_covariance import brownian_bases, brownian_covariance


def msd_form(a, T):
    """Matrix Q with m(a) = x^T Q x, the time-averaged squared displacement at lag a."""
    M = np.zeros((T, T))
    for t in range(T - a):
        e = np.zeros(T)
        e[t + a], e[t] = 1.0, -1.0
        M += np.outer(e, e) / (T - a)
    return M


def isserlis(lags, T, C, n_dims=3):
    """Cov[m(a), m(b)] = 2 tr(Q_a C Q_b C) per Gaussian component."""
    Qs = {a: msd_form(a, T) for a in lags}
    return np.array([[2 * np.trace(Qs[a] @ C @ Qs[b] @ C) for b in lags] for a in lags]) * n_dims


def brute_force(lags, T, v, s, n_dims=3):
    # X(t) = W(t) + eta(t); Cov X = v min(t, t') + s delta
    C = v * np.minimum.outer(np.arange(T), np.arange(T)).astype(float) + s * np.eye(T)
    return isserlis(lags, T, C, n_dims)


@pytest.mark.parametrize("T,lags,v,s", [(12, [1, 2, 5, 9], 0.7, 0.3), (15, [3, 4, 14], 1.0, 0.0),
                                        (9, [1, 8], 0.2, 2.0)])
def test_matches_isserlis(T, lags, v, s):
    exact = brute_force(lags, T, v, s)
    got = brownian_covariance(np.array(lags), T, v, s)
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-14)


def test_bases_combine_linearly():
    B = brownian_bases(np.array([2, 5, 7]), 20)
    np.testing.assert_allclose(0.3**2 * B[0] + 0.3 * 0.1 * B[1] + 0.1**2 * B[2],
                               brownian_covariance(np.array([2, 5, 7]), 20, 0.3, 0.1))


def test_rejects_bad_lags():
    with pytest.raises(ValueError, match="lags must lie in"):
        brownian_bases(np.array([0, 3]), 10)


def test_correlated_noise_matches_isserlis():
    T, lags, v, s = 14, [1, 3, 6, 10], 0.5, 0.8
    acf = np.array([1.0, 0.6, 0.3, 0.1])
    R = np.zeros((T, T))
    for i in range(T):
        for j in range(T):
            k = abs(i - j)
            R[i, j] = acf[k] if k < len(acf) else 0.0
    C = v * np.minimum.outer(np.arange(T), np.arange(T)).astype(float) + s * R
    exact = isserlis(lags, T, C)
    got = brownian_covariance(np.array(lags), T, v, s, noise_acf=acf)
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-14)


def test_batched_pair_sums_equal_one_batch(monkeypatch):
    """brownian_bases sums the lag pairs in batches of PAIR_SUM_TERMS terms (bounded memory for
    the long lags of a long run); the batching changes no digit."""
    from uncertainty_gk import msd_covariance

    lags = np.array([1, 3, 7, 20, 41, 90])
    acf = np.array([1.0, 0.5, 0.2])
    whole = msd_covariance.brownian_bases(lags, 400, noise_acf=acf)
    monkeypatch.setattr(msd_covariance, "PAIR_SUM_TERMS", 50)         # many batches, some of one pair
    np.testing.assert_array_equal(msd_covariance.brownian_bases(lags, 400, noise_acf=acf), whole)
