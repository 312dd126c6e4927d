"""``diagnose``: run every applicable failure check on one trajectory Dataset.

The checks are in :mod:`.thermo` (log), :mod:`.structure` (trajectory) and :mod:`.domain`
(training set).  This module only resolves the thresholds, decides which checks apply,
shares one neighbour scan between the structural checks, and turns the flags into a
:class:`~.flags.RunDiagnosis`.
"""

from __future__ import annotations

import math
import time as _time

import numpy as np
import xarray as xr

from ..schema import labels_of
from . import domain as _domain
from . import structure as _structure
from . import thermo as _thermo
from .flags import Flag, RunDiagnosis

__all__ = ["diagnose", "DEFAULT_THRESHOLDS", "THRESHOLD_DOCS"]

#: Default thresholds (keyword arguments of :func:`diagnose`), calibrated on the shared
#: data (studies/diagnostics_calibration/README.md).
DEFAULT_THRESHOLDS: dict = {
    # reference window and temperature
    "reference_ps": 2.0,
    "reference_fraction": 0.1,
    "temperature_K": None,
    "production_block": None,
    # log checks
    "temperature_sigma": 6.0,
    "temperature_onset_sigma": 3.0,
    "temperature_ceiling_K": 1.0e4,
    "energy_drift_sigma": 5.5,
    "energy_drift_eV_per_atom": 0.005,
    "ensemble": "auto",
    "nve_drift_eV_per_atom_ps": 1.0e-4,
    # structural checks
    "neighbour_radius_A": 4.0,
    "bond_factor": 1.2,
    "min_distance_fraction": 0.7,
    "contact_floor_fraction": 0.5,
    "like_ion_floor_fraction": 1.1,
    "coordination_frames": 2,
    "framework_displacement_A": 5.0,
    "framework_msd_A2": 1.0,
    "framework_msd_growth_A2": 0.35,
    "jump_factor": 10.0,
    "rdf_window_ps": 1.0,
    "rdf_r_max_A": 6.0,
    "rdf_dr_A": 0.1,
    "rdf_threshold": 1.0,
    "rdf_frames_per_window": 10,
    "rdf_max_windows": 200,
    "max_neighbour_frames": 5000,
    "stride": None,
    # training domain
    "domain_distance_fraction": 0.9,
    "domain_coordination_margin": 0,
    # which checks to skip (names as in Flag.check, e.g. ("rdf_drift",))
    "skip": (),
}

#: One line per threshold: meaning and unit (shown by ``help(diagnose)`` and the README).
THRESHOLD_DOCS: dict = {
    "reference_ps": "length of the reference window at the start of the run/production block (ps)",
    "reference_fraction": "the reference window is at most this fraction of the run",
    "temperature_K": "thermostat temperature (K); default attrs['temperature_K'] or labels",
    "production_block": "thermo block judged for drift/excursions; default the last block with rows",
    "temperature_sigma": "temperature excursion limit in canonical σ_T = T sqrt(2/3N)",
    "temperature_onset_sigma": "the excursion's onset is the last row before the rows beyond this many σ_T "
                               "(at most temperature_sigma) that lead to the alarm",
    "temperature_ceiling_K": "absolute temperature ceiling (K)",
    "energy_drift_sigma": "alarm limit of the energy change-point (ramp likelihood-ratio) statistic, in σ "
                          "(σ = max(k_B T sqrt(3N/2), spread of the earlier rows) × sqrt(τ_int))",
    "energy_drift_eV_per_atom": "and at least this fitted departure per atom (eV/atom)",
    "ensemble": "'auto', 'nve' or 'nvt' (NVE enables the total-energy drift check)",
    "nve_drift_eV_per_atom_ps": "NVE total-energy drift limit (eV/atom/ps)",
    "neighbour_radius_A": "neighbour search radius for distances and coordination (Å)",
    "bond_factor": "bond cutoff = bond_factor × (r_cov,A + r_cov,B)",
    "min_distance_fraction": "close contact below this fraction of the reference-window pair minimum",
    "contact_floor_fraction": "absolute floor: this fraction × (r_cov,A + r_cov,B), any pair",
    "like_ion_floor_fraction": "floor for anion-anion and framework cation-cation pairs, × (r_cov,A + r_cov,B)",
    "coordination_frames": "a polyhedron coordination change must persist this many examined frames",
    "framework_displacement_A": "max framework-atom displacement from its reference site (Å)",
    "framework_msd_A2": "framework mean squared displacement from the first-frame sites (Å²)",
    "framework_msd_growth_A2": "framework MSD growth above its reference-window (vibrational) plateau, "
                               "sites = reference-window mean positions (Å²)",
    "jump_factor": "frame-to-frame displacement limit in units of sqrt(k_B T/m) × Δt",
    "rdf_window_ps": "RDF window length (ps)",
    "rdf_r_max_A": "upper limit of the RDF integral (Å)",
    "rdf_dr_A": "RDF bin width (Å)",
    "rdf_threshold": "∫|g - g_ref| dr limit (Fu et al. 2023)",
    "rdf_frames_per_window": "frames used per RDF window (evenly spaced)",
    "rdf_max_windows": "at most this many RDF windows (evenly spaced) are examined",
    "max_neighbour_frames": "neighbour checks examine at most this many frames (then refine)",
    "stride": "examine every stride-th frame in neighbour checks (default from max_neighbour_frames)",
    "domain_distance_fraction": "extrapolation when a pair is closer than this fraction of the training minimum",
    "domain_coordination_margin": "extrapolation when a polyhedron/never-bonded coordination is outside the "
                                  "training range by more than this",
    "skip": "names of checks not to run",
}

_ALL_CHECKS = ("log_error", "log_warning", "incomplete_run", "thermo_nonfinite", "temperature", "energy_drift",
               "nve_drift", "nan_positions", "jump", "framework", "min_distance", "coordination", "rdf_drift",
               "domain")


def _resolve(thresholds: dict) -> dict:
    unknown = sorted(set(thresholds) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise TypeError(f"diagnose() got unknown threshold(s) {unknown}; valid: {sorted(DEFAULT_THRESHOLDS)}")
    th = {**DEFAULT_THRESHOLDS, **thresholds}
    skip = th["skip"]
    th["skip"] = tuple([skip] if isinstance(skip, str) else skip)
    bad_skip = sorted(set(th["skip"]) - set(_ALL_CHECKS))
    if bad_skip:
        raise ValueError(f"skip={bad_skip} names unknown checks; valid: {list(_ALL_CHECKS)}")
    if th["ensemble"] not in ("auto", "nve", "nvt"):
        raise ValueError(f"ensemble={th['ensemble']!r}; valid: 'auto', 'nve', 'nvt'")
    for key in ("reference_ps", "energy_drift_sigma", "temperature_sigma", "temperature_onset_sigma", "rdf_window_ps", "neighbour_radius_A", "bond_factor",
                "jump_factor", "rdf_dr_A", "rdf_r_max_A"):
        if not th[key] > 0:
            raise ValueError(f"{key}={th[key]!r} must be positive")
    return th


def _ordinal(k: int) -> str:
    if k == 1:
        return "frame"
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix} frame"


def _subsample_statement(sub: dict, n_frames: int, scanned: bool, th: dict) -> str:
    """One sentence stating which frames each trajectory check examined."""
    parts = []
    if scanned:
        checks = ", ".join(sub["neighbour_checks"])
        if sub["neighbour_stride"] == 1:
            parts.append(f"{checks} examined every frame ({sub['neighbour_frames']} of {n_frames})")
        else:
            parts.append(f"{checks} examined every "
                         f"{_ordinal(sub['neighbour_stride'])}, the reference window and the last frame "
                         f"({sub['neighbour_frames']} of {n_frames} frames), and re-examined "
                         f"{sub['refined_frames']} skipped frames before the first offence")
    rdf = sub.get("rdf")
    if rdf and "rdf_frames_examined" in rdf:
        parts.append(f"rdf_drift used at most {rdf['rdf_frames_per_window']} frames per {th['rdf_window_ps']:g} ps "
                     f"window ({rdf['rdf_windows_examined']} of {rdf['rdf_windows']} windows, "
                     f"{rdf['rdf_frames_examined']} of {n_frames} frames)")
    if sub["full_pass_checks"]:
        parts.append(f"{', '.join(sub['full_pass_checks'])} examined every frame")
    return "; ".join(parts)


def diagnose(ds: xr.Dataset, *, training=None, margin_ps: float = 1.0, labels: dict | None = None,
             **thresholds) -> RunDiagnosis:
    """Check one run for signs of a failing potential; return status, flags and trusted segment.

    Parameters
    ----------
    ds : xarray.Dataset
        A trajectory Dataset (:mod:`uncertainty_gk.schema`), with or without a merged log.
        Positions are read in frame chunks, so a lazily opened archive works.
    training : path, sequence of ase.Atoms, or TrainingDomain, optional
        The MLIP's training structures; enables the extrapolation (domain) checks.
    margin_ps : float
        The trusted segment ends this long before the first failure (ps).
    labels : dict, optional
        Labels to report (default: the Dataset's labels).
    **thresholds
        Any key of :data:`DEFAULT_THRESHOLDS` (meanings in :data:`THRESHOLD_DOCS`); every
        value used is echoed in ``RunDiagnosis.thresholds``.

    Returns
    -------
    RunDiagnosis
        ``status`` is ``failed`` if any failure-level flag fired, ``warning`` if only
        warnings did, else ``ok``; ``first_flag_time_ps`` is the earliest start
        (``min(time_ps, onset_ps)``) of a failure flag and ``trusted_until_ps`` =
        ``first_flag_time_ps`` − ``margin_ps`` (clipped to the run start), or the run end.
        Flag times are alarm times (causal); the energy change point and temperature
        excursions also report where the failure began as ``Flag.onset_ps``.  The across-seed check
        needs several runs: :func:`uncertainty_gk.diagnostics.seeds.check_seed_consistency`.

    Notes
    -----
    ``thresholds["observed"]`` records how close the run came to each threshold (largest
    temperature excursion in σ_T, largest energy change-point statistic / limit,
    smallest distance / threshold per pair, largest framework displacement, MSD and MSD
    growth above the plateau, largest RDF drift, jump / limit).
    Checks that need something missing are skipped and listed in
    ``thresholds["checks_skipped"]``: log checks without a log, temperature checks without
    a temperature, domain checks without a training set.  Neighbour checks examine every
    ``stride``-th frame and refine around the first offence; the RDF drift check uses
    ``rdf_frames_per_window`` frames of at most ``rdf_max_windows`` windows.  Every such
    subsampling is recorded in ``thresholds["subsample"]`` (counts, and one sentence in
    ``thresholds["subsample"]["statement"]``).

    Examples
    --------
    >>> from uncertainty_gk.diagnostics import diagnose
    >>> d = diagnose(ds, training="train.xyz")          # doctest: +SKIP
    >>> d.status, d.first_flag_time_ps, d.trusted_until_ps  # doctest: +SKIP
    >>> clean = d.trusted(ds)                            # doctest: +SKIP
    """
    wall0 = _time.perf_counter()
    th = _resolve(thresholds)
    skip = set(th["skip"])
    skipped: dict[str, str] = {}
    info: dict = {}
    observed: dict = {}  # closest approach to each threshold (calibration aid)
    flags: list[Flag] = []
    times = np.asarray(ds["time"].values, dtype=np.float64)
    if len(times) == 0:
        raise ValueError("diagnose: the Dataset has no frames")
    n_frames = len(times)
    n_atoms = int(ds.sizes["atom"])
    run_start, run_end = float(times[0]), float(times[-1])
    ref_ps = min(th["reference_ps"], max(th["reference_fraction"] * (run_end - run_start), 0.0))
    n_ref = _structure.reference_frames(times, ref_ps)
    info["reference_window_ps"] = [run_start, float(times[n_ref - 1])]

    # ---------------------------------------------------------------- temperature
    target, t_source = _thermo.target_temperature(ds, th["temperature_K"])
    block = _thermo.production_block(ds, th["production_block"])
    rows = _thermo.production_rows(ds, block)
    temp_series = _thermo.thermo_column(ds, "Temp", rows)
    temp_source = "thermo Temp"
    if temp_series is None:
        temp_series = _thermo.kinetic_temperature(ds)
        temp_source = "kinetic temperature from velocities"
    if target is None and temp_series is not None:
        t_s, v_s = temp_series
        early = t_s <= t_s[0] + max(ref_ps, 1.0)
        target, t_source = float(np.nanmedian(v_s[early])), f"median {temp_source} of the reference window"
    info["temperature_K"] = target
    info["temperature_source"] = t_source

    # ---------------------------------------------------------------- log checks
    if _thermo.has_log(ds):
        info["production_block"] = block
        if not {"log_error", "log_warning"} <= skip:
            ev, ignored = _thermo.check_log_events(ds)
            flags += [f for f in ev if f.check not in skip]
            if ignored:
                info["log_setup_warnings_ignored"] = ignored
        if "incomplete_run" not in skip:
            flags += _thermo.check_incomplete_run(ds, block)
        if "thermo_nonfinite" not in skip:
            flags += _thermo.check_thermo_nonfinite(ds, rows)
        if "energy_drift" not in skip:
            # PotEng carries the signal with the least noise (TotEng adds the kinetic
            # fluctuation); TotEng only when PotEng was not printed
            for col in ("PotEng", "TotEng"):
                series = _thermo.thermo_column(ds, col, rows)
                if series is None:
                    continue
                t_e, v_e = series
                e_ref = min(th["reference_ps"], max(th["reference_fraction"] * (t_e[-1] - t_e[0]), 0.0))
                flags += _thermo.check_energy_drift(
                    t_e, v_e, column=col, n_atoms=n_atoms, temperature_K=target, reference_ps=e_ref,
                    drift_sigma=th["energy_drift_sigma"], drift_eV_per_atom=th["energy_drift_eV_per_atom"],
                    stats=observed)
                info["energy_drift_column"] = col
                break
        if "nve_drift" not in skip:
            tot = _thermo.thermo_column(ds, "TotEng", rows)
            pot = _thermo.thermo_column(ds, "PotEng", rows)
            if tot is not None:
                f, ens = _thermo.check_nve_drift(
                    tot[0], tot[1], None if pot is None else pot[1], n_atoms=n_atoms,
                    limit_eV_per_atom_ps=th["nve_drift_eV_per_atom_ps"],
                    tolerance_eV_per_atom=th["energy_drift_eV_per_atom"], ensemble=th["ensemble"])
                flags += f
                info["ensemble_used"] = ens
    else:
        for c in ("log_error", "incomplete_run", "thermo_nonfinite", "energy_drift", "nve_drift"):
            skipped[c] = "no log in the Dataset"
    if "temperature" not in skip:
        if temp_series is None:
            skipped["temperature"] = "no thermo Temp column and no velocities"
        else:
            flags += _thermo.check_temperature(
                temp_series[0], temp_series[1], target_K=target, n_atoms=n_atoms,
                sigma_multiple=th["temperature_sigma"], ceiling_K=th["temperature_ceiling_K"], source=temp_source,
                onset_sigma=min(th["temperature_onset_sigma"], th["temperature_sigma"]),
                stats=observed)

    # ---------------------------------------------------------------- structure: full passes
    if "nan_positions" not in skip:
        flags += _structure.check_nan_positions(ds)
    if "jump" not in skip:
        flags += _structure.check_jumps(ds, temperature_K=target, jump_factor=th["jump_factor"], stats=observed)
        if target is None:
            skipped["jump (thermal limit)"] = "temperature unknown: only the half-cell cap is applied"
    if "framework" not in skip:
        flags += _structure.check_framework(ds, displacement_A=th["framework_displacement_A"],
                                            msd_A2=th["framework_msd_A2"], growth_A2=th["framework_msd_growth_A2"],
                                            reference_frames=n_ref, stats=observed)

    # ---------------------------------------------------------------- structure: neighbour scan
    domain = None
    if training is not None and "domain" not in skip:
        domain = _domain.load_training(training, r_search=th["neighbour_radius_A"], bond_factor=th["bond_factor"])
        info["training_domain"] = domain.to_dict()
    elif "domain" not in skip:
        skipped["domain"] = "no training set given"
    want_scan = not {"min_distance", "coordination"} <= skip or domain is not None
    stride = th["stride"] or max(1, math.ceil(n_frames / th["max_neighbour_frames"]))
    info["subsample"] = {"neighbour_stride": int(stride), "neighbour_frames": 0, "refined_frames": 0}
    if want_scan:
        sampled = np.union1d(np.arange(0, n_frames, stride), np.arange(n_ref))
        sampled = np.union1d(sampled, [n_frames - 1])
        kw = {"r_search": th["neighbour_radius_A"], "bond_factor": th["bond_factor"]}
        scan = _structure.scan_neighbours(ds, sampled, **kw)
        info["neighbour_radius_A"] = scan.r_search
        n_sampled = len(scan.frames)

        def refine(sc, first):
            return _structure.refine_scan(ds, sc, first, **kw)

        if "min_distance" not in skip:
            f, scan = _structure.check_min_distance(
                ds, scan, n_ref_frames=n_ref, fraction=th["min_distance_fraction"],
                floor_fraction=th["contact_floor_fraction"], like_floor_fraction=th["like_ion_floor_fraction"],
                refine=refine, stats=observed)
            flags += f
        if "coordination" not in skip:
            f, scan = _structure.check_coordination(ds, scan, persist_frames=int(th["coordination_frames"]), refine=refine)
            flags += f
        if domain is not None:
            f, scan = _domain.check_domain(ds, scan, domain, distance_fraction=th["domain_distance_fraction"],
                                           coordination_margin=int(th["domain_coordination_margin"]), refine=refine,
                                           stats=observed)
            flags += f
        info["subsample"]["neighbour_checks"] = ([c for c in ("min_distance", "coordination") if c not in skip]
                                                 + (["domain"] if domain is not None else []))
        info["subsample"]["neighbour_frames"] = int(n_sampled)
        info["subsample"]["refined_frames"] = int(len(scan.frames) - n_sampled)
    if "rdf_drift" not in skip:
        f, rinfo = _structure.check_rdf_drift(
            ds, reference_ps=max(ref_ps, min(th["rdf_window_ps"], run_end - run_start)),
            window_ps=th["rdf_window_ps"], r_max=th["rdf_r_max_A"], dr=th["rdf_dr_A"],
            threshold=th["rdf_threshold"], frames_per_window=int(th["rdf_frames_per_window"]),
            max_windows=int(th["rdf_max_windows"]))
        flags += f
        info["subsample"]["rdf"] = rinfo
        if rinfo.get("rdf_drift_max") is not None:
            observed["rdf_drift_max"] = rinfo["rdf_drift_max"]

    info["subsample"]["full_pass_checks"] = [c for c in ("nan_positions", "jump", "framework") if c not in skip]
    info["subsample"]["statement"] = _subsample_statement(info["subsample"], n_frames, want_scan, th)

    echo = {k: (list(v) if isinstance(v, tuple) else v) for k, v in th.items()}
    echo.update(info)
    echo["margin_ps"] = margin_ps
    echo["checks_skipped"] = skipped
    echo["observed"] = observed
    echo["n_frames"] = n_frames
    echo["n_atoms"] = n_atoms
    echo["elapsed_s"] = round(_time.perf_counter() - wall0, 3)
    return RunDiagnosis.from_flags(flags, labels=labels if labels is not None else labels_of(ds), thresholds=echo,
                                   margin_ps=margin_ps, run_start_ps=run_start, run_end_ps=run_end)
