"""Every applicable figure of an analysis, with a title and a complete caption, for reports."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisWarning, UGKError
from . import style

__all__ = ["MAX_GROUP_FIGURES", "FigureItem", "report_figures"]

#: Per-group figures (MSD, running, Haven) are made for at most this many groups.
MAX_GROUP_FIGURES = 6


@dataclass
class FigureItem:
    """One figure of a report: a file-name-safe ``name``, a ``title``, a ``caption`` in
    complete sentences (what every line, band and bar is) and the Figure."""

    name: str
    title: str
    caption: str
    figure: object


def _ci(g) -> str:
    e = next(iter(g.quantities.values()), None)
    return style.percent(e.ci_prob if e is not None else 0.95)


def _msd_caption(g, label, has_draws, positions=None) -> str:
    """``positions``: :func:`~uncertainty_gk.plots.msd.line_positions` of the group (the figure's notes)."""
    ci = _ci(g)
    if not g.diffusion_detected:
        return (f"Tracer MSD (a) and collective polarisation MSD per mobile ion, ⟨|ΔP|²⟩/(N q²) (b), against lag "
                f"time for each seed of {label} (one colour per seed). No long-range diffusion was detected, so no "
                "line is fitted and only upper bounds are reported. Insets: the same curves on log-log axes.")
    w0, w1 = g.window_ps
    band = (f"shaded grey band: {ci} credible interval of the pooled fit (pointwise, from the joint draws of "
            f"slope and intercept of the {g.method} fit)" if has_draws else
            f"shaded grey band: {ci} credible interval of the pooled fit from the {g.method} slope draws with the "
            "pooled generalised-least-squares intercept (the method draws no intercepts)")
    text = (f"Tracer MSD (a) and collective polarisation MSD per mobile ion, ⟨|ΔP|²⟩/(N q²) (b), against lag time "
            f"for each seed of {label} (one colour per seed). Black line: pooled fit over the seeds, solid inside "
            f"the fit window and dotted outside it; {band}; thin dashed grey curve: the plain (unweighted) mean of "
            f"the seed curves; blue shading: fit window {w0:.3g}–{w1:.3g} ps. "
            "Insets: the same curves on log-log axes, where diffusion has slope 1. Runs that diagnostics truncated "
            "are drawn only over their trusted segment. The fit weights the lags by their modelled covariance: "
            "neighbouring lags of one curve are strongly correlated, so a whole curve may lie above or below the "
            "line, and the collective fit leans on the early, least noisy lags of the window.")
    odd = [(panel, pos) for panel, pos in zip(("(a)", "(b)"), (positions or {}).values()) if pos.side]
    if odd:
        where = "; ".join(f"in {panel} {pos.side} every seed curve over {100 * pos.fraction:.0f} % of the fit "
                          "window" for panel, pos in odd)
        text += (f" Here the pooled line runs {where} (noted on the panel). That is what a covariance-weighted "
                 "fit with an intercept does with strongly correlated lags, not a plotting error: it need not pass "
                 "through the curves, and the difference between the line and the dashed seed mean is the "
                 "difference between the weighted and an unweighted average.")
    return text


def _running_caption(g, label) -> str:
    ci = _ci(g)
    return (f"Running estimates of the tracer conductivity σ_tr (a) and the conductivity σ (b) of {label} against "
            f"the end t_max of the fit window, which starts at {g.window_ps[0]:.3g} ps. Solid lines: one seed each "
            "(generalised least squares); dashed black line: average over the seeds (pooled generalised least "
            f"squares); grey band: its {ci} credible interval in the Gaussian approximation. Dotted vertical line: "
            f"the window end chosen by the analysis ({g.window_ps[1]:.3g} ps), where the open circle with bars is "
            f"the reported value with its {ci} credible interval.")


def _haven_caption(g, label) -> str:
    ci = _ci(g)
    h = g.quantities["haven_ratio"]
    return (f"Joint posterior of σ_tr and σ for {label} (a): dots are posterior draws, the black point is the "
            f"posterior median with {ci} credible intervals as bars, and the grey lines are σ = σ_tr/H_R for "
            f"H_R = 0.5 (dotted), 1 (solid) and 2 (dashed). Posterior of the Haven ratio H_R = σ_tr/σ (b): the "
            f"black line is the median ({h.median:.3g}) and the grey band the {ci} credible interval "
            f"[{h.lower:.3g}, {h.upper:.3g}].")


def report_figures(campaign, result, *, diagnoses=None, arrhenius=None, comparison=None, width="double",
                   max_thermo_runs: int = 12) -> list[FigureItem]:
    """Every applicable figure for a report of ``result`` (analysed from ``campaign``; None when the
    report is made from a results file: then there is no thermo figure, which draws the logs).

    Per group (at most the first :data:`MAX_GROUP_FIGURES` groups, said in the
    captions when more exist): MSD, running estimates, and the Haven figure when σ is
    resolved.  Then the thermo/diagnostics figure (``diagnoses``, default the records
    in ``result.provenance["diagnostics"]``), forest plots of σ and H_R when there are
    two or more groups (``comparison`` if given), and the Arrhenius figure when
    ``arrhenius`` (a list of ArrheniusResult) is given.  A figure that cannot be drawn
    is left out with an :class:`~uncertainty_gk.errors.AnalysisWarning`.
    """
    from .arrhenius import arrhenius_figure
    from .forest import forest_figure
    from .haven import haven_figure
    from .msd import line_positions, msd_figure
    from .running import running_figure
    from .thermo import thermo_figure

    items: list[FigureItem] = []

    def attempt(name, title, caption, make):
        try:
            fig = make()
        except UGKError as exc:
            warnings.warn(AnalysisWarning(f"figure {name} left out: {exc}"), stacklevel=3)
            return
        items.append(FigureItem(name=name, title=title, caption=caption, figure=fig))

    groups = list(result.groups)
    shown = groups[:MAX_GROUP_FIGURES]
    capped = (f" Per-group figures are shown for the first {len(shown)} of {len(groups)} groups."
              if len(groups) > len(shown) else "")
    slugs: dict[str, int] = {}
    for g in shown:
        label = style.display_labels(g.labels, escape=False)
        slug = style.label_slug(g.labels)
        if slug in slugs:
            slugs[slug] += 1
            slug = f"{slug}_{slugs[slug]}"
        else:
            slugs[slug] = 0
        try:
            positions = line_positions(result, g) if g.diffusion_detected else None
        except UGKError:
            positions = None          # no curves stored: the figure is left out below with a warning
        attempt(f"msd_{slug}", f"MSD: {label}",
                _msd_caption(g, label, (g.lines or {}).get("source") == "joint draws", positions) + capped,
                lambda g=g: msd_figure(result, g, width=width))
        if g.diffusion_detected and np.all(np.isfinite(g.window_ps)):
            attempt(f"running_{slug}", f"Running estimates: {label}", _running_caption(g, label) + capped,
                    lambda g=g: running_figure(result, g, width=width))
        sig = g.quantities.get("sigma")
        if sig is not None and np.isfinite(sig.median) and "haven_ratio" in g.quantities:
            attempt(f"haven_{slug}", f"Haven ratio: {label}", _haven_caption(g, label) + capped,
                    lambda g=g: haven_figure(result, g, width=width))
    diag = diagnoses if diagnoses is not None else (result.provenance or {}).get("diagnostics")
    statuses = [getattr(d, "status", None) or (d.get("status") if isinstance(d, dict) else None)
                for d in (diag.values() if isinstance(diag, dict) else diag or [])]
    if campaign is not None and any(s in ("ok", "warning", "failed") for s in statuses):
        # synthetic runs are not diagnosed; without the campaign (a report from results) no logs to draw
        n = len(campaign)
        more = f" Only {max_thermo_runs} of the {n} runs are shown, failed and warned runs first." \
            if n > max_thermo_runs else ""
        attempt("thermo", "Thermodynamics and failure flags",
                "Temperature (left) and potential energy per atom (right) against time for each run, from the "
                "production block of its log. Shaded intervals: checks that failed (vermillion) or warned "
                "(orange), from the first to the last flagged time; solid vermillion line: first failure; dotted "
                "black line: end of the trusted segment. A run without a thermo log shows the kinetic temperature "
                "from its velocities; runs with neither (e.g. VASP XDATCAR files) are not drawn but listed in the "
                "title with their diagnostics status." + more,
                lambda: thermo_figure(campaign, diag, width=width, max_runs=max_thermo_runs))
    if len(groups) >= 2 or comparison is not None:
        source = comparison if comparison is not None else result
        by = getattr(comparison, "by", None) or _default_by(groups)
        for q, name, long_name in (("sigma", "σ", "the conductivity"), ("haven_ratio", "H_R", "the Haven ratio")):
            attempt(f"forest_{q}", f"Forest plot of {long_name}",
                    f"Posterior median (marker) and {_ci(groups[0]) if groups else '95 %'} credible interval (bar) "
                    f"of {name} for every group, on a logarithmic axis, grouped by temperature and coloured by "
                    f"{by}. Arrows mark upper bounds (σ not resolved or no diffusion detected); hollow markers "
                    "mark groups with runs that diagnostics flagged, truncated or dropped.",
                    lambda q=q: forest_figure(source, q, by, width=width))
    if arrhenius:
        fits = list(arrhenius)
        ci = style.percent(fits[0].ci_prob)
        T_t = fits[0].T_target
        attempt("arrhenius", "Arrhenius plot",
                f"σT against 1000/T on a logarithmic axis. Markers with bars: posterior median and {ci} credible "
                f"interval at each temperature; lines: Arrhenius fits ln(σT) = ln A − E_a/(k_B T) (median over "
                f"joint draws), with shaded {ci} credible bands, dashed where extrapolated to {T_t:g} K; open "
                f"markers: the extrapolated value with its {ci} credible interval, all exactly at 1000/{T_t:g} K "
                "and told apart by colour, marker shape and the name beside each. E_a and the extrapolated value "
                f"with their {ci} credible intervals are given in the legend.",
                lambda: arrhenius_figure(fits, T_extrapolate=T_t, width=width))
    return items


def _default_by(groups) -> str:
    """The label to colour forest rows by: ``model`` when it varies, else the first varying label."""
    keys = [k for g in groups for k in g.labels if k not in ("temperature_K", "seed")]
    varying = [k for k in dict.fromkeys(keys) if len({str(g.labels.get(k)) for g in groups}) > 1]
    if "model" in varying or not varying:
        return "model"
    return varying[0]
