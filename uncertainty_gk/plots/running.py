"""Running estimates: σ_tr and σ against the end of the fit window, one line per seed."""

from __future__ import annotations

import numpy as np

from . import style
from .groupdata import group_seeds, running_estimates

__all__ = ["running_figure"]

_T_MAX = f"end of fit window {style.symbol('t_max')} (ps)"


def running_figure(result, group=0, *, width="double", unit: str = "auto"):
    """σ_tr(t_max) and σ(t_max): estimates on fit windows [start, t_max] of growing length.

    The window start is the analysis' (``GroupResult.window_ps[0]``); ``t_max`` runs from
    a few frames past it to ``max_fraction`` of the longest seed (each seed stops at
    ``max_fraction`` of its own trusted length).  Per seed a solid line (generalised
    least squares of that seed's MSD, the estimator the Bayesian fit starts from); the
    dashed line is the pooled GLS estimate over the seeds with its central band
    (± z × GLS standard error).  The vertical line marks the window end the analysis
    chose, where the reported value with its interval is drawn as a point.

    The estimates are read from the result (:mod:`uncertainty_gk.estimators.running`).

    Parameters
    ----------
    unit : "auto", "S/cm" or "mS/cm"
    """
    g, curves = group_seeds(result, group)
    with style.style():
        narrow = style.is_narrow(width)
        fig = style.new_figure(width, 4.4 if narrow else 2.7)
        axes = fig.subplots(2, 1, sharex=True) if narrow else fig.subplots(1, 2)
        fig.suptitle(style.display_labels(g.labels), fontsize=7.0)
        if not g.diffusion_detected or not np.all(np.isfinite(g.window_ps)):
            for ax, q in zip(axes, ("sigma_tr", "sigma")):
                style.note(ax, "no long-range diffusion detected:\nno fit window, no running estimate",
                           loc="center")
                ax.set_xlabel(_T_MAX)
                ax.set_ylabel(style.axis_label(q, "S/cm", name=False))
            return fig
        run = running_estimates(g)
        by_name = {c.name: c for c in curves}
        handles = {}
        for k, (ax, q) in enumerate(zip(axes, ("sigma_tr", "sigma"))):
            factor, unit_text = style.conductivity_unit(run.pooled[q], unit)
            for i, name in enumerate(run.seeds):
                c = by_name[name]
                (ln,) = ax.plot(run.t_max, run.per_seed[q][i] * factor, color=style.colour(i), lw=0.9)
                ln.set_gid(f"seed:{c.name}")
                handles[c.label] = ln
            p = run.pooled[q] * factor
            hw = run.half_width[q] * factor
            band = ax.fill_between(run.t_max, p - hw, p + hw, color=style.BAND_COLOUR, alpha=0.3, lw=0, zorder=1)
            band.set_gid(f"band_{q}")
            (avg,) = ax.plot(run.t_max, p, color=style.FIT_COLOUR, ls="--", lw=1.1, zorder=3)
            avg.set_gid(f"average_{q}")
            handles["average over seeds (GLS)"] = avg
            handles[style.interval_label(run.ci_prob) + " of the average (GLS)"] = band
            end = ax.axvline(run.window_end_ps, color=style.OKABE_ITO["vermillion"], lw=0.8, ls=":", zorder=2)
            end.set_gid("window_end")
            handles[f"chosen window end ({run.window_end_ps:.3g} ps)"] = end
            est = g.quantities.get(q)
            if est is not None and np.isfinite(est.median):
                eb = ax.errorbar([run.window_end_ps], [est.median * factor],
                                 yerr=[[(est.median - est.lower) * factor], [(est.upper - est.median) * factor]],
                                 fmt="o", color=style.OKABE_ITO["vermillion"], ms=3.5, mfc="white", zorder=5,
                                 capsize=2)
                handles[f"reported {g.method} value, {style.interval_label(est.ci_prob)}"] = eb
            elif est is not None and np.isfinite(est.upper):
                ax.annotate("", xy=(run.window_end_ps, 0), xytext=(run.window_end_ps, est.upper * factor),
                            arrowprops={"arrowstyle": "->", "color": style.OKABE_ITO["vermillion"], "lw": 0.8})
                style.note(ax, f"{style.symbol(q)} not resolved: upper bound {est.upper * factor:.3g} {unit_text}",
                           loc="upper right")
            vals = np.concatenate([run.per_seed[q][np.isfinite(run.per_seed[q])] * factor, p - hw, p + hw])
            lo, hi = style.robust_limits(vals, 0.01, 0.99, pad=0.08)
            ax.set_ylim(lo, hi)
            ax.set_ylabel(style.axis_label(q, unit_text, name=False))
            ax.set_xlabel(_T_MAX)
            ax.set_xlim(run.t_max[0], run.t_max[-1])
            style.panel_label(ax, "ab"[k])
            ax.set_title(f"window start {run.start_ps:.3g} ps", fontsize=6.0, pad=2.0)
        if narrow:
            axes[0].set_xlabel("")
        order = [lab for lab in handles if lab.startswith("seed ")] + \
                [lab for lab in handles if not lab.startswith("seed ")]
        style.figure_legend(fig, [handles[lab] for lab in order], order, width=width, max_cols=2 if narrow else 3)
    return fig
