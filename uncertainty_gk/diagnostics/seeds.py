"""Across-seed check: a seed whose σ_tr or σ is inconsistent with its siblings.

A failing potential does not always leave a local signature: a run can stay at the
right temperature with intact polyhedra and still diffuse too fast (the shared
``bad_C1`` run: Li MSD 3× that of the clean seeds).  Replicas of one system (runs
sharing every label but the seed) must agree within their statistical errors, so a
seed that does not is suspicious.

:func:`check_seed_consistency` uses the estimators' own heterogeneity statistic
(:func:`uncertainty_gk.estimators.heterogeneity.heterogeneity`), on the **trusted segments** of
the runs, from the same :class:`~uncertainty_gk.estimators.GroupData` the analysis builds: common
fit window of the pooled tracer MSD, per-seed GLS slopes of the tracer MSD (∝ D*, σ_tr)
and of the polarisation MSD (∝ σ) with their modelled variances evaluated at the pooled
GLS fit, and per seed a leave-one-out z against its siblings (their median for ≥ 3
siblings).  A seed is flagged when the two-sided p-value of either z is below
``alpha / n_seeds`` (Bonferroni over the seeds of the group).  The flag is a
``warning`` (check ``seed_inconsistent``, subject ``tracer`` or ``polarisation``): it
says the seed disagrees, not where it broke, so it does not shorten the trusted
segment.  When the whole group scatters beyond the model (Cochran's Q p < 0.05 with a
sibling |z| > 2, e.g. short AIMD runs with non-Gaussian hops), the message says so:
the flagged seed may then be the tail of an ordinary overdispersion.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np

from ..campaign import group_key
from ..errors import UGKError
from ..schema import labels_of
from ..settings import AnalysisSettings
from .flags import Flag, RunDiagnosis

__all__ = ["check_seed_consistency", "seed_flags_from_result", "apply_seed_flags", "SEED_CHECK_DEFAULTS"]

#: Defaults of :func:`check_seed_consistency` (echoed in its ``info`` output).
SEED_CHECK_DEFAULTS = {"alpha": 0.01, "min_frames": 20}

_QUANTITY = {"tracer": "tracer MSD slope (D*, σ_tr)", "polarisation": "polarisation MSD slope (σ)"}


def check_seed_consistency(runs: Mapping, diagnoses: Mapping[str, RunDiagnosis] | None = None, *,
                           alpha: float = 0.01, settings: AnalysisSettings | None = None,
                           min_frames: int = 20) -> tuple[dict[str, list[Flag]], list[dict]]:
    """Flag seeds inconsistent with their siblings (σ_tr or σ), per group of ≥ 2 seeds.

    Parameters
    ----------
    runs : mapping name -> trajectory Dataset (a Campaign)
    diagnoses : mapping name -> RunDiagnosis, optional
        When given, each run is cut to its trusted segment first (``RunDiagnosis.trusted``);
        a run with fewer than ``min_frames`` trusted frames is left out of its group.
    alpha : float
        Family-wise level per group; a seed is flagged when p < alpha / n_seeds.
    settings : AnalysisSettings
        Window, lags, reference, species and grouping, as for the analysis (default settings).

    Returns
    -------
    flags : dict name -> list of Flag
        ``seed_inconsistent`` warnings (empty lists for consistent seeds).
    groups : list of dict
        Per group: labels, seeds used, fit window, Cochran's Q p-values, per-seed z and
        p-values, or ``skipped`` with the reason (one seed, no diffusion, ...).
    """
    from ..estimators.data import build_group_data

    st = settings or AnalysisSettings()
    st = st if st.seed is not None else st.replace(seed=0)   # no randomness is used here
    by_group: dict[str, dict] = {}
    for name, ds in runs.items():
        by_group.setdefault(group_key(labels_of(ds), st.group_by_exclude), {})[name] = ds
    flags: dict[str, list[Flag]] = {name: [] for name in runs}
    groups: list[dict] = []
    for key, members in by_group.items():
        info: dict = {"labels": json.loads(key), "runs": sorted(members), "alpha": alpha}
        groups.append(info)
        used = {}
        for name, ds in members.items():
            d = diagnoses.get(name) if diagnoses is not None else None
            part = d.trusted(ds) if d is not None else ds
            if int(part.sizes["time"]) >= min_frames:
                used[name] = part
        info["seeds_used"] = sorted(used)
        if len(used) < 2:
            info["skipped"] = f"{len(used)} seed(s) with ≥ {min_frames} trusted frames"
            continue
        try:
            data = build_group_data(used, st, show_warnings=False)
        except UGKError as exc:   # a group that cannot be analysed is reported, not fatal
            info["skipped"] = f"{type(exc).__name__}: {exc}"
            continue
        if not data.diffusive:
            info["skipped"] = "no long-range diffusion detected"
            continue
        if len(data.seeds) < 2:
            info["skipped"] = "fewer than 2 seeds long enough for the common fit window"
            continue
        seeds, het, win = data.seeds, data.heterogeneity, data.window
        info["window_ps"] = win.as_list()
        info["cochran_p"] = {k: het[k]["p_value"] for k in ("tracer", "polarisation") if k in het}
        info["per_seed"] = het["per_seed"]
        ends = {s.name: float(s.ds["time"].values[-1]) for s in seeds}
        for name, fl in _group_flags(het, ends, tuple(win.as_list()), alpha).items():
            flags[name].extend(fl)
    return flags, groups


def _group_flags(het: dict, ends: Mapping[str, float], window_ps: tuple, alpha: float) -> dict[str, list[Flag]]:
    """``seed_inconsistent`` warnings of one group from its heterogeneity statistics."""
    n = len(ends)
    z_crit = float(_z_two_sided(alpha / n))
    out: dict[str, list[Flag]] = {name: [] for name in ends}
    for name, end in ends.items():
        for quantity, res in het.get("per_seed", {}).get(name, {}).items():
            if not res["p_value"] < alpha / n:
                continue
            q = het.get(quantity, {})
            others = [v[quantity]["z"] for nm, v in het["per_seed"].items() if nm != name and quantity in v]
            spread = ""
            if q.get("p_value", 1.0) < 0.05 and others and np.max(np.abs(others)) > 2.0:
                spread = (f"; note that the group as a whole scatters beyond the model (Cochran's Q p = "
                          f"{q['p_value']:.2g}, I² = {q['I2']:.2f}, sibling |z| up to {np.max(np.abs(others)):.1f}): "
                          "this seed may be the tail of an ordinary overdispersion rather than a broken run")
            out[name].append(Flag(
                check="seed_inconsistent", time_ps=math.nan, value=float(res["z"]),
                threshold=math.copysign(z_crit, res["z"]), severity="warning", subject=quantity,
                message=(f"the {_QUANTITY[quantity]} of this seed is inconsistent with its {n - 1} sibling(s): "
                         f"z = {res['z']:+.2f} (p = {res['p_value']:.2g} < alpha/n = {alpha:g}/{n}; leave-one-out "
                         f"against the siblings' {'median' if n - 1 >= 3 else 'mean'}, fit window "
                         f"{window_ps[0]:.3g}-{window_ps[1]:.3g} ps, trusted segment up to {end:.4g} ps): "
                         "check this run for a silently failing potential" + spread)))
    return out


def seed_flags_from_result(result, alpha: float = 0.01) -> dict[str, list[Flag]]:
    """The across-seed warnings implied by an analysis result: the same statistic as
    :func:`check_seed_consistency`, read from each group's stored heterogeneity (nothing is
    recomputed)."""
    flags: dict[str, list[Flag]] = {}
    for g in result.groups:
        if not g.heterogeneity or not g.fitted_lags_ps:
            continue
        ends = {name: float(max(c.get("duration_ps", np.nan), 0.0))
                for name, c in (g.curves or {}).get("seeds", {}).items() if name in g.fitted_lags_ps}
        for name, fl in _group_flags(g.heterogeneity, ends, tuple(g.window_ps), alpha).items():
            flags.setdefault(name, []).extend(fl)
    return flags


def _z_two_sided(p: float) -> float:
    from scipy import stats

    return float(stats.norm.isf(p / 2.0))


def apply_seed_flags(diagnoses: Mapping[str, RunDiagnosis], flags: Mapping[str, list[Flag]]) -> None:
    """Add the ``seed_inconsistent`` warnings to the diagnoses (status at least ``warning``), in place."""
    for name, fl in flags.items():
        if fl and name in diagnoses:
            diagnoses[name].add_flags(fl)
