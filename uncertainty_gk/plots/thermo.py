"""Temperature and potential energy against time per run, with the diagnostics' flags."""

from __future__ import annotations

import math

import numpy as np

from . import style

__all__ = ["flag_intervals", "thermo_figure"]

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


def _choose_runs(campaign, diag: dict, runs, max_runs: int) -> tuple[list[str], int]:
    names = list(runs) if runs is not None else list(campaign.keys())
    for n in names:
        campaign[n]  # raises a KeyError naming the valid runs
    if len(names) <= max_runs:
        return names, 0
    ranked = sorted(range(len(names)),
                    key=lambda i: (_STATUS_ORDER.get(getattr(diag.get(names[i]), "status", "ok"), 2), i))
    keep = sorted(ranked[:max_runs])
    return [names[i] for i in keep], len(names) - max_runs


def _thermo_series(ds):
    """(t, T) and (t, PE per atom) of the production thermo block, or None each."""
    from ..diagnostics import thermo as th

    block = th.production_block(ds)
    rows = th.production_rows(ds, block)
    temp = th.thermo_column(ds, "Temp", rows)
    pe = th.thermo_column(ds, "PotEng", rows)
    if pe is not None:
        pe = (pe[0], pe[1] / max(int(ds.sizes.get("atom", 1)), 1))
    return temp, pe


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

    Flagged intervals (first to last offending frame of each check) are shaded:
    failures in vermillion, warnings in orange.  A solid vermillion line marks the
    first failure and a dotted black line the end of the trusted segment.  Runs
    without a thermo log (e.g. VASP) get one panel with the flags on a time axis.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    diag = _as_diagnoses(diagnoses)
    names, left_out = _choose_runs(campaign, diag, runs, max_runs)
    narrow = style.is_narrow(width)
    row_h = 0.95 if narrow else 1.05
    with style.style():
        fig = style.new_figure(width, 0.7 + row_h * max(len(names), 1))
        if not names:
            style.note(fig.add_subplot(), "no runs to show", loc="center")
            return fig
        gs = fig.add_gridspec(len(names), 2)
        n_chars = style.chars_per_line(width, 0.85)
        for i, name in enumerate(names):
            ds = campaign[name]
            d = diag.get(name)
            temp, pe = _thermo_series(ds)
            times = np.asarray(ds["time"].values, dtype=float)
            span = (float(times[0]), float(times[-1])) if times.size else (0.0, 1.0)
            if d is not None and d.run_start_ps is not None and d.run_end_ps is not None:
                span = (min(span[0], d.run_start_ps), max(span[1], d.run_end_ps))
            status = getattr(d, "status", "not diagnosed")
            checks = sorted({f.check for f in d.flags}) if d is not None else []
            head = f"{name}: {status}"
            if d is not None and d.first_flag_time_ps is not None:
                head += f" at {d.first_flag_time_ps:.3g} ps, trusted until {d.trusted_until_ps:.3g} ps"
            head += f"; {', '.join(checks)}" if checks else ""
            if temp is None and pe is None:
                ax = fig.add_subplot(gs[i, :])
                ax.set_xlim(*span)
                ax.set_yticks([])
                _mark_flags(ax, d, span)
                style.note(ax, "no thermo log: flags shown on the trajectory's time axis", loc="center")
                ax.set_title(_wrap(head, n_chars), loc="left", fontsize=6.0, pad=2.0)
                ax.set_xlabel("time (ps)")
                continue
            axT = fig.add_subplot(gs[i, 0])
            axE = fig.add_subplot(gs[i, 1], sharex=axT)
            axT.set_title(_wrap(head, n_chars), loc="left", fontsize=6.0, pad=2.0)
            for ax, series, colour, ylabel in ((axT, temp, style.OKABE_ITO["blue"], f"{style.symbol('T')} (K)"),
                                               (axE, pe, style.OKABE_ITO["green"], "PE (eV/atom)")):
                if series is None:
                    style.note(ax, "not in the log", loc="center")
                else:
                    t, v = series
                    ok = np.isfinite(v)
                    ax.plot(t[ok], v[ok], color=colour, lw=0.6, zorder=2)
                    if ok.any():
                        lo, hi = style.robust_limits(v[ok], 0.0, 1.0, pad=0.08)
                        ax.set_ylim(lo, hi)
                    span = (min(span[0], float(t[0])), max(span[1], float(t[-1])))
                ax.set_ylabel(ylabel)
                ax.ticklabel_format(axis="y", useOffset=False)
            axT.set_xlim(*span)
            for ax in (axT, axE):
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
            fig.supxlabel("no run was flagged by the diagnostics", fontsize=6.0)
        if left_out:
            fig.suptitle(f"{len(names)} of {len(names) + left_out} runs shown (failed and warned runs first); "
                         f"{left_out} left out", fontsize=6.5)
    return fig
