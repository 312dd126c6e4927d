"""Every applicable figure of an analysis, with a title and a complete caption, for reports."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisWarning, UGKError
from . import style

__all__ = ["MAX_GROUP_FIGURES", "FigureItem", "FigureTask", "FigureInputs", "RenderedFigure", "figure_tasks",
           "figure_inputs", "draw_figure", "render_figure", "report_figures"]

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


@dataclass
class FigureTask:
    """One figure to draw, described without drawing it (small, picklable: a dask task).

    ``kind`` is msd, running, haven (``group``: index into ``result.groups``), thermo,
    forest (``quantity``, ``by``) or arrhenius; ``subject`` names the group (or says
    "campaign") in messages.
    """

    name: str
    title: str
    caption: str
    kind: str
    subject: str = "campaign"
    group: int | None = None
    quantity: str | None = None
    by: str | None = None
    width: str = "double"
    max_runs: int = 12

    @property
    def needs_campaign(self) -> bool:
        """The thermo figure reads the runs' logs: it needs the campaign open, or its
        :class:`~uncertainty_gk.plots.thermo.ThermoData` read beforehand."""
        return self.kind == "thermo"


@dataclass
class FigureInputs:
    """What the figures are drawn from; ``campaign`` only for the thermo figure, which can
    instead be drawn from ``thermo`` (a :class:`~uncertainty_gk.plots.thermo.ThermoData`
    read beforehand: then no campaign is needed, e.g. on a dask worker)."""

    result: object
    diagnoses: object = None
    comparison: object = None
    arrhenius: list | None = None
    campaign: object = None
    thermo: object = None


@dataclass
class RenderedFigure:
    """A drawn figure as file contents: ``files`` format -> bytes, ``embed`` a PNG at the
    embedding resolution; or ``left_out``, why it could not be drawn."""

    name: str
    files: dict
    embed: bytes | None = None
    left_out: str | None = None


def draw_figure(task: FigureTask, inputs: FigureInputs):
    """The matplotlib Figure of ``task``."""
    from .arrhenius import arrhenius_figure
    from .forest import forest_figure
    from .haven import haven_figure
    from .msd import msd_figure
    from .running import running_figure
    from .thermo import draw_thermo, thermo_figure

    result = inputs.result
    if task.kind in ("msd", "running", "haven"):
        make = {"msd": msd_figure, "running": running_figure, "haven": haven_figure}[task.kind]
        return make(result, result.groups[task.group], width=task.width)
    if task.kind == "thermo":
        if inputs.thermo is not None:
            return draw_thermo(inputs.thermo, inputs.diagnoses, width=task.width)
        return thermo_figure(inputs.campaign, inputs.diagnoses, width=task.width, max_runs=task.max_runs)
    if task.kind == "forest":
        source = inputs.comparison if inputs.comparison is not None else result
        return forest_figure(source, task.quantity, task.by, width=task.width)
    if task.kind == "arrhenius":
        fits = list(inputs.arrhenius)
        return arrhenius_figure(fits, T_extrapolate=fits[0].T_target, width=task.width)
    raise ValueError(f"unknown figure kind {task.kind!r}")


def render_figure(task: FigureTask, inputs: FigureInputs, formats=("png", "pdf", "svg"), dpi: int = 300,
                  embed_dpi: int | None = None) -> RenderedFigure:
    """Draw ``task`` and render it to bytes in every format (here or on a dask worker).

    A figure that cannot be drawn from the data (a :class:`~uncertainty_gk.errors.UGKError`)
    comes back with ``left_out`` set; any other error propagates.  Nothing is written:
    the caller writes the files (atomically), so a worker needs no access to the output
    directory.
    """
    from .save import figure_bytes, figure_files

    try:
        fig = draw_figure(task, inputs)
    except UGKError as exc:
        return RenderedFigure(task.name, {}, left_out=str(exc))
    files = figure_files(fig, formats, dpi=dpi)
    embed = figure_bytes(fig, "png", dpi=embed_dpi) if embed_dpi else None
    return RenderedFigure(task.name, files, embed)


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


def figure_tasks(campaign, result, *, diagnoses=None, arrhenius=None, comparison=None, width="double",
                 max_thermo_runs: int = 12) -> list[FigureTask]:
    """Every applicable figure for a report of ``result`` (analysed from ``campaign``; None when the
    report is made from a results file: then there is no thermo figure, which draws the logs),
    in report order, as :class:`FigureTask` (titles and captions made, nothing drawn).

    Per group (at most the first :data:`MAX_GROUP_FIGURES` groups, said in the
    captions when more exist): MSD, running estimates, and the Haven figure when σ is
    resolved.  Then the thermo/diagnostics figure (``diagnoses``, default the records
    in ``result.provenance["diagnostics"]``), forest plots of σ and H_R when there are
    two or more groups (``comparison`` if given), and the Arrhenius figure when
    ``arrhenius`` (a list of ArrheniusResult) is given.
    """
    from .msd import line_positions

    tasks: list[FigureTask] = []
    groups = list(result.groups)
    shown = groups[:MAX_GROUP_FIGURES]
    capped = (f" Per-group figures are shown for the first {len(shown)} of {len(groups)} groups."
              if len(groups) > len(shown) else "")
    slugs: dict[str, int] = {}
    for index, g in enumerate(shown):
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
            positions = None          # no curves stored: the figure is left out when drawn, with a warning
        subject = f"group {style.label_text(g.labels)}"
        tasks.append(FigureTask(f"msd_{slug}", f"MSD: {label}",
                                _msd_caption(g, label, (g.lines or {}).get("source") == "joint draws", positions)
                                + capped, "msd", subject, group=index, width=width))
        if g.diffusion_detected and np.all(np.isfinite(g.window_ps)):
            tasks.append(FigureTask(f"running_{slug}", f"Running estimates: {label}",
                                    _running_caption(g, label) + capped, "running", subject, group=index,
                                    width=width))
        sig = g.quantities.get("sigma")
        if sig is not None and np.isfinite(sig.median) and "haven_ratio" in g.quantities:
            tasks.append(FigureTask(f"haven_{slug}", f"Haven ratio: {label}", _haven_caption(g, label) + capped,
                                    "haven", subject, group=index, width=width))
    diag = diagnoses if diagnoses is not None else (result.provenance or {}).get("diagnostics")
    statuses = [getattr(d, "status", None) or (d.get("status") if isinstance(d, dict) else None)
                for d in (diag.values() if isinstance(diag, dict) else diag or [])]
    if campaign is not None and any(s in ("ok", "warning", "failed") for s in statuses):
        # synthetic runs are not diagnosed; without the campaign (a report from results) no logs to draw
        n = len(campaign)
        more = f" Only {max_thermo_runs} of the {n} runs are shown, failed and warned runs first." \
            if n > max_thermo_runs else ""
        tasks.append(FigureTask(
            "thermo", "Thermodynamics and failure flags",
            "Temperature (left) and potential energy per atom (right) against time for each run, from the "
            "production block of its log. Shaded intervals: checks that failed (vermillion) or warned "
            "(orange), from the first to the last flagged time; solid vermillion line: first failure; dotted "
            "black line: end of the trusted segment. A run without a thermo log shows the kinetic temperature "
            "from its velocities; runs with neither (e.g. VASP XDATCAR files) are not drawn but listed in the "
            "title with their diagnostics status." + more, "thermo", width=width, max_runs=max_thermo_runs))
    if len(groups) >= 2 or comparison is not None:
        by = getattr(comparison, "by", None) or _default_by(groups)
        for q, name, long_name in (("sigma", "σ", "the conductivity"), ("haven_ratio", "H_R", "the Haven ratio")):
            tasks.append(FigureTask(
                f"forest_{q}", f"Forest plot of {long_name}",
                f"Posterior median (marker) and {_ci(groups[0]) if groups else '95 %'} credible interval (bar) "
                f"of {name} for every group, on a logarithmic axis, grouped by temperature and coloured by "
                f"{by}. Arrows mark upper bounds (σ not resolved or no diffusion detected); hollow markers "
                "mark groups with runs that diagnostics flagged, truncated or dropped.",
                "forest", quantity=q, by=by, width=width))
    if arrhenius:
        fits = list(arrhenius)
        ci = style.percent(fits[0].ci_prob)
        T_t = fits[0].T_target
        tasks.append(FigureTask(
            "arrhenius", "Arrhenius plot",
            f"σT against 1000/T on a logarithmic axis. Markers with bars: posterior median and {ci} credible "
            f"interval at each temperature; lines: Arrhenius fits ln(σT) = ln A − E_a/(k_B T) (median over "
            f"joint draws), with shaded {ci} credible bands, dashed where extrapolated to {T_t:g} K; open "
            f"markers: the extrapolated value with its {ci} credible interval, all exactly at 1000/{T_t:g} K "
            "and told apart by colour, marker shape and the name beside each. E_a and the extrapolated value "
            f"with their {ci} credible intervals are given in the legend.", "arrhenius", width=width))
    return tasks


def figure_inputs(campaign, result, *, diagnoses=None, arrhenius=None, comparison=None) -> FigureInputs:
    """The data :func:`draw_figure` needs for the tasks of :func:`figure_tasks` (same arguments)."""
    diag = diagnoses if diagnoses is not None else (result.provenance or {}).get("diagnostics")
    return FigureInputs(result=result, diagnoses=diag, comparison=comparison,
                        arrhenius=list(arrhenius) if arrhenius else None, campaign=campaign)


def report_figures(campaign, result, *, diagnoses=None, arrhenius=None, comparison=None, width="double",
                   max_thermo_runs: int = 12) -> list[FigureItem]:
    """Every applicable figure for a report of ``result``, drawn here (:func:`figure_tasks`).

    A figure that cannot be drawn is left out with an
    :class:`~uncertainty_gk.errors.AnalysisWarning`.
    """
    inputs = figure_inputs(campaign, result, diagnoses=diagnoses, arrhenius=arrhenius, comparison=comparison)
    items: list[FigureItem] = []
    for task in figure_tasks(campaign, result, diagnoses=diagnoses, arrhenius=arrhenius, comparison=comparison,
                             width=width, max_thermo_runs=max_thermo_runs):
        try:
            fig = draw_figure(task, inputs)
        except UGKError as exc:
            warnings.warn(AnalysisWarning(f"figure {task.name} left out: {exc}"), stacklevel=2)
            continue
        items.append(FigureItem(name=task.name, title=task.title, caption=task.caption, figure=fig))
    return items


def _default_by(groups) -> str:
    """The label to colour forest rows by: ``model`` when it varies, else the first varying label."""
    keys = [k for g in groups for k in g.labels if k not in ("temperature_K", "seed")]
    varying = [k for k in dict.fromkeys(keys) if len({str(g.labels.get(k)) for g in groups}) > 1]
    if "model" in varying or not varying:
        return "model"
    return varying[0]
