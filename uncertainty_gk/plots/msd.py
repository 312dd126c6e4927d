"""MSD against lag time per seed, with the pooled fitted line, its band, the seed mean and the fit window."""

from __future__ import annotations

import numpy as np

from . import style
from .groupdata import group_seeds, line_band, line_versus_seeds, seed_average

__all__ = ["LINE_NOTE", "line_positions", "msd_figure"]

#: The note drawn on a panel whose pooled line runs below (above) every seed curve.
LINE_NOTE = ("pooled line {side} all seed curves over\n{fraction} of the window: the fit weights\n"
             "correlated lags by their covariance\nand fits an intercept")

def _panel(ax, curves, which, band, g, *, inset: bool, width):
    """Draw one MSD panel; returns the legend handles it created (label -> handle)."""
    handles = {}
    lo_win, hi_win = g.window_ps
    if np.all(np.isfinite(g.window_ps)):
        h = ax.axvspan(lo_win, hi_win, color=style.WINDOW_COLOUR, alpha=0.18, lw=0, zorder=0)
        h.set_gid("fit_window")
        handles[f"fit window {lo_win:.3g}–{hi_win:.3g} ps"] = h
    ymax = 0.0
    for i, c in enumerate(curves):
        t = c.lag_ps
        y = c.msd_tr if which == "tr" else c.msd_P_per_ion
        (ln,) = ax.plot(t, y, color=style.colour(i), lw=0.8, ls="-" if c.in_fit else ":", zorder=2)
        ln.set_gid(f"seed:{c.name}")
        handles[c.label] = ln
        ymax = max(ymax, float(np.nanmax(y)))
    avg = seed_average(curves, which)
    if avg is not None:
        (mean,) = ax.plot(avg[0], avg[1], color="#444444", lw=0.7, ls=(0, (4, 2)), zorder=4)
        mean.set_gid(f"seed_mean_{which}")
        handles["mean of the seed curves (unweighted)"] = mean
    if band is not None:
        inside = (band.t >= lo_win) & (band.t <= hi_win)
        b = ax.fill_between(band.t, band.lower, band.upper, color=style.BAND_COLOUR, alpha=0.35, lw=0, zorder=3)
        b.set_gid(f"band_{which}")
        (fit,) = ax.plot(band.t[inside], band.median[inside], color=style.FIT_COLOUR, lw=1.1, zorder=4)
        fit.set_gid(f"fit_{which}")
        (ext,) = ax.plot(band.t, band.median, color=style.FIT_COLOUR, lw=0.7, ls=":", zorder=4)
        ext.set_gid(f"extended_fit_{which}")
        kind = "credible interval" if band.source == "joint draws" else "credible interval (GLS intercept)"
        fit_label = f"pooled fit ({g.method}, median; dotted outside the window)"
        handles[fit_label] = fit
        handles[style.interval_label(band.ci_prob, kind) + " of the pooled fit"] = b
        ymax = max(ymax, float(np.nanmax(band.upper)))
    ax.set_xlim(0, max(float(c.lag_ps[-1]) for c in curves))
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]), top=1.05 * ymax if ymax > 0 else None)
    ax.set_xlabel(f"lag time {style.symbol('t')} (ps)")
    if which == "tr":
        ax.set_ylabel("MSD (Å²)")
    else:
        ax.set_ylabel("collective MSD ⟨|ΔP|²⟩/(N q²) (Å²)")
    return handles


def _line_grid(curves) -> np.ndarray:
    """The lags (ps) on which the pooled line and its band are drawn."""
    return np.linspace(0.0, max(float(c.lag_ps[-1]) for c in curves), 80)


def line_positions(result, group=0, *, max_draws: int = 400) -> dict:
    """``{"tr": LinePosition, "P": LinePosition}``: where each panel's pooled line runs against
    the seed curves (the test behind the figure's note; the report's caption reads it too)."""
    g, curves = group_seeds(result, group)
    t = _line_grid(curves)
    return {which: line_versus_seeds(line_band(g, t, which, max_draws=max_draws), curves, which, g.window_ps)
            for which in ("tr", "P")}


def _inset_places(width) -> list:
    """Where the log-log inset may go (axes fractions): upper left, else lower right."""
    if style.is_narrow(width):
        return [[0.11, 0.55, 0.32, 0.4], [0.64, 0.1, 0.32, 0.4]]
    return [[0.1, 0.56, 0.34, 0.38], [0.62, 0.1, 0.34, 0.38]]


def _loglog_inset(ax, curves, which, g, width):
    ins = ax.inset_axes(style.emptiest_bounds(ax, _inset_places(width)))
    ins.set_gid(f"inset_{which}")
    for i, c in enumerate(curves):
        y = c.msd_tr[1:] if which == "tr" else c.msd_P_per_ion[1:]
        t = c.lag_ps[1:]
        ok = (y > 0) & (t > 0)
        ins.plot(t[ok], y[ok], color=style.colour(i), lw=0.6)
    if np.all(np.isfinite(g.window_ps)):
        ins.axvspan(*g.window_ps, color=style.WINDOW_COLOUR, alpha=0.18, lw=0)
    ins.set_xscale("log")
    ins.set_yscale("log")
    ins.tick_params(labelsize=4.5, length=1.5, pad=1)
    ins.minorticks_off()
    ins.set_xlabel(f"{style.symbol('t')} (ps)", fontsize=4.5, labelpad=0.5)
    ins.set_ylabel("Å²", fontsize=4.5, labelpad=0.5)
    ins.set_facecolor("white")
    ins.set_zorder(6)


def msd_figure(result, group=0, *, width="double", collective: bool = True, inset: bool = True,
               max_draws: int = 400):
    """Tracer (and collective) MSD against lag time per seed, with the pooled fit.

    Parameters
    ----------
    result : AnalysisResult
        Read only: the MSD curves, fitted line draws and window it stores.
    group : int, GroupResult or dict of labels
    width : "single", "double" or inches
    collective : bool
        Second panel with the polarisation MSD per mobile ion, ⟨|ΔP|²⟩/(N q²), whose
        slope / tracer slope is 1/H_R.
    inset : bool
        Log-log inset of the same curves (the diffusive regime has slope 1), upper left
        or, where that would hide more of the curves and band, lower right.
    max_draws : int
        Posterior draws used for the band (evenly thinned).

    Returns
    -------
    matplotlib.figure.Figure
        Shaded band: pointwise central interval of the pooled line from the stored joint
        draws of the headline method (``GroupResult.lines``); methods without intercept
        draws (bootstrap, block) use the pooled GLS intercept, said so in the legend.
        Thin dashed grey: the unweighted mean of the seed curves.  When the pooled line
        runs below (above) every seed curve over most of the fit window
        (:func:`~uncertainty_gk.plots.groupdata.line_versus_seeds`), a note on the panel
        says why (correlated lags weighted by their covariance, fitted intercept).
    """
    g, curves = group_seeds(result, group)
    t = _line_grid(curves)
    narrow = style.is_narrow(width)
    panels = ["tr", "P"] if collective else ["tr"]
    with style.style():
        if len(panels) == 2:
            fig = style.new_figure(width, 4.6 if narrow else 2.9)
            axes = fig.subplots(2, 1) if narrow else fig.subplots(1, 2)
        else:
            fig = style.new_figure(width, 2.6 if narrow else 2.8)
            axes = [fig.subplots()]
        handles, pending = {}, []
        for k, (ax, which) in enumerate(zip(axes, panels)):
            band = line_band(g, t, which, max_draws=max_draws)
            handles.update(_panel(ax, curves, which, band, g, inset=inset, width=width))
            if len(panels) > 1:
                style.panel_label(ax, "ab"[k])
            ax.set_title("tracer" if which == "tr" else "collective (polarisation)", fontsize=6.5, pad=2.0)
            notes = []
            if band is None:
                notes.append("no long-range diffusion detected:\nno line fitted (upper bounds only)")
            else:
                pos = line_versus_seeds(band, curves, which, g.window_ps)
                if pos.side is not None:
                    notes.append(LINE_NOTE.format(side=pos.side, fraction=f"{100 * pos.fraction:.0f} %"))
                sig = g.quantities.get("sigma")
                if which == "P" and sig is not None and "not resolved" in sig.note:
                    notes.append(f"{style.symbol('sigma')} not resolved from zero:\nthe band is shaped by the prior")
            if notes:
                pending.append((ax, "\n".join(notes), f"note_{which}"))
        order = [lab for lab in handles if lab.startswith("seed")] + \
                [lab for lab in handles if not lab.startswith("seed")]
        style.figure_legend(fig, [handles[lab] for lab in order], order, width=width,
                            max_cols=2 if narrow else 3)
        fig.suptitle(style.display_labels(g.labels), fontsize=7.0)
        if inset:   # where it hides the fewest curves, once the layout is known
            fig.draw_without_rendering()
            for ax, which in zip(axes, panels):
                _loglog_inset(ax, curves, which, g, width)
        style.place_notes(fig, pending)
    return fig
