r"""Covariance between lags of a time-averaged MSD: the Brownian model.

For one Cartesian component, let :math:`X(t) = W(t) + \eta(t)` on frames
:math:`t = 0 \dots T-1`, with :math:`W` a random walk whose increments per frame
have variance :math:`v` and :math:`\eta` white localisation (vibrational) noise of
variance :math:`s`.  The time-averaged MSD over all origins,

.. math::  m(a) = \frac{1}{n_a} \sum_{t=0}^{n_a-1} [X(t+a) - X(t)]^2, \qquad n_a = T - a,

has mean :math:`v a + 2 s`.  Gaussian increments make the covariance between lags
exact by Isserlis' (Wick's) theorem:

.. math::
   \mathrm{Cov}[m(a), m(b)] = \frac{2}{n_a n_b} \sum_{t,t'} g_{ab}(t'-t)^2,\qquad
   g_{ab}(u) = v\,o_{ab}(u) + s\,[\delta_{u,a-b} - \delta_{u,a} - \delta_{u,-b} + \delta_{u,0}],

with :math:`\rho` the autocorrelation of the noise (a Kronecker delta for white
noise; measured from the short-lag MSD for vibrations correlated over several frames)
and :math:`o_{ab}(u)` the number of steps shared by the windows
:math:`[t, t+a)` and :math:`[t+u, t+u+b)`.  Expanding the square gives

.. math::  \mathrm{Cov} = v^2 B_{vv} + v s B_{vs} + s^2 B_{ss},

so three basis matrices, computed once per set of lags, give the covariance for any
:math:`(v, s)`.  Three isotropic components multiply every basis by 3.

This is the analytic covariance of Bullerjahn, von Bülow & Hummer, J. Chem. Phys. 153,
024116 (2020) for a discrete trajectory, evaluated exactly by summing over the
offset :math:`u` (cost O(a+b) per pair of lags).

.. warning::
   The model assumes Gaussian increments independent in time.  Hopping ions with
   few hops per lag, or correlated increments, make it approximate; the
   calibration study (docs/calibration.md) measures how well it holds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["brownian_bases", "brownian_covariance"]


def _ragged(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ranges ``starts[p] .. starts[p] + lengths[p] - 1`` and the index p of each."""
    owner = np.repeat(np.arange(lengths.size), lengths)
    first = np.cumsum(lengths) - lengths
    return np.repeat(starts, lengths) + np.arange(int(lengths.sum())) - np.repeat(first, lengths), owner


def _pair_sums(a: np.ndarray, b: np.ndarray, n_frames: int, acf: np.ndarray) -> np.ndarray:
    """For every pair of lags (a[p], b[p]) (frames): Σ_u count(u)·o(u)², Σ_u count(u)·2·o(u)·d(u)
    and Σ_u count(u)·d(u)², shape (P, 3).

    ``count(u)`` is the number of origin pairs whose windows are offset by u, ``o(u)`` the
    overlap of the two windows, ``d(u) = ρ(u−a+b) − ρ(u−a) − ρ(u+b) + ρ(u)`` with ρ the
    noise autocorrelation (``acf[k]`` for |k| ≤ L, zero beyond; white noise is ``acf =
    [1]``).  All pairs at once over ragged ranges of u (no loop over pairs).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    na, nb = n_frames - a, n_frames - b
    P = a.size

    def count(u, p):
        return np.clip(np.minimum(na[p], nb[p] - u) - np.maximum(0, -u), 0, None).astype(np.float64)

    def overlap(u, p):
        return np.clip(np.minimum(a[p], u + b[p]) - np.maximum(0, u), 0, None).astype(np.float64)

    # window overlap o(u) is non-zero for -b < u < a
    u, p = _ragged(-b + 1, a + b - 1)
    ov = overlap(u, p)
    s_vv = np.bincount(p, weights=count(u, p) * ov * ov, minlength=P)
    # d(u) lives within L of the four centres a-b, a, -b, 0: u from -b-L to a+L
    L = len(acf) - 1
    u, p = _ragged(-b - L, a + b + 2 * L + 1)
    d = np.zeros(u.size)
    for centre, sign in ((a - b, 1.0), (a, -1.0), (-b, -1.0), (np.zeros_like(a), 1.0)):
        k = np.abs(u - centre[p])
        near = k <= L
        d[near] += sign * acf[k[near]]
    cnt = count(u, p)
    s_vs = np.bincount(p, weights=cnt * 2.0 * overlap(u, p) * d, minlength=P)
    s_ss = np.bincount(p, weights=cnt * d * d, minlength=P)
    return np.stack([s_vv, s_vs, s_ss], axis=1)


def brownian_bases(lags, n_frames: int, n_dims: int = 3, noise_acf=None) -> np.ndarray:
    """Basis matrices (3, K, K) of the MSD covariance: ``Cov = v² B[0] + v s B[1] + s² B[2]``.

    Parameters
    ----------
    lags : array of int, shape (K,)
        Lags in frames (each 1 ≤ lag < n_frames).
    n_frames : int
        Frames in the trajectory (the MSD averages over ``n_frames - lag`` origins).
    n_dims : int
        Independent isotropic Cartesian components summed in the MSD.
    noise_acf : array, optional
        Autocorrelation ρ(k), k = 0..L, of the localisation noise (ρ(0) = 1, zero
        beyond L); default white noise.  Vibrations correlated over several frames
        (phonons, ions rattling in cages) make the noise terms larger than white
        noise of the same variance would.

    Returns
    -------
    ndarray, shape (3, K, K)
        With ``v`` the per-frame, per-component increment variance and ``s`` the
        per-component noise variance, ``v**2*B[0] + v*s*B[1] + s**2*B[2]`` is the
        covariance of the MSD (summed over components) at ``lags``.
    """
    lags = np.asarray(lags, dtype=np.int64)
    if lags.ndim != 1 or lags.size == 0:
        raise ValueError("lags must be a non-empty 1-D array of frame counts")
    if lags.min() < 1 or lags.max() >= n_frames:
        raise ValueError(f"lags must lie in [1, {n_frames - 1}] frames; got {lags.min()}..{lags.max()}")
    acf = np.array([1.0]) if noise_acf is None else np.asarray(noise_acf, dtype=np.float64)
    if acf.ndim != 1 or acf.size == 0 or acf[0] != 1.0:
        raise ValueError("noise_acf must be a 1-D array starting with 1.0")
    K = lags.size
    iu, ju = np.triu_indices(K)
    a, b = lags[iu], lags[ju]
    vals = _pair_sums(a, b, n_frames, acf) * (2.0 * n_dims / ((n_frames - a) * (n_frames - b)))[:, None]
    out = np.empty((3, K, K))
    for k in range(3):
        out[k, iu, ju] = vals[:, k]
        out[k, ju, iu] = vals[:, k]
    return out


def brownian_covariance(lags, n_frames: int, v: float, s: float = 0.0, n_dims: int = 3,
                        noise_acf=None) -> np.ndarray:
    """Covariance (K, K) of the time-averaged MSD for increment variance ``v``, noise ``s``."""
    B = brownian_bases(lags, n_frames, n_dims, noise_acf)
    return v * v * B[0] + v * s * B[1] + s * s * B[2]
