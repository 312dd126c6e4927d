"""Arrhenius plot: σT against 1000/T with the fitted line, its band and the extrapolation."""

from __future__ import annotations

import numpy as np

from ..errors import UGKError
from ..units import BOLTZMANN_EV_PER_K
from . import style

__all__ = ["arrhenius_band", "arrhenius_figure"]

_SYMBOL = {"sigma": "σ", "sigma_tr": "σ_tr"}


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
        t_hi = max(temps_all)
        handles, names = [], []
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
            text = f"{name}: E_a = {e.median:.3g} [{e.lower:.3g}, {e.upper:.3g}] eV"
            if T_extrapolate:
                xlo, xmed, xhi = arrhenius_band(f, [T_extrapolate], max_draws=4000)
                dodge = (i - (len(fits) - 1) / 2) * 0.012 * (1000.0 / t_lo - 1000.0 / t_hi)
                s = ax.errorbar([1000.0 / T_extrapolate + dodge], xmed, yerr=[xmed - xlo, xhi - xmed], fmt=m,
                                mfc="white", color=c, ms=4, capsize=2, zorder=6, lw=0.9)
                s.lines[0].set_gid(f"extrapolated:{i}")
                sig = xmed[0] / T_extrapolate
                factor, unit_text = style.conductivity_unit([sig])
                text += (f"\n{_SYMBOL.get(f.quantity, f.quantity)}({T_extrapolate:g} K) = {sig * factor:.3g} "
                         f"[{xlo[0] / T_extrapolate * factor:.3g}, {xhi[0] / T_extrapolate * factor:.3g}] {unit_text}")
            handles.append(eb)
            names.append(text)
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        ci = fits[0].ci_prob
        handles += [Patch(color="#888888", alpha=0.35, lw=0), Line2D([], [], color="#555555", ls="--", lw=1.0)]
        names += [style.interval_label(ci) + "\n(bars: per temperature; band: fitted line)",
                  "extrapolation beyond the fitted\ntemperatures (open markers)" if T_extrapolate else
                  "extrapolation"]
        ax.set_yscale("log")
        ax.set_xlabel("1000/T (1/K)")
        ax.set_ylabel("σT (S K/cm)")
        pad = 0.04 * (1000.0 / t_lo - 1000.0 / t_hi)
        ax.set_xlim(1000.0 / t_hi - pad, 1000.0 / t_lo + pad)
        if show_temperature_axis:
            top = ax.secondary_xaxis("top", functions=(_inv, _inv))
            top.set_xlabel("T (K)")
            ticks = _nice_temperatures(t_lo, t_hi)
            if T_extrapolate and all(abs(1000 / T_extrapolate - 1000 / t) > 0.08 * (1000 / t_lo - 1000 / t_hi)
                                     for t in ticks):
                ticks = sorted(ticks + [float(T_extrapolate)])
            top.set_xticks(ticks)
            top.set_xticklabels([f"{t:g}" for t in ticks])
        style.figure_legend(fig, handles, names, width=width, max_cols=2)
    return fig


def _inv(x):
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x != 0, 1000.0 / np.where(x != 0, x, 1.0), np.inf)


def _nice_temperatures(t_lo, t_hi) -> list[float]:
    for step in (50, 100, 200, 250, 500):
        ticks = np.arange(np.ceil(t_lo / step) * step, t_hi + 1e-9, step)
        if len(ticks) <= 7:
            return [float(t) for t in ticks]
    return [float(t_lo), float(t_hi)]


def _fit_name(f, fits) -> str:
    sym = _SYMBOL.get(f.quantity, f.quantity)
    varying = {k for k in f.labels if len({str(g.labels.get(k)) for g in fits}) > 1}
    lab = {k: v for k, v in f.labels.items() if k in varying}
    return f"{sym}, {style.label_text(lab)}" if lab else sym
