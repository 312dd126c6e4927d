r"""Running estimates: σ_tr and σ on fit windows ``[start, t_max]`` of growing length.

Whether an answer depends on the window is the first thing to look at on real MD (the
MSDs of short runs are rarely straight).  For every ``t_max`` on a grid from a few frames
past the window start to ``max_fraction`` of the longest seed (each seed stops at
``max_fraction`` of its own length), every seed's MSDs are fitted by generalised least
squares on ``n_lags`` lags of ``[start, t_max]`` with the covariance model of the
analysis (κ, χ, noise measured on the analysis window), and the seeds are pooled by
inverse covariance:

.. math:: \hat\theta = \Big(\sum_s V_s^{-1}\Big)^{-1} \sum_s V_s^{-1}\hat\theta_s,
   \qquad \mathrm{cov}\,\hat\theta = \Big(\sum_s V_s^{-1}\Big)^{-1},

with each seed's covariance evaluated at the pooled parameters (two passes).  Under a
flat prior this Gaussian is the posterior of the pooled line ("GLS approximation").
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from ..errors import AnalysisError
from ..window import FitWindow, window_lags
from .series import SeedSeries, SeedSummary, summarise

if TYPE_CHECKING:
    from .data import GroupData

__all__ = ["pooled_gls_with_cov", "summary_at", "running_estimates"]


def pooled_gls_with_cov(summaries: list[SeedSummary], n_pass: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Pooled (slope_tr, intercept_tr, slope_P/V, intercept_P/V) and its 4×4 covariance."""
    rows = np.array([[s.theta_hat[0], s.theta_hat[1], s.theta_hat[2] / s.series.volume,
                      s.theta_hat[3] / s.series.volume] for s in summaries])
    theta = rows.mean(axis=0)
    cov = np.full((4, 4), np.nan)
    for _ in range(n_pass):
        at = theta.copy()
        # the modelled variance needs positive slopes; floor at a small fraction of their scale
        at[0] = max(at[0], 1e-3 * np.abs(rows[:, 0]).mean() + 1e-300)
        at[2] = max(at[2], 1e-3 * np.abs(rows[:, 2]).mean() + 1e-300)
        W = np.zeros((4, 4))
        Wy = np.zeros(4)
        for s, r in zip(summaries, rows):
            V = s.series.volume
            scale = np.array([1.0, 1.0, V, V])
            c = s.covariance(at * scale) / np.outer(scale, scale)
            Wi = np.linalg.pinv(c)
            W += Wi
            Wy += Wi @ r
        cov = np.linalg.pinv(W)
        theta = cov @ Wy
    return theta, cov


def summary_at(seed, base: SeedSeries, lags: np.ndarray) -> SeedSummary:
    """GLS summary of ``seed`` (a SeedData) on ``lags`` with the covariance model of ``base``."""
    ser = replace(base, lags=np.asarray(lags, dtype=np.int64), y_tr=seed.msd_tr[lags], y_P=seed.msd_P[lags])
    summ = summarise(ser)
    return replace(summ, noise_intercepts=(
        base.noise_tr if base.noise_tr is not None else max(summ.theta_hat[1], 0.0),
        base.noise_P if base.noise_P is not None else max(summ.theta_hat[3], 0.0)))


def running_estimates(data: GroupData, *, n_points: int = 16, min_lags: int = 3, max_fraction: float = 0.5,
                      n_lags: int = 8) -> dict:
    """σ_tr and σ (S/cm) on windows ``[start, t_max]``: per seed (NaN where a seed is too short),
    pooled, and the half-width of the pooled central ``ci_prob`` interval (JSON-serialisable).

    Each window is fitted on ``n_lags`` evenly spaced lags (fewer than the analysis' grid:
    the covariance bases cost O(K²) per window and the estimate hardly changes); this
    costs about a fifth of the group's MCMC.
    """
    if data.window is None:
        return {}
    seeds, base = data.seeds, data.series
    start, end = data.window.start_ps, data.window.end_ps
    dt = data.dt_ps
    t_lo = start + min_lags * dt
    t_hi = max(max_fraction * s.duration_ps for s in seeds)
    if t_hi <= t_lo:
        return {}
    grid = np.unique(np.concatenate([np.linspace(t_lo, t_hi, n_points), [end]]))
    grid = grid[(grid >= t_lo) & (grid <= t_hi)]
    one = {"slope_tr": np.array([1.0]), "slope_P_per_volume": np.array([1.0])}
    unit_pool = data.physical(one)
    unit = [data.subset(k).physical(one) for k in range(len(seeds))]
    per = {q: np.full((len(seeds), len(grid)), np.nan) for q in ("sigma_tr", "sigma")}
    pooled = {q: np.full(len(grid), np.nan) for q in ("sigma_tr", "sigma")}
    half = {q: np.full(len(grid), np.nan) for q in ("sigma_tr", "sigma")}
    z = float(stats.norm.ppf(0.5 + data.settings.ci_prob / 2))
    for j, tm in enumerate(grid):
        summ = []
        for k, (s, b) in enumerate(zip(seeds, base)):
            if tm > max_fraction * s.duration_ps + 1e-9:
                continue
            try:
                lags = window_lags(FitWindow(start, tm), dt, s.n_frames, n_lags)
            except AnalysisError:         # the window spans no frames of this seed
                continue
            if len(lags) < min_lags:
                continue
            sm = summary_at(s, b, lags)
            summ.append(sm)
            per["sigma_tr"][k, j] = sm.theta_hat[0] * unit[k]["sigma_tr"][0]
            per["sigma"][k, j] = sm.theta_hat[2] / s.volume * unit[k]["sigma"][0]
        if not summ:
            continue
        theta, cov = pooled_gls_with_cov(summ)
        for q, i in (("sigma_tr", 0), ("sigma", 2)):
            pooled[q][j] = theta[i] * unit_pool[q][0]
            half[q][j] = z * np.sqrt(max(cov[i, i], 0.0)) * unit_pool[q][0]

    def js(a):
        return np.where(np.isfinite(a), a, np.nan).tolist()

    return {"t_max_ps": grid.tolist(), "start_ps": float(start), "window_end_ps": float(end),
            "ci_prob": data.settings.ci_prob, "max_fraction": max_fraction, "n_lags": n_lags,
            "seeds": [s.name for s in seeds], "units": "S/cm",
            "per_seed": {q: [js(r) for r in v] for q, v in per.items()},
            "pooled": {q: js(v) for q, v in pooled.items()}, "half_width": {q: js(v) for q, v in half.items()}}
