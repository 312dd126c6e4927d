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


#: A trusted segment shorter than this fraction of its run, or than MIN_TRUSTED_FRAMES
#: frames, drops the run from the analysis instead of truncating it.
MIN_TRUSTED_FRAMES = 20


def screen_runs(campaign, *, include_flagged: bool = False, training=None, show_progress: bool | None = None,
                margin_ps: float = 1.0, diagnoses: dict | None = None, **thresholds):
    """Diagnose every run; keep the trusted segment of failed runs, drop unusable ones.

    ``diagnoses`` (run name -> :class:`~uncertainty_gk.diagnostics.RunDiagnosis`) reuses
    verdicts made before, e.g. by ``ugk report``; runs without one are diagnosed here.

    Returns ``(runs, records)``: a mapping name -> Dataset (possibly truncated) and,
    per run, ``{"run", "labels", "status", "first_flag_time_ps", "trusted_until_ps",
    "action", "flags"}`` with action ``kept``, ``truncated``, ``dropped`` or
    ``included (--include-flagged)``.
    """
    from .diagnostics import diagnose

    runs, records = {}, []
    with progress.bar(total=len(campaign), desc="diagnose", unit="run", enabled=show_progress) as bar:
        for name, ds in campaign.items():
            if ds.attrs.get("reader") == "synthetic":
                # known-answer point walkers overlap by construction; nothing to diagnose
                records.append({"run": name, "labels": labels_of(ds), "status": "not diagnosed (synthetic)",
                                "first_flag_time_ps": None, "trusted_until_ps": None, "flags": [],
                                "action": "kept"})
                runs[name] = ds
                bar.update(1)
                continue
            d = (diagnoses or {}).get(name)
            if d is None:
                d = diagnose(ds, training=training, margin_ps=margin_ps, **thresholds)
            rec = {"run": name, "labels": labels_of(ds), "status": d.status,
                   "first_flag_time_ps": d.first_flag_time_ps, "trusted_until_ps": d.trusted_until_ps,
                   "flags": [f.to_dict() for f in d.flags]}
            if d.status != "failed":
                rec["action"] = "kept"
                runs[name] = ds
            elif include_flagged:
                rec["action"] = "included (--include-flagged)"
                runs[name] = ds
            else:
                part = d.trusted(ds)
                n = int(part.sizes["time"])
                if n < MIN_TRUSTED_FRAMES:
                    rec["action"] = "dropped"
                else:
                    rec["action"] = "truncated"
                    runs[name] = part
            records.append(rec)
            bar.update(1)
    return runs, records


def analyse(campaign, *, method: str = "bayes", window=None, ci_prob: float = 0.95, rng=None,
            reference: str = "charge", species: str | None = None, n_steps: int = 2000,
            per_seed: bool = True, group_by_exclude=("seed",), show_progress: bool | None = None,
            on_group_error=None, trusted_only: bool = True, training=None,
            diagnose_thresholds: dict | None = None, diagnoses: dict | None = None) -> AnalysisResult:
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
    trusted_only : bool
        Diagnose every run first (:func:`uncertainty_gk.diagnostics.diagnose`) and use
        only trusted segments: failed runs are truncated before their first failure,
        or dropped when too little is left.  ``False`` (``--include-flagged``)
        analyses everything but still reports the flags.
    training, diagnose_thresholds
        Passed to ``diagnose`` (the MLIP training set; thresholds and ``margin_ps``).
    diagnoses : dict, optional
        Run name -> ``RunDiagnosis`` already made with the same settings (they are
        used as given, not checked against ``diagnose_thresholds``); the other runs are
        diagnosed here.
    """
    from .campaign import Campaign

    rng = np.random.default_rng(rng)
    runs, records = screen_runs(campaign, include_flagged=not trusted_only, training=training,
                                show_progress=show_progress, diagnoses=diagnoses, **(diagnose_thresholds or {}))
    by_run = {r["run"]: r for r in records}
    if not runs:
        raise AnalysisError("every run failed its diagnostics and none has a usable trusted segment "
                            "(see `ugk diagnose`); --include-flagged analyses them anyway")
    screened = Campaign(runs, attrs=campaign.attrs, source=campaign.source)
    groups = screened.groups(exclude=group_by_exclude)
    results = []
    with progress.bar(total=len(groups), desc="analyse", unit="group", enabled=show_progress) as bar:
        for key, members in groups.items():
            labels = json.loads(key)
            try:
                res = analyse_group(members.runs, method=method, window=window, ci_prob=ci_prob, rng=rng,
                                    reference=reference, species=species, n_steps=n_steps, per_seed=per_seed,
                                    labels=labels, show_progress=show_progress)
            except AnalysisError as exc:
                if on_group_error is None:
                    raise AnalysisError(f"group {labels}: {exc}") from None
                on_group_error(labels, exc)
                bar.update(1)
                continue
            res.run_status = [by_run[n] for n in members]
            for n in members:
                r = by_run[n]
                if r["action"] == "truncated":
                    res.notes.append(f"run {n} failed its diagnostics at {r['first_flag_time_ps']:.4g} ps; "
                                     f"only its trusted segment (to {r['trusted_until_ps']:.4g} ps) is used")
                elif r["action"].startswith("included"):
                    res.notes.append(f"run {n} failed its diagnostics at {r['first_flag_time_ps']:.4g} ps "
                                     "but is included in full (--include-flagged)")
            results.append(res)
            bar.update(1)
    dropped = [r for r in records if r["action"] == "dropped"]
    provenance = {
        "diagnostics": records,
        "dropped_runs": [r["run"] for r in dropped],
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
    for r in result.provenance.get("diagnostics", []):
        if r["action"] == "dropped":
            lines.append(f"!! run {r['run']} dropped: it failed its diagnostics at "
                         f"{r['first_flag_time_ps']:.4g} ps, leaving no usable trusted segment (see ugk diagnose)")
    if lines:
        lines.append("")
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
            if not np.isfinite(e.median):
                bound = f"< {e.upper:.4g}" if np.isfinite(e.upper) else f"> {e.lower:.4g}"
                lines.append(f"   {label:<12} {bound:>11} {'(bound only)':>27}  {e.units}")
                continue
            med = f"{e.median:11.4g}"
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
            if not g.diffusion_detected:
                break
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
