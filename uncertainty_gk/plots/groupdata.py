r"""What the figures draw, computed without matplotlib: the seeds of a group, the fitted
lines with their bands, and running (growing-window) estimates.

* :func:`resolve_group` / :func:`group_seeds`: a group of an
  :class:`~uncertainty_gk.results.AnalysisResult` and its runs' MSDs, each run cut to
  the trusted segment the analysis used (records in ``GroupResult.run_status``).
* :func:`pooled_gls`: inverse-covariance pooling of the per-seed GLS line estimates
  :math:`\hat\theta_s` (:func:`uncertainty_gk.estimators.series.summarise`), with each
  seed's covariance evaluated at the pooled parameters (two passes), giving
  :math:`\hat\theta = (\sum_s V_s^{-1})^{-1} \sum_s V_s^{-1} \hat\theta_s` and its
  covariance :math:`(\sum_s V_s^{-1})^{-1}`.  Under a flat prior this Gaussian is the
  posterior of the pooled line, so its bands are labelled credible intervals
  ("GLS approximation").
* :func:`line_band`: the pooled tracer or polarisation line with a pointwise central
  band, from posterior draws (``GroupResult.idata``) when present, else from
  :func:`pooled_gls`.
* :func:`running_estimates`: σ_tr and σ per seed and pooled for fit windows
  ``[start, t_max]`` with growing ``t_max``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..errors import AnalysisError, UGKError
from .style import label_text, thin


@dataclass
class SeedCurve:
    """One run of a group as the figures see it."""

    name: str
    label: str                      # legend text, e.g. "seed 2 (truncated at 31.4 ps)"
    seed: object                    # SeedData
    action: str = "kept"            # kept / truncated / included (--include-flagged)
    in_fit: bool = True
    trusted_until_ps: float | None = None


@dataclass
class LineBand:
    """A pooled line ``y = slope t + intercept`` on ``t`` with a pointwise band."""

    t: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    slope: float                    # median slope (y units per ps)
    source: str                     # "posterior" or "gls"
    ci_prob: float
    extra: dict = field(default_factory=dict)


def resolve_group(result, group):
    """``group`` as a GroupResult: an index, a GroupResult, or a dict of labels."""
    groups = list(result.groups)
    if not groups:
        raise UGKError("the analysis result has no groups to plot")
    if hasattr(group, "quantities"):
        return group
    if isinstance(group, dict):
        hits = [g for g in groups if all(str(g.labels.get(k)) == str(v) for k, v in group.items())]
        if len(hits) != 1:
            known = "; ".join(f"[{i}] {label_text(g.labels)}" for i, g in enumerate(groups))
            raise UGKError(f"group {group}: matches {len(hits)} groups (need exactly one); groups: {known}")
        return hits[0]
    try:
        i = int(group)
    except (TypeError, ValueError):
        raise UGKError(f"group {group!r}: give an index, a GroupResult or a dict of labels") from None
    if not -len(groups) <= i < len(groups):
        known = "; ".join(f"[{j}] {label_text(g.labels)}" for j, g in enumerate(groups))
        raise UGKError(f"group {i}: the result has {len(groups)} groups (0-{len(groups) - 1}): {known}")
    return groups[i]


def _analysis_parameters(result) -> dict:
    p = dict((getattr(result, "provenance", None) or {}).get("parameters", {}) or {})
    return {"reference": p.get("reference") or "charge", "species": p.get("species")}


def _member_records(campaign, g) -> list[dict]:
    if g.run_status:
        return list(g.run_status)
    from ..schema import labels_of

    out = []
    for name, ds in campaign.items():
        lab = {k: v for k, v in labels_of(ds).items() if k != "seed"}
        if all(str(lab.get(k)) == str(v) for k, v in g.labels.items()) and set(lab) == set(g.labels):
            out.append({"run": name, "labels": labels_of(ds), "action": "kept", "trusted_until_ps": None})
    return out


def group_seeds(campaign, result, group) -> tuple[object, list[SeedCurve]]:
    """The GroupResult and its runs' MSD data, each cut to the segment the analysis trusted."""
    from ..conductivity import prepare_seed

    g = resolve_group(result, group)
    params = _analysis_parameters(result)
    fitted = {s.name for s in g.seeds}
    curves = []
    for rec in _member_records(campaign, g):
        action = rec.get("action", "kept")
        if action == "dropped":
            continue
        name = rec["run"]
        try:
            ds = campaign[name]
        except KeyError:
            raise UGKError(f"run {name} of group {label_text(g.labels)} is not in the campaign given; "
                           "pass the campaign that was analysed") from None
        until = rec.get("trusted_until_ps")
        if action == "truncated" and until is not None:
            ds = ds.sel(time=slice(None, until))
        seed = prepare_seed(ds, name=name, reference=params["reference"], species=params["species"])
        sid = rec.get("labels", {}).get("seed", seed.labels.get("seed", name))
        label = f"seed {sid}"
        if action == "truncated" and until is not None:
            label += f" (truncated at {until:.3g} ps)"
        elif action.startswith("included"):
            label += " (flagged, included)"
        in_fit = not fitted or name in fitted
        if not in_fit:
            label += " (not in fit)"
        curves.append(SeedCurve(name=name, label=label, seed=seed, action=action, in_fit=in_fit,
                                trusted_until_ps=until if action == "truncated" else None))
    if not curves:
        raise UGKError(f"group {label_text(g.labels)}: no usable runs to plot (all dropped by diagnostics)")
    return g, curves


# --------------------------------------------------------------------------- pooled GLS
def _series_like(base, lags):
    """A copy of a SeedSeries with other lags (same κ, χ and noise model)."""
    from ..estimators.series import SeedSeries

    return SeedSeries(name=base.name, lags=lags, dt_ps=base.dt_ps, n_frames=base.n_frames, y_tr=None, y_P=None,
                      n_mobile=base.n_mobile, charge=base.charge, volume=base.volume, kappa=base.kappa,
                      chi=base.chi, labels=base.labels, acf_tr=base.acf_tr, acf_P=base.acf_P,
                      noise_tr=base.noise_tr, noise_P=base.noise_P)


def seed_summary(seed, base, lags):
    """GLS summary of ``seed`` on ``lags`` with the covariance model of ``base`` (a SeedSeries)."""
    from ..estimators.series import summarise

    ser = _series_like(base, lags)
    ser.y_tr = seed.msd_tr[lags]
    ser.y_P = seed.msd_P[lags]
    summ = summarise(ser)
    summ.noise_intercepts = (base.noise_tr if base.noise_tr is not None else max(summ.theta_hat[1], 0.0),
                             base.noise_P if base.noise_P is not None else max(summ.theta_hat[3], 0.0))
    return summ


def pooled_gls(summaries, n_pass: int = 2) -> tuple[np.ndarray, np.ndarray]:
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


def window_base_series(seeds, window_ps, n_lags: int = 24, max_fraction: float = 0.25):
    """SeedSeries of every seed on the analysis window (κ, χ, noise model), as the analysis built them."""
    from ..conductivity import seed_series
    from ..window import FitWindow, window_lags

    win = FitWindow(float(window_ps[0]), float(window_ps[1]))
    lags = window_lags(win, seeds[0].dt_ps, max(s.n_frames for s in seeds), n_lags)
    return lags, [seed_series(s, lags, max_fraction) for s in seeds]


def _z(ci_prob: float) -> float:
    return float(stats.norm.ppf(0.5 + ci_prob / 2))


# --------------------------------------------------------------------------- lines
def posterior_draws(idata, max_draws: int = 400) -> dict[str, np.ndarray] | None:
    """Thinned posterior draws of the line parameters from an arviz InferenceData (or None)."""
    if idata is None or not hasattr(idata, "posterior"):
        return None
    post = idata.posterior
    out = {}
    for k in ("slope_tr", "intercept_tr", "slope_P_per_volume", "intercept_P_per_volume"):
        if k not in post:
            return None
        out[k] = np.asarray(post[k].values, dtype=float).reshape(-1)
    idx = thin(len(out["slope_tr"]), max_draws)
    return {k: v[idx] for k, v in out.items()}


def line_band(g, seeds, t, which: str = "tr", *, ci_prob: float | None = None, max_draws: int = 400
              ) -> LineBand | None:
    """Pooled line of the tracer MSD (``"tr"``, Å²) or the polarisation MSD per mobile ion
    (``"P"``, ⟨|ΔP|²⟩/(N q²), Å²) on lags ``t`` (ps), with a pointwise central band.

    None when the group has no fit window (no diffusion detected).
    """
    if not g.diffusion_detected or not np.all(np.isfinite(g.window_ps)):
        return None
    ci = ci_prob if ci_prob is not None else next(iter(g.quantities.values())).ci_prob
    t = np.asarray(t, dtype=float)
    V = float(np.mean([s.volume for s in seeds]))
    f = 1.0 if which == "tr" else V / (seeds[0].n_mobile * seeds[0].charge ** 2)
    ks, kc = ("slope_tr", "intercept_tr") if which == "tr" else ("slope_P_per_volume", "intercept_P_per_volume")
    draws = posterior_draws(g.idata, max_draws)
    if draws is not None:
        m, c = draws[ks] * f, draws[kc] * f
        y = m[:, None] * t[None, :] + c[:, None]
        lo, med, hi = np.quantile(y, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
        return LineBand(t, med, lo, hi, float(np.median(m)), "posterior", ci)
    _, base = window_base_series(seeds, g.window_ps)
    summ = [seed_summary(s, b, b.lags) for s, b in zip(seeds, base)]
    theta, cov = pooled_gls(summ)
    i = 0 if which == "tr" else 2
    m, c = theta[i] * f, theta[i + 1] * f
    C = cov[i:i + 2, i:i + 2] * f * f
    sd = np.sqrt(np.clip(C[0, 0] * t * t + 2 * C[0, 1] * t + C[1, 1], 0, None))
    z = _z(ci)
    med = m * t + c
    return LineBand(t, med, med - z * sd, med + z * sd, float(m), "gls", ci)


# --------------------------------------------------------------------------- running estimates
@dataclass
class RunningEstimates:
    """σ_tr and σ (S/cm) for fit windows [start, t_max]: per seed (NaN where a seed is too short)
    and pooled (GLS) with the half-width of the central ``ci_prob`` interval."""

    t_max: np.ndarray
    per_seed: dict                 # quantity -> (n_seeds, n_t)
    pooled: dict                   # quantity -> (n_t,)
    half_width: dict               # quantity -> (n_t,)
    start_ps: float
    window_end_ps: float
    ci_prob: float


def running_estimates(seeds, window_ps, *, ci_prob: float = 0.95, n_points: int = 24, min_lags: int = 3,
                      max_fraction: float = 0.5, n_lags: int = 12) -> RunningEstimates:
    """GLS σ_tr and σ on windows ``[start, t_max]``, ``t_max`` from a few lags past the start
    to ``max_fraction`` of the longest seed; a seed stops at ``max_fraction`` of its own length.

    Each window is fitted on ``n_lags`` evenly spaced lags (fewer than the analysis'
    24: the covariance bases cost O(K²) and the estimate hardly changes) with the
    covariance model (κ, χ, noise) measured on the analysis window.
    """
    from ..conductivity import physical_samples
    from ..window import FitWindow, window_lags

    start, end = float(window_ps[0]), float(window_ps[1])
    dt = seeds[0].dt_ps
    _, base = window_base_series(seeds, window_ps)
    t_lo = start + min_lags * dt
    t_hi = max(max_fraction * s.duration_ps for s in seeds)
    if t_hi <= t_lo:
        raise UGKError(f"running estimates: the runs are too short for windows beyond {t_lo:g} ps")
    grid = np.unique(np.concatenate([np.linspace(t_lo, t_hi, n_points), [end]]))
    grid = grid[(grid >= t_lo) & (grid <= t_hi)]
    unit = {k: physical_samples({"slope_tr": np.array([1.0]), "slope_P_per_volume": np.array([1.0])}, [s])
            for k, s in enumerate(seeds)}
    unit_pool = physical_samples({"slope_tr": np.array([1.0]), "slope_P_per_volume": np.array([1.0])}, seeds)
    per = {q: np.full((len(seeds), len(grid)), np.nan) for q in ("sigma_tr", "sigma")}
    pooled = {q: np.full(len(grid), np.nan) for q in ("sigma_tr", "sigma")}
    half = {q: np.full(len(grid), np.nan) for q in ("sigma_tr", "sigma")}
    z = _z(ci_prob)
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
            sm = seed_summary(s, b, lags)
            summ.append(sm)
            per["sigma_tr"][k, j] = sm.theta_hat[0] * unit[k]["sigma_tr"][0]
            per["sigma"][k, j] = sm.theta_hat[2] / s.volume * unit[k]["sigma"][0]
        if not summ:
            continue
        theta, cov = pooled_gls(summ)
        for q, i in (("sigma_tr", 0), ("sigma", 2)):
            pooled[q][j] = theta[i] * unit_pool[q][0]
            half[q][j] = z * np.sqrt(max(cov[i, i], 0.0)) * unit_pool[q][0]
    return RunningEstimates(grid, per, pooled, half, start, end, ci_prob)
