r"""Failure checks from the simulation log (thermo rows and ERROR/WARNING events).

The log lives in the run Dataset as variables ``thermo_<Column>`` on dimension ``thermo``
(coordinates ``thermo_time`` in ps, ``thermo_step``, ``thermo_block``) and events on
dimension ``event`` (see :mod:`uncertainty_gk.schema`).  A LAMMPS log has several thermo
blocks (minimise, NPT, NVT production); drift and excursions are judged on the
**production block** only, by default the last block with rows.

Checks
------
``log_error`` / ``log_warning``
    ``ERROR`` lines (failed) and ``WARNING`` lines; warnings that signal a broken
    simulation (lost atoms, out-of-range atoms, non-numeric values, missing bond atoms)
    are failures, other warnings printed during a run are warnings, and set-up warnings
    printed before the first thermo row are ignored (listed in the thresholds echo).
``incomplete_run``
    The production block did fewer steps than its ``run`` command requested, or the log
    ended with an error.
``thermo_nonfinite``
    NaN or inf in a thermo column of the production block.
``temperature``
    :math:`|T - T_0| > k\,\sigma_T` with the canonical fluctuation
    :math:`\sigma_T = T_0\sqrt{2/(3N)}` (``temperature_sigma`` = k), or
    :math:`T >` ``temperature_ceiling_K``.  Without thermo output the kinetic temperature
    :math:`\sum_i m_i v_i^2 / (3 N k_B)` from stored velocities is used.
``energy_drift``
    A sequential change-point detector on ``PotEng`` (``TotEng`` when there is no
    ``PotEng``) of the production block: for every thermo row and every candidate onset
    before it, the likelihood-ratio statistic of a linear ramp starting at the onset
    against the mean of all earlier rows, in units of σ (:func:`energy_change_statistic`).
    σ is the canonical fluctuation of a harmonic solid, :math:`\sigma_U = k_B T_0
    \sqrt{3N/2}` (:math:`\sqrt{2}\,\sigma_U` for the total energy), or the spread of
    the earlier rows when larger (or when the temperature is unknown), times
    :math:`\sqrt{\tau_{int}}` with the integrated autocorrelation time τ_int of the rows
    before the candidate onset (the reference window and every later row up to it; 1
    below 8 rows, :func:`running_tau_int`).  The **alarm** is the first row at which the statistic
    exceeds ``energy_drift_sigma`` with a fitted departure of at least
    ``energy_drift_eV_per_atom`` × N: the flag's ``time_ps``.  It is causal, so it is
    never before the onset unless it is a false alarm.  The **onset** is then estimated
    off-line, by a least-squares jump-and-ramp fitted to the rows up to the alarm and as
    many after it (:func:`refine_hinge_onset`, with a 95 % interval in the message): the flag's
    ``onset_ps``, the run's first flagged time, and the end of the trusted segment.
``nve_drift``
    In NVE (``ensemble="nve"``, or ``"auto"`` when the detrended total energy fluctuates
    less than a fifth as much as the potential energy over at least 50 thermo rows) the least-squares slope of the total energy
    per atom, above ``nve_drift_eV_per_atom_ps``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import xarray as xr

from ..schema import labels_of
from ..units import AMU_A2_PER_PS2_IN_EV, BOLTZMANN_EV_PER_K
from .flags import Flag
from .structure import first_exceedance, frame_blocks, frames_per_chunk

__all__ = [
    "has_log", "production_block", "production_rows", "thermo_column", "target_temperature",
    "kinetic_temperature", "check_log_events", "check_incomplete_run", "check_thermo_nonfinite",
    "check_temperature", "check_energy_drift", "check_nve_drift", "canonical_temperature_sigma",
    "canonical_energy_sigma", "energy_change_statistic", "running_tau_int", "refine_hinge_onset", "excursion_onset",
]

#: WARNING messages that mean the simulation itself is broken (treated as failures).
FATAL_WARNING_PATTERNS = (
    r"lost atoms", r"out of range atoms", r"non-numeric", r"\bnan\b", r"\binf\b",
    r"(bond|angle|dihedral|improper) atoms? .*missing", r"too many neighbor", r"dangerous build",
    r"atoms? (?:have|has) moved too far",
)
_FATAL = re.compile("|".join(FATAL_WARNING_PATTERNS), re.IGNORECASE)


# --------------------------------------------------------------------------- access helpers
def has_log(ds: xr.Dataset) -> bool:
    """True when the Dataset carries thermo rows or log events."""
    return ("thermo_block" in ds.coords and ds.sizes.get("thermo", 0) > 0) or ds.sizes.get("event", 0) > 0


def production_block(ds: xr.Dataset, block: int | None = None) -> int | None:
    """The thermo block to judge: ``block`` if given, else the last block with rows."""
    if "thermo_block" not in ds.coords or ds.sizes.get("thermo", 0) == 0:
        return None
    blocks = np.asarray(ds["thermo_block"].values)
    if block is not None:
        if block < 0:
            block = int(np.unique(blocks)[block])
        if block not in set(blocks.tolist()):
            raise ValueError(f"thermo block {block} has no rows; blocks with rows: {sorted(set(blocks.tolist()))}")
        return int(block)
    return int(blocks[-1])


def production_rows(ds: xr.Dataset, block: int | None) -> np.ndarray:
    if block is None:
        return np.zeros(0, dtype=np.int64)
    return np.nonzero(np.asarray(ds["thermo_block"].values) == block)[0]


def thermo_column(ds: xr.Dataset, name: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(times, values) of thermo column ``name`` (e.g. ``"Temp"``) on the given rows."""
    var = f"thermo_{name}"
    if var not in ds or len(rows) == 0:
        return None
    t = np.asarray(ds["thermo_time"].values, dtype=np.float64)[rows]
    v = np.asarray(ds[var].values, dtype=np.float64)[rows]
    if np.all(np.isnan(v)):
        return None
    return t, v


def _json_attr(ds, key, default):
    raw = ds.attrs.get(key)
    if raw is None:
        return default
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except (TypeError, ValueError):
        return default


def target_temperature(ds: xr.Dataset, temperature_K: float | None = None) -> tuple[float | None, str]:
    """Thermostat temperature: argument, ``attrs['temperature_K']``, or labels (``temperature_K``/``T``)."""
    if temperature_K is not None:
        return float(temperature_K), "argument"
    t = ds.attrs.get("temperature_K")
    try:
        if t is not None and np.isfinite(float(t)) and float(t) > 0:
            return float(t), "attrs"
    except (TypeError, ValueError):
        pass
    labels = labels_of(ds)
    for key in ("temperature_K", "T", "temperature"):
        if key in labels:
            try:
                return float(labels[key]), f"labels[{key!r}]"
            except (TypeError, ValueError):
                pass
    return None, "unknown"


def canonical_temperature_sigma(temperature_K: float, n_atoms: int) -> float:
    """σ_T = T sqrt(2 / (3N)): canonical fluctuation of the instantaneous kinetic temperature."""
    return float(temperature_K * np.sqrt(2.0 / (3.0 * n_atoms)))


def canonical_energy_sigma(temperature_K: float, n_atoms: int) -> float:
    """σ_U = k_B T sqrt(3N/2): canonical potential-energy fluctuation of a harmonic solid (eV)."""
    return float(BOLTZMANN_EV_PER_K * temperature_K * np.sqrt(1.5 * n_atoms))


def kinetic_temperature(ds: xr.Dataset, *, chunk_frames: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Instantaneous kinetic temperature Σ m v² / (3 N k_B) per frame from ``velocities`` (K)."""
    if "velocities" not in ds:
        return None
    mass = np.asarray(ds["mass"].values, dtype=np.float64)
    times = np.asarray(ds["time"].values, dtype=np.float64)
    n = len(mass)
    temp = np.empty(len(times))
    for a, b in frame_blocks(len(times), chunk_frames or frames_per_chunk(ds)):
        v = np.asarray(ds["velocities"].isel(time=slice(a, b)).values, dtype=np.float64)
        ke = 0.5 * np.einsum("a,tax->t", mass, v * v) * AMU_A2_PER_PS2_IN_EV
        temp[a:b] = 2.0 * ke / (3.0 * n * BOLTZMANN_EV_PER_K)
    return times, temp


# --------------------------------------------------------------------------- event checks
def _event_time(ds: xr.Dataset, step: int) -> float:
    """Time (ps) of a log step: from the thermo rows of the last block, else step × timestep."""
    if "thermo_step" in ds.coords and ds.sizes.get("thermo", 0) > 0:
        blocks = np.asarray(ds["thermo_block"].values)
        rows = np.nonzero(blocks == blocks[-1])[0]
        steps = np.asarray(ds["thermo_step"].values)[rows].astype(np.float64)
        times = np.asarray(ds["thermo_time"].values, dtype=np.float64)[rows]
        ok = np.isfinite(times)
        if ok.sum() >= 2 and steps[ok][0] <= step:
            slope = (times[ok][-1] - times[ok][0]) / max(steps[ok][-1] - steps[ok][0], 1)
            return float(times[ok][-1] + (step - steps[ok][-1]) * slope) if step > steps[ok][-1] else \
                float(np.interp(step, steps[ok], times[ok]))
    for key in ("log_timestep_ps", "timestep_ps"):
        dt = ds.attrs.get(key)
        if dt is not None and np.isfinite(float(dt)):
            return float(step) * float(dt)
    return float("nan")


def check_log_events(ds: xr.Dataset) -> tuple[list[Flag], list[str]]:
    """Flags from ERROR / WARNING lines; also returns the ignored set-up warnings."""
    if ds.sizes.get("event", 0) == 0:
        return [], []
    kinds = np.asarray(ds["event_kind"].values).astype(str)
    msgs = np.asarray(ds["event_message"].values).astype(str)
    steps = np.asarray(ds["event_step"].values).astype(np.int64)
    lines = np.asarray(ds["event_line"].values).astype(np.int64) if "event_line" in ds.coords else -np.ones(len(kinds))
    flags, ignored = [], []
    for kind, msg, step, line in zip(kinds, msgs, steps, lines):
        fatal = kind == "ERROR" or bool(_FATAL.search(msg))
        if kind != "ERROR" and not fatal and step < 0:
            ignored.append(msg)
            continue
        t = _event_time(ds, int(max(step, 0)))
        check = "log_error" if kind == "ERROR" else "log_warning"
        flags.append(Flag(check=check, time_ps=t, value=float(step), threshold=float("nan"),
                          message=f"log line {line} after step {step}: {msg.strip()}",
                          severity="failed" if fatal else "warning", subject=msg.split(":")[1].strip()[:40]
                          if ":" in msg else kind))
    return flags, ignored


def check_incomplete_run(ds: xr.Dataset, block: int | None) -> list[Flag]:
    """The production block stopped before its requested number of steps (failed)."""
    if block is None:
        return []
    requested = _json_attr(ds, "log_block_requested_steps", None)
    done = _json_attr(ds, "log_steps_done", None)
    rows = production_rows(ds, block)
    t_last = float(np.asarray(ds["thermo_time"].values)[rows][-1]) if len(rows) else float("nan")
    if requested is not None and done is not None and block < len(requested) and block < len(done):
        req, got = requested[block], done[block]
        if req is not None and got is not None and got < req:
            return [Flag(check="incomplete_run", time_ps=t_last, value=float(got), threshold=float(req),
                         message=f"production block {block} ran {got} of {req} requested steps "
                                 f"(last thermo row at {t_last:.4g} ps): the run stopped early",
                         subject=f"block {block}")]
    if int(ds.attrs.get("log_ended_with_error", 0) or 0):
        return [Flag(check="incomplete_run", time_ps=t_last, value=float("nan"), threshold=float("nan"),
                     message="the log ended with an error", subject=f"block {block}")]
    return []


def check_thermo_nonfinite(ds: xr.Dataset, rows: np.ndarray) -> list[Flag]:
    """NaN or inf in any thermo column of the production block (failed)."""
    flags = []
    if len(rows) == 0:
        return flags
    t = np.asarray(ds["thermo_time"].values, dtype=np.float64)[rows]
    for var in ds.data_vars:
        if not str(var).startswith("thermo_") or ds[var].dims != ("thermo",):
            continue
        v = np.asarray(ds[var].values, dtype=np.float64)[rows]
        if np.all(np.isnan(v)):
            continue  # a column not printed in this block
        col = str(var)[len("thermo_"):]
        flags += first_exceedance(
            "thermo_nonfinite", t, v, ~np.isfinite(v), float("nan"),
            lambda tt, vv, col=col: f"thermo column {col} is {vv} at t = {tt:.4g} ps: the simulation blew up",
            subject=col)
    return flags


# --------------------------------------------------------------------------- series checks
def excursion_onset(times: np.ndarray, dev: np.ndarray, alarm: int, level: float) -> tuple[float | None, int]:
    """Last row before the contiguous excursion that contains row ``alarm``.

    Walks back from the alarm row over the rows whose deviation ``dev`` stays beyond
    ``level`` (same sign as at the alarm); the row before them is the last one still
    within it: the failure began after it.  Returns ``(time, rows in the excursion)``,
    or ``(None, rows)`` when the excursion reaches back to the first row.
    """
    sign = np.sign(dev[alarm])
    i = alarm
    while i > 0 and np.isfinite(dev[i - 1]) and sign * dev[i - 1] > level:
        i -= 1
    return (float(times[i - 1]) if i > 0 else None), alarm - i + 1


def check_temperature(times: np.ndarray, temp: np.ndarray, *, target_K: float, n_atoms: int,
                      sigma_multiple: float, ceiling_K: float, source: str = "thermo Temp",
                      onset_sigma: float = 3.0, stats: dict | None = None) -> list[Flag]:
    """Temperature excursions beyond ``sigma_multiple`` canonical σ_T, or above ``ceiling_K`` (failed).

    The flag's ``time_ps`` is the first row beyond the limit; its ``onset_ps`` is the last
    row before the contiguous run of rows beyond ``onset_sigma`` σ_T (same side) that
    leads to it (:func:`excursion_onset`): the excursion began after that row.
    """
    sigma = canonical_temperature_sigma(target_K, n_atoms)
    signed = temp - target_K
    dev = np.abs(signed)
    limit = sigma_multiple * sigma
    if stats is not None and np.isfinite(dev).any():
        stats["temperature_max_sigma"] = float(np.nanmax(dev) / sigma)
    over = np.isfinite(temp) & (dev > limit)
    flags = first_exceedance(
        "temperature", times, temp, over, target_K + limit,
        lambda t, v: f"{source} = {v:.5g} K at t = {t:.4g} ps, {abs(v - target_K) / sigma:.1f} σ_T from "
                     f"{target_K:.5g} K (σ_T = T sqrt(2/3N) = {sigma:.3g} K for N = {n_atoms}; limit "
                     f"{sigma_multiple:g} σ_T)", subject="excursion")
    if flags:
        f = flags[0]
        if f.value < target_K:
            f.threshold = target_K - limit
        k = int(np.argmax(over))
        onset, n_rows = excursion_onset(times, signed, k, onset_sigma * sigma)
        f.onset_ps = onset if onset is not None else float(times[0])
        f.message += (f"; estimated onset {f.onset_ps:.4g} ps, the last row within {onset_sigma:g} σ_T before the "
                      f"{n_rows} row(s) beyond it that lead here" if onset is not None else
                      f"; beyond {onset_sigma:g} σ_T from the first row on (onset: the run start)")
    flags += first_exceedance(
        "temperature", times, temp, np.isfinite(temp) & (temp > ceiling_K), ceiling_K,
        lambda t, v: f"{source} = {v:.5g} K at t = {t:.4g} ps exceeds the ceiling {ceiling_K:g} K",
        subject="ceiling")
    return flags


def _lag_grid(max_lag: int, growth: float = 1.3) -> np.ndarray:
    """Lags 1, 2, 3, ... growing geometrically (×``growth``) up to ``max_lag``."""
    out, k = [], 1
    while k <= max_lag:
        out.append(k)
        k = max(k + 1, int(round(k * growth)))
    return np.asarray(out, dtype=np.int64)


def running_tau_int(x: np.ndarray, *, max_lag: int = 20, min_rows: int = 8, cap: float = 50.0) -> np.ndarray:
    """Integrated autocorrelation time of the rows ``0..k``, for every k (causal, O(n · max_lag)).

    τ_int = 1 + 2 Σ ρ_j over the initial positive sequence of the autocorrelations
    ρ_1..ρ_max_lag about the mean of those rows (Geyer), clipped to [1, ``cap``]:
    negative correlation (thermostat ringing) is not used to sharpen the test.  With
    fewer than ``min_rows`` rows τ_int = 1.  The estimate for row k uses rows 0..k only
    (causal: a drift after the candidate onset cannot inflate it).  A slow drift in the
    rows before inflates τ_int: the detector then becomes more cautious, never more eager.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    out = np.ones(n)
    if n < 4:
        return out
    x = x - x[0]
    cx = np.concatenate([[0.0], np.cumsum(x)])
    cxx = np.concatenate([[0.0], np.cumsum(x * x)])
    m = np.arange(1, n + 1, dtype=np.float64)       # rows 0..k
    mu = cx[1:] / m
    var = cxx[1:] - m * mu * mu                      # Σ (x_i - μ)²
    alive = np.ones(n, dtype=bool)
    tau = np.ones(n)
    for j in range(1, min(max_lag, n - 1) + 1):
        cp = np.concatenate([[0.0], np.cumsum(x[:-j] * x[j:])])   # cp[r] = Σ_{i<r} x_i x_{i+j}
        k = np.arange(n)
        r = np.clip(k - j + 1, 0, None)                 # pairs (i, i+j) with i + j <= k
        A = cx[r]                                      # Σ_{i<r} x_i
        B = cx[k + 1] - cx[np.minimum(j, k + 1)]       # Σ_{i=j}^{k} x_i
        cov = cp[r] - mu * (A + B) + r * mu * mu
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where((r >= 3) & (var > 0), cov / var, 0.0)
        alive &= rho > 0
        tau += np.where(alive, 2.0 * rho, 0.0)
    tau = np.clip(tau, 1.0, cap)
    # causal: the value for rows 0..k uses only those rows; below min_rows rows it is
    # too noisy to estimate and taken as 1 (sparse early rows are barely correlated)
    return np.where(np.arange(n) + 1 >= min_rows, tau, 1.0)


def energy_change_statistic(times: np.ndarray, energy: np.ndarray, *, scale: float | None, min_rows: int,
                            tau_int=None, floor_eV: float = 0.0, std_rows: int = 10):
    r"""Hinge (ramp) change-point statistic of an energy series, row by row, causally.

    For every row n and every candidate onset τ < n (the last unchanged row; lags n − τ
    on a geometric grid, so slow drifts are covered at O(n log n) cost) the energy after
    τ is compared with the mean μ_τ of **all rows up to τ** through the likelihood-ratio
    statistic of a linear ramp starting at t_τ, with weights w_i = t_i − t_τ:

    .. math::  z(n, τ) = \frac{\sum_{τ<i≤n} w_i (E_i - μ_τ)}
                               {s_τ \sqrt{τ_{int}} \sqrt{\sum w_i^2 + (\sum w_i)^2 / m_τ}}

    (m_τ rows before the onset; the second term is the uncertainty of μ_τ; τ_int the
    integrated autocorrelation time of the rows up to τ, :func:`running_tau_int`, or a
    given constant or per-row array).  Under a stationary series z is standard normal.  s_τ is ``scale`` (the canonical
    fluctuation) or, once ``std_rows`` rows precede τ, the larger of it and their
    standard deviation; without ``scale`` only that standard deviation is used.
    Candidates whose fitted departure |β̂ (t_n − t_τ)| is below ``floor_eV`` are ignored.
    Only row n and earlier rows enter z(n, ·): the statistic is causal.

    Returns ``(z, onset_index, departure_eV, slope_eV_ps, s_used)`` per row: the candidate
    with the largest |z| (0 and -1 where no candidate is available); ``s_used`` includes
    the sqrt(τ_int) factor.
    """
    t = np.asarray(times, dtype=np.float64)
    x = np.asarray(energy, dtype=np.float64)
    n = len(x)
    x0 = x - (x[0] if n else 0.0)  # numerical conditioning of the cumulative sums
    t0 = t - (t[0] if n else 0.0)

    def csum(a):
        return np.concatenate([[0.0], np.cumsum(a)])

    c1, cx, cxx = csum(np.ones(n)), csum(x0), csum(x0 * x0)
    ct, ctt, ctx = csum(t0), csum(t0 * t0), csum(t0 * x0)
    best = np.zeros(n)
    arg = np.full(n, -1, dtype=np.int64)
    dep = np.zeros(n)
    slope = np.zeros(n)
    s_used = np.full(n, np.nan)
    rows = np.arange(n)
    if tau_int is None:
        tau_int = running_tau_int(x)
    tau_row = np.broadcast_to(np.asarray(tau_int, dtype=np.float64), (n,))
    for lag in _lag_grid(max(n - 1, 0)):
        tau = rows - lag
        ok = tau + 1 >= max(min_rows, 1)
        if scale is None:
            ok &= tau + 1 >= std_rows
        if not ok.any():
            continue
        nn, tt = rows[ok], tau[ok]
        m = tt + 1.0
        mu = cx[tt + 1] / m
        with np.errstate(invalid="ignore"):
            sd = np.sqrt(np.maximum(cxx[tt + 1] / m - mu * mu, 0.0) * m / np.maximum(m - 1.0, 1.0))
        sd = np.where(m >= std_rows, sd, 0.0)
        s = sd if scale is None else np.maximum(scale, sd)
        s = np.maximum(s, 1e-12) * np.sqrt(tau_row[tt])
        S1 = c1[nn + 1] - c1[tt + 1]
        Sx = cx[nn + 1] - cx[tt + 1]
        St = ct[nn + 1] - ct[tt + 1]
        Stt = ctt[nn + 1] - ctt[tt + 1]
        Stx = ctx[nn + 1] - ctx[tt + 1]
        a = t0[tt]
        sw = St - a * S1
        sww = Stt - 2 * a * St + a * a * S1
        num = (Stx - a * Sx) - mu * sw
        with np.errstate(invalid="ignore", divide="ignore"):
            z = num / (s * np.sqrt(sww + sw * sw / m))
            beta = num / sww
        d = beta * (t0[nn] - a)
        z = np.where(np.isfinite(z) & (np.abs(d) >= floor_eV), z, 0.0)
        better = np.abs(z) > np.abs(best[nn])
        k = nn[better]
        best[k], arg[k], dep[k], slope[k], s_used[k] = z[better], tt[better], d[better], beta[better], s[better]
    return best, arg, dep, slope, s_used


def refine_hinge_onset(times: np.ndarray, energy: np.ndarray, *, lo: int, hi: int, last: int, sigma: float,
                       subdivide: int = 8) -> tuple[float, float, float]:
    r"""Least-squares onset of a change (a jump and/or a ramp) on rows ``0..last``, off-line.

    The model is :math:`E_i = μ + δ\,[t_i > τ] + β\,(t_i - τ)_+`: the mean μ of every
    row before the onset τ, then a jump δ and a ramp β (either may be zero: a sudden
    step and a slow drift are both fitted without bias; the jump is kept only when it is
    significant, since it costs precision on a pure drift).  For each candidate τ (every row
    from ``lo`` to ``hi`` and ``subdivide`` points between consecutive rows) μ, δ and β
    are fitted by least squares; the onset is the τ with the smallest residual sum of
    squares.  Unlike the causal alarm, the rows after the alarm (up to ``last``) also
    inform the onset, which an analysis of an archived run can afford.  The 95 %
    interval is the set of τ whose residual sum of squares exceeds the minimum by at most
    3.84 σ² (profile likelihood with the noise σ known).  Returns
    ``(onset, interval_low, interval_high)`` in ps.
    """
    t = np.asarray(times, dtype=np.float64)[: last + 1]
    x = np.asarray(energy, dtype=np.float64)[: last + 1]
    x = x - x[0]
    t0 = t[0]
    t = t - t0
    n = len(t)

    def csum(v):
        return np.concatenate([[0.0], np.cumsum(v)])

    c1, ct, ctt, cx, ctx = csum(np.ones(n)), csum(t), csum(t * t), csum(x), csum(t * x)
    lo, hi = max(int(lo), 0), min(int(hi), n - 2)
    if hi < lo:
        return float("nan"), float("nan"), float("nan")
    # candidates: row i itself and points inside (t_i, t_{i+1}); the rows after the
    # candidate are i+1..last (a candidate exactly on row i leaves row i unchanged)
    frac = np.arange(subdivide) / subdivide
    idx = np.repeat(np.arange(lo, hi + 1), subdivide)
    tau = t[idx] + np.tile(frac, hi - lo + 1) * (t[idx + 1] - t[idx])
    a = idx + 1                                            # first row after the onset
    S1 = c1[n] - c1[a]
    St = ct[n] - ct[a]
    Sx = cx[n] - cx[a]
    sw = St - tau * S1                                     # Σ w with w = t - τ after the onset
    sww = (ctt[n] - ctt[a]) - 2 * tau * St + tau * tau * S1
    swx = (ctx[n] - ctx[a]) - tau * Sx
    N, SX = float(n), cx[n]
    A = np.empty((len(tau), 3, 3))
    A[:, 0] = np.stack([np.full_like(tau, N), S1, sw], axis=1)
    A[:, 1] = np.stack([S1, S1, sw], axis=1)
    A[:, 2] = np.stack([sw, sw, sww], axis=1)
    rhs = np.stack([np.full_like(tau, SX), Sx, swx], axis=1)
    xx = float(np.sum(x * x))
    # the continuous hinge (δ = 0) and the jump-and-ramp; the jump is used only when it
    # lowers the residual sum of squares by more than 10.83 σ² (χ²₁, p = 0.001), so a
    # slow drift keeps the sharper hinge estimate
    fits = []
    for cols in ((0, 2), (0, 1, 2)):
        sub = A[:, cols][:, :, cols]
        r = rhs[:, cols]
        det = np.linalg.det(sub)
        scale = np.prod(np.maximum(np.abs(np.diagonal(sub, axis1=1, axis2=2)), 1e-300), axis=1)
        ok = np.abs(det) > 1e-12 * scale
        rss = np.full(len(tau), np.inf)
        if ok.any():
            coef = np.linalg.solve(sub[ok], r[ok][..., None])[..., 0]
            rss[ok] = xx - np.sum(coef * r[ok], axis=1)
        fits.append(rss)
    rss = fits[0]
    if np.isfinite(fits[1]).any() and (not np.isfinite(rss).any()
                                       or np.min(rss) - np.min(fits[1]) > 10.83 * sigma * sigma):
        rss = fits[1]
    if not np.isfinite(rss).any():
        return float("nan"), float("nan"), float("nan")
    k = int(np.argmin(rss))
    inside = tau[rss <= rss[k] + 3.84 * sigma * sigma]
    return float(tau[k] + t0), float(inside.min() + t0), float(inside.max() + t0)


def check_energy_drift(times: np.ndarray, energy: np.ndarray, *, column: str, n_atoms: int,
                       temperature_K: float | None, reference_ps: float, drift_sigma: float,
                       drift_eV_per_atom: float, stats: dict | None = None, refine_rows: int = 20) -> list[Flag]:
    """Sequential energy change-point detector (failed); see the module docstring.

    The flag's ``time_ps`` is the **alarm**: the first row at which the hinge statistic
    (:func:`energy_change_statistic`) exceeds ``drift_sigma``; it uses only that row and
    earlier ones, so without a false alarm it is never before the onset.  ``onset_ps`` is
    the off-line estimate of where the change began (:func:`refine_hinge_onset` on the
    rows up to the alarm and as many after it, at least ``refine_rows``); it is the
    run's first flagged time and ends the trusted segment.
    """
    ok = np.isfinite(energy) & np.isfinite(times)
    t, e = np.asarray(times, dtype=np.float64)[ok], np.asarray(energy, dtype=np.float64)[ok]
    n_ref = int(np.sum(t <= t[0] + reference_ps + 1e-9)) if len(t) else 0
    min_rows = max(3, n_ref)
    if len(t) < min_rows + 1:
        return []
    if temperature_K is not None:
        # TotEng = PotEng + KinEng: two independent canonical fluctuations of equal size
        scale = canonical_energy_sigma(temperature_K, n_atoms) * (np.sqrt(2.0) if column == "TotEng" else 1.0)
        scale_src = "k_B T sqrt(3N/2)" + (" × √2" if column == "TotEng" else "")
    else:
        scale, scale_src = None, "standard deviation of the rows before the onset"
    tau_int = running_tau_int(e)
    floor = drift_eV_per_atom * n_atoms
    z, arg, dep, slope, s_used = energy_change_statistic(t, e, scale=scale, min_rows=min_rows, tau_int=tau_int,
                                                         floor_eV=floor)
    if stats is not None:
        stats[f"energy_{column}_max_ratio"] = float(np.max(np.abs(z)) / drift_sigma)
        stats["energy_tau_int"] = float(tau_int[-1])
    bad = np.abs(z) > drift_sigma
    if not bad.any():
        return []
    k = int(np.nonzero(bad)[0][0])
    j = int(arg[k])
    tij = float(tau_int[j])
    sign = float(np.sign(z[k]))
    per_row = float(np.median(np.diff(t))) if len(t) > 1 else float("nan")
    # off-line onset: the change fitted to the rows up to the alarm and as many again after
    # it (at least refine_rows), searched between the reference window (or well before
    # the causal onset, which bounds the cost on long logs) and the alarm
    last = min(len(t) - 1, k + max(k - j, refine_rows))
    lo = max(min_rows - 1, j - 3 * (k - j) - 5 * refine_rows)
    onset, on_lo, on_hi = refine_hinge_onset(t, e, lo=lo, hi=k - 1, last=last, sigma=float(s_used[k]))
    if not np.isfinite(onset):
        onset = on_lo = on_hi = float(t[j])
    msg = (f"{column} change point: the ramp statistic reaches {z[k]:+.2f} σ at t = {t[k]:.4g} ps (limit "
           f"{drift_sigma:g}); onset {onset:.4g} ps (95 % {on_lo:.4g}-{on_hi:.4g} ps, jump and ramp fitted to the "
           f"rows up to {t[last]:.4g} ps), {t[k] - onset:.3g} ps before the alarm; since then {slope[k]:+.3g} eV/ps "
           f"({slope[k] / n_atoms * 1e3:+.3g} meV/atom/ps), a departure "
           f"of {dep[k]:+.4g} eV ({dep[k] / n_atoms * 1e3:+.3g} meV/atom, floor {drift_eV_per_atom * 1e3:g}) from the "
           f"mean of the {j + 1} rows before; σ = {s_used[k] / np.sqrt(tij):.3g} eV ({scale_src}, or the rows' "
           f"own spread if larger), τ_int = {tij:.2f}, thermo every {per_row:.3g} ps")
    return [Flag(check="energy_drift", time_ps=float(t[k]), value=float(z[k]), threshold=sign * drift_sigma,
                 message=msg, subject=column, count=int(bad.sum()), last_time_ps=float(t[np.nonzero(bad)[0][-1]]),
                 onset_ps=onset)]


def check_nve_drift(times: np.ndarray, total: np.ndarray, potential: np.ndarray | None, *, n_atoms: int,
                    limit_eV_per_atom_ps: float, tolerance_eV_per_atom: float, ensemble: str
                    ) -> tuple[list[Flag], str]:
    """Total-energy drift per atom per ps in NVE; returns the flags and the ensemble used.

    The slope is a property of the whole block; the flag is placed where the total energy
    first departs from its initial value by more than ``tolerance_eV_per_atom`` per atom
    (failed), or at the block start as a warning when it never does.
    """
    ok = np.isfinite(total) & np.isfinite(times)
    t, e = times[ok], total[ok]
    if ensemble == "auto":
        # a few rows of a weakly coupled thermostat look conserved too: need a real series
        if potential is None or len(t) < 50:
            return [], "unknown"
        p = potential[ok]
        # compare fluctuations about linear trends of both series: a drift (of either)
        # must neither hide nor fake the ensemble
        resid = e - np.polyval(np.polyfit(t, e, 1), t)
        resid_p = p - np.polyval(np.polyfit(t, p, 1), t)
        ensemble = "nve" if np.std(resid) < 0.2 * np.std(resid_p) else "not-nve"
    if ensemble != "nve" or len(t) < 3 or t[-1] <= t[0]:
        return [], ensemble
    slope = float(np.polyfit(t, e, 1)[0]) / n_atoms
    if abs(slope) <= limit_eV_per_atom_ps:
        return [], ensemble
    e0 = float(np.mean(e[: max(2, len(e) // 20)]))
    away = np.abs(e - e0) / n_atoms > tolerance_eV_per_atom
    k = int(np.argmax(away)) if away.any() else 0
    return [Flag(check="nve_drift", time_ps=float(t[k]), value=slope, threshold=limit_eV_per_atom_ps,
                 message=(f"total energy drifts by {slope:+.3g} eV/atom/ps over the NVE production block "
                          f"(limit {limit_eV_per_atom_ps:g})"
                          + (f"; it is {tolerance_eV_per_atom * 1e3:g} meV/atom from its start by t = {t[k]:.4g} ps"
                             if away.any() else "") + ": the integration is not energy-conserving"),
                 severity="failed" if away.any() else "warning", subject="TotEng",
                 count=int(away.sum()) or 1)], ensemble
