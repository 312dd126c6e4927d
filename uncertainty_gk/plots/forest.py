"""Forest plot: one row per group, point estimate and credible interval on a log axis."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..errors import UGKError
from . import style

__all__ = ["ForestRow", "forest_rows", "forest_figure"]

_QUANTITIES = ("sigma", "sigma_tr", "haven_ratio", "D_tr")


@dataclass
class ForestRow:
    block: dict                 # labels shared by the rows of a block (e.g. temperature)
    value: object               # value of ``by`` (or None)
    labels: dict
    estimate: object            # Estimate or None
    flagged: list = field(default_factory=list)


def _sort_key(labels: dict):
    t = labels.get("temperature_K")
    try:
        t = float(t)
    except (TypeError, ValueError):
        t = float("inf")
    return (t, json.dumps({k: v for k, v in labels.items() if k != "temperature_K"}, sort_keys=True, default=str))


def forest_rows(source, quantity: str = "sigma", by: str = "model") -> list[ForestRow]:
    """Rows from an AnalysisResult or a Comparison, blocks sorted by temperature."""
    rows = []
    if hasattr(source, "rows") and hasattr(source, "by"):          # Comparison
        by = source.by
        for r in source.rows:
            for e in r.entries:
                flagged = list(e.runs_flagged) + [f"{n} truncated" for n in e.runs_truncated] + \
                    [f"{n} dropped" for n in e.runs_dropped]
                rows.append(ForestRow(dict(r.labels), e.value, dict(e.labels), e.estimates.get(quantity), flagged))
    elif hasattr(source, "groups"):                                  # AnalysisResult
        records = (source.provenance or {}).get("diagnostics", [])
        for g in source.groups:
            has_by = by in g.labels
            block = {k: v for k, v in g.labels.items() if k != by} if has_by else \
                {k: v for k, v in g.labels.items() if k == "temperature_K"}
            flagged = [f"{r['run']} {r['action'] if r.get('action') not in (None, 'kept') else r['status']}"
                       for r in g.run_status if r.get("status") in ("warning", "failed")
                       or r.get("action") in ("truncated", "dropped")]
            flagged += [f"{r['run']} dropped" for r in records if r.get("action") == "dropped"
                        and all(str(r.get("labels", {}).get(k)) == str(v) for k, v in g.labels.items())]
            value = g.labels[by] if has_by else style.display_labels(
                {k: v for k, v in g.labels.items() if k != "temperature_K"})
            rows.append(ForestRow(block, value, dict(g.labels), g.quantities.get(quantity), flagged))
    else:
        raise UGKError(f"forest_figure: expected an AnalysisResult or a Comparison, got {type(source).__name__}")
    if not rows:
        raise UGKError("forest_figure: nothing to plot (no groups)")
    rows.sort(key=lambda r: (_sort_key(r.block), str(r.value)))
    return rows


def forest_figure(source, quantity: str = "sigma", by: str = "model", *, width="double", unit: str = "auto"):
    """Forest plot of one quantity: a row per group, blocks of rows per temperature.

    Parameters
    ----------
    source : AnalysisResult or Comparison
    quantity : "sigma", "sigma_tr", "haven_ratio" or "D_tr"
    by : str
        Label whose values are the rows of a block (and the colours); with a
        Comparison its own ``by`` is used.
    unit : "auto", "S/cm" or "mS/cm" (conductivities)

    Each row shows the posterior median (marker) and the central credible interval
    (bar) on a log axis.  Hollow markers: groups with runs that diagnostics flagged,
    truncated or dropped (listed in a footnote).  A quantity that is only an upper
    bound (σ not resolved, no diffusion detected) is an arrow pointing left from the
    bound.
    """
    from matplotlib.lines import Line2D

    if quantity not in _QUANTITIES:
        raise UGKError(f"forest_figure: quantity {quantity!r}; choose one of {', '.join(_QUANTITIES)}")
    if hasattr(source, "by"):
        by = source.by
    rows = forest_rows(source, quantity, by)
    values, names = [], {}
    for r in rows:
        if r.value not in values:
            values.append(r.value)
            # without the label ``by`` the value is already the display text of the other labels
            names[r.value] = _value_text(by, r.value) if by in r.labels else str(r.value)
    cmap = {v: i for i, v in enumerate(values)}
    est = [r.estimate for r in rows if r.estimate is not None]
    if quantity in ("sigma", "sigma_tr"):
        factor, unit_text = style.conductivity_unit([e.median if np.isfinite(e.median) else e.upper for e in est], unit)
    else:
        factor, unit_text = 1.0, ("cm²/s" if quantity == "D_tr" else "")
    narrow = style.is_narrow(width)
    blocks = []
    for r in rows:
        if not blocks or blocks[-1][0] != r.block:
            blocks.append((r.block, []))
        blocks[-1][1].append(r)
    common = {k: v for k, v in rows[0].block.items()
              if all(str(r.block.get(k)) == str(v) for r in rows) and k != "temperature_K"}
    n_lines = len(rows) + len(blocks)
    notes = [f"{style.display_labels(r.labels)}: {', '.join(style.mathtext_escape(f) for f in r.flagged)}"
             for r in rows if r.flagged]
    foot = ""
    if notes:
        import textwrap

        foot = "\n".join(textwrap.wrap("Hollow markers, runs flagged by diagnostics: " + "; ".join(notes),
                                        style.chars_per_line(width, 0.9), max_lines=4, placeholder=" …"))
    with style.style():
        n_foot = foot.count("\n") + 1 if foot else 0
        fig = style.new_figure(width, 0.9 + 0.15 * n_lines + 0.1 * n_foot)
        if foot:
            ax, axf = fig.subplots(2, 1, height_ratios=[0.15 * n_lines, 0.1 * n_foot])
            axf.axis("off")
            axf.text(0.0, 1.0, foot, fontsize=5.0, color="#444444", ha="left", va="top", transform=axf.transAxes)
        else:
            ax = fig.subplots()
        if common:
            fig.suptitle(style.display_labels(common), fontsize=7.0)
        y = 0.0
        ticks, tick_labels, headers = [], [], []
        positives = []
        for block, members in blocks:
            head = {k: v for k, v in block.items() if k not in common}
            ax.text(0.005, y, style.display_labels(head) if head else "all groups", transform=ax.get_yaxis_transform(),
                    fontweight="bold", fontsize=6.0, va="center", ha="left")
            headers.append(y)
            y -= 1
            for r in members:
                i = cmap[r.value]
                c, m = style.colour(i), style.marker(i)
                e = r.estimate
                hollow = bool(r.flagged)
                if e is None:
                    ax.text(0.02, y, "not available", transform=ax.get_yaxis_transform(), fontsize=5.5,
                            va="center", color="#555555")
                elif np.isfinite(e.median) and e.median > 0:
                    lo = max(e.lower, e.median * 1e-6)
                    ax.errorbar([e.median * factor], [y], xerr=[[(e.median - lo) * factor],
                                                                [(e.upper - e.median) * factor]],
                                fmt=m, color=c, mfc="white" if hollow else c, ms=3.5, capsize=1.8, lw=0.9,
                                zorder=4)
                    positives += [lo * factor, e.upper * factor]
                elif np.isfinite(e.upper) and e.upper > 0:
                    ub = e.upper * factor
                    ax.annotate("", xy=(ub / 4, y), xytext=(ub, y),
                                arrowprops={"arrowstyle": "->", "color": c, "lw": 0.9}, zorder=4)
                    ax.plot([ub], [y], marker="|", ms=5, mew=1.2, color=c, zorder=4)
                    positives += [ub / 4, ub]
                elif np.isfinite(e.lower) and e.lower > 0:      # lower bound only (H_R with σ unresolved)
                    lb = e.lower * factor
                    ax.annotate("", xy=(lb * 4, y), xytext=(lb, y),
                                arrowprops={"arrowstyle": "->", "color": c, "lw": 0.9}, zorder=4)
                    ax.plot([lb], [y], marker="|", ms=5, mew=1.2, color=c, zorder=4)
                    positives += [lb, lb * 4]
                ticks.append(y)
                tick_labels.append(names[r.value])
                y -= 1
        ax.set_xscale("log")
        if positives:
            lo, hi = min(positives), max(positives)
            ax.set_xlim(lo / 1.4, hi * 1.4)
        if quantity == "haven_ratio":
            ax.axvline(1.0, color="#555555", lw=0.7, ls="--", zorder=1)
        ax.set_yticks(ticks)
        ax.set_yticklabels(tick_labels)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y + 0.4, 0.6)
        for h in headers[1:]:
            ax.axhline(h + 0.5, color="#cccccc", lw=0.5, zorder=0)
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(axis="x", which="major", color="#eeeeee", lw=0.5, zorder=0)
        ax.set_xlabel(style.axis_label(quantity, unit_text or "dimensionless"))
        ax.set_ylabel(by.replace("_", " "))
        ci = next((e.ci_prob for e in est), 0.95)
        handles = [Line2D([], [], marker=style.marker(cmap[v]), color=style.colour(cmap[v]), ls="none", ms=3.5)
                   for v in values]
        labels = [names[v] for v in values]
        # a grey legend key for "marker with bar" (drawn at NaN: invisible)
        handles.append(ax.errorbar([np.nan], [np.nan], xerr=[[np.nan], [np.nan]], fmt="o", color="#333333", ms=3,
                                   capsize=1.8, lw=0.9))
        labels.append(f"median, {style.interval_label(ci)}")
        bounded = [r.estimate for r in rows if r.estimate is not None and not np.isfinite(r.estimate.median)]
        if any(np.isfinite(e.upper) and e.upper > 0 for e in bounded):
            handles.append(Line2D([], [], color="#333333", marker="<", ms=3, lw=0.9))
            labels.append(f"upper bound only ({style.symbol('sigma')} not resolved or no diffusion)")
        if any(not (np.isfinite(e.upper) and e.upper > 0) and np.isfinite(e.lower) and e.lower > 0 for e in bounded):
            handles.append(Line2D([], [], color="#333333", marker=">", ms=3, lw=0.9))
            labels.append(f"lower bound only ({style.symbol('sigma')} not resolved)")
        if notes:
            handles.append(Line2D([], [], marker="o", mfc="white", color="#333333", ls="none", ms=3.5))
            labels.append("hollow: runs flagged or truncated by diagnostics")
        style.figure_legend(fig, handles, labels, width=width, max_cols=3 if not narrow else 2)
    return fig


def _value_text(by: str, value) -> str:
    """A row's name: the value of ``by`` as figure text (``pedone``, ``1000 K``); the key is the axis label."""
    if value is None:
        return ""
    return style.display_label(by, value)
