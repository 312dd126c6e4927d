r"""Naive regression baselines: why textbook error bars on an MSD slope are too small.

For each seed the tracer MSD and the polarisation MSD at the K lags of the fit window
are fitted with :math:`\mathrm{MSD}(t) = m t + c` by statsmodels:

* **OLS**: ordinary least squares, as if the K points were independent with equal
  variance;
* **WLS**: weights :math:`w_k = n_\mathrm{ind}(\tau_k) = \lfloor (T-1)/\tau_k \rfloor`, the
  number of non-overlapping windows at lag :math:`\tau_k` (variance taken
  :math:`\propto 1/n_\mathrm{ind}`);
* **GLS**: a naive covariance between lags, the Brownian shape
  :math:`\Sigma_{ab} = \sqrt{v_a v_b}\,\sqrt{\min(\tau_a,\tau_b)/\max(\tau_a,\tau_b)}` with
  :math:`v_a = \mathrm{MSD}(\tau_a)^2 / n_\mathrm{ind}(\tau_a)` taken from the data.

Seeds are pooled by simple averaging (polarisation slopes divided by each seed's
volume first); the pooled standard error is :math:`\sqrt{\sum_s \mathrm{SE}_s^2}/S`
and the interval is normal.  Slopes are converted to σ_tr and σ (S/cm) with
:func:`uncertainty_gk.conductivity.physical_samples`.

.. warning::

   These are **not** uncertainty estimates to report.  statsmodels scales every
   covariance by the residual variance of the fit, and the residuals of an MSD curve
   averaged over all time origins are tiny and strongly correlated between lags, so
   the standard errors are far too small (often by orders of magnitude); compare
   ``naive_se`` with ``seed_scatter_se``, the standard error implied by the scatter
   of the per-seed slopes.  Use :mod:`.bayes` (default), :mod:`.resampling` or
   :mod:`.blocking` for intervals.  statsmodels is imported lazily.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from .base import JointSamples, register

if TYPE_CHECKING:
    from ..settings import AnalysisSettings
    from .data import GroupData

__all__ = ["ols_wls_gls", "fit_line", "BaselineEstimator"]

METHODS = ("ols", "wls", "gls")


def _naive_cov(lags: np.ndarray, y: np.ndarray, n_ind: np.ndarray) -> np.ndarray:
    v = np.clip(y, np.max(np.abs(y)) * 1e-12 + 1e-300, None) ** 2 / n_ind
    a = lags.astype(np.float64)
    shape = np.sqrt(np.minimum.outer(a, a) / np.maximum.outer(a, a))
    return np.sqrt(np.outer(v, v)) * shape


def fit_line(method: str, t_ps, y, *, lags, n_frames: int, ci_prob: float = 0.95) -> dict:
    """Slope of ``y = m t + c`` by statsmodels OLS / WLS / GLS with its naive SE and interval.

    Parameters
    ----------
    method : {"ols", "wls", "gls"}
    t_ps, y : (K,) arrays
        Lag times (ps) and MSD values.
    lags : (K,) int array
        The same lags in frames (for the number of independent windows).
    n_frames : int
    ci_prob : float

    Returns
    -------
    dict with ``slope``, ``se``, ``lower``, ``upper`` (units of y per ps).
    """
    try:
        import statsmodels.api as sm
    except ImportError as exc:  # pragma: no cover - exercised only without statsmodels
        raise ImportError("the naive baselines need statsmodels: pip install statsmodels") from exc
    t_ps = np.asarray(t_ps, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lags = np.asarray(lags, dtype=np.int64)
    X = sm.add_constant(t_ps, prepend=False)          # columns: slope, intercept
    n_ind = np.maximum((n_frames - 1) // lags, 1).astype(np.float64)
    if method == "ols":
        model = sm.OLS(y, X)
    elif method == "wls":
        model = sm.WLS(y, X, weights=n_ind)
    elif method == "gls":
        model = sm.GLS(y, X, sigma=_naive_cov(lags, y, n_ind))
    else:
        raise ValueError(f"unknown baseline {method!r}; choose one of {METHODS}")
    res = model.fit()
    lo, hi = res.conf_int(alpha=1 - ci_prob)[0]
    return {"slope": float(res.params[0]), "se": float(res.bse[0]), "lower": float(lo), "upper": float(hi)}


def _pooled_slopes(method: str, data: GroupData, ci_prob: float) -> dict:
    """Per-seed naive fits of one method on each seed's fitted lags, pooled by simple averaging."""
    per: dict[str, list] = {"slope_tr": [], "slope_P_per_volume": []}
    for ser in data.series:
        t = ser.lags * ser.dt_ps
        fits = {"slope_tr": fit_line(method, t, ser.y_tr, lags=ser.lags, n_frames=ser.n_frames, ci_prob=ci_prob),
                "slope_P_per_volume": fit_line(method, t, ser.y_P / ser.volume, lags=ser.lags,
                                               n_frames=ser.n_frames, ci_prob=ci_prob)}
        for key, f in fits.items():
            per[key].append((f["slope"], f["se"]))
    S = len(data.series)
    out = {}
    for key, rows in per.items():
        vals = np.array([r[0] for r in rows])
        ses = np.array([r[1] for r in rows])
        out[key] = {"value": float(vals.mean()), "naive_se": float(np.sqrt(np.sum(ses ** 2)) / S),
                    "seed_scatter_se": float(vals.std(ddof=1) / np.sqrt(S)) if S > 1 else None,
                    "per_seed": vals.tolist()}
    return out


def ols_wls_gls(data: GroupData, *, ci_prob: float = 0.95) -> dict:
    """Naive statsmodels OLS, WLS and GLS estimates of σ and σ_tr (S/cm), pooled over seeds.

    Every seed is fitted at the lags the analysis fits for it (``data.series[i].lags``).

    Returns
    -------
    dict (JSON-serialisable)
        ``{"ols"|"wls"|"gls": {"sigma"|"sigma_tr": {"value", "naive_se", "lower", "upper",
        "seed_scatter_se", "per_seed", "units"}}, "ci_prob", "warning", ...}``.
        ``seed_scatter_se`` = s.d. of the per-seed values / √S (``None`` for one seed).
    """
    from scipy import stats

    unit = data.physical({"slope_tr": np.array([1.0]), "slope_P_per_volume": np.array([1.0])})
    to_S = {"slope_tr": ("sigma_tr", float(unit["sigma_tr"][0])), "slope_P_per_volume": ("sigma", float(unit["sigma"][0]))}
    z = float(stats.norm.ppf(0.5 + ci_prob / 2))
    out: dict = {"ci_prob": float(ci_prob), "n_seeds": len(data.series),
                 "window_lags_ps": (np.asarray(data.lags) * data.dt_ps).tolist(),
                 "warning": "naive statsmodels standard errors (independent-residual assumption); "
                            "not a valid uncertainty - compare naive_se with seed_scatter_se"}
    for method in METHODS:
        block: dict = {}
        for key, f in _pooled_slopes(method, data, ci_prob).items():
            name, factor = to_S[key]
            value, se = f["value"] * factor, f["naive_se"] * factor
            scatter = None if f["seed_scatter_se"] is None else f["seed_scatter_se"] * factor
            block[name] = {"value": value, "naive_se": se, "lower": value - z * se, "upper": value + z * se,
                           "seed_scatter_se": scatter, "per_seed": [v * factor for v in f["per_seed"]],
                           "units": "S/cm"}
        tr, sg = block["sigma_tr"]["value"], block["sigma"]["value"]
        block["haven_ratio"] = {"value": float(tr / sg) if sg != 0 else float("nan"), "units": "1",
                                "note": "ratio of point values; no interval"}
        out[method] = block
    return out


class BaselineEstimator:
    """A registered naive baseline (``"ols"``, ``"wls"``, ``"gls"``): normal draws about the
    pooled slopes with the statsmodels standard errors (kind ``"baseline"``: for
    comparison, never a reported interval; see the warning above)."""

    kind = "baseline"

    def __init__(self, settings: AnalysisSettings, method: str):
        self.name = method
        self.n_draws = settings.n_boot
        self.ci_prob = settings.ci_prob

    def fit(self, data: GroupData, rng: np.random.Generator) -> JointSamples:
        pooled = _pooled_slopes(self.name, data, self.ci_prob)
        draws = {k: (v["value"] + v["naive_se"] * rng.standard_normal(self.n_draws))[None, :]
                 for k, v in pooled.items()}
        return JointSamples(method=self.name, draws=draws, independent=True,
                            info={"pooled": pooled, "warning": "naive statsmodels standard errors"})


for _m in METHODS:
    register(_m, partial(BaselineEstimator, method=_m), kind="baseline")
