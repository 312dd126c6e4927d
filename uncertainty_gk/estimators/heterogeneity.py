r"""Seed-to-seed consistency of a group, and the variance inflation it calls for.

* :func:`pooled_gls`: the inverse-variance pooled line parameters over the seeds.
* :func:`heterogeneity`: Cochran's Q of the per-seed GLS slopes about their pooled
  mean and a leave-one-out z-score per seed.
* :func:`overdispersion`: the Birge ratio :math:`Q/(n-1)` as a variance inflation
  when Q rejects homogeneity.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import AnalysisError
from .series import SeedSummary

__all__ = ["pooled_start", "pooled_gls", "heterogeneity", "consistency", "overdispersion"]


def pooled_start(summaries: list[SeedSummary]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Inverse-variance pooled estimate in sampler coordinates, its rough s.d., and slope z-scores.

    Sampler coordinates: (ln slope_tr, intercept_tr, ln slope_P/V, intercept_P/V).
    Every seed's variance is evaluated at the *common* current estimate (never at
    its own, which would give a seed with a near-zero slope a near-zero variance
    and all the weight); two passes starting from the plain mean.
    """
    rows = np.array([[s.theta_hat[0], s.theta_hat[1], s.theta_hat[2] / s.series.volume,
                      s.theta_hat[3] / s.series.volume] for s in summaries])
    mean = rows.mean(axis=0)
    sd = np.abs(mean) + 1e-300
    for _ in range(2):
        if mean[0] <= 0:
            break
        mean[2] = max(mean[2], 0.05 * abs(rows[:, 2]).mean() + 1e-300)
        ws = []
        for summ in summaries:
            V = summ.series.volume
            cov = summ.covariance(np.array([mean[0], mean[1], mean[2] * V, mean[3] * V]))
            var = np.diag(cov) / np.array([1, 1, V * V, V * V])
            ws.append(1.0 / np.clip(var, 1e-300, None))
        w = np.array(ws)
        mean = (rows * w).sum(0) / w.sum(0)
        sd = 1.0 / np.sqrt(w.sum(0))
    if mean[0] <= 0:
        raise AnalysisError(f"the fitted tracer MSD slope is not positive ({mean[0]:.3g} Å²/ps): "
                            "no long-range diffusion in the fit window")
    z = {"tracer": float(mean[0] / sd[0]), "polarisation": float(mean[2] / sd[2])}
    if mean[2] <= 0:  # collective slope not resolved: start at a small positive value
        mean[2] = max(sd[2], 1e-12)
    start = np.array([np.log(mean[0]), mean[1], np.log(mean[2]), mean[3]])
    start_sd = np.array([min(sd[0] / mean[0], 1.0), sd[1], min(sd[2] / mean[2], 1.0), sd[3]])
    return start, start_sd, z


def pooled_gls(summaries: list[SeedSummary]) -> np.ndarray:
    """Pooled (slope_tr, intercept_tr, slope_P/V, intercept_P/V) of :func:`pooled_start`."""
    start, _, _ = pooled_start(summaries)
    return np.array([np.exp(start[0]), start[1], np.exp(start[2]), start[3]])


def heterogeneity(summaries: list[SeedSummary], pooled: np.ndarray, names: list[str],
                  alpha: float = 0.01) -> dict:
    """Seed-to-seed consistency of the tracer and polarisation slopes.

    * Cochran's Q of the per-seed GLS slopes about their inverse-variance mean,
      with each seed's variance evaluated at the pooled parameters (its expected
      scatter if it belonged to the group); p-value from χ²(n−1); I².
    * Per seed, a leave-one-out z: the seed against its siblings (their median when
      there are at least three, else their inverse-variance mean),
      ``z = (x_s − ref) / sqrt(var_s + var(ref))``.  A seed is
      flagged when its two-sided p-value is below ``alpha / n_seeds`` (Bonferroni).
      Leaving the seed out keeps one wild seed from dragging the reference
      towards itself and making its siblings look inconsistent.
    """
    blocks = {}
    for key, idx, per_vol in (("tracer", 0, False), ("polarisation", 2, True)):
        est_l, var_l = [], []
        for s in summaries:
            V = s.series.volume
            th = np.array([pooled[0], pooled[1], pooled[2] * V, pooled[3] * V])
            cov = s.covariance(th)
            f = V if per_vol else 1.0
            est_l.append(s.theta_hat[idx] / f)
            var_l.append(cov[idx, idx] / f / f)
        blocks[key] = (np.array(est_l), np.array(var_l))
    return consistency(blocks, names, alpha)


def consistency(blocks: dict[str, tuple[np.ndarray, np.ndarray]], names: list[str], alpha: float = 0.01) -> dict:
    """Cochran's Q and the per-seed leave-one-out z-scores of :func:`heterogeneity` for
    per-seed estimates and their variances, ``blocks[key] = (estimates, variances)``
    (e.g. ``"tracer"`` and ``"polarisation"``); the same layout as :func:`heterogeneity`."""
    n = len(names)
    out: dict = {"alpha": alpha, "per_seed": {nm: {} for nm in names}}
    for key, (est, var) in blocks.items():
        est, var = np.asarray(est, dtype=np.float64), np.asarray(var, dtype=np.float64)
        w = 1.0 / var
        mean = float(np.sum(w * est) / np.sum(w))
        Q = float(np.sum(w * (est - mean) ** 2))
        p = float(stats.chi2.sf(Q, n - 1)) if n > 1 else 1.0
        out[key] = {"Q": Q, "dof": n - 1, "p_value": p, "I2": max(0.0, (Q - (n - 1)) / Q) if Q > 0 else 0.0}
        for i, nm in enumerate(names):
            others = np.arange(n) != i
            if not others.any():
                continue
            wo = w[others]
            # the median of the siblings resists a second outlier; its variance is
            # about π/2 that of their mean (one or two siblings: the mean itself)
            if others.sum() >= 3:
                ref, ref_var = float(np.median(est[others])), np.pi / 2 / np.sum(wo)
            else:
                ref, ref_var = float(np.sum(wo * est[others]) / np.sum(wo)), 1.0 / np.sum(wo)
            z = (est[i] - ref) / np.sqrt(var[i] + ref_var)
            ps = float(2 * stats.norm.sf(abs(z)))
            out["per_seed"][nm][key] = {"z": float(z), "p_value": ps, "flagged": bool(ps < alpha / n)}
    return out


def overdispersion(het: dict, alpha: float = 0.05) -> tuple[float, float]:
    """Variance inflation (tracer, polarisation): the Birge ratio Q/(n−1) of a block whose
    Cochran's Q rejects homogeneity at level ``alpha``, else 1.

    This is the usual random-effects remedy when replicates disagree beyond their
    stated errors (real runs: non-Gaussian hops, slow modes, a potential that drifts).
    Without it a parameter-dependent covariance lets the sampler "explain" the
    scatter with a larger slope.  Under a correct model it triggers in a fraction
    ``alpha`` of analyses and then widens the interval only slightly.
    """
    out = []
    for key in ("tracer", "polarisation"):
        h = het.get(key)
        if h and h["dof"] > 0 and h["p_value"] < alpha:
            out.append(max(1.0, h["Q"] / h["dof"]))
        else:
            out.append(1.0)
    return out[0], out[1]
