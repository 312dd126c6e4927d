r"""What the figures draw, read from an :class:`~uncertainty_gk.results.AnalysisResult`
without recomputing anything (and without matplotlib).

* :func:`resolve_group` / :func:`group_seeds`: a group of a result and its seeds' MSD
  curves as the analysis stored them (``GroupResult.curves``: each run cut to the
  trusted segment it used), with legend labels from ``GroupResult.run_status``.
* :func:`line_band`: the pooled tracer or polarisation line with a pointwise central
  band from the stored joint line draws (``GroupResult.lines``).
* :func:`running_estimates`: σ_tr and σ on growing windows (``GroupResult.running``,
  computed by :mod:`uncertainty_gk.estimators.running`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UGKError
from .style import label_text, pointwise_band

__all__ = ["SeedCurve", "LineBand", "RunningEstimates", "resolve_group", "group_seeds", "line_band",
           "running_estimates"]


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
