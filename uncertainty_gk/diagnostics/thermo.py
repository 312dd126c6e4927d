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
    Means of ``PotEng`` (and ``TotEng``) over windows of ``energy_window_ps`` compared with
    the reference window at the start of the production block.  A window is offending when
    its mean differs from the reference mean by more than ``energy_drift_sigma`` × σ *and*
    by more than ``energy_drift_eV_per_atom`` × N, where σ is the canonical fluctuation of
    a harmonic solid, :math:`\sigma_U = k_B T_0 \sqrt{3N/2}` (:math:`\sqrt{2}\,\sigma_U` for the
    total energy, whose kinetic part fluctuates as much; the reference standard
    deviation when the temperature is unknown; a run that breaks inside the reference
    window would inflate that one).  The flag is placed at the change point: the
    start of the first window after the last one that was still within 1 σ of the
    reference before the alarm.
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
from ..units import BOLTZMANN_EV_PER_K
from .flags import Flag
from .structure import _AMU_A2_PS2_IN_EV, _chunk_frames, _chunks, first_exceedance

__all__ = [
    "has_log", "production_block", "production_rows", "thermo_column", "target_temperature",
    "kinetic_temperature", "check_log_events", "check_incomplete_run", "check_thermo_nonfinite",
    "check_temperature", "check_energy_drift", "check_nve_drift", "canonical_temperature_sigma",
    "canonical_energy_sigma",
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
    for a, b in _chunks(len(times), chunk_frames or _chunk_frames(ds)):
        v = np.asarray(ds["velocities"].isel(time=slice(a, b)).values, dtype=np.float64)
        ke = 0.5 * np.einsum("a,tax->t", mass, v * v) * _AMU_A2_PS2_IN_EV
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
def check_temperature(times: np.ndarray, temp: np.ndarray, *, target_K: float, n_atoms: int,
                      sigma_multiple: float, ceiling_K: float, source: str = "thermo Temp",
                      stats: dict | None = None) -> list[Flag]:
    """Temperature excursions beyond ``sigma_multiple`` canonical σ_T, or above ``ceiling_K`` (failed)."""
    sigma = canonical_temperature_sigma(target_K, n_atoms)
    dev = np.abs(temp - target_K)
    limit = sigma_multiple * sigma
    if stats is not None and np.isfinite(dev).any():
        stats["temperature_max_sigma"] = float(np.nanmax(dev) / sigma)
    flags = first_exceedance(
        "temperature", times, temp, np.isfinite(temp) & (dev > limit), target_K + limit,
        lambda t, v: f"{source} = {v:.5g} K at t = {t:.4g} ps, {abs(v - target_K) / sigma:.1f} σ_T from "
                     f"{target_K:.5g} K (σ_T = T sqrt(2/3N) = {sigma:.3g} K for N = {n_atoms}; limit "
                     f"{sigma_multiple:g} σ_T)", subject="excursion")
    if flags and flags[0].value < target_K:
        flags[0].threshold = target_K - limit
    flags += first_exceedance(
        "temperature", times, temp, np.isfinite(temp) & (temp > ceiling_K), ceiling_K,
        lambda t, v: f"{source} = {v:.5g} K at t = {t:.4g} ps exceeds the ceiling {ceiling_K:g} K",
        subject="ceiling")
    return flags


def _windows(times: np.ndarray, window_ps: float) -> np.ndarray:
    return np.floor((times - times[0]) / window_ps + 1e-9).astype(np.int64)


def check_energy_drift(times: np.ndarray, energy: np.ndarray, *, column: str, n_atoms: int,
                       temperature_K: float | None, reference_ps: float, window_ps: float,
                       drift_sigma: float, drift_eV_per_atom: float, stats: dict | None = None) -> list[Flag]:
    """Energy drift / change point against the reference window (failed); see module docstring."""
    ok = np.isfinite(energy) & np.isfinite(times)
    t, e = times[ok], energy[ok]
    if len(t) < 4:
        return []
    ref = t <= t[0] + reference_ps
    if ref.sum() < 2:
        ref[:2] = True
    mu = float(np.mean(e[ref]))
    if temperature_K is not None:
        # TotEng = PotEng + KinEng: two independent canonical fluctuations of equal size
        scale = canonical_energy_sigma(temperature_K, n_atoms) * (np.sqrt(2.0) if column == "TotEng" else 1.0)
    else:
        scale = float(np.std(e[ref], ddof=1))
    scale = max(scale, 1e-12)
    w = _windows(t, window_ps)
    uw, start = np.unique(w, return_index=True)
    sums = np.add.reduceat(e, start)
    counts = np.diff(np.append(start, len(e)))
    means = sums / counts
    wt = t[start]
    dev = means - mu
    limit = max(drift_sigma * scale, drift_eV_per_atom * n_atoms)
    after_ref = wt > t[0] + reference_ps - 1e-9
    bad = after_ref & (np.abs(dev) > limit)
    if stats is not None and after_ref.any():
        stats[f"energy_{column}_max_ratio"] = float(np.max(np.abs(dev[after_ref])) / limit)
    if not bad.any():
        return []
    k = int(np.nonzero(bad)[0][0])
    sign = np.sign(dev[k])
    calm = np.nonzero(sign * dev[:k] <= scale)[0]
    onset = int(calm[-1]) + 1 if len(calm) else 0
    rate = np.polyfit(t[t >= wt[onset]], e[t >= wt[onset]], 1)[0] if (t >= wt[onset]).sum() > 2 else float("nan")
    return [Flag(check="energy_drift", time_ps=float(wt[onset]), value=float(dev[k]), threshold=float(sign * limit),
                 message=(f"{column} window mean departs from the reference mean {mu:.6g} eV by {dev[k]:+.4g} eV "
                          f"({abs(dev[k]) / scale:.1f} σ, {dev[k] / n_atoms * 1e3:+.3g} meV/atom) at "
                          f"t = {wt[k]:.4g} ps; the departure starts at {wt[onset]:.4g} ps "
                          f"(slope since then {rate:+.3g} eV/ps)"),
                 subject=column, count=int(bad.sum()), last_time_ps=float(wt[np.nonzero(bad)[0][-1]]))]


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
