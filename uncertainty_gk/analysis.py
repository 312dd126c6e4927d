"""The analysis core: every group of a campaign, prepared once, fitted by registered estimators.

>>> import uncertainty_gk as ugk                                   # doctest: +SKIP
>>> camp = ugk.open_archive("campaign.nc")
>>> result = ugk.analyse(camp, ugk.AnalysisSettings(seed=0))    # screened by diagnostics first
>>> ugk.save_results(result, "results.nc")

This module is the core below the diagnostics: :func:`analyse_runs` analyses the runs it
is given (already cut to their trusted segments by :func:`uncertainty_gk.pipeline.analyse`,
which diagnoses them first).  For each group it builds one
:class:`~uncertainty_gk.estimators.GroupData` (:func:`~uncertainty_gk.estimators.build_group_data`),
runs the estimators named by the settings on it, each with its own random stream
spawned from the root seed and the group key, and returns a
:class:`~uncertainty_gk.results.GroupResult` carrying everything it was computed from.
A group's numbers therefore do not depend on the other groups or on the execution order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np

from .campaign import Campaign, group_key
from .conductivity import QUANTITIES
from .errors import AnalysisError
from .estimators import available, build_group_data, create
from .estimators.baselines import ols_wls_gls
from .estimators.bayes import BayesEstimator
from .estimators.data import GroupData
from .estimators.heterogeneity import pooled_gls
from .estimators.running import running_estimates
from .estimators.spectral import regime_checks_line
from .execution import TaskFailure, map_tasks
from .results import QUANTITY_UNITS, AnalysisResult, Estimate, GroupResult, SeedResult
from .schema import labels_of, package_version, sources_of
from .settings import DEFAULT_METHOD, AnalysisSettings

__all__ = ["analyse_runs", "analyse_group", "cut_to_trusted", "estimates_from_draws", "format_table", "MAX_CURVE_POINTS",
           "MAX_LINE_DRAWS"]

#: Points per stored MSD curve (log-spaced and evenly spaced lags, plus every fitted lag).
MAX_CURVE_POINTS = 240
#: Stored MSD curves reach this fraction of each seed's length (beyond it few origins remain).
CURVE_FRACTION = 0.5
#: Joint line-parameter draws kept for figures.
MAX_LINE_DRAWS = 400


def _thin(n: int, k: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int)) if n else np.zeros(0, dtype=int)


def estimates_from_draws(phys: dict, *, ci_prob: float, method: str, regime: str = "diffusive"
                         ) -> dict[str, Estimate]:
    """Estimates of every quantity from (chain, draw) arrays, with MCSEs, and the H_R verdict."""
    out = {}
    for k in QUANTITIES:
        chains = np.atleast_2d(phys[k])
        out[k] = Estimate.from_samples(chains.reshape(-1), ci_prob=ci_prob, units=QUANTITY_UNITS[k], method=method,
                                       chains=chains)
        out[k].regime = regime
    h = out["haven_ratio"]
    h.note = "interval includes 1 (uncorrelated hopping not excluded)" if h.lower <= 1 <= h.upper else \
        "interval excludes 1 (correlated ion motion)"
    return out


def _mark_unresolved(q: dict[str, Estimate], z: float) -> None:
    """σ not resolved from zero: report only its upper bound, and only a lower bound of H_R.

    The upper bound is the posterior's upper quantile; a median or lower bound would
    suggest a precision the data do not have.  It is the upper end of the central
    interval, i.e. a one-sided bound at probability (1 + ci_prob)/2, and says so.
    """
    sig, hr = q["sigma"], q["haven_ratio"]
    one_sided = (1 + sig.ci_prob) / 2
    q["sigma"] = Estimate(median=float("nan"), lower=0.0, upper=sig.upper, ci_prob=sig.ci_prob, units=sig.units,
                          method=sig.method, samples=sig.samples, mcse={"upper": sig.mcse.get("upper", np.nan)},
                          regime=sig.regime,
                          note=f"not resolved from zero (pooled GLS z = {z:.2f}): upper bound only "
                               f"(one-sided {one_sided:.1%} bound)")
    q["haven_ratio"] = Estimate(median=float("nan"), lower=hr.lower, upper=float("inf"), ci_prob=hr.ci_prob,
                                units=hr.units, method=hr.method, samples=hr.samples,
                                mcse={"lower": hr.mcse.get("lower", np.nan)}, regime=hr.regime,
                                note=f"σ not resolved (z = {z:.2f}): lower bound only (one-sided {one_sided:.1%} bound)")


def _no_diffusion_result(data: GroupData) -> GroupResult:
    """Upper bounds when no long-range diffusion is detected: MSD(t)/(6t) at the last usable lag."""
    st = data.settings
    seeds = data.seeds
    k = int(round(data.no_diffusion_end_ps / seeds[0].dt_ps))
    k = max(1, min(k, min(s.n_frames for s in seeds) - 1))
    t = k * seeds[0].dt_ps
    slope_tr = max(float(np.max([s.msd_tr[k] for s in seeds])), 0.0) / t
    rho = max(float(np.max([s.msd_P[k] / s.volume for s in seeds])), 0.0) / t
    phys = data.physical({"slope_tr": np.array([slope_tr]), "slope_P_per_volume": np.array([rho])})
    note = f"no long-range diffusion detected; upper bound MSD({t:g} ps)/(6·{t:g} ps), largest over seeds"
    q = {key: Estimate(median=float("nan"), lower=0.0, upper=float(phys[key][0]), ci_prob=st.ci_prob,
                       units=QUANTITY_UNITS[key], method="upper_bound", note=note, regime="not diffusive")
         for key in ("sigma", "sigma_tr", "D_tr")}
    res = _base_result(data, "upper_bound", q)
    res.window_ps = [float("nan"), float(data.no_diffusion_end_ps)]
    res.diffusion_detected = False
    res.notes.append(f"no long-range diffusion detected: the tracer MSD grows by only {data.growth_A2:.3g} Å² over "
                     f"the usable lags (threshold {st.no_diffusion_msd_A2:g} Å²); upper bounds given")
    return res


def _base_result(data: GroupData, method: str, quantities: dict) -> GroupResult:
    s0 = data.seeds[0]
    return GroupResult(labels=data.labels, n_seeds=len(data.seeds),
                       window_ps=data.window.as_list() if data.window else [float("nan"), float("nan")],
                       method=method, quantities=quantities, notes=list(data.notes),
                       window_reason=data.window.reason if data.window else "", key=data.key,
                       fitted_lags_ps=data.fitted_lags_ps(), temperature_K=data.temperature_K,
                       temperature_source=data.temperature_source, charges=data.charges, species=s0.species,
                       n_mobile=s0.n_mobile, volume_A3=data.volume_A3, curves=_curves(data))


def _curves(data: GroupData) -> dict:
    """Per-seed tracer MSD and polarisation MSD per mobile ion (⟨|ΔP|²⟩/(N q²)) on a thinned lag grid."""
    out: dict = {"units": {"lag_ps": "ps", "msd_tr": "Å^2", "msd_P_per_ion": "Å^2"}, "seeds": {}}
    fitted = {s.name: set(s.lags.tolist()) for s in data.series}
    for s in data.seeds:
        n = len(s.lag_ps)
        top = max(1, min(n - 1, int(CURVE_FRACTION * (s.n_frames - 1))))
        grid = np.unique(np.concatenate([np.geomspace(1, top, MAX_CURVE_POINTS // 2).round().astype(int),
                                         np.linspace(1, top, MAX_CURVE_POINTS // 2).round().astype(int),
                                         sorted(fitted.get(s.name, ()))])).astype(int)
        grid = grid[(grid >= 1) & (grid <= top)]
        norm = s.n_mobile * s.charge ** 2
        out["seeds"][s.name] = {"lag_ps": [0.0, *(grid * s.dt_ps).tolist()],
                                "msd_tr": [0.0, *s.msd_tr[grid].tolist()],
                                "msd_P_per_ion": [0.0, *(s.msd_P[grid] / norm).tolist()],
                                "duration_ps": s.duration_ps, "in_fit": s.name in fitted}
    return out


def _lines(data: GroupData, draws: dict, rng: np.random.Generator) -> dict:
    """Thinned joint draws of the fitted lines; intercepts from the pooled GLS fit when the
    method gives only slopes."""
    flat = {k: np.asarray(v).reshape(-1) for k, v in draws.items()}
    idx = np.sort(rng.choice(flat["slope_tr"].size, size=min(MAX_LINE_DRAWS, flat["slope_tr"].size), replace=False))
    out: dict = {"source": "joint draws", "units": {"slope_tr": "Å^2/ps", "intercept_tr": "Å^2",
                                                   "slope_P_per_volume": "e^2 Å^2/ps/Å^3",
                                                   "intercept_P_per_volume": "e^2 Å^2/Å^3"}}
    gls = pooled_gls(list(data.summaries))
    for k, j in (("slope_tr", 0), ("intercept_tr", 1), ("slope_P_per_volume", 2), ("intercept_P_per_volume", 3)):
        if k in flat:
            out[k] = flat[k][idx].tolist()
        else:
            out[k] = [float(gls[j])] * idx.size
            out["source"] = "slope draws with the pooled GLS intercept"
    return out


def analyse_group(data, settings: AnalysisSettings | None = None, *, labels: dict | None = None,
                  show_progress: bool | None = None, methods: list[str] | None = None) -> GroupResult:
    """σ, σ_tr, H_R and D* of one group.

    ``data`` is a :class:`~uncertainty_gk.estimators.GroupData`, or the group's runs (a
    mapping name -> Dataset or a list), which are then prepared with ``settings``
    (default ``AnalysisSettings()`` with a fresh recorded seed).  ``methods``: the estimators
    to run (default: ``settings.method``, with ``"all"`` meaning every registered interval
    estimator, the default one first); the first is the headline.
    """
    if not isinstance(data, GroupData):
        data = build_group_data(data, (settings or AnalysisSettings()).resolved(), labels=labels)
    elif settings is not None and settings != data.settings:
        raise ValueError("analyse_group: the GroupData was prepared with other settings; rebuild it")
    st = data.settings
    if not data.diffusive:
        return _no_diffusion_result(data)
    methods = methods or _methods_of(st)
    window_regime = "provisional" if data.window is not None and data.window.provisional else "diffusive"
    _, _, slope_z = _pooled(data)
    by_method: dict[str, dict[str, Estimate]] = {}
    draws: dict[str, dict] = {}
    diagnostics: dict = {"kappa_times_N": [s.kappa * s.n_mobile for s in data.series],
                         "chi_times_N": [s.chi * s.n_mobile for s in data.series], "n_lags": int(len(data.lags)),
                         "slope_z": slope_z, "convergence": {}}
    notes: list[str] = []
    lines: dict = {}
    for m in methods:
        est = create(m, st)
        if show_progress is not None and hasattr(est, "show_progress"):
            est.show_progress = show_progress
        js = est.fit(data, data.rng(m))
        phys = data.physical(js.draws)
        regime = js.regime or window_regime
        if m == methods[0]:
            headline_regime, headline_seeds = regime, js.per_seed
            headline_het = js.info.get("heterogeneity")
        by_method[m] = estimates_from_draws(phys, ci_prob=st.ci_prob, method=m, regime=regime)
        if js.efficiency:
            diagnostics.setdefault("efficiency", {})[m] = js.efficiency
        if js.info.get("principal_values"):
            diagnostics.setdefault("principal_values", {})[m] = js.info["principal_values"]
        if js.info.get("regime_checks"):
            diagnostics.setdefault("regime_checks", {})[m] = js.info["regime_checks"]
        if js.regime == "provisional" and js.info.get("regime_reason"):
            diagnostics.setdefault("regime_reason", {})[m] = js.info["regime_reason"]
            notes.append(f"{m}: provisional: {js.info['regime_reason']}")
        draws[m] = {**phys, **js.draws}
        diagnostics["convergence"][m] = js.convergence
        if js.convergence.get("converged") is False:
            notes.append(f"{m}: {js.convergence.get('message', 'did not converge')}")
        if m == methods[0]:
            diagnostics.update({k: js.convergence[k] for k in ("rhat", "ess", "converged", "acceptance")
                                if k in js.convergence})
            lines = _lines(data, js.draws, data.rng(f"lines {m}"))
        if slope_z["polarisation"] < st.resolved_z:
            _mark_unresolved(by_method[m], slope_z["polarisation"])
    if slope_z["polarisation"] < st.resolved_z:
        notes.append(f"σ is not resolved from zero (pooled polarisation slope z = {slope_z['polarisation']:.2f} < "
                     f"{st.resolved_z:g}): read σ as an upper bound and H_R as a lower bound; run longer or more seeds")
    if headline_regime == "provisional" and window_regime == "provisional":
        notes.append("the estimates are provisional: the MSD is not clearly linear in the window "
                     "(see window_reason); run longer")
    res = _base_result(data, methods[0], by_method[methods[0]])
    if headline_seeds:
        res.n_seeds = len(headline_seeds)          # e.g. spectral: every seed, window or not
    res.by_method = by_method if len(by_method) > 1 else {}
    res.heterogeneity = data.heterogeneity
    if headline_het:
        diagnostics["seed_consistency"] = {methods[0]: headline_het}
    res.diagnostics = diagnostics
    res.draws = draws
    res.lines = lines
    res.notes.extend(notes)
    if st.per_seed:
        res.seeds = _per_seed(data, notes=res.notes, method=methods[0], own=headline_seeds, regime=headline_regime,
                              het=headline_het)
    res.baselines = ols_wls_gls(data, ci_prob=st.ci_prob)
    res.running = running_estimates(data)
    return res


def _methods_of(st: AnalysisSettings) -> list[str]:
    """The estimators a setting asks for; with ``"all"``, every interval estimator with the
    default one first (it is the headline)."""
    if st.method != "all":
        return [st.method]
    return sorted(available("interval"), key=lambda m: m != DEFAULT_METHOD)


def _pooled(data: GroupData):
    from .estimators.heterogeneity import pooled_start

    return pooled_start(list(data.summaries))


def _per_seed(data: GroupData, *, notes: list[str], method: str, own: dict, regime: str,
              het: dict | None = None) -> list[SeedResult]:
    """Each seed alone: its values, convergence and consistency.

    When the headline estimator gives each seed's own draws as a by-product (``own``,
    e.g. the spectral estimator: each seed's level on the group's spectral shape), those
    are reported, for every seed it used, and the consistency z-scores are its own
    (``het``); otherwise each seed is fitted alone by the Bayesian regression (shorter
    chains) on its fitted lags, and the z-scores are those of the MSD fits."""
    st = data.settings
    est = BayesEstimator(st, per_seed=True) if not own else None
    window_regime = "provisional" if data.window and data.window.provisional else "diffusive"
    het = het if own and het else data.heterogeneity
    out = []
    seeds = [s for s in data.every_seed if s.name in own] if own else list(data.seeds)
    for i, s in enumerate(seeds):
        if est is None:
            q = estimates_from_draws(data.alone(s).physical(own[s.name]), ci_prob=st.ci_prob, method=method,
                                     regime=regime)
            convergence: dict = {"converged": True, "method": method, "note": "independent draws, no chain"}
            lags: list = []
        else:
            sub = data.subset(i)
            js = est.fit(sub, data.rng(f"seed {s.name}"))
            q = estimates_from_draws(sub.physical(js.draws), ci_prob=st.ci_prob, method="bayes", regime=window_regime)
            convergence, lags = js.convergence, (data.series[i].lags * s.dt_ps).tolist()
        ps = het.get("per_seed", {}).get(s.name, {})
        flagged = any(v.get("flagged") for v in ps.values())
        out.append(SeedResult(name=s.name, labels={"seed": s.labels.get("seed", s.name)}, quantities=q,
                              flagged=flagged, z_scores={k: v["z"] for k, v in ps.items()},
                              convergence=convergence, fitted_lags_ps=lags))
        if convergence.get("converged") is False:
            notes.append(f"seed {s.name}: its own fit did not converge ({convergence.get('message', '')}); "
                         "its per-seed values are unreliable (raise per_seed_steps, --per-seed-steps)")
        if flagged:
            zs = ", ".join(f"{k} {v['z']:+.1f}" for k, v in ps.items())
            notes.append(f"seed {s.name} is inconsistent with its siblings (z = {zs})")
    return out


def cut_to_trusted(ds, record: Mapping | None):
    """A run cut to the segment a screening record trusts (None: whole run; 'dropped': None)."""
    if record is None:
        return ds
    action = record.get("action", "kept")
    if action == "dropped":
        return None
    if action == "truncated":
        return ds.sel(time=slice(None, record["trusted_until_ps"]))
    return ds


def _group_task(members, settings: AnalysisSettings, labels: dict, show_progress, methods: list[str]) -> GroupResult:
    """One group, start to finish (a task: runs here or on a dask worker).  The method list is
    resolved by the caller, so a worker runs exactly the estimators the caller asked for (an
    estimator registered only in the caller's process is then a clear error on the worker:
    register plug-ins in a module the workers import)."""
    data = build_group_data(members, settings, labels=labels)
    return analyse_group(data, show_progress=show_progress, methods=methods)


def _natural_key(name: str) -> tuple:
    """Sort key of a run name with its digit runs compared as numbers (seed2 before seed10)."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t)


def analyse_runs(campaign: Mapping, settings: AnalysisSettings | None = None, *,
                 screening: Mapping[str, Mapping] | None = None, show_progress: bool | None = None,
                 on_group_error: Callable | None = None, client=None) -> AnalysisResult:
    """σ, σ_tr, H_R and D* with intervals for every group of a campaign.

    Parameters
    ----------
    campaign : Campaign or mapping name -> Dataset
    settings : AnalysisSettings
        Default: ``AnalysisSettings()`` with a fresh root seed (recorded in the result).
    screening : mapping run name -> record, optional
        From :func:`uncertainty_gk.pipeline.screen_runs`: ``action`` (``kept``,
        ``truncated``, ``dropped``, ``included ...``), ``trusted_until_ps``,
        ``first_flag_time_ps``.  Runs are cut accordingly; without it every run is used whole.
    on_group_error : callable(labels, exc), optional
        A group that cannot be analysed is reported through it and skipped; otherwise the
        error propagates, naming the group.
    client : dask.distributed.Client, optional
        Analyse the groups on this cluster (:mod:`uncertainty_gk.execution`); the numbers
        are identical to those of a run in this process.
    """
    st = (settings or AnalysisSettings()).resolved()
    runs = campaign.runs if isinstance(campaign, Campaign) else dict(campaign)
    screening = dict(screening or {})
    kept = {}
    for name, ds in runs.items():
        part = cut_to_trusted(ds, screening.get(name))
        if part is not None:
            kept[name] = part
    if not kept:
        raise AnalysisError("every run failed its diagnostics and none has a usable trusted segment "
                            "(see `ugk diagnose`); --include-flagged analyses them anyway")
    groups: dict[str, dict] = {}
    # each group's runs in one canonical order (their names, numbers compared as numbers), so a
    # result depends on the set of runs, not on the order a manifest lists them in (the seeds'
    # sums would otherwise differ in their last bits)
    for name in sorted(kept, key=_natural_key):
        groups.setdefault(group_key(labels_of(kept[name]), st.group_by_exclude), {})[name] = kept[name]
    keys = sorted(groups)
    methods = _methods_of(st)
    tasks = []
    for key in keys:
        members = groups[key]
        labels = {k: v for k, v in labels_of(next(iter(members.values()))).items() if k not in st.group_by_exclude}
        tasks.append((members, st, labels, show_progress if client is None else False, methods))
    outcomes = map_tasks(_group_task, tasks, client=client, desc="analyse", unit="group", show_progress=show_progress)
    results = []
    for key, (members, _, labels, _, _), res in zip(keys, tasks, outcomes):
        if isinstance(res, TaskFailure):
            exc = res.exc
            if on_group_error is None:
                if isinstance(exc, AnalysisError):
                    raise AnalysisError(f"group {labels}: {exc}") from None
                raise exc
            on_group_error(labels, exc)
            continue
        res.run_status = [dict(screening.get(n, {"run": n, "labels": labels_of(runs[n]), "action": "kept"}))
                          for n in members]
        for n in members:
            r = screening.get(n, {})
            if r.get("action") == "truncated":
                res.notes.append(f"run {n} failed its diagnostics at {r['first_flag_time_ps']:.4g} ps; "
                                 f"only its trusted segment (to {r['trusted_until_ps']:.4g} ps) is used")
            elif str(r.get("action", "")).startswith("included"):
                res.notes.append(f"run {n} failed its diagnostics at {r['first_flag_time_ps']:.4g} ps "
                                 "but is included in full (--include-flagged)")
        results.append(res)
    source = getattr(campaign, "source", "")
    provenance = {
        "uncertainty_gk_version": package_version(),
        "settings": st.to_dict(),
        "seed": st.seed,
        "source": source,
        "diagnostics": list(screening.values()),
        "dropped_runs": [n for n, r in screening.items() if r.get("action") == "dropped"],
        "inputs": {name: [{"path": s["path"], "sha256": s["sha256"]} for s in sources_of(ds)]
                   for name, ds in runs.items()},
        "runs": {name: labels_of(ds) for name, ds in runs.items()},
    }
    return AnalysisResult(groups=results, provenance=provenance)


def format_table(result: AnalysisResult) -> str:
    """A readable text table: one block per group; digits limited by the Monte-Carlo error."""
    from .units import S_PER_CM_TO_MS_PER_CM

    lines = []
    for r in result.provenance.get("diagnostics", []):
        if r.get("action") == "dropped":
            lines.append(f"!! run {r['run']} dropped: it failed its diagnostics at "
                         f"{r['first_flag_time_ps']:.4g} ps, leaving no usable trusted segment (see ugk diagnose)")
    if lines:
        lines.append("")
    for g in result.groups:
        labels = ", ".join(f"{k}={v}" for k, v in g.labels.items()) or "(all runs)"
        win = "-" if not np.isfinite(g.window_ps[0]) else f"{g.window_ps[0]:.3g}-{g.window_ps[1]:.3g} ps"
        fw = g.fitted_window_ps
        if np.isfinite(fw[0]) and np.isfinite(g.window_ps[0]) and not np.allclose(fw, g.window_ps, rtol=0.02):
            win += f" (fitted lags {fw[0]:.3g}-{fw[1]:.3g} ps)"
        if g.method == "spectral":
            win = "not used (spectral: every frame)"
            opts = result.provenance.get("settings", {}).get("spectral_options") or {}
            if opts:
                win += "   options: " + ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))
        mark = "   PROVISIONAL" if g.provisional else ""
        lines.append(f"== {labels}   seeds: {g.n_seeds}   window: {win}   method: {g.method}   "
                     f"T = {g.temperature_K:g} K{mark}")
        ci = next(iter(g.quantities.values())).ci_prob
        lines.append(f"   {'quantity':<12} {'median':>11} {f'{ci:.0%} interval':>27}  units")
        for key, label in (("sigma", "σ"), ("sigma_tr", "σ_tr"), ("haven_ratio", "H_R"), ("D_tr", "D*")):
            if key not in g.quantities:
                continue
            e = g.quantities[key]
            if not np.isfinite(e.median):
                b = (e.upper, e.mcse.get("upper")) if np.isfinite(e.upper) else (e.lower, e.mcse.get("lower"))
                bound = ("< " if np.isfinite(e.upper) else "> ") + _mc_fmt(*b)
                lines.append(f"   {label:<12} {bound:>11} {'(bound only)':>27}  {e.units}")
                continue
            med = _mc_fmt(e.median, e.mcse.get("median"))
            lo, hi = _mc_fmt(e.lower, e.mcse.get("lower")), _mc_fmt(e.upper, e.mcse.get("upper"))
            extra = ""
            if key in ("sigma", "sigma_tr"):
                extra = f"   ({e.median * S_PER_CM_TO_MS_PER_CM:.3g} mS/cm)"
            lines.append(f"   {label:<12} {med:>11} [{lo:>11}, {hi:>11}]  {e.units}{extra}")
        h = g.quantities.get("haven_ratio")
        if h is not None and h.note:
            lines.append(f"   H_R: {h.note}")
        for m, q in g.by_method.items():
            if m == g.method:
                continue
            s, t = q["sigma"], q["sigma_tr"]
            lines.append(f"   ({m}: σ {s.median:.3g} [{s.lower:.3g}, {s.upper:.3g}] S/cm, "
                         f"σ_tr {t.median:.3g} [{t.lower:.3g}, {t.upper:.3g}])")
        eff = g.diagnostics.get("efficiency", {}).get(g.method, {})
        ratio = eff.get("width_over_crb", {}) if isinstance(eff, dict) else {}
        if ratio:
            shown = ", ".join(f"{k} {v:.2g}" for k, v in ratio.items() if isinstance(v, (int, float)) and np.isfinite(v))
            lines.append(f"   interval width / Cramér-Rao width: {shown}")
        checks = regime_checks_line(g.diagnostics.get("regime_checks", {}).get(g.method) or {})
        if checks:
            lines.append(f"   regime checks: {checks}")
        pv = g.diagnostics.get("principal_values", {}).get(g.method)
        if pv:
            lines.append("   principal axes: σ " + ", ".join(f"{m:.3g} [{lo:.3g}, {hi:.3g}]" for m, lo, hi in pv["sigma"])
                         + " S/cm; D* " + ", ".join(f"{m:.3g}" for m, _, _ in pv["D_tr"]) + " cm²/s")
        if g.charges:
            lines.append("   charges (e): " + ", ".join(f"{k} {v:+g}" for k, v in g.charges.items())
                         + f"   (T from {g.temperature_source})")
        for sr in g.seeds:
            if not g.diffusion_detected:
                break
            e = sr.quantities["sigma"]
            t = sr.quantities["sigma_tr"]
            mark = "  <- inconsistent with siblings" if sr.flagged else ""
            if sr.convergence.get("converged") is False:
                mark += "  (fit not converged)"
            lines.append(f"   seed {sr.labels.get('seed')}: σ {e.median:.3g} [{e.lower:.3g}, {e.upper:.3g}]  "
                         f"σ_tr {t.median:.3g} [{t.lower:.3g}, {t.upper:.3g}] S/cm{mark}")
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


def _mc_fmt(x: float, mcse: float | None) -> str:
    """``x`` with its last printed digit at the order of its Monte-Carlo standard error
    (at least 2 and at most 4 significant digits)."""
    if x is None or not np.isfinite(x):
        return "nan"
    if x == 0:
        return "0"
    mag = int(np.floor(np.log10(abs(x))))
    digits = 4
    if mcse is not None and np.isfinite(mcse) and mcse > 0:
        digits = int(np.clip(mag - int(np.floor(np.log10(2 * mcse))) + 1, 2, 4))
    return f"{x:.{digits}g}"

