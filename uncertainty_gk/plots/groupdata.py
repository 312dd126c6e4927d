r"""What the figures draw, read from an :class:`~uncertainty_gk.results.AnalysisResult`
without recomputing anything (and without matplotlib).

* :func:`resolve_group` / :func:`group_seeds`: a group of a result and its seeds' MSD
  curves as the analysis stored them (``GroupResult.curves``: each run cut to the
  trusted segment it used), with legend labels from ``GroupResult.run_status``.
* :func:`line_band`: the pooled tracer or polarisation line with a pointwise central
  band from the stored joint line draws (``GroupResult.lines``).
* :func:`seed_average` and :func:`line_versus_seeds`: the plain mean of the seed curves,
  and whether the pooled line runs below (or above) every seed curve over most of the
  fit window, which the MSD figure and its caption then explain.
* :func:`running_estimates`: σ_tr and σ on growing windows (``GroupResult.running``,
  computed by :mod:`uncertainty_gk.estimators.running`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UGKError
from .style import label_text, pointwise_band

__all__ = ["SeedCurve", "LineBand", "LinePosition", "RunningEstimates", "MOST_OF_WINDOW", "resolve_group",
           "group_seeds", "line_band", "seed_average", "line_versus_seeds", "running_estimates"]

#: "Most of the window": the pooled line is called below (above) every seed curve when it is so
#: on more than this fraction of the seeds' lags inside the fit window.
MOST_OF_WINDOW = 0.5


@dataclass
class SeedCurve:
    """One run of a group as the figures see it (MSDs in Å² on the stored lag grid)."""

    name: str
    label: str                      # legend text, e.g. "seed 2 (truncated at 31.4 ps)"
    lag_ps: np.ndarray
    msd_tr: np.ndarray
    msd_P_per_ion: np.ndarray       # ⟨|ΔP|²⟩/(N q²)
    duration_ps: float
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
    source: str                     # how the draws were made (GroupResult.lines["source"])
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


def group_seeds(result, group) -> tuple[object, list[SeedCurve]]:
    """The GroupResult and its seeds' stored MSD curves, labelled by what diagnostics did."""
    g = resolve_group(result, group)
    stored = (g.curves or {}).get("seeds", {})
    if not stored:
        raise UGKError(f"group {label_text(g.labels)}: the result holds no MSD curves (written by an older "
                       "version?); rerun `ugk analyze`")
    records = {r.get("run"): r for r in g.run_status}
    curves = []
    for name, c in stored.items():
        rec = records.get(name, {})
        action = rec.get("action", "kept")
        sid = rec.get("labels", {}).get("seed", name)
        label = f"seed {sid}"
        until = rec.get("trusted_until_ps")
        if action == "truncated" and until is not None:
            label += f" (truncated at {until:.3g} ps)"
        elif str(action).startswith("included"):
            label += " (flagged, included)"
        if not c.get("in_fit", True):
            label += " (not in fit)"
        curves.append(SeedCurve(name=name, label=label, lag_ps=np.asarray(c["lag_ps"], dtype=float),
                                msd_tr=np.asarray(c["msd_tr"], dtype=float),
                                msd_P_per_ion=np.asarray(c["msd_P_per_ion"], dtype=float),
                                duration_ps=float(c["duration_ps"]), action=action, in_fit=c.get("in_fit", True),
                                trusted_until_ps=until if action == "truncated" else None))
    return g, curves


def line_band(g, t, which: str = "tr", *, ci_prob: float | None = None, max_draws: int = 400) -> LineBand | None:
    """Pooled line of the tracer MSD (``"tr"``, Å²) or the polarisation MSD per mobile ion
    (``"P"``, ⟨|ΔP|²⟩/(N q²), Å²) on lags ``t`` (ps), with a pointwise central band.

    None when the group has no fitted line (no diffusion detected).
    """
    lines = g.lines or {}
    if not g.diffusion_detected or "slope_tr" not in lines:
        return None
    ci = ci_prob if ci_prob is not None else next(iter(g.quantities.values())).ci_prob
    t = np.asarray(t, dtype=float)
    q = g.charges.get(g.species, np.nan) if g.charges else np.nan
    f = 1.0 if which == "tr" else g.volume_A3 / (g.n_mobile * q ** 2)
    ks, kc = ("slope_tr", "intercept_tr") if which == "tr" else ("slope_P_per_volume", "intercept_P_per_volume")
    m = np.asarray(lines[ks], dtype=float)[:max_draws] * f
    c = np.asarray(lines[kc], dtype=float)[:max_draws] * f
    y = m[:, None] * t[None, :] + c[:, None]
    lo, med, hi = pointwise_band(y, ci)
    return LineBand(t, med, lo, hi, float(np.median(m)), lines.get("source", "joint draws"), ci)


def _curve_y(c: SeedCurve, which: str) -> np.ndarray:
    return c.msd_tr if which == "tr" else c.msd_P_per_ion


def seed_average(curves, which: str = "tr") -> tuple[np.ndarray, np.ndarray] | None:
    """(lags, mean MSD) of the seeds in the fit (all seeds if none is), unweighted, on the lags
    every one of them reaches (the shortest curve's grid; others interpolated onto it).

    None with fewer than two curves (the mean would be the curve itself).
    """
    use = [c for c in curves if c.in_fit] or list(curves)
    if len(use) < 2:
        return None
    shortest = min(use, key=lambda c: float(c.lag_ps[-1]))
    t = shortest.lag_ps
    ys = [np.interp(t, c.lag_ps, _curve_y(c, which)) for c in use]
    return t, np.mean(ys, axis=0)


@dataclass
class LinePosition:
    """Where the pooled line runs against the seed curves inside the fit window.

    ``side`` is ``"below"`` (``"above"``) when the line is below (above) every seed curve
    on more than :data:`MOST_OF_WINDOW` of the seeds' lags in the window, else None;
    ``fraction_below`` / ``fraction_above`` are those fractions.
    """

    side: str | None
    fraction_below: float
    fraction_above: float

    @property
    def fraction(self) -> float:
        return self.fraction_below if self.side == "below" else self.fraction_above if self.side == "above" else 0.0


def line_versus_seeds(band: LineBand | None, curves, which: str, window_ps) -> LinePosition:
    """Is the pooled line (``band.median``) below or above every seed curve over most of the window?

    At every stored lag inside ``window_ps`` that some seed in the fit reaches, the line is
    compared with the lowest and the highest of those seeds' curves.  A GLS or posterior
    line can lie below all of them on real MD: neighbouring lags are strongly correlated,
    the fit weights the lags by their modelled covariance (the early, least noisy lags
    most) and fits an intercept, so it need not pass through the curves.
    """
    none = LinePosition(None, 0.0, 0.0)
    use = [c for c in curves if c.in_fit] or list(curves)
    if band is None or not use or not np.all(np.isfinite(window_ps)):
        return none
    lo_w, hi_w = (float(w) for w in window_ps)
    t = np.unique(np.concatenate([c.lag_ps[(c.lag_ps >= lo_w) & (c.lag_ps <= hi_w)] for c in use]))
    if t.size == 0:
        return none
    line = np.interp(t, band.t, band.median)
    lowest = np.full(t.size, np.inf)
    highest = np.full(t.size, -np.inf)
    for c in use:
        reach = t <= float(c.lag_ps[-1])
        y = np.interp(t, c.lag_ps, _curve_y(c, which))
        lowest = np.where(reach, np.minimum(lowest, y), lowest)
        highest = np.where(reach, np.maximum(highest, y), highest)
    ok = np.isfinite(lowest) & np.isfinite(line)
    if not ok.any():
        return none
    below = float(np.mean(line[ok] < lowest[ok]))
    above = float(np.mean(line[ok] > highest[ok]))
    side = "below" if below > MOST_OF_WINDOW else "above" if above > MOST_OF_WINDOW else None
    return LinePosition(side, below, above)


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
    seeds: list


def running_estimates(g) -> RunningEstimates:
    """The running estimates stored in a GroupResult."""
    r = g.running or {}
    if not r:
        raise UGKError(f"group {label_text(g.labels)}: no running estimates in the result (no fit window, or "
                       "written by an older version)")

    def arr(x):
        return np.asarray([np.nan if v is None else v for v in x], dtype=float)

    return RunningEstimates(arr(r["t_max_ps"]), {q: np.array([arr(row) for row in v]) for q, v in r["per_seed"].items()},
                            {q: arr(v) for q, v in r["pooled"].items()},
                            {q: arr(v) for q, v in r["half_width"].items()}, float(r["start_ps"]),
                            float(r["window_end_ps"]), float(r["ci_prob"]), list(r["seeds"]))
