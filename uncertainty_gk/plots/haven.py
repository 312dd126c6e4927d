"""σ against σ_tr from the joint posterior, and the Haven ratio's posterior."""

from __future__ import annotations

import numpy as np

from . import style
from .groupdata import resolve_group

__all__ = ["HAVEN_GUIDES", "haven_figure"]

#: H_R guide lines drawn in the σ–σ_tr panel.
HAVEN_GUIDES = (0.5, 1.0, 2.0)

_SIG, _TR, _HR = style.symbol("sigma"), style.symbol("sigma_tr"), style.symbol("haven_ratio")


def _finite_pair(a, b):
    if a is None or b is None:
        return None
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return None
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def haven_figure(result, group=0, *, width="double", unit: str = "auto", max_points: int = 1500):
    """Joint posterior of σ_tr and σ with H_R guide lines, and the H_R posterior.

    Left: posterior draws of (σ_tr, σ) (thinned to ``max_points``), the medians with
    their central credible intervals as error bars, and the lines σ = σ_tr / H_R for
    H_R = 0.5, 1, 2.  Right: histogram of the H_R draws with the median and the
    central interval.  An unresolved σ is drawn as an upper bound (arrow) and H_R as
    a lower bound; a group without detected diffusion gets its upper bounds and a
    note instead of draws.
    """
    g = resolve_group(result, group)
    sig, tr, hr = (g.quantities.get(k) for k in ("sigma", "sigma_tr", "haven_ratio"))
    with style.style():
        narrow = style.is_narrow(width)
        fig = style.new_figure(width, 4.6 if narrow else 2.6)
        ax, axh = fig.subplots(2, 1) if narrow else fig.subplots(1, 2)
        fig.suptitle(style.display_labels(g.labels), fontsize=7.0)
        style.panel_label(ax, "a")
        style.panel_label(axh, "b")
        ref = [e.upper for e in (sig, tr) if e is not None and np.isfinite(e.upper)]
        factor, unit_text = style.conductivity_unit(
            [e.median for e in (sig, tr) if e is not None and np.isfinite(e.median)] or ref, unit)
        ax.set_xlabel(style.axis_label("sigma_tr", unit_text))
        ax.set_ylabel(style.axis_label("sigma", unit_text))
        axh.set_xlabel(f"Haven ratio {_HR} = {_TR}/{_SIG}")
        axh.set_ylabel("posterior density")
        handles = {}
        pair = _finite_pair(tr.samples if tr else None, sig.samples if sig else None)
        resolved = sig is not None and np.isfinite(sig.median)
        if pair is not None and pair[0].size:
            x, y = pair[0] * factor, pair[1] * factor
            idx = style.thin(x.size, max_points)
            sc = ax.scatter(x[idx], y[idx], s=1.5, color=style.OKABE_ITO["sky_blue"], alpha=0.35, lw=0,
                            rasterized=True, zorder=1)
            sc.set_gid("draws")
            handles["posterior draws"] = sc
            xl = style.robust_limits(x, 0.002, 0.998, pad=0.15)
            yl = style.robust_limits(y, 0.002, 0.998, pad=0.1)
            if not resolved:
                yl = (min(0.0, yl[0]), max(yl[1], sig.upper * factor * 1.1))
        elif tr is not None and sig is not None and np.isfinite(tr.upper) and np.isfinite(sig.upper):
            xl = (0.0, 1.3 * tr.upper * factor)
            yl = (0.0, 1.3 * sig.upper * factor)
        else:
            xl, yl = (0.0, 1.0), (0.0, 1.0)
        # guide lines σ = σ_tr / H_R
        xs = np.linspace(max(xl[0], 0.0), xl[1], 50)
        for h, ls in zip(HAVEN_GUIDES, (":", "-", "--")):
            (gl,) = ax.plot(xs, xs / h, color="#555555", lw=0.7, ls=ls, zorder=2)
            gl.set_gid(f"guide:{h:g}")
            handles[f"{_HR} = {h:g}"] = gl
        if tr is not None and resolved and np.isfinite(tr.median):
            eb = ax.errorbar([tr.median * factor], [sig.median * factor],
                             xerr=[[(tr.median - tr.lower) * factor], [(tr.upper - tr.median) * factor]],
                             yerr=[[(sig.median - sig.lower) * factor], [(sig.upper - sig.median) * factor]],
                             fmt="o", color=style.FIT_COLOUR, ms=3.5, zorder=5, capsize=2)
            handles[f"median, {style.interval_label(sig.ci_prob)}"] = eb
        elif tr is not None and sig is not None and np.isfinite(sig.upper):
            # σ unresolved (or no diffusion): an upper bound, drawn as an arrow down from it
            x0 = tr.median if np.isfinite(tr.median) else tr.upper
            ax.annotate("", xy=(x0 * factor, max(yl[0], 0.0)), xytext=(x0 * factor, sig.upper * factor),
                        arrowprops={"arrowstyle": "->", "color": style.OKABE_ITO["vermillion"], "lw": 1.0}, zorder=5)
            (ub,) = ax.plot([x0 * factor], [sig.upper * factor], marker="_", ms=8, mew=1.2,
                            color=style.OKABE_ITO["vermillion"], ls="none", zorder=5)
            if sig.method == "upper_bound":
                handles["upper bounds MSD(t)/(6t) at the last usable lag"] = ub
            else:
                handles[f"upper bound of {_SIG} ({style.percent(sig.ci_prob)} credible)"] = ub
            if np.isfinite(tr.median):
                eb = ax.errorbar([tr.median * factor], [sig.upper * factor],
                                 xerr=[[(tr.median - tr.lower) * factor], [(tr.upper - tr.median) * factor]],
                                 fmt="none", color=style.FIT_COLOUR, capsize=2, zorder=5)
                handles[f"{_TR} median, {style.interval_label(tr.ci_prob)}"] = eb
            else:  # σ_tr is a bound too: arrow towards zero
                ax.annotate("", xy=(max(xl[0], 0.0), sig.upper * factor), xytext=(x0 * factor, sig.upper * factor),
                            arrowprops={"arrowstyle": "->", "color": style.OKABE_ITO["vermillion"], "lw": 1.0},
                            zorder=5)
            why = "no long-range diffusion detected" if not g.diffusion_detected else f"{_SIG} not resolved from zero"
            style.note(ax, f"{why}:\n" + (f"{_SIG} and {_TR} are upper bounds" if not np.isfinite(tr.median)
                                          else f"{_SIG} is an upper bound"), loc="upper left")
        ax.set_xlim(*xl)
        ax.set_ylim(*yl)
        _haven_panel(axh, g, hr, handles)
        style.figure_legend(fig, list(handles.values()), list(handles), width=width, max_cols=4)
    return fig


def _haven_panel(axh, g, hr, handles):
    if hr is None or hr.samples is None or not np.isfinite(hr.samples).any():
        style.note(axh, f"{_HR} not available:\n" + ("no long-range diffusion detected" if not g.diffusion_detected
                                                 else "no posterior draws"), loc="center")
        axh.set_yticks([])
        axh.set_xticks([])
        return
    s = np.asarray(hr.samples, float)
    s = s[np.isfinite(s) & (s > 0)]
    lo_v, hi_v = np.quantile(s, [0.002, 0.998])
    log = hi_v / lo_v > 8
    if log:
        bins = np.geomspace(lo_v, hi_v, 50)
        axh.set_xscale("log")
    else:
        bins = np.linspace(lo_v, hi_v, 50)
    axh.hist(s[(s >= lo_v) & (s <= hi_v)], bins=bins, density=True, color=style.OKABE_ITO["sky_blue"],
             alpha=0.6, lw=0, zorder=1)
    resolved = np.isfinite(hr.median)
    ci_lo, ci_hi = hr.lower, min(hr.upper, hi_v) if not resolved else hr.upper
    span = axh.axvspan(ci_lo, ci_hi, color=style.BAND_COLOUR, alpha=0.25, lw=0, zorder=0)
    span.set_gid("haven_interval")
    if resolved:
        handles[f"{_HR} {style.interval_label(hr.ci_prob)}"] = span
        med = axh.axvline(hr.median, color=style.FIT_COLOUR, lw=1.0, zorder=3)
        med.set_gid("haven_median")
        handles[f"{_HR} posterior median"] = med
        axh.set_title(f"{_HR} = {hr.median:.3g} [{hr.lower:.3g}, {hr.upper:.3g}]", fontsize=6.0, pad=2.0)
    else:
        handles[f"{_HR} lower bound ({style.percent(hr.ci_prob)} credible)"] = span
        axh.axvline(hr.lower, color=style.OKABE_ITO["vermillion"], lw=1.0, zorder=3)
        axh.set_title(f"{_HR} > {hr.lower:.3g} (lower bound only)", fontsize=6.0, pad=2.0)
        style.note(axh, f"{_SIG} not resolved:\nthe histogram is prior-dominated", loc="upper right")
    one = axh.axvline(1.0, color="#555555", lw=0.7, ls="-", zorder=2)
    one.set_gid("haven_one")
    axh.set_yticks([])
