r"""Choice of the diffusive fit window of an MSD curve.

The window starts where the ballistic and vibrational regime has ended and ends
where too few independent samples remain.

* **Start** :math:`t_\min`: the first lag from which the local slope
  :math:`\mathrm{d}\ln \mathrm{MSD} / \mathrm{d}\ln t`, measured on log-spaced lags,
  stays at or above ``min_loglog_slope`` (default 0.8) up to the end of the window,
  and at least ``min_start_ps``.  A line with an intercept is fitted, so the slope
  need not reach 1: the vibrational plateau only has to be over.
* **End** :math:`t_\max`: a fraction ``max_fraction`` (default 1/4) of the longest
  seed; every seed uses only the lags up to ``max_fraction`` of its own length, i.e.
  at least four non-overlapping windows per seed at its longest lag.
* **Fallback**: when the MSD grows but never becomes linear within the usable lags
  (short AIMD runs, caged ions), the window ``[t_max/3, t_max]`` is used and marked
  *provisional*: the analysis reports it with a warning that the estimate may be
  biased and the runs should be longer.  This needs the log-log slope to reach at
  least ``fallback_min_slope`` (0.5); otherwise the runs are too short and an error
  says by how much.

:func:`choose_window` returns a :class:`FitWindow` with the reasons; a user window
overrides the choice but is still checked.  :func:`window_lags` picks the K lags
(in frames) at which the regression is done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import AnalysisError

__all__ = ["FitWindow", "local_loglog_slope", "choose_window", "window_lags"]


@dataclass(frozen=True)
class FitWindow:
    start_ps: float
    end_ps: float
    reason: str = ""
    provisional: bool = False

    def as_list(self) -> list[float]:
        return [float(self.start_ps), float(self.end_ps)]


def local_loglog_slope(lag_ps: np.ndarray, msd: np.ndarray, n_points: int = 40):
    """Local slope of ln MSD vs ln t on log-spaced lags; returns (t, slope)."""
    lag_ps = np.asarray(lag_ps, dtype=float)
    msd = np.asarray(msd, dtype=float)
    ok = (lag_ps > 0) & (msd > 0)
    t, m = lag_ps[ok], msd[ok]
    if t.size < 4:
        return t, np.full(t.size, np.nan)
    grid = np.unique(np.geomspace(t[0], t[-1], n_points))
    lm = np.interp(np.log(grid), np.log(t), np.log(m))
    slope = np.gradient(lm, np.log(grid))
    return grid, slope


def choose_window(lag_ps: np.ndarray, msd: np.ndarray, *, shortest_run_ps: float,
                  longest_run_ps: float | None = None, max_fraction: float = 0.25,
                  min_loglog_slope: float = 0.8, min_start_ps: float | None = None,
                  user: tuple[float, float] | None = None, min_span_ratio: float = 2.0,
                  allow_fallback: bool = True, fallback_min_slope: float = 0.5) -> FitWindow:
    """The fit window for a tracer MSD curve (averaged over seeds).

    Raises
    ------
    AnalysisError
        When the runs are too short for any diffusive window, with the numbers and a remedy.
    """
    lag_ps = np.asarray(lag_ps, dtype=float)
    dt = float(lag_ps[1] - lag_ps[0]) if lag_ps.size > 1 else np.nan
    longest = shortest_run_ps if longest_run_ps is None else longest_run_ps
    end = max_fraction * longest
    if user is not None:
        start, stop = map(float, user)
        if not 0 <= start < stop:
            raise AnalysisError(f"fit window {user} ps: need 0 ≤ start < end")
        if stop > longest:
            raise AnalysisError(f"fit window ends at {stop:g} ps but the longest seed lasts "
                                f"{longest:g} ps; choose an end at most {longest:g} ps (the automatic "
                                f"window ends at {end:g} ps, a quarter of the run)")
        return FitWindow(start, stop, "user")
    if min_start_ps is None:
        min_start_ps = 4 * dt if np.isfinite(dt) else 0.0
    inside = lag_ps <= end
    t, slope = local_loglog_slope(lag_ps[inside], msd[inside])
    start = None
    if t.size:
        good = slope >= min_loglog_slope
        # first index from which every later point is good
        bad_idx = np.nonzero(~good)[0]
        first = 0 if bad_idx.size == 0 else bad_idx[-1] + 1
        if first < t.size:
            start = max(float(t[first]), min_start_ps)
    too_short = end < 8 * dt
    best = float(np.nanmax(slope)) if slope.size and np.isfinite(slope).any() else float("nan")
    if (start is None or end < min_span_ratio * start) and allow_fallback and not too_short \
            and best >= fallback_min_slope:
        fb = max(end / 3.0, min_start_ps)
        if end >= min_span_ratio * fb:
            worst = best
            return FitWindow(fb, end, f"provisional: the MSD never reaches log-log slope {min_loglog_slope} "
                                      f"below {end:g} ps (largest {worst:.2f}); fitted over [{fb:g}, {end:g}] ps. "
                                      "The estimate may be biased: run longer", provisional=True)
    if start is None or end < min_span_ratio * start or too_short:
        where = f"{start:g} ps" if start is not None else "nowhere below the end"
        raise AnalysisError(
            f"no diffusive window: the MSD becomes linear (log-log slope ≥ {min_loglog_slope}) at {where}, "
            f"but the usable lags end at {end:g} ps ({max_fraction:g} × the longest seed, {longest:g} ps); "
            f"need the end ≥ {min_span_ratio:g} × the start. Run longer (at least "
            f"{(min_span_ratio * (start or 10 * dt)) / max_fraction:.3g} ps per seed), raise the temperature, "
            "or give a window with --window START END")
    return FitWindow(start, end, f"log-log slope ≥ {min_loglog_slope} from {start:g} ps; "
                                 f"end = {max_fraction:g} × longest seed")


def window_lags(window: FitWindow, dt_ps: float, n_frames: int, n_lags: int = 24) -> np.ndarray:
    """K lags in frames, evenly spaced over the window (unique, within the run)."""
    a = max(1, int(round(window.start_ps / dt_ps)))
    b = min(n_frames - 1, int(round(window.end_ps / dt_ps)))
    if b <= a:
        raise AnalysisError(f"fit window {window.start_ps:g}-{window.end_ps:g} ps spans no frames "
                            f"at {dt_ps:g} ps per frame")
    return np.unique(np.linspace(a, b, n_lags).round().astype(np.int64))
