"""Analyse a whole campaign: every group (runs sharing all labels but the seed).

>>> from uncertainty_gk.archive import open_archive              # doctest: +SKIP
>>> from uncertainty_gk.analysis import analyse
>>> result = analyse(open_archive("campaign.nc"), method="bayes", rng=0)
>>> result.to_json("results.json")
"""

from __future__ import annotations

import json

import numpy as np

from . import progress
from .conductivity import analyse_group
from .errors import AnalysisError
from .results import AnalysisResult
from .schema import labels_of, package_version, sources_of


def analyse(campaign, *, method: str = "bayes", window=None, ci_prob: float = 0.95, rng=None,
            reference: str = "charge", species: str | None = None, n_steps: int = 2000,
            per_seed: bool = True, group_by_exclude=("seed",), show_progress: bool | None = None,
            on_group_error=None) -> AnalysisResult:
    """σ, σ_tr, H_R and D* with intervals for every group of a :class:`Campaign`.

    Parameters
    ----------
    campaign : Campaign
        From :func:`uncertainty_gk.archive.open_archive` or ``load_runs``.
    method : "bayes" (default), "bootstrap", "block" or "all"
    window : (start_ps, end_ps), optional
        Fit window for every group (default: chosen per group).
    rng : int or numpy Generator
        Makes the analysis reproducible.
    on_group_error : callable(labels, exc), optional
        If given, a group that cannot be analysed is reported through it and skipped;
        otherwise the error propagates.
    """
    rng = np.random.default_rng(rng)
    groups = campaign.groups(exclude=group_by_exclude)
    results = []
    with progress.bar(total=len(groups), desc="analyse", unit="group", enabled=show_progress) as bar:
        for key, members in groups.items():
            labels = json.loads(key)
            try:
                res = analyse_group(members.runs, method=method, window=window, ci_prob=ci_prob, rng=rng,
                                    reference=reference, species=species, n_steps=n_steps, per_seed=per_seed,
                                    labels=labels)
            except AnalysisError as exc:
                if on_group_error is None:
                    raise AnalysisError(f"group {labels}: {exc}") from None
                on_group_error(labels, exc)
                bar.update(1)
                continue
            results.append(res)
            bar.update(1)
    provenance = {
        "uncertainty_gk_version": package_version(),
        "source": campaign.source,
        "parameters": {"method": method, "window": window, "ci_prob": ci_prob, "reference": reference,
                       "species": species, "n_steps": n_steps},
        "inputs": {name: [{"path": s["path"], "sha256": s["sha256"]} for s in sources_of(ds)]
                   for name, ds in campaign.items()},
        "runs": {name: labels_of(ds) for name, ds in campaign.items()},
    }
    return AnalysisResult(groups=results, provenance=provenance)


def format_table(result: AnalysisResult) -> str:
    """A readable text table: one block per group."""
    from .units import S_PER_CM_TO_MS_PER_CM

    lines = []
    for g in result.groups:
        labels = ", ".join(f"{k}={v}" for k, v in g.labels.items()) or "(all runs)"
        win = "-" if not np.isfinite(g.window_ps[0]) else f"{g.window_ps[0]:.3g}-{g.window_ps[1]:.3g} ps"
        lines.append(f"== {labels}   seeds: {g.n_seeds}   window: {win}   method: {g.method}")
        ci = next(iter(g.quantities.values())).ci_prob
        lines.append(f"   {'quantity':<12} {'median':>11} {f'{ci:.0%} interval':>27}  units")
        for key, label in (("sigma", "σ"), ("sigma_tr", "σ_tr"), ("haven_ratio", "H_R"), ("D_tr", "D*")):
            if key not in g.quantities:
                continue
            e = g.quantities[key]
            med = "   < bound" if not np.isfinite(e.median) else f"{e.median:11.4g}"
            extra = ""
            if key in ("sigma", "sigma_tr"):
                extra = f"   ({e.median * S_PER_CM_TO_MS_PER_CM:.4g} mS/cm)" if np.isfinite(e.median) else \
                    f"   (< {e.upper * S_PER_CM_TO_MS_PER_CM:.4g} mS/cm)"
            lines.append(f"   {label:<12} {med} [{e.lower:11.4g}, {e.upper:11.4g}]  {e.units}{extra}")
        h = g.quantities.get("haven_ratio")
        if h is not None and h.note:
            lines.append(f"   H_R: {h.note}")
        for m, q in g.by_method.items():
            if m == g.method:
                continue
            s = q["sigma"]
            lines.append(f"   ({m}: σ {s.median:.4g} [{s.lower:.4g}, {s.upper:.4g}] S/cm, "
                         f"σ_tr {q['sigma_tr'].median:.4g} [{q['sigma_tr'].lower:.4g}, {q['sigma_tr'].upper:.4g}])")
        for s in g.seeds:
            e = s.quantities["sigma"]
            t = s.quantities["sigma_tr"]
            mark = "  <- inconsistent with siblings" if s.flagged else ""
            lines.append(f"   seed {s.labels.get('seed')}: σ {e.median:.4g} [{e.lower:.4g}, {e.upper:.4g}]  "
                         f"σ_tr {t.median:.4g} [{t.lower:.4g}, {t.upper:.4g}] S/cm{mark}")
        if g.heterogeneity:
            het = g.heterogeneity
            lines.append(f"   heterogeneity: σ_tr p = {het['tracer']['p_value']:.3g}, "
                         f"σ p = {het['polarisation']['p_value']:.3g} (Cochran's Q)")
        if g.diagnostics.get("converged") is False:
            lines.append("   warning: MCMC did not converge (see diagnostics in --json)")
        for n in g.notes:
            lines.append(f"   note: {n}")
        lines.append("")
    return "\n".join(lines)
