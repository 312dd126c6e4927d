r"""Bootstrap and blocked estimates of the tracer and polarisation MSD slopes.

:func:`line_samples` returns samples of the two quantities the Bayesian posterior
of :mod:`.bayes` also returns, so :func:`uncertainty_gk.conductivity.physical_samples`
turns either into D*, σ_tr, σ and H_R:

* ``slope_tr``: slope of the framework-relative tracer MSD, Å²/ps, pooled over seeds;
* ``slope_P_per_volume``: slope of :math:`\langle|\Delta P|^2\rangle` divided by the
  seed's volume, e² Å²/ps/Å³, pooled over seeds.

Every sample gives both slopes from the *same* resampled data, so H_R samples are
joint.  All randomness comes from ``rng``: the same seed gives the same samples.

Line fit
--------
Each MSD (a seed's, or a resampled one) at the K window lags :math:`t_k` is reduced to a
slope by one fixed linear map: generalised least squares of
:math:`\mathrm{MSD}(t) = m t + c` with the covariance *shape* of noise-free Brownian
motion, :math:`\Sigma \propto B_{vv}` (:func:`uncertainty_gk.msd_covariance.brownian_bases`).
The map :math:`g = e_1^\top (X^\top\Sigma^{-1}X)^{-1}X^\top\Sigma^{-1}` depends only on
the lags and the run length, never on the data, so it is the same for every replicate
(a resampled curve is never re-weighted by its own noise).  It differs from the
iterated GLS of :func:`.series.summarise` only by the vibrational-noise terms, which
are small inside the diffusive window.  Seeds are pooled by an average weighted by
their length in frames (the inverse variance of a slope under a common-slope model,
known without estimating anything).

``method="bootstrap"``
----------------------
Two levels; ``level="auto"`` (the default) picks one:

* **seeds** (``n_seeds >= min_seeds``, default 8): resample whole seeds with
  replacement and pool their slopes.  The seed is the honest replicate unit (it also
  carries any seed-to-seed heterogeneity), but a percentile interval from n seeds
  can never extend beyond the smallest and largest seed estimate, so with
  symmetric noise it covers the truth at most :math:`1 - 2^{1-n}` of the time: 75 %
  for 3 seeds, 94 % for 5, 99 % for 8.  Hence the default threshold of 8.
* **within** (fewer seeds): resample inside every seed, then pool.  Tracer: resample
  the mobile ions with replacement (per-ion framework-relative MSDs at the window lags
  are computed once with :func:`~uncertainty_gk.displacement.msd_fft`).  Collective:
  circular block bootstrap over *time origins* (Politis & Romano 1992): the squared
  polarisation displacements :math:`|P(t+\tau_k) - P(t)|^2` at every window lag are cut,
  along the origin axis, into blocks of at least the largest window lag, and blocks
  are drawn with replacement (the same blocks for all lags).  Resampling the
  *increments* of P and rebuilding P by a cumulative sum was tried first and
  rejected: every junction of two blocks turns the bounded vibrational noise of P into
  an extra random-walk step, which biased the collective slope high by ~8 % on the
  synthetic systems (framework vibration 0.15 Å).  The ion and origin resamplings are
  drawn independently, so this level does not carry the (weak, :math:`\sim N^{-1/2}`)
  correlation between σ_tr and σ.

.. warning::

   The ion bootstrap treats ions as independent: for correlated ions (e.g. the
   rigid pairs of a Haven ratio 0.5) it under-estimates the tracer error (by
   :math:`\sqrt 2` for pairs).  The moving-block bootstrap with only
   :math:`T/\ell \approx 4` blocks per seed under-estimates the collective variance
   by roughly :math:`1-\ell/T` and its variance estimate is itself noisy.  Both are
   why :mod:`.bayes` is the default estimator.

``method="block"``
------------------
A blocked estimate.  Per seed, a per-origin slope series over origins
:math:`t = 0 \dots T-1-\tau_K`

.. math::

   z_P(t) = \sum_k w_k\, |P(t+\tau_k) - P(t)|^2, \qquad
   z_{tr}(t) = \frac1N \sum_i \sum_k w_k\, |\Delta r_i(t,\tau_k)|^2,
   \qquad \sum_k w_k = 0,\ \sum_k w_k \tau_k = 1,

whose mean is the MSD slope (the intercept, i.e. the vibrational offset, cancels).
``block_weights="two-point"`` is the difference quotient
:math:`w = (-1, 1)/(\tau_2 - \tau_1)` between the first and last window lags;
the default ``"gls"`` uses the GLS slope map above at all K window lags.  The default
was chosen by measurement (3 seeds × 3000 frames, 48 ions, window 4-750 frames): the
two-point series is correlated over :math:`\tau_2` frames, blocking never reached a
plateau, its standard error was 40 % too small and its scatter 4× that of the GLS
slope (95 % coverage 0.73); the GLS-weighted series, dominated by shorter lags,
reached a plateau in every seed, its blocked SE matched the observed scatter and
covered 0.96 of 25 replicas.

The mean and standard error of each series come from Flyvbjerg-Petersen blocking
(:func:`.blocking.flyvbjerg_petersen`); the correlation between :math:`z_{tr}` and
:math:`z_P` is that of their block means at the coarser of the two chosen levels.
Seeds are pooled with weights proportional to their number of origins :math:`T-\tau_K`
(the inverse variance under a common slope; weighting by the *estimated* variances
would bias σ low, because a seed's variance estimate grows with its own slope).
Samples are drawn from the bivariate normal with the pooled means and covariance.

.. warning::

   When blocking finds no plateau (runs shorter than a few hundred correlation times
   of z) its standard error is too small; a single
   :class:`~uncertainty_gk.errors.ConvergenceWarning` lists the seeds concerned.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from ..displacement import msd_fft
from ..errors import AnalysisError, ConvergenceWarning
from ..msd_covariance import brownian_bases
from .base import JointSamples, register
from .blocking import flyvbjerg_petersen

if TYPE_CHECKING:
    from ..settings import AnalysisSettings
    from .data import GroupData

__all__ = ["line_samples", "slope_map", "per_ion_window_msd", "block_slope_series", "bootstrap_samples",
           "block_samples", "ResamplingEstimator"]

KEYS = ("slope_tr", "slope_P_per_volume")
#: Fewest seeds for which ``level="auto"`` bootstraps over seeds (see the module docstring).
MIN_SEEDS_FOR_SEED_BOOTSTRAP = 8


def line_samples(method: str, seeds, series, *, rng, ci_prob: float = 0.95, n_boot: int = 1000,
                 level: str = "auto", min_seeds: int = MIN_SEEDS_FOR_SEED_BOOTSTRAP,
                 block_weights: str = "gls", return_info: bool = False) -> dict:
    """Joint samples of the pooled tracer and polarisation MSD slopes.

    Parameters
    ----------
    method : {"bootstrap", "block"}
    seeds : list of :class:`uncertainty_gk.conductivity.SeedData`
    series : list of :class:`.series.SeedSeries`
        The fit-window data of the same seeds, in the same order.
    rng : numpy Generator or int
        The only source of randomness.
    ci_prob : float
        Interval probability (recorded only; intervals are quantiles of the samples).
    n_boot : int
        Number of samples.
    level : {"auto", "seeds", "within"}
        Bootstrap level (``method="bootstrap"`` only); see the module docstring.
    min_seeds : int
        Fewest seeds for which ``level="auto"`` resamples seeds.
    block_weights : {"gls", "two-point"}
        Per-origin slope series of ``method="block"`` (see the module docstring).
    return_info : bool
        Also return ``"info"``: a JSON-serialisable dict of what was done (level, block
        lengths, blocking levels and convergence per seed, ...).

    Returns
    -------
    dict
        ``{"slope_tr": (n_boot,) Å²/ps, "slope_P_per_volume": (n_boot,) e²Å²/ps/Å³}``.
    """
    rng = np.random.default_rng(rng)
    if len(seeds) != len(series) or not seeds:
        raise AnalysisError(f"line_samples: need one series per seed, got {len(seeds)} seeds and "
                            f"{len(series)} series")
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    if method == "bootstrap":
        out = bootstrap_samples(seeds, series, rng=rng, n_boot=n_boot, level=level, min_seeds=min_seeds)
    elif method == "block":
        out = block_samples(seeds, series, rng=rng, n_boot=n_boot, weights=block_weights)
    else:
        raise AnalysisError(f"unknown resampling method {method!r}; choose 'bootstrap' or 'block'")
    out["info"]["ci_prob"] = ci_prob
    if not return_info:
        out.pop("info")
    return out


# --------------------------------------------------------------------------- line fit
def slope_map(lags, n_frames: int, dt_ps: float) -> np.ndarray:
    r"""Row vector g (K,) with ``g @ msd`` = GLS slope (per ps) under the Brownian covariance shape.

    :math:`\Sigma = B_{vv}` (noise-free Brownian motion; its scale cancels), design
    :math:`X = [t, 1]`; see the module docstring.
    """
    lags = np.asarray(lags, dtype=np.int64)
    t = lags * dt_ps
    X = np.column_stack([t, np.ones_like(t)])
    if lags.size < 2:
        raise AnalysisError(f"a line needs at least 2 lags in the fit window, got {lags.size}")
    B = brownian_bases(lags, n_frames)[0]
    B = B / np.max(np.abs(B)) + 1e-12 * np.eye(lags.size)
    Ci_X = np.linalg.solve(B, X)
    G = np.linalg.solve(X.T @ Ci_X, Ci_X.T)
    return G[0]


def _pool(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted average over the last axis."""
    return values @ weights / weights.sum()


# --------------------------------------------------------------------------- per-seed data
def _mobile_relative_chunks(seed):
    """Yield framework-relative positions (T, a, 3) of chunks of the seed's mobile ions, in
    the atom chunks of the tracer MSD (:func:`uncertainty_gk.displacement.atom_chunks`: a
    lazily opened archive is read once, through the atom spool, not once per chunk)."""
    from ..displacement import atom_chunks

    fw = np.asarray(seed.framework_displacement, dtype=np.float64)[:, None, :]
    for _, pos in atom_chunks(seed.ds, seed.mobile_index):
        yield pos - fw


def per_ion_window_msd(seed, lags) -> np.ndarray:
    """Framework-relative MSD of every mobile ion at ``lags`` (frames): (N, K) Å².

    Over all time origins (:func:`~uncertainty_gk.displacement.msd_fft`), chunked over ions;
    the mean over ions equals the seed's tracer MSD.
    """
    lags = np.asarray(lags, dtype=np.int64)
    rows = [msd_fft(rel, axis=0, components_axis=-1)[lags].T for rel in _mobile_relative_chunks(seed)]
    return np.concatenate(rows, axis=0)


def block_slope_series(seed, lags, weights) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-origin slope series :math:`z_{tr}(t)` (Å²/ps) and :math:`z_P(t)` (e²Å²/ps) of one seed.

    :math:`z(t) = \sum_k w_k |\Delta x(t, \tau_k)|^2` over origins ``t = 0 .. T-1-max(lags)``
    (averaged over the mobile ions for the tracer).  With :math:`\sum_k w_k = 0` and
    :math:`\sum_k w_k \tau_k \delta t = 1` its mean is the slope of the MSD over these
    origins and any intercept cancels.  Two-point weights ``lags = [τ1, τ2]``,
    ``weights = [-1, 1] / ((τ2 - τ1) δt)`` give the difference quotient.
    """
    lags = np.asarray(lags, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    if lags.shape != weights.shape or lags.size < 2 or lags.min() < 0 or lags.max() >= seed.n_frames:
        raise AnalysisError(f"seed {seed.name}: block slope needs ≥ 2 lags in [0, {seed.n_frames - 1}] frames "
                            f"with one weight each; got lags {lags.tolist()}")
    n = seed.n_frames - int(lags.max())

    def z_of(x):  # x: (T, ..., 3) -> (n, ...)
        out = np.zeros((n,) + x.shape[1:-1])
        for k, w in zip(lags, weights):
            out += w * np.sum((x[k:k + n] - x[:n]) ** 2, axis=-1)
        return out

    z_tr = np.zeros(n)
    for rel in _mobile_relative_chunks(seed):
        z_tr += z_of(rel).sum(axis=1)
    z_tr /= seed.n_mobile
    z_P = z_of(np.asarray(seed.polarisation, dtype=np.float64))
    return z_tr, z_P


# --------------------------------------------------------------------------- bootstrap
def _origin_block_msd(P: np.ndarray, lags: np.ndarray, min_block: int, n_rep: int, rng,
                      batch: int = 256) -> tuple[np.ndarray, int, int]:
    r"""Circular block bootstrap over time origins of the MSD of P (T, 3) at ``lags``.

    Per lag :math:`\tau_k` the squared displacements :math:`d_k(t) = |P(t+\tau_k)-P(t)|^2`
    over the common origins :math:`t = 0..n-1`, :math:`n = T - \max\tau`, are cut into
    blocks of :math:`\ell \ge` ``min_block`` origins (:math:`n_b = \lfloor n/\ell_{min}\rfloor`
    blocks, :math:`\ell = \lfloor n/n_b \rfloor`); a replicate averages :math:`n_b` blocks
    drawn with replacement from the :math:`n` circular start positions (Politis & Romano,
    1992), the same starts for every lag.  Replicates are re-centred on the all-origin MSD
    (they estimate the spread, the data the location).

    Returns (n_rep, K) MSDs, the block length and the number of blocks.
    """
    T = P.shape[0]
    tmax = int(lags.max())
    n = T - tmax
    n_blk = max(1, n // max(1, int(min_block)))
    block = n // n_blk
    d = np.stack([np.sum((P[k:k + n] - P[:n]) ** 2, axis=-1) for k in lags])      # (K, n)
    csum = np.zeros((lags.size, 2 * n + 1))
    np.cumsum(np.concatenate([d, d], axis=1), axis=1, out=csum[:, 1:])
    centre = msd_fft(P, axis=0, components_axis=-1)[lags] - d.mean(axis=1)
    starts = rng.integers(0, n, size=(n_rep, n_blk))
    out = np.empty((n_rep, lags.size))
    for r0 in range(0, n_rep, batch):
        st = starts[r0:r0 + batch]
        sums = csum[:, st + block] - csum[:, st]                                    # (K, r, n_blk)
        out[r0:r0 + batch] = (sums.sum(axis=2) / (n_blk * block)).T + centre
    return out, block, n_blk


def bootstrap_samples(seeds, series, *, rng, n_boot: int = 1000, level: str = "auto",
                      min_seeds: int = MIN_SEEDS_FOR_SEED_BOOTSTRAP) -> dict:
    """Bootstrap samples of the pooled slopes (see the module docstring for the levels)."""
    rng = np.random.default_rng(rng)
    if level not in ("auto", "seeds", "within"):
        raise ValueError(f"level must be 'auto', 'seeds' or 'within', got {level!r}")
    S = len(seeds)
    if level == "auto":
        level = "seeds" if S >= min_seeds else "within"
    if level == "seeds" and S < 2:
        raise AnalysisError(f"a bootstrap over seeds needs at least 2 seeds, got {S}; use level='within'")
    weights = np.array([s.n_frames for s in seeds], dtype=np.float64)
    vols = np.array([s.volume for s in seeds])
    maps = [slope_map(sr.lags, sr.n_frames, sr.dt_ps) for sr in series]
    info = {"method": "bootstrap", "level": level, "n_boot": int(n_boot), "n_seeds": S,
            "line_fit": "GLS with the noise-free Brownian covariance shape", "pooling": "weighted by frames"}
    if level == "seeds":
        m_tr = np.array([g @ sr.y_tr for g, sr in zip(maps, series)])
        m_P = np.array([g @ sr.y_P for g, sr in zip(maps, series)]) / vols
        idx = rng.integers(0, S, size=(n_boot, S))
        w = weights[idx]
        return {"slope_tr": (m_tr[idx] * w).sum(1) / w.sum(1),
                "slope_P_per_volume": (m_P[idx] * w).sum(1) / w.sum(1), "info": info}
    m_tr = np.empty((n_boot, S))
    m_P = np.empty((n_boot, S))
    blocks = []
    for j, (seed, sr, g) in enumerate(zip(seeds, series, maps)):
        lags = np.asarray(sr.lags, dtype=np.int64)
        M = per_ion_window_msd(seed, lags)                          # (N, K)
        N = M.shape[0]
        counts = rng.multinomial(N, np.full(N, 1.0 / N), size=n_boot) / N
        m_tr[:, j] = (counts @ M) @ g
        y_P, block, n_blk = _origin_block_msd(np.asarray(seed.polarisation, dtype=np.float64), lags,
                                              int(lags.max()), n_boot, rng)
        blocks.append({"seed": seed.name, "block_origins": block, "n_blocks": n_blk})
        m_P[:, j] = y_P @ g / seed.volume
    info.update({"tracer": "ions resampled within each seed",
                 "collective": "circular block bootstrap over time origins", "blocks": blocks})
    return {"slope_tr": _pool(m_tr, weights), "slope_P_per_volume": _pool(m_P, weights), "info": info}


# --------------------------------------------------------------------------- blocked estimate
def block_samples(seeds, series, *, rng, n_boot: int = 1000, min_blocks: int = 8,
                  weights: str = "gls") -> dict:
    """Gaussian samples from blocked estimates of the slopes (see the module docstring).

    ``weights="gls"`` (default) uses the per-origin GLS slope series, ``"two-point"``
    the difference quotient between the first and last window lag.
    """
    rng = np.random.default_rng(rng)
    if weights not in ("gls", "two-point"):
        raise ValueError(f"weights must be 'gls' or 'two-point', got {weights!r}")
    means, covs, w, unconverged, levels = [], [], [], [], []
    for seed, sr in zip(seeds, series):
        lags = np.asarray(sr.lags, dtype=np.int64)
        tau1, tau2 = int(lags.min()), int(lags.max())
        if weights == "gls":
            z_lags, z_w = lags, slope_map(lags, sr.n_frames, sr.dt_ps)
        else:
            z_lags, z_w = np.array([tau1, tau2]), np.array([-1.0, 1.0]) / ((tau2 - tau1) * sr.dt_ps)
        z_tr, z_P = block_slope_series(seed, z_lags, z_w)
        z_P = z_P / seed.volume
        b_tr = flyvbjerg_petersen(z_tr, min_blocks=min_blocks, warn=False)
        b_P = flyvbjerg_petersen(z_P, min_blocks=min_blocks, warn=False)
        k = max(b_tr.level, b_P.level)
        B = 2 ** k
        nb = z_tr.size // B
        if nb >= 3:
            a = z_tr[:nb * B].reshape(nb, B).mean(1)
            b = z_P[:nb * B].reshape(nb, B).mean(1)
            r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
        else:
            r = 0.0
        r = float(np.clip(np.nan_to_num(r), -0.99, 0.99))
        c = r * b_tr.se * b_P.se
        means.append([b_tr.mean, b_P.mean])
        covs.append([[b_tr.se ** 2, c], [c, b_P.se ** 2]])
        w.append(z_tr.size)
        levels.append({"seed": seed.name, "tau_frames": [tau1, tau2], "block_tr": b_tr.block_size,
                       "block_P": b_P.block_size, "converged": bool(b_tr.converged and b_P.converged),
                       "correlation": r})
        if not (b_tr.converged and b_P.converged):
            which = [nm for nm, b in (("tracer", b_tr), ("polarisation", b_P)) if not b.converged]
            unconverged.append(f"{seed.name} ({', '.join(which)}; {z_tr.size} origins, τ2 = {tau2} frames)")
    w = np.array(w, dtype=np.float64)
    w = w / w.sum()
    mean = w @ np.array(means)
    cov = np.einsum("s,sij->ij", w ** 2, np.array(covs))
    if unconverged:
        warnings.warn("block estimate: no blocking plateau for seed(s) " + "; ".join(unconverged)
                      + ": the per-origin slope series is correlated over τ2 frames and the runs hold too few "
                        "such spans, so the block standard errors are probably too small; prefer method='bayes'",
                      ConvergenceWarning, stacklevel=3)
    draws = rng.multivariate_normal(mean, cov, size=n_boot, method="cholesky") if np.all(np.diag(cov) > 0) \
        else np.tile(mean, (n_boot, 1))
    info = {"method": "block", "weights": weights, "n_boot": int(n_boot), "pooling": "weighted by number of origins",
            "per_seed": levels, "mean": mean.tolist(), "covariance": cov.tolist()}
    return {"slope_tr": draws[:, 0], "slope_P_per_volume": draws[:, 1], "info": info}


class ResamplingEstimator:
    """The registered ``"bootstrap"`` and ``"block"`` estimators (:func:`line_samples` on a group)."""

    kind = "interval"

    def __init__(self, settings: AnalysisSettings, method: str):
        self.name = method
        self.n_boot = settings.n_boot
        self.ci_prob = settings.ci_prob

    def fit(self, data: GroupData, rng: np.random.Generator) -> JointSamples:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            out = line_samples(self.name, list(data.seeds), list(data.series), rng=rng, ci_prob=self.ci_prob,
                               n_boot=self.n_boot, return_info=True)
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
        conv = {"converged": not messages}
        if messages:
            conv["message"] = "; ".join(messages)
        return JointSamples(method=self.name, draws={k: np.asarray(out[k])[None, :] for k in KEYS},
                            independent=True, convergence=conv, info=out["info"])


for _m in ("bootstrap", "block"):
    register(_m, partial(ResamplingEstimator, method=_m))
