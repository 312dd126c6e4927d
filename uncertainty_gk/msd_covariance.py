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

with :math:`o_{ab}(u)` the number of steps shared by the windows
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


def _pair_sums(a: int, b: int, n_frames: int) -> tuple[float, float, float]:
    """Σ_u count(u)·o(u)², Σ_u count(u)·2·o(u)·d(u), Σ_u count(u)·d(u)² for lags a, b (frames)."""
    na, nb = n_frames - a, n_frames - b
    # window overlap o(u) is non-zero for -b < u < a
    u = np.arange(-b + 1, a, dtype=np.int64)
    ov = np.minimum(a, u + b) - np.maximum(0, u)
    cnt = np.minimum(na, nb - u) - np.maximum(0, -u)
    cnt = np.clip(cnt, 0, None).astype(np.float64)
    ov = ov.astype(np.float64)
    s_vv = float(np.dot(cnt, ov * ov))

    def count_at(uu):
        return max(0, min(na, nb - uu) - max(0, -uu))

    def ov_at(uu):
        return max(0, min(a, uu + b) - max(0, uu))

    # the noise term d(u) is a sum of four unit deltas at u = a-b, a, -b, 0
    deltas: dict[int, float] = {}
    for uu, sign in ((a - b, 1.0), (a, -1.0), (-b, -1.0), (0, 1.0)):
        deltas[uu] = deltas.get(uu, 0.0) + sign
    s_vs = sum(count_at(uu) * 2.0 * ov_at(uu) * d for uu, d in deltas.items())
    s_ss = sum(count_at(uu) * d * d for uu, d in deltas.items())
    return s_vv, float(s_vs), float(s_ss)


def brownian_bases(lags, n_frames: int, n_dims: int = 3) -> np.ndarray:
    """Basis matrices (3, K, K) of the MSD covariance: ``Cov = v² B[0] + v s B[1] + s² B[2]``.

    Parameters
    ----------
    lags : array of int, shape (K,)
        Lags in frames (each 1 ≤ lag < n_frames).
    n_frames : int
        Frames in the trajectory (the MSD averages over ``n_frames - lag`` origins).
    n_dims : int
        Independent isotropic Cartesian components summed in the MSD.

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
    K = lags.size
    out = np.empty((3, K, K))
    for i in range(K):
        for j in range(i, K):
            a, b = int(lags[i]), int(lags[j])
            sums = _pair_sums(a, b, n_frames)
            norm = 2.0 * n_dims / ((n_frames - a) * (n_frames - b))
            for k in range(3):
                out[k, i, j] = out[k, j, i] = sums[k] * norm
    return out


def brownian_covariance(lags, n_frames: int, v: float, s: float = 0.0, n_dims: int = 3) -> np.ndarray:
    """Covariance (K, K) of the time-averaged MSD for increment variance ``v``, noise ``s``."""
    B = brownian_bases(lags, n_frames, n_dims)
    return v * v * B[0] + v * s * B[1] + s * s * B[2]
