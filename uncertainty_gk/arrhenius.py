"""Arrhenius fits of σ or σ_tr across temperatures, propagating per-temperature posteriors.

Model (see docs/science.md, section 9 "Arrhenius")::

    ln(σ T) = ln A − E_a / (k_B T)

Method
------
Each temperature *i* contributes posterior samples of σ (joint samples from
:func:`uncertainty_gk.analysis.analyse`, or any array).  Working in
``y = ln(σ T)`` and ``x = 1/(k_B T)`` (1/eV):

1. Every temperature gets a fixed weight ``w_i = 1/s_i²`` where ``s_i`` is the
   robust standard deviation of its ``y`` samples (half the 15.9–84.1 % range).
2. ``n_draws`` joint draws are made, one sample per temperature, independently
   across temperatures (different temperatures are independent simulations).
3. Each draw is fitted by weighted least squares: ``β_k = L y_k`` with the fixed
   linear map ``L = (XᵀWX)⁻¹XᵀW``.  ``E_a``, ``ln A`` and ``σ(T_target)`` are
   computed *from the same draw*, so every derived quantity carries the full
   slope–intercept covariance (no Gaussian error formula needed).

Why it is calibrated: if the per-temperature posteriors are ``y_i ~ N(ŷ_i, s_i²)``
(flat prior on each ``y_i``), then ``L y`` is exactly the Gaussian posterior of
the line, ``N(L ŷ, (XᵀWX)⁻¹)`` — the usual generalised least-squares result —
and its intervals have frequentist coverage when the ``s_i`` are calibrated.
For non-Gaussian posteriors the draws carry their skew through to the fit.  The
weights only affect efficiency, never correctness: any ``L`` that reproduces a
straight line exactly maps the true ``y`` onto the true parameters.

Curvature check (≥ 3 temperatures): the same draws are fitted with a quadratic in
``x`` (centred on the weighted mean of ``x``).  Curvature is *credible* when the
central ``curvature_prob`` (default 99 %) interval of the quadratic coefficient
excludes 0.  Then the fit warns (:class:`~uncertainty_gk.errors.AnalysisWarning`),
and refuses (:class:`~uncertainty_gk.errors.AnalysisError`) to extrapolate to a
``T_target`` outside the fitted temperature range unless ``force=True``.  The
default 99 % keeps false alarms on truly Arrhenius data near 1 %.

A goodness-of-fit χ² of the median points about the weighted line is reported too
(not a gate: with few temperatures it has little power).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> T = np.array([600.0, 800.0, 1000.0])
>>> sig = 1e3 / T * np.exp(-0.3 / (BOLTZMANN_EV_PER_K * T))
>>> samples = [s * np.exp(rng.normal(0, 0.05, 2000)) for s in sig]
>>> res = arrhenius_fit((T, samples), rng=1)
>>> 0.2 < res.E_a.median < 0.4
True
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import AnalysisError, AnalysisWarning, UGKError
from .estimators.base import central_interval
from .results import Estimate
from .units import BOLTZMANN_EV_PER_K
from .fileio import json_default

__all__ = [
    "MAX_NONPOSITIVE_FRACTION", "N_DRAWS", "CURVATURE_PROB", "QUANTITIES", "ArrheniusPoint", "ArrheniusResult",
    "points_from_result", "arrhenius_fit", "arrhenius_from_result", "format_arrhenius"
]

#: Maximum fraction of non-positive σ samples at one temperature before the point is refused.
MAX_NONPOSITIVE_FRACTION = 0.025
#: Default number of joint draws.
N_DRAWS = 4000
#: Default interval probability used by the curvature gate.
CURVATURE_PROB = 0.99

QUANTITIES = ("sigma", "sigma_tr")


# --------------------------------------------------------------------------- data
@dataclass
class ArrheniusPoint:
    """One temperature: σ posterior samples (S/cm) and a summary."""

    temperature_K: float
    samples: np.ndarray = field(repr=False)
    labels: dict = field(default_factory=dict)

    def summary(self, ci_prob: float) -> dict:
        lo, med, hi = central_interval(self.samples, ci_prob)
        return {"temperature_K": float(self.temperature_K), "median": float(med), "lower": float(lo),
                "upper": float(hi), "ci_prob": ci_prob, "units": "S/cm", "n_samples": int(self.samples.size)}


@dataclass
class ArrheniusResult:
    """Arrhenius fit of one quantity for one group of labels.

    ``E_a`` in eV, ``ln_A`` as ln(S K/cm), ``sigma_target`` (S/cm) at ``T_target``.
    Every Estimate keeps its draws in ``.samples``.
    """

    quantity: str
    labels: dict
    E_a: Estimate
    ln_A: Estimate
    sigma_target: Estimate
    T_target: float
    points: list[dict]
    curvature: dict
    goodness_of_fit: dict
    ci_prob: float
    n_draws: int
    extrapolated: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"quantity": self.quantity, "labels": self.labels, "ci_prob": self.ci_prob,
                "n_draws": self.n_draws, "model": "ln(sigma*T) = ln A - E_a/(k_B T)",
                "E_a": self.E_a.to_dict(), "ln_A": self.ln_A.to_dict(),
                "T_target_K": self.T_target, "extrapolated": self.extrapolated,
                "sigma_at_T_target": self.sigma_target.to_dict(),
                "points": self.points, "curvature": self.curvature,
                "goodness_of_fit": self.goodness_of_fit, "notes": list(self.notes)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=json_default)



# --------------------------------------------------------------------------- inputs
def _label_temperature(labels: dict) -> float | None:
    for k in ("temperature_K", "T"):
        if k in labels:
            try:
                return float(labels[k])
            except (TypeError, ValueError):
                return None
    return None


def points_from_result(result, quantity: str = "sigma", by=None, skipped: list | None = None
                       ) -> dict[str, list[ArrheniusPoint]]:
    """Arrhenius points from an :class:`~uncertainty_gk.results.AnalysisResult`.

    Groups are collected by all labels except ``temperature_K`` (and ``seed``), or only
    by the labels named in ``by`` (a list) when given.  Returns
    ``{json-of-labels: [ArrheniusPoint, ...]}`` sorted by temperature.  Groups whose
    quantity has no samples (e.g. no diffusion detected) or is not resolved from zero
    (upper bound only) are skipped; pass a list as
    ``skipped`` to receive ``(group_key, labels, reason)`` for each.
    """
    _check_quantity(quantity)
    out: dict[str, list[ArrheniusPoint]] = {}
    for g in result.groups:
        T = g.temperature_K if np.isfinite(g.temperature_K) else _label_temperature(g.labels)
        if T is None:
            raise AnalysisError(f"group {g.labels}: no temperature; an Arrhenius fit needs one per group")
        rest = {k: v for k, v in g.labels.items() if k not in ("temperature_K", "T", "seed")}
        if by is not None:
            rest = {k: v for k, v in rest.items() if k in set(by)}
        key = json.dumps(rest, sort_keys=True, default=str)
        est = g.quantities.get(quantity)
        if est is None or est.samples is None or not g.diffusion_detected:
            if skipped is not None:
                skipped.append((key, dict(g.labels), f"T = {T:g} K left out: no long-range "
                                f"diffusion detected ({quantity} is only an upper bound)"))
            continue
        if not np.isfinite(est.median):
            # σ not resolved from zero: only an upper bound exists, and its samples are shaped
            # by the prior, so it cannot anchor a line
            if skipped is not None:
                skipped.append((key, dict(g.labels), f"T = {T:g} K left out: {quantity} "
                                f"is not resolved from zero ({est.note or 'upper bound only'})"))
            continue
        out.setdefault(key, []).append(ArrheniusPoint(float(T), np.asarray(est.samples, dtype=float),
                                                      dict(g.labels)))
    for pts in out.values():
        pts.sort(key=lambda p: p.temperature_K)
    return out


def _as_points(points) -> list[ArrheniusPoint]:
    if isinstance(points, tuple) and len(points) == 2 and not isinstance(points[0], ArrheniusPoint):
        T, samples = points
        T = np.atleast_1d(np.asarray(T, dtype=float))
        if len(samples) != len(T):
            raise UGKError(f"arrhenius: {len(T)} temperatures but {len(samples)} sample arrays")
        points = [ArrheniusPoint(float(t), np.asarray(s, dtype=float).ravel()) for t, s in zip(T, samples)]
    pts = list(points)
    for p in pts:
        if not isinstance(p, ArrheniusPoint):
            raise UGKError("arrhenius: points must be ArrheniusPoint objects or a (temperatures, samples) pair")
        if not (np.isfinite(p.temperature_K) and p.temperature_K > 0):
            raise UGKError(f"arrhenius: temperature {p.temperature_K} K is not positive")
    return sorted(pts, key=lambda p: p.temperature_K)


def _clean_log(p: ArrheniusPoint) -> np.ndarray:
    s = p.samples[np.isfinite(p.samples)]
    if s.size == 0:
        raise AnalysisError(f"T = {p.temperature_K:g} K: no finite samples")
    bad = np.mean(s <= 0)
    if bad > MAX_NONPOSITIVE_FRACTION:
        raise AnalysisError(f"T = {p.temperature_K:g} K: {bad:.1%} of the σ samples are ≤ 0 (σ not resolved "
                            "from zero); drop this temperature or run longer before an Arrhenius fit")
    return np.log(s[s > 0] * p.temperature_K)


def _robust_sd(y: np.ndarray) -> float:
    lo, hi = np.quantile(y, [0.15865525, 0.84134475])
    sd = 0.5 * (hi - lo)
    if not sd > 0:
        sd = float(np.std(y))
    return sd


def _wls_map(x: np.ndarray, w: np.ndarray, degree: int) -> np.ndarray:
    """L such that β = L y is the weighted least-squares polynomial fit (β[0] = intercept)."""
    X = np.vander(x, degree + 1, increasing=True)
    XtW = X.T * w
    return np.linalg.solve(XtW @ X, XtW)


# --------------------------------------------------------------------------- fit
def arrhenius_fit(points, *, quantity: str = "sigma", T_target: float = 300.0, ci_prob: float = 0.95,
                  rng=None, force: bool = False, n_draws: int = N_DRAWS,
                  curvature_prob: float = CURVATURE_PROB, labels: dict | None = None) -> ArrheniusResult:
    """Fit ln(σT) = ln A − E_a/(k_B T) by propagating per-temperature posterior samples.

    Parameters
    ----------
    points
        A list of :class:`ArrheniusPoint` (e.g. one value of :func:`points_from_result`)
        or a pair ``(temperatures_K, [samples_of_sigma_per_temperature])``.
    quantity
        Name recorded in the result (``"sigma"`` or ``"sigma_tr"``); the samples given
        are what is fitted.
    T_target
        Temperature (K) at which σ is predicted with its interval.
    ci_prob
        Probability of the reported central intervals.
    rng
        Seed or ``numpy.random.Generator`` for the joint draws.
    force
        Extrapolate even when curvature is credible (a warning is still issued).
    curvature_prob
        Interval probability of the quadratic-coefficient test (default 0.99).

    Raises
    ------
    AnalysisError
        Fewer than 2 temperatures, a σ not resolved from zero, or credible curvature
        with ``T_target`` outside the fitted range and ``force=False``.
    """
    _check_quantity(quantity)
    if not 0 < ci_prob < 1:
        raise UGKError(f"arrhenius: ci_prob must be in (0, 1), got {ci_prob}")
    if not (np.isfinite(T_target) and T_target > 0):
        raise UGKError(f"arrhenius: T_target must be a positive temperature, got {T_target}")
    pts = _as_points(points)
    temps = np.array([p.temperature_K for p in pts])
    if len(np.unique(temps)) != len(temps):
        raise AnalysisError(f"arrhenius: repeated temperatures {temps.tolist()}; give one posterior per temperature "
                            "(group runs of one temperature into one analysis group)")
    if len(pts) < 2:
        raise AnalysisError(f"arrhenius: need at least 2 temperatures for a fit (3 for the curvature check); "
                            f"found {len(pts)}")
    rng = np.random.default_rng(rng)
    ys = [_clean_log(p) for p in pts]
    sd = np.array([_robust_sd(y) for y in ys])
    if not np.all(sd > 0):
        raise AnalysisError("arrhenius: a temperature has no posterior spread (all samples equal)")
    w = 1.0 / sd**2
    x = 1.0 / (BOLTZMANN_EV_PER_K * temps)
    x0 = float(np.sum(w * x) / np.sum(w))
    xc = x - x0
    # joint draws: one sample per temperature, independent across temperatures
    Y = np.column_stack([y[rng.integers(0, y.size, n_draws)] for y in ys])      # (n_draws, n_T)
    beta = Y @ _wls_map(xc, w, 1).T                                              # (n_draws, 2): a0, slope
    slope = beta[:, 1]
    Ea = -slope
    lnA = beta[:, 0] - slope * x0
    x_t = 1.0 / (BOLTZMANN_EV_PER_K * T_target)
    sig_t = np.exp(beta[:, 0] + slope * (x_t - x0)) / T_target
    notes: list[str] = []
    extrapolated = not (temps.min() <= T_target <= temps.max())

    # goodness of fit of the median points about the weighted line
    ymed = np.array([np.median(y) for y in ys])
    b_med = _wls_map(xc, w, 1) @ ymed
    resid = ymed - (b_med[0] + b_med[1] * xc)
    chi2 = float(np.sum(w * resid**2))
    dof = len(pts) - 2
    gof = {"chi2": chi2, "dof": dof}
    if dof > 0:
        from scipy.stats import chi2 as _chi2

        gof["p_value"] = float(_chi2.sf(chi2, dof))
        if gof["p_value"] < 0.01:
            notes.append(f"points scatter more about the line than their intervals allow (χ² = {chi2:.3g}, "
                         f"{dof} dof, p = {gof['p_value']:.2g}); intervals may be too narrow")

    # curvature check
    curv: dict = {"checked": False, "credible": False, "prob": curvature_prob}
    if len(pts) >= 3:
        c = (Y @ _wls_map(xc, w, 2).T)[:, 2]
        lo, med, hi = central_interval(c, curvature_prob)
        credible = bool(lo > 0 or hi < 0)
        p_pos = float(np.mean(c > 0))
        curv.update(checked=True, credible=credible, quadratic_coefficient={
            "median": float(med), "lower": float(lo), "upper": float(hi), "ci_prob": curvature_prob,
            "units": "eV^2", "P_positive": p_pos},
            description="coefficient c of (1/k_BT - x0)^2 in a quadratic fit of ln(σT); credible curvature "
                        "when its interval excludes 0")
        if credible:
            msg = (f"ln(σT) vs 1/T is curved (non-Arrhenius): the quadratic coefficient {med:.3g} eV² "
                   f"[{lo:.3g}, {hi:.3g}] ({curvature_prob:.0%}) excludes 0")
            if extrapolated and not force:
                raise AnalysisError(f"{msg}; refusing to extrapolate to {T_target:g} K outside "
                                    f"{temps.min():g}-{temps.max():g} K (use force=True / --force to fit anyway)")
            notes.append(msg + ("; extrapolated anyway (force)" if extrapolated else
                                "; E_a is an average over the fitted range"))
            warnings.warn(notes[-1], AnalysisWarning, stacklevel=2)
    else:
        curv["reason"] = "curvature not checked: needs at least 3 temperatures"
        notes.append(curv["reason"])
    if extrapolated:
        notes.append(f"σ({T_target:g} K) is an extrapolation outside {temps.min():g}-{temps.max():g} K; it assumes "
                     "the same mechanism (no phase change or transport crossover)")

    method = f"WLS line over {n_draws} joint posterior draws"
    return ArrheniusResult(
        quantity=quantity, labels=dict(labels or {}),
        E_a=Estimate.from_samples(Ea, ci_prob=ci_prob, units="eV", method=method),
        ln_A=Estimate.from_samples(lnA, ci_prob=ci_prob, units="ln(S K/cm)", method=method),
        sigma_target=Estimate.from_samples(sig_t, ci_prob=ci_prob, units="S/cm", method=method),
        T_target=float(T_target), points=[p.summary(ci_prob) for p in pts], curvature=curv,
        goodness_of_fit=gof, ci_prob=ci_prob, n_draws=int(n_draws), extrapolated=extrapolated, notes=notes)


def arrhenius_from_result(result, *, quantity: str = "sigma", by=None, T_target: float = 300.0,
                          ci_prob: float = 0.95, rng=None, force: bool = False, on_error=None
                          ) -> list[ArrheniusResult]:
    """One :func:`arrhenius_fit` per group of labels other than the temperature.

    Groups with a single usable temperature are skipped with an
    :class:`~uncertainty_gk.errors.AnalysisWarning`; temperatures without detected
    diffusion are left out and named in the fit's notes.

    ``on_error(labels, exc)``, if given, receives groups that cannot be fitted; otherwise
    the :class:`AnalysisError` propagates (prefixed by the group's labels).
    """
    rng = np.random.default_rng(rng)
    out = []
    skipped: list = []
    for key, pts in points_from_result(result, quantity, by=by, skipped=skipped).items():
        labels = json.loads(key)
        left_out = [reason for k, _, reason in skipped if k == key]
        if len(pts) < 2:
            warnings.warn(f"group {labels}: only {len(pts)} temperature with a resolved {quantity}; "
                          "no Arrhenius fit (needs at least 2)", AnalysisWarning, stacklevel=2)
            continue
        try:
            fit = arrhenius_fit(pts, quantity=quantity, T_target=T_target, ci_prob=ci_prob, rng=rng,
                                force=force, labels=labels)
            fit.notes[:0] = left_out
            out.append(fit)
        except AnalysisError as exc:
            if on_error is None:
                raise AnalysisError(f"group {labels}: {exc}") from None
            on_error(labels, exc)
    return out


def format_arrhenius(fits: list[ArrheniusResult]) -> str:
    """Readable text: one block per group."""
    lines = []
    for f in fits:
        labels = ", ".join(f"{k}={v}" for k, v in f.labels.items()) or "(all runs)"
        ci = f"{f.ci_prob:.0%}"
        lines.append(f"== {labels}   quantity: {f.quantity}   temperatures: {len(f.points)}")
        lines.append(f"   {'T (K)':>8} {'median':>11} {f'{ci} interval':>27}  units")
        for p in f.points:
            lines.append(f"   {p['temperature_K']:8.4g} {p['median']:11.4g} [{p['lower']:11.4g}, "
                         f"{p['upper']:11.4g}]  S/cm")
        e, a, s = f.E_a, f.ln_A, f.sigma_target
        lines.append(f"   E_a        {e.median:11.4g} [{e.lower:11.4g}, {e.upper:11.4g}]  eV")
        lines.append(f"   ln A       {a.median:11.4g} [{a.lower:11.4g}, {a.upper:11.4g}]  ln(S K/cm)")
        tag = " (extrapolated)" if f.extrapolated else ""
        lines.append(f"   σ({f.T_target:g} K) {s.median:11.4g} [{s.lower:11.4g}, {s.upper:11.4g}]  S/cm"
                     f"   ({s.median * 1e3:.4g} mS/cm){tag}")
        c = f.curvature
        if c.get("checked"):
            q = c["quadratic_coefficient"]
            verdict = "CREDIBLE" if c["credible"] else "not credible"
            lines.append(f"   curvature: {verdict} (quadratic coeff. {q['median']:.3g} [{q['lower']:.3g}, "
                         f"{q['upper']:.3g}] eV², {c['prob']:.0%})")
        for n in f.notes:
            lines.append(f"   note: {n}")
        lines.append("")
    return "\n".join(lines)


def _check_quantity(quantity: str) -> None:
    if quantity not in QUANTITIES:
        raise UGKError(f"arrhenius: quantity must be one of {', '.join(QUANTITIES)}; got {quantity!r}")
