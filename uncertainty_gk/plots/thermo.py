"""Temperature and potential energy against time per run, with the diagnostics' flags."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import style

__all__ = ["flag_intervals", "thermo_figure", "thermo_data", "draw_thermo", "ThermoData"]

_STATUS_ORDER = {"failed": 0, "warning": 1}


def _as_diagnoses(diagnoses) -> dict:
    """name -> RunDiagnosis from a mapping, a list of records (``provenance["diagnostics"]``) or None."""
    from ..diagnostics import RunDiagnosis

    if diagnoses is None:
        return {}
    if isinstance(diagnoses, dict):
        items = diagnoses.items()
    else:
        items = [(r["run"], r) for r in diagnoses]
    out = {}
    for name, d in items:
        if isinstance(d, dict):
            d = RunDiagnosis.from_dict({"status": d.get("status", "ok"), **d})
        out[name] = d
    return out


def _has_thermo(ds) -> bool:
    """Whether a run has anything for the figure to draw: a thermo log or stored velocities."""
    from ..diagnostics import thermo as th

    return th.production_block(ds) is not None or "velocities" in ds


def _choose_runs(campaign, diag: dict, runs, max_runs: int) -> tuple[list[str], list[str], int]:
    """(runs to draw, runs with nothing to draw, how many drawable runs were left out)."""
    names = list(runs) if runs is not None else list(campaign.keys())
    for n in names:
        campaign[n]  # raises a KeyError naming the valid runs
    drawable = [n for n in names if _has_thermo(campaign[n])]
    empty = [n for n in names if n not in drawable]
    if len(drawable) <= max_runs:
        return drawable, empty, 0
    ranked = sorted(range(len(drawable)),
                    key=lambda i: (_STATUS_ORDER.get(getattr(diag.get(drawable[i]), "status", "ok"), 2), i))
    keep = sorted(ranked[:max_runs])
    return [drawable[i] for i in keep], empty, len(drawable) - max_runs


def _failed_first(names: list, diag: dict) -> list:
    """``names`` with failed runs first, then warned, then the rest (each in the given order)."""
    return sorted(names, key=lambda n: _STATUS_ORDER.get(getattr(diag.get(n), "status", "ok"), 2))


def _thermo_series(ds):
    """(t, T), where T came from (``"log"`` or ``"velocities"``), and (t, PE per atom); None where absent.

    The temperature is the log's ``Temp`` column of the production block or, without
    one (e.g. a VASP XDATCAR with velocities), the kinetic temperature Σ m v²/(3 N k_B)
    from the stored velocities.
    """
    from ..diagnostics import thermo as th

    block = th.production_block(ds)
    rows = th.production_rows(ds, block)
    temp = th.thermo_column(ds, "Temp", rows)
    source = "log"
    if temp is None:
        temp, source = th.kinetic_temperature(ds), "velocities"
    pe = th.thermo_column(ds, "PotEng", rows)
    if pe is not None:
        pe = (pe[0], pe[1] / max(int(ds.sizes.get("atom", 1)), 1))
    return temp, source, pe


def _status_text(name: str, d) -> str:
    """``run: failed at 12.3 ps, trusted until 11.3 ps; min_distance`` (or ``not diagnosed``)."""
    status = getattr(d, "status", "not diagnosed")
    head = f"{name}: {status}"
    if d is not None and d.first_flag_time_ps is not None:
        head += f" at {d.first_flag_time_ps:.3g} ps"
        if d.trusted_until_ps is not None:
            head += f", trusted until {d.trusted_until_ps:.3g} ps"
    checks = sorted({f.check for f in d.flags}) if d is not None else []
    return style.mathtext_escape(head + (f"; {', '.join(checks)}" if checks else ""))


def _wrap(text: str, n: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, n, max_lines=2, placeholder=" …"))


def flag_intervals(d, t_span) -> dict[str, list[tuple[float, float]]]:
    """Merged flagged intervals per severity: the union of [first, last] offending time of
    each flag (at least ``0.6 %`` of the time axis wide so single frames stay visible)."""
    lo, hi = t_span
    min_w = 0.006 * (hi - lo) if hi > lo else 0.0
    out: dict[str, list] = {"failed": [], "warning": []}
    if d is None:
        return out
    for f in d.flags:
        t0 = f.time_ps if math.isfinite(f.time_ps) else lo
        t1 = f.last_time_ps if f.last_time_ps is not None and math.isfinite(f.last_time_ps) else t0
        out.setdefault(f.severity, []).append((t0, max(t1, t0 + min_w)))
    for sev, iv in out.items():
        merged = []
        for a, b in sorted(iv):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        out[sev] = merged
    return out


def _mark_flags(ax, d, t_span):
    """Shade flagged intervals and mark the first failure and the trusted-until time."""
    if d is None:
        return
    for sev, iv in flag_intervals(d, t_span).items():
        colour = style.FAIL_COLOUR if sev == "failed" else style.WARN_COLOUR
        for a, b in iv:
            ax.axvspan(a, b, color=colour, alpha=0.2, lw=0, zorder=0).set_gid(f"flag:{sev}")
    if d.first_flag_time_ps is not None:
        ax.axvline(d.first_flag_time_ps, color=style.FAIL_COLOUR, lw=0.9, ls="-", zorder=3).set_gid("first_failure")
    if d.trusted_until_ps is not None and d.status == "failed":
        ax.axvline(d.trusted_until_ps, color=style.FIT_COLOUR, lw=0.8, ls=":", zorder=3).set_gid("trusted_until")


def thermo_figure(campaign, diagnoses=None, runs=None, *, width="double", max_runs: int = 12):
    """Per run: temperature and potential energy per atom against time, with flags.

    Parameters
    ----------
    campaign : Campaign (or mapping name -> Dataset)
    diagnoses : mapping name -> RunDiagnosis, list of diagnostics records
        (``AnalysisResult.provenance["diagnostics"]``), or None (no flags drawn)
    runs : list of run names, optional (default: every run)
    max_runs : int
        At most this many runs (failed first, then warnings, then the rest, in
        campaign order); the figure says how many were left out.

    Only runs with something to draw get a row: the log's temperature and potential
    energy, or, without a log, the kinetic temperature from stored velocities (said in
    the axis label).  A row with only one of the two spans the figure.  Runs with neither
    (a VASP XDATCAR has no log and no velocities) are listed in the title with their
    diagnostics status; when no run has anything to draw the figure is one note saying
    so, never empty axes.  Flagged intervals (first to last offending frame of each
    check) are shaded: failures in vermillion, warnings in orange.  A solid vermillion
    line marks the first failure and a dotted black line the end of the trusted segment.
    """

    return draw_thermo(thermo_data(campaign, diagnoses, runs, max_runs=max_runs), diagnoses, width=width)


@dataclass
class ThermoData:
    """What the thermo figure draws, read from the campaign (small, picklable: the figure
    can then be drawn on a dask worker that cannot open the campaign)."""

    names: list            # runs drawn, in order
    empty: list            # runs with nothing to draw (failed first)
    left_out: int          # drawable runs left out by max_runs
    max_runs: int
    series: dict           # name -> ((t, T) or None, "log" | "velocities", (t, PE per atom) or None)
    times: dict            # name -> (first, last) frame time (ps)


def thermo_data(campaign, diagnoses=None, runs=None, *, max_runs: int = 12) -> ThermoData:
    """Read the series :func:`thermo_figure` draws (arguments as there)."""
    diag = _as_diagnoses(diagnoses)
    names, empty, left_out = _choose_runs(campaign, diag, runs, max_runs)
    series, times = {}, {}
    for name in names:
        temp, source, pe = _thermo_series(campaign[name])
        if temp is None and pe is None:       # a log whose columns are all missing or NaN
            empty.append(name)
        else:
            series[name] = (temp, source, pe)
            t = np.asarray(campaign[name]["time"].values, dtype=float)
            times[name] = (float(t[0]), float(t[-1])) if t.size else (0.0, 1.0)
    names = [n for n in names if n in series]
    empty = _failed_first([n for n in (list(runs) if runs is not None else list(campaign.keys()))
                           if n in set(empty)], diag)
    return ThermoData(names=names, empty=empty, left_out=left_out, max_runs=max_runs, series=series, times=times)


def draw_thermo(td: ThermoData, diagnoses=None, *, width="double"):
    """The figure of :func:`thermo_figure` from its :class:`ThermoData`."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    diag = _as_diagnoses(diagnoses)
    names, empty, left_out, max_runs, series = td.names, td.empty, td.left_out, td.max_runs, td.series
    narrow = style.is_narrow(width)
    row_h = 0.95 if narrow else 1.05
    n_chars = style.chars_per_line(width, 0.85)
    with style.style():
        if not names:
            return _no_thermo_figure(width, empty, diag, max_runs)
        head = _headline_text(width, names, empty, diag, left_out, max_runs)
        fig = style.new_figure(width, 0.7 + row_h * len(names) + 0.1 * (head.count("\n") + 1 if head else 0))
        gs = fig.add_gridspec(len(names), 2)
        for i, name in enumerate(names):
            d = diag.get(name)
            temp, source, pe = series[name]
            span = td.times[name]
            if d is not None and d.run_start_ps is not None and d.run_end_ps is not None:
                span = (min(span[0], d.run_start_ps), max(span[1], d.run_end_ps))
            t_label = f"{style.symbol('T')} (K)" if source == "log" else f"kinetic {style.symbol('T')} (K)"
            panels = [(temp, style.OKABE_ITO["blue"], t_label, "temperature"),
                      (pe, style.OKABE_ITO["green"], "PE (eV/atom)", "potential_energy")]
            panels = [p for p in panels if p[0] is not None]
            axes = [fig.add_subplot(gs[i, :])] if len(panels) == 1 else [fig.add_subplot(gs[i, 0])]
            if len(panels) == 2:
                axes.append(fig.add_subplot(gs[i, 1], sharex=axes[0]))
            row_title = _status_text(name, d)
            if source == "velocities":
                row_title += " (no thermo log: kinetic temperature from the velocities)"
            axes[0].set_title(_wrap(row_title, n_chars), loc="left", fontsize=6.0, pad=2.0)
            for ax, (data, colour, ylabel, gid) in zip(axes, panels):
                t, v = data
                ok = np.isfinite(v)
                ax.plot(t[ok], v[ok], color=colour, lw=0.6, zorder=2, gid=gid)
                if ok.any():
                    lo, hi = style.robust_limits(v[ok], 0.0, 1.0, pad=0.08)
                    ax.set_ylim(lo, hi)
                span = (min(span[0], float(t[0])), max(span[1], float(t[-1])))
                ax.set_ylabel(ylabel)
                ax.ticklabel_format(axis="y", useOffset=False)
            axes[0].set_xlim(*span)
            for ax in axes:
                _mark_flags(ax, d, span)
                if i == len(names) - 1:
                    ax.set_xlabel("time (ps)")
        handles = [Patch(color=style.FAIL_COLOUR, alpha=0.35, lw=0), Patch(color=style.WARN_COLOUR, alpha=0.35, lw=0),
                   Line2D([], [], color=style.FAIL_COLOUR, lw=0.9), Line2D([], [], color=style.FIT_COLOUR, lw=0.8, ls=":")]
        labels = ["failed check (first to last flagged time)", "warning (first to last flagged time)",
                  "first failure", "trusted until"]
        drawn = {a.get_gid() for ax in fig.axes for a in ax.get_children()}
        keep = [k for k, gid in enumerate(("flag:failed", "flag:warning", "first_failure", "trusted_until"))
                if gid in drawn]
        if keep:
            style.figure_legend(fig, [handles[k] for k in keep], [labels[k] for k in keep], width=width,
                                max_cols=2 if narrow else 4)
        else:
            fig.supxlabel("no run drawn here was flagged by the diagnostics", fontsize=6.0)
        if head:
            fig.suptitle(head, fontsize=6.0, ha="left", x=0.01)
    return fig


def _status_lines(names: list, diag: dict, max_runs: int) -> list[str]:
    """Flagged runs one by one (failed first, at most ``max_runs``), the others by status:
    ``ok (14 runs): a, b, ...``."""
    flagged = [n for n in names if getattr(diag.get(n), "status", None) in _STATUS_ORDER]
    lines = [_status_text(n, diag.get(n)) for n in flagged[:max_runs]]
    if len(flagged) > max_runs:
        lines.append(f"… and {len(flagged) - max_runs} more flagged runs")
    by_status: dict[str, list] = {}
    for n in names:
        if n not in flagged:
            by_status.setdefault(getattr(diag.get(n), "status", "not diagnosed"), []).append(n)
    for status, members in by_status.items():
        shown = ", ".join(style.mathtext_escape(m) for m in members[:max_runs])
        more = f" and {len(members) - max_runs} more" if len(members) > max_runs else ""
        lines.append(f"{status} ({len(members)} run{'s' if len(members) > 1 else ''}): {shown}{more}")
    return lines


def _headline_text(width, names, empty, diag, left_out: int, max_runs: int) -> str:
    """The figure title: how many runs were left out, and the runs with nothing to draw."""
    import textwrap

    heads = []
    if left_out:
        heads.append(f"{len(names)} of {len(names) + left_out} runs with thermo data shown (failed and warned "
                     f"runs first); {left_out} left out")
    if empty:
        heads.append(f"Not drawn, no thermo log or velocities ({len(empty)} runs): "
                     + "; ".join(_status_lines(empty, diag, max_runs)))
    return "\n".join(textwrap.fill(h, style.chars_per_line(width, 0.95), max_lines=6, placeholder=" …")
                     for h in heads)


def _no_thermo_figure(width, empty: list, diag: dict, max_runs: int):
    """One note instead of empty axes: no run has a thermo log or velocities."""
    import textwrap

    n = len(empty)
    lines = [f"No thermo log and no velocities in {'the run' if n == 1 else f'any of the {n} runs'} "
             "(e.g. a VASP XDATCAR without its OUTCAR): no temperature or energy to draw."]
    if n:
        lines.append("Diagnostics (checks on the trajectory):")
        lines += _status_lines(empty, diag, max_runs)
    width_chars = style.chars_per_line(width, 0.9)
    text = "\n".join(textwrap.fill(line, width_chars, subsequent_indent="    ") for line in lines)
    fig = style.new_figure(width, 0.15 + 0.1 * (text.count("\n") + 1))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.0, 1.0, text, transform=ax.transAxes, ha="left", va="top", fontsize=6.0, gid="no_thermo_note")
    return fig
