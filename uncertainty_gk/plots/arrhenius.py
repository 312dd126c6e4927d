"""Arrhenius plot: σT against 1000/T with the fitted line, its band and the extrapolation."""

from __future__ import annotations

import numpy as np

from ..errors import UGKError
from ..units import BOLTZMANN_EV_PER_K
from . import style

__all__ = ["arrhenius_band", "arrhenius_figure"]


def _symbol(quantity: str) -> str:
    return style.symbol(quantity) if quantity in style.SYMBOLS else style.mathtext_escape(quantity)


def _fit_draws(fit):
    """Joint (E_a, ln A) draws of an ArrheniusResult (same draws, aligned)."""
    ea, la = fit.E_a.samples, fit.ln_A.samples
    if ea is None or la is None or len(ea) != len(la):
        return None
    return np.asarray(ea, float), np.asarray(la, float)


def arrhenius_band(fit, T, *, max_draws: int = 1000):
    """Pointwise (lower, median, upper) of σ(T)·T (S K/cm) over the fit's joint draws."""
    draws = _fit_draws(fit)
    T = np.asarray(T, dtype=float)
    if draws is None:
        ea, la = np.array([fit.E_a.median]), np.array([fit.ln_A.median])
    else:
        idx = style.thin(len(draws[0]), max_draws)
        ea, la = draws[0][idx], draws[1][idx]
    y = np.exp(la[:, None] - ea[:, None] / (BOLTZMANN_EV_PER_K * T[None, :]))
    return style.pointwise_band(y, fit.ci_prob)


def arrhenius_figure(fits, *, T_extrapolate: float | None = 300.0, width="double", labels=None,
                     show_temperature_axis: bool = True):
    """ln(σT) (as σT on a log axis) against 1000/T for one or more Arrhenius fits.

    Per temperature the posterior median of σ·T with its central credible interval
    (error bars); the fitted line (median over the fit's joint draws of E_a and ln A)
    with its pointwise central credible band, solid over the fitted temperatures and
    dashed out to ``T_extrapolate`` (None: no extrapolation), where the extrapolated
    value is drawn as an open marker with its interval.  E_a with its interval is in
    the legend.  Each fit (σ, σ_tr, several models) gets its own colour and marker.

    Parameters
    ----------
    fits : ArrheniusResult or list of them
    labels : list of str, optional
        Legend names of the fits (default: quantity and labels).
    """
    if not isinstance(fits, (list, tuple)):
        fits = [fits]
    if not fits:
        raise UGKError("arrhenius_figure: no fits to plot (ugk arrhenius needs ≥ 2 temperatures per group)")
    with style.style():
        narrow = style.is_narrow(width)
        fig = style.new_figure(width, 3.6 if narrow else 3.2)
        ax = fig.subplots()
        temps_all = [p["temperature_K"] for f in fits for p in f.points]
        t_lo = min(temps_all + ([T_extrapolate] if T_extrapolate else []))
        t_hi = max(temps_all + ([T_extrapolate] if T_extrapolate else []))
        # tags beside the extrapolated markers go outward: right of them when extrapolating to the cold side
        tag_right = not T_extrapolate or T_extrapolate <= min(temps_all)
        handles, names, tags = [], [], []
        for i, f in enumerate(fits):
            c, m = style.colour(i), style.marker(i)
            T = np.array([p["temperature_K"] for p in f.points])
            med = np.array([p["median"] for p in f.points]) * T
            lo = np.array([p["lower"] for p in f.points]) * T
            hi = np.array([p["upper"] for p in f.points]) * T
            x = 1000.0 / T
            eb = ax.errorbar(x, med, yerr=[med - lo, hi - med], fmt=m, color=c, ms=3.5, capsize=1.8, zorder=5,
                             lw=0.9)
            # the line: solid over the data, dashed beyond it to the extrapolation temperature
            T_in = np.linspace(T.min(), T.max(), 60)
            blo, bmed, bhi = arrhenius_band(f, T_in)
            ax.fill_between(1000.0 / T_in, blo, bhi, color=c, alpha=0.2, lw=0, zorder=1).set_gid(f"band:{i}")
            (line,) = ax.plot(1000.0 / T_in, bmed, color=c, lw=1.0, zorder=3)
            line.set_gid(f"fit:{i}")
            if T_extrapolate and T_extrapolate < T.min():
                T_out = np.linspace(T_extrapolate, T.min(), 60)
                olo, omed, ohi = arrhenius_band(f, T_out)
                ax.fill_between(1000.0 / T_out, olo, ohi, color=c, alpha=0.08, lw=0, zorder=1)
                ax.plot(1000.0 / T_out, omed, color=c, lw=1.0, ls="--", zorder=3)
            elif T_extrapolate and T_extrapolate > T.max():
                T_out = np.linspace(T.max(), T_extrapolate, 60)
                olo, omed, ohi = arrhenius_band(f, T_out)
                ax.fill_between(1000.0 / T_out, olo, ohi, color=c, alpha=0.08, lw=0, zorder=1)
                ax.plot(1000.0 / T_out, omed, color=c, lw=1.0, ls="--", zorder=3)
            name = labels[i] if labels else _fit_name(f, fits)
            e = f.E_a
            text = f"{name}: {style.symbol('E_a')} = {e.median:.3g} [{e.lower:.3g}, {e.upper:.3g}] eV"
            if T_extrapolate:
                xlo, xmed, xhi = arrhenius_band(f, [T_extrapolate], max_draws=4000)
                # exactly at 1000/T_extrapolate: series are told apart by marker shape, colour and tag
                s = ax.errorbar([1000.0 / T_extrapolate], xmed, yerr=[xmed - xlo, xhi - xmed], fmt=m,
                                mfc="white", color=c, ms=4, capsize=2, zorder=6, lw=0.9)
                s.lines[0].set_gid(f"extrapolated:{i}")
                tags.append(ax.annotate(_tag(f, fits, labels, i), (1000.0 / T_extrapolate, float(xmed[0])),
                                        xytext=(5 if tag_right else -5, 0), textcoords="offset points",
                                        ha="left" if tag_right else "right", va="center",
                                        fontsize=5.5, color=c, zorder=7, gid=f"extrapolated_tag:{i}"))
                sig = xmed[0] / T_extrapolate
                factor, unit_text = style.conductivity_unit([sig])
                text += (f"\n{_symbol(f.quantity)}({T_extrapolate:g} K) = {sig * factor:.3g} "
                         f"[{xlo[0] / T_extrapolate * factor:.3g}, {xhi[0] / T_extrapolate * factor:.3g}] {unit_text}")
            handles.append(eb)
            names.append(text)
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        ci = fits[0].ci_prob
        handles += [Patch(color="#888888", alpha=0.35, lw=0), Line2D([], [], color="#555555", ls="--", lw=1.0)]
        names += [style.interval_label(ci) + "\n(bars: per temperature; band: fitted line)",
                  f"extrapolation to {T_extrapolate:g} K (open markers at\n1000/{T_extrapolate:g} K, one shape per series)"
                  if T_extrapolate else "extrapolation"]
        ax.set_yscale("log")
        ax.set_xlabel(f"1000/{style.symbol('T')} (1/K)")
        ax.set_ylabel(f"{style.symbol('sigma')}{style.symbol('T')} (S K/cm)")
        span = 1000.0 / t_lo - 1000.0 / t_hi
        pad = 0.04 * span
        # room for the tags: their width (about 0.55 em per character) as a fraction of the axes
        tag_in = max((style.visible_length(t.get_text()) for t in tags), default=0) * 5.5 * 0.55 / 72 + 0.1
        frac = min(tag_in / max(style.figure_width(width) - 0.7, 1.0), 0.4) if tags else 0.0
        tag_pad = max(pad, frac * span / (1 - frac))
        ax.set_xlim(1000.0 / t_hi - (pad if tag_right else tag_pad), 1000.0 / t_lo + (tag_pad if tag_right else pad))
        if show_temperature_axis:
            top = ax.secondary_xaxis("top", functions=(_inv, _inv))
            top.set_xlabel(f"{style.symbol('T')} (K)")
            ticks = _nice_temperatures(t_lo, t_hi)
            if T_extrapolate and all(abs(1000 / T_extrapolate - 1000 / t) > 0.08 * (1000 / t_lo - 1000 / t_hi)
                                     for t in ticks):
                ticks = sorted(ticks + [float(T_extrapolate)])
            lo_x, hi_x = ax.get_xlim()
            ticks = _spaced(ticks, min_sep=(hi_x - lo_x) * 0.3 / max(style.figure_width(width) - 0.7, 1.0),
                            keep=T_extrapolate)
            top.set_xticks(ticks)
            top.set_xticklabels([f"{t:g}" for t in ticks])
        style.figure_legend(fig, handles, names, width=width, max_cols=2)
        _separate_tags(fig, tags)
    return fig


def _inv(x):
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x != 0, 1000.0 / np.where(x != 0, x, 1.0), np.inf)


def _spaced(ticks, *, min_sep: float, keep=None) -> list[float]:
    """Temperature ticks at least ``min_sep`` apart in 1000/T (their labels would collide),
    always keeping ``keep`` (the extrapolation temperature)."""
    order = sorted(ticks, key=lambda t: (t != keep, -1000.0 / t))
    kept: list[float] = []
    for t in order:
        if all(abs(1000.0 / t - 1000.0 / k) >= min_sep for k in kept):
            kept.append(t)
    return sorted(kept)


def _nice_temperatures(t_lo, t_hi) -> list[float]:
    for step in (50, 100, 200, 250, 500):
        ticks = np.arange(np.ceil(t_lo / step) * step, t_hi + 1e-9, step)
        if len(ticks) <= 7:
            return [float(t) for t in ticks]
    return [float(t_lo), float(t_hi)]


def _fit_name(f, fits) -> str:
    sym = _symbol(f.quantity)
    varying = {k for k in f.labels if len({str(g.labels.get(k)) for g in fits}) > 1}
    lab = {k: v for k, v in f.labels.items() if k in varying}
    return f"{sym}, {style.display_labels(lab)}" if lab else sym


def _tag(f, fits, labels, i) -> str:
    """The short name written beside a series' extrapolated marker."""
    return labels[i] if labels else _fit_name(f, fits)


def _separate_tags(fig, tags, gap_pt: float = 0.5):
    """Shift the tags beside the extrapolated markers vertically (text only, never the
    markers) so that no two overlap; a tag moved off its marker's height stays beside it."""
    if len(tags) < 2:
        return
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    to_pt = 72.0 / fig.dpi
    boxes = sorted(((t.get_window_extent(renderer), t) for t in tags), key=lambda bt: bt[0].y0)
    top = -np.inf
    for box, t in boxes:
        y0 = box.y0 * to_pt
        shift = max(0.0, top + gap_pt - y0)
        if shift > 0:
            dx, dy = t.xyann
            t.xyann = (dx, dy + shift)
        top = y0 + shift + box.height * to_pt
