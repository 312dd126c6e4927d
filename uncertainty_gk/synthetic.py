r"""Known-answer multi-seed trajectories for tests and calibration studies.

:func:`generate` builds a small "solid electrolyte" whose diffusion coefficient, tracer
conductivity, collective conductivity and Haven ratio are known exactly, in the
trajectory-Dataset form of :mod:`uncertainty_gk.schema` (one Dataset per seed).

Model
-----
A cubic cell of side :math:`L` holds

* **framework** atoms (default ``P`` +5 and ``O`` -2 in the ratio 1:4, i.e. PO4\ :sup:`3-`
  units) that vibrate about fixed lattice sites :math:`s_j`:
  :math:`r_j(t) = s_j + u_j(t) + W(t)` with i.i.d. Gaussian :math:`u_j(t)`
  (standard deviation ``vibration_amplitude`` per Cartesian component);
* **mobile** ions (default ``Li`` +1) on random walks with diffusion coefficient
  :math:`D` (per-frame increment variance :math:`2 D\,\delta t` per component;
  Gaussian increments, or nearest-neighbour hops of length ``hop_length`` with
  probability :math:`p = 6 D \delta t / a^2` per frame), plus an optional cage rattle
  :math:`c_i(t)`, a stationary Ornstein-Uhlenbeck offset with standard deviation
  ``rattle_amplitude`` per component and correlation time ``rattle_time_ps``:
  :math:`r_i(t) = r_i(0) + X_{g(i)}(t) + c_i(t) + W(t)`;
* a **common drift** :math:`W(t)`: a random walk (diffusion coefficient ``drift_D``)
  added to every atom, mimicking the centre-of-mass wander of a real MD cell.

Ions are grouped: a group :math:`g` of :math:`n_g` ions shares one walker
:math:`X_g` (``n_g = 1``: an independent ion; ``n_g = 2``: a rigidly paired couple).
The cell is neutral, :math:`\sum_j q_j = 0`.

Exact answers
-------------
Framework-relative displacement (docs/science.md, section 2.2):
:math:`\Delta r_i = \Delta X_g + \Delta c_i - \Delta \bar u_F`, because the framework
centre :math:`R_F = \sum_F w_j r_j / \sum_F w_j` moves by :math:`\Delta W + \Delta\bar u_F`
(any weights).  :math:`c` and :math:`\bar u_F` are bounded, so

.. math::

    \mathrm{MSD}(t) = 6 D t + 6 a_c^2 (1 - e^{-t/\tau_c}) + 6 a_F^2 \sum_F w_j^2,
    \qquad D^* = D,

(for :math:`t > 0`, weights normalised to :math:`\sum w = 1`).  Nernst-Einstein:

.. math::  \sigma_{tr} = N_D q^2 D / (V k_B T).

Polarisation: since :math:`\sum q = 0` the drift cancels, and

.. math::

    \Delta P = \sum_g q\, n_g \Delta X_g + \sum_D q \Delta c_i + \sum_F q_j \Delta u_j,
    \qquad
    \langle|\Delta P|^2\rangle = 6 D t \sum_g (q n_g)^2
        + 6 a_c^2 (1 - e^{-t/\tau_c}) \sum_D q^2 + 6 a_F^2 \sum_F q_j^2 ,

so :math:`\sigma = D \sum_g (q n_g)^2 / (V k_B T)` (slope / 6VkT).  With
:math:`N_1` single ions and :math:`N_2` pairs (:math:`N_D = N_1 + 2N_2`):

.. math::

    H_R = \frac{\sigma_{tr}}{\sigma} = \frac{N_1 + 2 N_2}{N_1 + 4 N_2} = \frac{1}{1 + f},
    \qquad f = 2 N_2 / N_D \text{ (fraction of ions that are paired)}.

A requested ``haven_ratio`` :math:`h` gives :math:`f = 1/h - 1`, rounded to an even
number of paired ions :math:`2 N_2 = 2\,\mathrm{round}(f N_D / 2)`; ``truth`` holds the
exact value for the realised counts (e.g. :math:`N_D = 48`: steps of :math:`1/24` in f).

Units: Å, ps, e, K (see :mod:`uncertainty_gk.units`).  Randomness only through ``rng``.

Examples
--------
>>> from uncertainty_gk import synthetic
>>> system = synthetic.generate(n_mobile=12, n_frames=[50, 40], haven_ratio=0.5, rng=1)
>>> len(system.runs), system.runs[1].sizes["time"]
(2, 40)
>>> round(system.truth["haven_ratio"], 12)
0.5
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from . import units
from .elements import charges_for, masses_for
from .schema import FrameChunk, RunHeader, RunInfo, assemble_dataset

__all__ = ["SyntheticSystem", "arrhenius_campaign", "generate", "write_lammps_dump"]

#: Units of the entries of :attr:`SyntheticSystem.truth`.
TRUTH_UNITS = {
    "D": "angstrom^2/ps",
    "D_tr": "cm^2/s",
    "D_sigma": "cm^2/s",
    "sigma_tr": "S/cm",
    "sigma": "S/cm",
    "haven_ratio": "1",
    "msd_slope": "angstrom^2/ps",
    "polarisation_msd_slope": "e^2 angstrom^2/ps",
    "volume": "angstrom^3",
    "temperature_K": "K",
    "frame_interval_ps": "ps",
    "charge_mobile": "e",
    "n_mobile": "1",
    "n_paired": "1",
    "n_groups": "1",
}


# --------------------------------------------------------------------------- result
@dataclass
class SyntheticSystem:
    """Runs of one synthetic system and their exact answers.

    Attributes
    ----------
    runs
        One trajectory Dataset per seed (schema form, ``reader="synthetic"``).
    truth
        Exact answers; units in :data:`TRUTH_UNITS` (``D`` Å²/ps, ``D_tr`` and
        ``D_sigma`` cm²/s, ``sigma_tr`` and ``sigma`` S/cm, ``haven_ratio``, slopes of
        the tracer MSD (Å²/ps) and of <|ΔP|²> (e² Å²/ps), ...).
    params
        The generation parameters (JSON-serialisable), also stored in every run's
        ``synthetic_params`` attribute.
    """

    runs: list[xr.Dataset]
    truth: dict
    params: dict
    truth_units: dict = field(default_factory=lambda: dict(TRUTH_UNITS))
    _fw_sq_charge: float = 0.0
    _fw_weights: dict = field(default_factory=dict)

    @property
    def types(self) -> dict[int, str]:
        """LAMMPS ``type -> element`` map used by :meth:`write_lammps_dumps`."""
        species = sorted(set(np.asarray(self.runs[0]["species"].values).astype(str).tolist()))
        return {i + 1: s for i, s in enumerate(species)}

    def expected_tracer_msd(self, lag_ps, *, reference: str = "charge") -> np.ndarray:
        """Ensemble-average framework-relative tracer MSD (Å²) at lags ``lag_ps``.

        ``reference`` as in :func:`uncertainty_gk.displacement.tracer_msd`
        (``"charge"``: |q|-weighted framework centre, ``"mass"``, ``"none"``).
        """
        p = self.params
        t = np.asarray(lag_ps, dtype=np.float64)
        pos = t > 0
        msd = 6.0 * p["D"] * t + _rattle_term(t, p) * pos
        if reference == "none":
            msd = msd + 6.0 * p["drift_D"] * t
        else:
            if reference not in self._fw_weights:
                raise ValueError(f"reference must be 'charge', 'mass' or 'none', got {reference!r}")
            msd = msd + 6.0 * p["vibration_amplitude"] ** 2 * self._fw_weights[reference] * pos
        return msd

    def expected_polarisation_msd(self, lag_ps) -> np.ndarray:
        """Ensemble average of <|ΔP|²> (e² Å²) at lags ``lag_ps`` (one run)."""
        p = self.params
        t = np.asarray(lag_ps, dtype=np.float64)
        pos = t > 0
        q2_mobile = self.truth["charge_mobile"] ** 2 * self.truth["n_mobile"]
        return (self.truth["polarisation_msd_slope"] * t + _rattle_term(t, p) * q2_mobile * pos
                + 6.0 * p["vibration_amplitude"] ** 2 * self._fw_sq_charge * pos)

    def write_lammps_dumps(self, directory, *, prefix: str = "synthetic") -> list[Path]:
        """Write every run as a LAMMPS text dump ``{prefix}_seed{i}.lammpstrj``.

        Columns ``id type xu yu zu``; the type map is :attr:`types`.  Returns the paths.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, ds in enumerate(self.runs):
            path = directory / f"{prefix}_seed{i}.lammpstrj"
            write_lammps_dump(ds, path, types=self.types)
            paths.append(path)
        return paths


def arrhenius_campaign(models: Mapping[str, tuple[float, float]], temperatures_K: Sequence[float], *,
                       T_ref_K: float = 1000.0, rng: np.random.Generator | int | None = None,
                       **generate_kwargs) -> tuple[dict[str, xr.Dataset], dict]:
    r"""Runs of several models at several temperatures with Arrhenius diffusion.

    Model ``name -> (E_a, D_ref)``: :math:`D(T) = D_\mathrm{ref}\,
    \exp[-E_a/k_B\,(1/T - 1/T_\mathrm{ref})]` (E_a in eV, D_ref in Å²/ps).  Every
    (model, temperature) pair is one :func:`generate` call (``generate_kwargs`` are passed
    on; its ``model`` and ``temperature_K`` labels are set), so the groups are independent.
    Because σ ∝ D/T, the exact conductivities follow :math:`\sigma T \propto
    \exp(-E_a/k_B T)` with the same :math:`E_a`.

    Returns
    -------
    runs : dict run name -> Dataset
    truth : dict model -> {"E_a": eV, temperature: :attr:`SyntheticSystem.truth`}
    """
    rng = np.random.default_rng(rng)
    if not models or not len(temperatures_K):
        raise ValueError("give at least one model and one temperature")
    runs: dict[str, xr.Dataset] = {}
    truth: dict = {}
    for name, (e_a, d_ref) in models.items():
        truth[name] = {"E_a": float(e_a)}
        for T in temperatures_K:
            D = d_ref * math.exp(-e_a / units.BOLTZMANN_EV_PER_K * (1.0 / T - 1.0 / T_ref_K))
            system = generate(D=D, temperature_K=float(T), model=str(name), rng=rng, **generate_kwargs)
            truth[name][float(T)] = system.truth
            for ds in system.runs:
                runs[ds.attrs["run_name"]] = ds
    return runs, truth


def _rattle_term(t: np.ndarray, p: Mapping) -> np.ndarray:
    """6 a_c² (1 - exp(-t/τ)) for t > 0 (τ = 0: uncorrelated rattle)."""
    a2 = p["rattle_amplitude"] ** 2
    tau = p["rattle_time_ps"]
    if tau > 0:
        # exact for lags that are whole numbers of frames: φ^k = exp(-k δt/τ)
        return 6.0 * a2 * (1.0 - np.exp(-t / tau))
    return np.full_like(t, 6.0 * a2)


# --------------------------------------------------------------------------- generation
def generate(*, n_mobile: int = 48, framework: Mapping[str, int] | None = None,
             n_framework: int | None = None, mobile_species: str = "Li",
             charges: Mapping[str, float] | None = None,
             n_frames: int | Sequence[int] = 2000, n_seeds: int | None = None,
             frame_interval_ps: float = 0.1, md_timestep_ps: float = 0.001,
             temperature_K: float = 800.0, box_length: float = 14.0,
             D: float = 0.05, haven_ratio: float = 1.0, walk: str = "gaussian",
             hop_length: float = 2.5, vibration_amplitude: float = 0.15,
             rattle_amplitude: float = 0.0, rattle_time_ps: float = 0.0,
             drift_D: float = 0.01, structure: str = "synthetic", model: str = "synthetic",
             rng: np.random.Generator | int | None = None,
             block_frames: int = 4096) -> SyntheticSystem:
    """Generate multi-seed trajectories with exactly known D*, σ_tr, σ and H_R.

    Parameters
    ----------
    n_mobile
        Number of mobile ions :math:`N_D` per cell.
    framework
        Framework composition ``{species: count}``.  Default: ``P`` and ``O`` in the
        ratio 1:4 balancing the mobile charge (``n_mobile`` divisible by 3 for Li+).
    n_framework
        Alternative to ``framework``: total framework atoms, split into ``P``/``O`` so
        the cell is neutral (raises with the nearest valid values if impossible).
    mobile_species, charges
        Mobile element symbol and per-species charge overrides (e); default charges are
        formal oxidation states (:mod:`uncertainty_gk.elements`).
    n_frames
        Frames per seed; a sequence gives seeds of unequal length.
    n_seeds
        Number of runs (default: ``len(n_frames)`` or 3).
    frame_interval_ps, md_timestep_ps
        Time between frames and the nominal MD timestep (``step`` = frame × ratio).
    temperature_K, box_length
        Temperature (attrs ``temperature_K``) and cubic cell side (Å).
    D
        Tracer diffusion coefficient of every mobile ion (Å²/ps).
    haven_ratio
        Target :math:`H_R` in [0.5, 1]: a fraction :math:`f = 1/H_R - 1` of the ions is
        rigidly paired (see the module docstring; ``truth`` has the realised value).
    walk
        ``"gaussian"`` increments or ``"lattice"`` hops of ``hop_length`` Å.
    vibration_amplitude
        Standard deviation (Å, per component) of framework vibrations.
    rattle_amplitude, rattle_time_ps
        Cage rattle of mobile ions: OU offset std (Å, per component) and correlation
        time (ps; 0 = uncorrelated between frames).  0 amplitude disables it.
    drift_D
        Diffusion coefficient (Å²/ps) of the common drift of the whole cell.
    structure, model
        Values of the ``structure`` and ``model`` labels.
    rng
        ``numpy.random.Generator`` or integer seed; the only source of randomness.
    block_frames
        Frames generated per block (memory control).  The numbers drawn depend on it
        (order of draws), so keep it fixed when reproducing a run.

    Returns
    -------
    SyntheticSystem
    """
    rng = np.random.default_rng(rng)
    frames = _frame_counts(n_frames, n_seeds)
    _check_positive(n_mobile=n_mobile, frame_interval_ps=frame_interval_ps, md_timestep_ps=md_timestep_ps,
                    temperature_K=temperature_K, box_length=box_length, D=D, block_frames=block_frames)
    _check_nonnegative(vibration_amplitude=vibration_amplitude, rattle_amplitude=rattle_amplitude,
                       rattle_time_ps=rattle_time_ps, drift_D=drift_D)
    if not 0.5 <= haven_ratio <= 1.0:
        raise ValueError(f"haven_ratio must be in [0.5, 1] (pairing model), got {haven_ratio}")
    if walk not in ("gaussian", "lattice"):
        raise ValueError(f"walk must be 'gaussian' or 'lattice', got {walk!r}")
    steps_per_frame = frame_interval_ps / md_timestep_ps
    if abs(steps_per_frame - round(steps_per_frame)) > 1e-9 * steps_per_frame:
        raise ValueError(f"frame_interval_ps ({frame_interval_ps}) must be a whole number of "
                         f"md_timestep_ps ({md_timestep_ps})")
    steps_per_frame = int(round(steps_per_frame))
    hop_probability = 6.0 * D * frame_interval_ps / hop_length**2
    if walk == "lattice" and hop_probability > 1.0:
        raise ValueError(f"walk='lattice': hop probability 6 D dt / a^2 = {hop_probability:.3g} > 1; "
                         "use a shorter frame_interval_ps, a longer hop_length or walk='gaussian'")

    # ---- composition and charges
    comp = _framework_composition(framework, n_framework, n_mobile, mobile_species, charges)
    species = np.array([mobile_species] * n_mobile + [s for s, n in comp.items() for _ in range(n)])
    q_all = charges_for(species, charges)
    if abs(q_all.sum()) > 1e-9:
        raise ValueError(f"the cell is not neutral: total charge {q_all.sum():+g} e for "
                         f"{n_mobile} {mobile_species} and framework {comp}; adjust framework or charges")
    q_mobile = float(q_all[0])
    n_atoms = len(species)
    n_fw = n_atoms - n_mobile

    # ---- structure shared by all seeds: atom order, sites, initial positions, pairing
    order = rng.permutation(n_atoms)            # atom k (sorted by id) is model atom order[k]
    species = species[order]
    mobile_rows = np.flatnonzero(order < n_mobile)       # rows (atom index) of mobile ions
    fw_rows = np.flatnonzero(order >= n_mobile)
    m = max(1, math.ceil(n_fw ** (1.0 / 3.0) - 1e-9))
    grid = (np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5) * (box_length / m)
    sites = grid[rng.choice(len(grid), size=n_fw, replace=False)] if n_fw else np.zeros((0, 3))
    start_mobile = rng.uniform(0.0, box_length, size=(n_mobile, 3))
    paired_fraction = 1.0 / haven_ratio - 1.0
    n_pairs = int(round(paired_fraction * n_mobile / 2.0))
    n_pairs = min(n_pairs, n_mobile // 2)
    perm = rng.permutation(n_mobile)
    group = np.empty(n_mobile, dtype=np.int64)
    group[perm[: 2 * n_pairs: 2]] = np.arange(n_pairs)
    group[perm[1: 2 * n_pairs: 2]] = np.arange(n_pairs)
    group[perm[2 * n_pairs:]] = n_pairs + np.arange(n_mobile - 2 * n_pairs)
    n_groups = n_pairs + (n_mobile - 2 * n_pairs)

    # ---- truth
    volume = box_length**3
    factor = units.conductivity_prefactor_S_per_cm(volume, temperature_K)
    group_sizes = np.bincount(group, minlength=n_groups)
    collective_weight = float(np.sum((q_mobile * group_sizes) ** 2))   # Σ_g (q n_g)^2
    tracer_weight = n_mobile * q_mobile**2
    sigma_tr = tracer_weight * D * factor
    sigma = collective_weight * D * factor
    truth = {
        "D": float(D),
        "D_tr": float(D) * units.A2_PER_PS_TO_CM2_PER_S,
        "D_sigma": float(D) * collective_weight / tracer_weight * units.A2_PER_PS_TO_CM2_PER_S,
        "sigma_tr": float(sigma_tr),
        "sigma": float(sigma),
        "haven_ratio": tracer_weight / collective_weight,
        "msd_slope": 6.0 * D,
        "polarisation_msd_slope": 6.0 * D * collective_weight,
        "volume": float(volume),
        "temperature_K": float(temperature_K),
        "frame_interval_ps": float(frame_interval_ps),
        "charge_mobile": q_mobile,
        "n_mobile": int(n_mobile),
        "n_paired": int(2 * n_pairs),
        "n_groups": int(n_groups),
    }
    params = {
        "n_mobile": n_mobile, "framework": dict(comp), "mobile_species": mobile_species,
        "charges": dict(charges or {}), "n_frames": list(frames), "frame_interval_ps": frame_interval_ps,
        "md_timestep_ps": md_timestep_ps, "temperature_K": temperature_K, "box_length": box_length,
        "D": D, "haven_ratio_requested": haven_ratio, "walk": walk, "hop_length": hop_length,
        "vibration_amplitude": vibration_amplitude, "rattle_amplitude": rattle_amplitude,
        "rattle_time_ps": rattle_time_ps, "drift_D": drift_D, "structure": structure, "model": model,
        "block_frames": block_frames,
    }
    q_fw = q_all[order][fw_rows]
    masses = masses_for(species)
    fw_weights = {}
    for ref, w in (("charge", np.abs(q_fw)), ("mass", masses[fw_rows])):
        fw_weights[ref] = float(np.sum(w**2) / np.sum(w) ** 2) if n_fw and np.sum(w) > 0 else float("nan")

    # ---- runs
    header = RunHeader(atom_id=np.arange(1, n_atoms + 1, dtype=np.int64), species=species)
    info = RunInfo(reader="synthetic", sources=[], timestep_ps=md_timestep_ps,
                   frame_interval_ps=frame_interval_ps, temperature_K=temperature_K,
                   notes=["synthetic known-answer trajectory (uncertainty_gk.synthetic)"])
    cell = np.eye(3) * box_length
    walk_model = dict(dt=frame_interval_ps, D=D, walk=walk, hop_length=hop_length, hop_probability=hop_probability,
                 a_fw=vibration_amplitude, a_c=rattle_amplitude, tau_c=rattle_time_ps, drift_D=drift_D)
    runs = []
    for seed, (n, child) in enumerate(zip(frames, rng.spawn(len(frames)))):
        chunks = _run_chunks(child, n, block_frames, n_atoms, mobile_rows, fw_rows, sites, start_mobile,
                             group, n_groups, cell, steps_per_frame, walk_model)
        labels = {"structure": structure, "model": model, "temperature_K": float(temperature_K),
                  "seed": seed}
        prefix = structure if model == "synthetic" else f"{structure}_{model}"
        ds = assemble_dataset(header, chunks, info, charges=charges, mobile=(mobile_species,),
                              labels=labels, run_name=f"{prefix}_T{temperature_K:g}K_seed{seed}")
        ds.attrs["synthetic_truth"] = json.dumps(truth, sort_keys=True)
        ds.attrs["synthetic_params"] = json.dumps(params, sort_keys=True)
        runs.append(ds)
    return SyntheticSystem(runs=runs, truth=truth, params=params, _fw_sq_charge=float(np.sum(q_fw**2)),
                           _fw_weights=fw_weights)


def _run_chunks(rng, n_frames, block, n_atoms, mobile_rows, fw_rows, sites, start_mobile, group,
                n_groups, cell, steps_per_frame, p):
    """Yield the FrameChunks of one run (see the module docstring for the model)."""
    from scipy.signal import lfilter

    n_mobile, n_fw = len(mobile_rows), len(fw_rows)
    drift = np.zeros(3)
    walker = np.zeros((n_groups, 3))
    rattle_on = p["a_c"] > 0
    phi = math.exp(-p["dt"] / p["tau_c"]) if p["tau_c"] > 0 else 0.0
    rattle = rng.normal(0.0, p["a_c"], size=(n_mobile, 3)) if rattle_on else None
    sd_step = math.sqrt(2.0 * p["D"] * p["dt"])
    sd_drift = math.sqrt(2.0 * p["drift_D"] * p["dt"])
    chunks = []
    for first in range(0, n_frames, block):
        nb = min(block, n_frames - first)
        d_drift = rng.normal(0.0, sd_drift, size=(nb, 3))
        if p["walk"] == "gaussian":
            d_walk = rng.normal(0.0, sd_step, size=(nb, n_groups, 3))
        else:
            hop = rng.random((nb, n_groups)) < p["hop_probability"]
            direction = rng.integers(0, 6, size=(nb, n_groups))
            d_walk = np.zeros((nb, n_groups, 3))
            t_idx, g_idx = np.nonzero(hop)
            d = direction[t_idx, g_idx]
            d_walk[t_idx, g_idx, d // 2] = np.where(d % 2 == 0, p["hop_length"], -p["hop_length"])
        if first == 0:                         # frame 0 is the reference configuration
            d_drift[0] = 0.0
            d_walk[0] = 0.0
        w_block = drift + np.cumsum(d_drift, axis=0)
        x_block = walker + np.cumsum(d_walk, axis=0)
        drift, walker = w_block[-1].copy(), x_block[-1].copy()
        pos = np.empty((nb, n_atoms, 3))
        mob = start_mobile[None] + x_block[:, group] + w_block[:, None]
        if rattle_on:
            noise = rng.normal(0.0, p["a_c"] * math.sqrt(1.0 - phi**2), size=(nb, n_mobile, 3))
            zi = phi * rattle[None]
            if first == 0:                      # frame 0: the stationary draw c(0)
                noise[0] = rattle
                zi = np.zeros_like(zi)
            c_block, _ = lfilter([1.0], [1.0, -phi], noise, axis=0, zi=zi)
            rattle = c_block[-1].copy()
            mob += c_block
        pos[:, mobile_rows] = mob
        if n_fw:
            pos[:, fw_rows] = (sites[None] + w_block[:, None]
                               + rng.normal(0.0, p["a_fw"], size=(nb, n_fw, 3)))
        steps = (first + np.arange(nb, dtype=np.int64)) * steps_per_frame
        chunks.append(FrameChunk(positions=pos, cell=np.broadcast_to(cell, (nb, 3, 3)), step=steps))
    return chunks


def _frame_counts(n_frames, n_seeds) -> list[int]:
    if isinstance(n_frames, (int, np.integer)):
        frames = [int(n_frames)] * (3 if n_seeds is None else int(n_seeds))
    else:
        frames = [int(n) for n in n_frames]
        if n_seeds is not None and n_seeds != len(frames):
            raise ValueError(f"n_seeds={n_seeds} but n_frames lists {len(frames)} lengths; give one or the other")
    if not frames or min(frames) < 2:
        raise ValueError(f"need at least one seed with >= 2 frames each, got n_frames={frames}")
    return frames


def _framework_composition(framework, n_framework, n_mobile, mobile_species, charges) -> dict[str, int]:
    if framework is not None:
        if n_framework is not None:
            raise ValueError("give either framework={species: count} or n_framework, not both")
        return {str(s): int(n) for s, n in framework.items() if int(n) > 0}
    q_m = float(charges_for(np.array([mobile_species]), charges)[0])
    z_p, z_o = (float(z) for z in charges_for(np.array(["P", "O"]), charges))
    total = q_m * n_mobile
    if n_framework is None:
        # PO4 units: charge z_p + 4 z_o per unit
        unit = z_p + 4 * z_o
        k = -total / unit
        if unit == 0 or abs(k - round(k)) > 1e-9 or k < 0:
            raise ValueError(f"cannot balance {n_mobile} {mobile_species} ({q_m:+g} e) with PO4 units "
                             f"({unit:+g} e); give n_framework or framework={{species: count}}")
        k = int(round(k))
        return {"P": k, "O": 4 * k}
    # n_P + n_O = n_framework, z_p n_P + z_o n_O = -total
    n_p = (-total - z_o * n_framework) / (z_p - z_o)
    if abs(n_p - round(n_p)) > 1e-9 or not 0 <= round(n_p) <= n_framework:
        valid = [n for n in range(max(1, n_framework - 20), n_framework + 21)
                 if _integral_in_range((-total - z_o * n) / (z_p - z_o), n)]
        raise ValueError(f"n_framework={n_framework} cannot neutralise {n_mobile} {mobile_species} with P/O "
                         f"atoms; nearby valid values: {valid[:8]}; or give framework={{species: count}}")
    n_p = int(round(n_p))
    return {"P": n_p, "O": n_framework - n_p}


def _integral_in_range(x: float, n: int) -> bool:
    return abs(x - round(x)) < 1e-9 and 0 <= round(x) <= n


def _check_positive(**values):
    for name, v in values.items():
        if not v > 0:
            raise ValueError(f"{name} must be positive, got {v}")


def _check_nonnegative(**values):
    for name, v in values.items():
        if not v >= 0:
            raise ValueError(f"{name} must be >= 0, got {v}")


# --------------------------------------------------------------------------- LAMMPS dump
def write_lammps_dump(ds: xr.Dataset, path, *, types: Mapping[int, str] | None = None,
                      precision: int = 8) -> dict[int, str]:
    """Write a run as a LAMMPS text dump with columns ``id type xu yu zu``.

    Parameters
    ----------
    ds
        Trajectory Dataset (orthogonal cell assumed; bounds 0..L along each axis).
    path
        Output file.
    types
        ``type -> element`` map; default: sorted species numbered from 1.
    precision
        Decimals written for positions (Å).

    Returns
    -------
    dict
        The ``type -> element`` map used (give it to the LAMMPS reader).
    """
    species = np.asarray(ds["species"].values).astype(str)
    if types is None:
        types = {i + 1: s for i, s in enumerate(sorted(set(species.tolist())))}
    to_type = {s: int(t) for t, s in types.items()}
    missing = sorted(set(species.tolist()) - set(to_type))
    if missing:
        raise ValueError(f"types map {dict(types)} lacks species {missing}")
    atom_type = np.array([to_type[s] for s in species], dtype=np.int64)
    ids = np.asarray(ds["atom_id"].values, dtype=np.int64)
    n_atoms = len(ids)
    cell = np.asarray(ds["cell"].values, dtype=np.float64)
    steps = (np.asarray(ds["step"].values) if "step" in ds.coords
             else np.arange(ds.sizes["time"], dtype=np.int64))
    fmt = f"%d %d %.{precision}f %.{precision}f %.{precision}f"
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as fh:
        for k in range(ds.sizes["time"]):
            c = cell[k] if cell.ndim == 3 else cell
            fh.write(f"ITEM: TIMESTEP\n{int(steps[k])}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n"
                     "ITEM: BOX BOUNDS pp pp pp\n")
            for axis in range(3):
                fh.write(f"0.0 {c[axis, axis]:.{precision}f}\n")
            fh.write("ITEM: ATOMS id type xu yu zu\n")
            xyz = np.asarray(ds["positions"].isel(time=k).values, dtype=np.float64)
            table = np.column_stack([ids, atom_type, xyz])
            np.savetxt(fh, table, fmt=fmt)
    os.replace(tmp, path)
    return dict(types)


# =========================================================================== increments
# Out-of-sample generators for the spectral estimator (issue 12, item 4).  They produce the
# estimator's input directly - per seed, the framework-relative displacement of every mobile
# ion over one frame and the polarisation increment - which is fast enough for hundreds of
# replicas of nanosecond campaigns.  They share no code with :func:`generate`.

#: Named scenario families of :func:`increment_campaign` (keyword overrides).
INCREMENT_SCENARIOS: dict[str, dict] = {
    # Gaussian walkers + rattle + vibrating framework, three short seeds
    "brownian_3x50ps": dict(process="gaussian", durations_ps=(50, 50, 50)),
    "brownian_3x100ps": dict(process="gaussian", durations_ps=(100, 100, 100)),
    # fixed-length lattice hops at Poisson times
    "hops_3x100ps": dict(process="hops", durations_ps=(100, 100, 100)),
    # correlated pair hops, H_R = 2/3 (a third of the ions... see pair_fraction)
    "pairs_hr067_3x100ps": dict(process="hops", pair_fraction=0.5, durations_ps=(100, 100, 100)),
    "pairs_hr05_3x300ps": dict(process="hops", pair_fraction=1.0, durations_ps=(300, 300, 300)),
    # hops of which 40 % are undone after ~0.3 ps
    "backhops_3x100ps": dict(process="hops", back_hop_probability=0.4, durations_ps=(100, 100, 100)),
    # five unequal seeds
    "unequal_5seeds": dict(process="gaussian", durations_ps=(40, 50, 60, 45, 55), dt_ps=0.05),
    # frame intervals
    "dense_10fs_3x50ps": dict(process="hops", dt_ps=0.01, durations_ps=(50, 50, 50)),
    "sparse_05ps_3x300ps": dict(process="hops", dt_ps=0.5, durations_ps=(300, 300, 300)),
    # anisotropic
    "channel_1d_3x100ps": dict(process="hops", dims=1, durations_ps=(100, 100, 100)),
    "planes_2d_3x100ps": dict(process="hops", dims=2, pair_fraction=0.5, durations_ps=(100, 100, 100)),
    # ab initio sized cells with a stiff cage (0.1 Å rattle): the collective's spectrum has
    # little structure beyond the framework's, and its order choice little to go on (session 13)
    "stiff_24ions_3x100ps": dict(process="gaussian", n_mobile=24, rattle_amplitude=0.1, durations_ps=(100, 100, 100)),
    "stiff_8ions_3x100ps": dict(process="gaussian", n_mobile=8, rattle_amplitude=0.1, durations_ps=(100, 100, 100)),
}


@dataclass
class IncrementCampaign:
    """Per-seed increments of a known-answer system (see :func:`increment_campaign`).

    Attributes
    ----------
    seeds
        One dict per seed: ``name``, ``dt_ps``, ``tracer_increments`` (T-1, N, 3) Å and
        ``polarisation_increments`` (T-1, 3) e·Å.
    truth
        Exact answers: ``slope_tr`` (d MSD_tr/dt, Å²/ps), ``slope_P`` (d<|ΔP|²>/dt,
        e² Å²/ps), ``D`` (Å²/ps), ``D_tr`` (cm²/s), ``sigma_tr`` and ``sigma`` (S/cm),
        ``haven_ratio``, per-axis slopes ``slope_tr_axes`` / ``slope_P_axes``.
    params
        Generation parameters.
    """

    seeds: list[dict]
    truth: dict
    params: dict

    def axis_msd(self, t_ps, component: str) -> np.ndarray:
        """Exact per-axis MSD (Å², or e² Å² for ``"P"``) at lags ``t_ps``: (len(t), 3).

        ``component`` is ``"tr"`` (one ion, framework-relative) or ``"P"``.
        """
        p = self.params
        t = np.atleast_1d(np.asarray(t_ps, dtype=np.float64))[:, None]
        pos = (t > 0).astype(float)
        active = np.zeros(3)
        active[: p["dims"]] = 1.0
        rate = self.truth["slope_tr"] / p["dims"] * active          # per-axis MSD slope, one walker
        tau_b = p["back_hop_time_ps"]
        lam_b = p["_hop_rate"] * p["back_hop_probability"] / p["dims"] * active   # back-hop events / axis
        walker = rate * t + 2.0 * lam_b * p["hop_length"] ** 2 * tau_b * (1.0 - np.exp(-t / tau_b))
        rattle = 2.0 * p["rattle_amplitude"] ** 2 * (1.0 - np.exp(-t / p["rattle_time_ps"])) * np.ones(3)
        frame = 2.0 * p["framework_vibration"] ** 2 * pos * np.ones(3)
        q, N = p["charge"], p["n_mobile"]
        if component == "tr":
            return walker + rattle + frame
        if component == "P":
            n1, n2 = p["_n_single"], p["_n_pairs"]
            return q * q * ((n1 + 4 * n2) * walker + N * rattle + N * N * frame)
        raise ValueError(f"component must be 'tr' or 'P', got {component!r}")

    def increment_spectrum(self, f_per_ps, dt_ps: float, component: str, *, n_lags: int | None = None) -> np.ndarray:
        """Exact spectrum S(f) (per axis, (len(f), 3)) of the one-frame increments.

        The increments x_n = Y(t_{n+1}) - Y(t_n) of a process with stationary increments
        have autocovariance γ(m) = ½[V((m+1)Δt) + V((m-1)Δt) - 2V(mΔt)], V the per-axis
        MSD (:meth:`axis_msd`); S(f) = Σ_m γ(m) cos(2π f m Δt) (variance normalisation:
        white increments of variance s² have S = s²).
        """
        p = self.params
        if n_lags is None:
            tau = max(p["rattle_time_ps"], p["back_hop_time_ps"])
            n_lags = int(np.ceil(40 * tau / dt_ps)) + 2
        return increment_spectrum_from_msd(lambda t: self.axis_msd(t, component), f_per_ps, dt_ps, n_lags)

    def relaxation_components(self) -> list[tuple[str, float]]:
        """The bounded (non-diffusive) parts of the motion as (name, relaxation time ps).

        Each contributes 4 sin²(π f Δt) · b · L(f; τ) to the increment spectrum, with
        L the spectrum of a unit-variance AR(1) sampled at the frames (see
        :meth:`parametric_spectrum`); the framework vibration adds 4 sin²(π f Δt) · c."""
        p = self.params
        comps = [("rattle", p["rattle_time_ps"])] if p["rattle_amplitude"] > 0 else []
        if p["back_hop_probability"] > 0 and not any(np.isclose(p["back_hop_time_ps"], t) for _, t in comps):
            comps.append(("back_hop", p["back_hop_time_ps"]))
        return comps

    @staticmethod
    def parametric_spectrum(f_per_ps, dt_ps: float, level: float, white: float,
                            amplitudes: Sequence[float], times_ps: Sequence[float]) -> np.ndarray:
        r"""S(f) = a + 4 sin²(π f Δt) [c + Σ_j b_j (1-φ_j²)/(1+φ_j²-2φ_j cos 2π f Δt)], φ_j = e^{-Δt/τ_j}.

        The generator's family: a diffusive level a = S(0), a white framework term c and
        one AR(1) (exponentially relaxing) term per bounded motion."""
        f = np.asarray(f_per_ps, dtype=np.float64)
        g = np.full_like(f, float(white))
        for b, tau in zip(amplitudes, times_ps):
            g = g + b * _ar1_shape(f, dt_ps, tau)
        return level + 4.0 * np.sin(np.pi * f * dt_ps) ** 2 * g

    def _series_information(self, M: int, dt: float, comp: str, shape: str) -> np.ndarray:
        """Per-axis Whittle information about ln S(0) of one seed's χ²₁ sine ordinates."""
        f = np.arange(1, M + 1) / (2.0 * (M + 1) * dt)
        S = self.increment_spectrum(f, dt, comp)
        S0 = self.increment_spectrum([0.0], dt, comp)[0]
        out = np.zeros(3)
        for ax in range(3):
            if S0[ax] <= 0:
                continue
            if shape == "known":
                out[ax] = 0.5 * float(np.sum((S0[ax] / S[:, ax]) ** 2))
                continue
            # shape unknown: the family's parameters (ln a, c, b_j, ln τ_j) are all free
            comps = self.relaxation_components()
            times = [t for _, t in comps]
            # fit the family to the exact spectrum (linear in a, c, b_j for the true τ_j)
            s2 = 4.0 * np.sin(np.pi * f * dt) ** 2
            X = np.column_stack([np.ones(M), s2] + [s2 * _ar1_shape(f, dt, t) for t in times])
            theta = np.linalg.lstsq(X, S[:, ax], rcond=None)[0]
            resid = float(np.max(np.abs(X @ theta - S[:, ax]) / S[:, ax]))
            if resid > 1e-6:
                raise RuntimeError(f"the parametric family misses the exact spectrum by {resid:.1e} (relative)")
            J = [X[:, 0] * theta[0], X[:, 1]] + [X[:, 2 + j] for j in range(len(times))]
            for j, t in enumerate(times):
                h = 1e-5 * t
                J.append(s2 * theta[2 + j] * (_ar1_shape(f, dt, t + h) - _ar1_shape(f, dt, t - h)) / (2 * h) * t)
            Jm = np.column_stack(J) / S[:, ax][:, None]
            F = 0.5 * Jm.T @ Jm
            out[ax] = 1.0 / float(np.linalg.pinv(F)[0, 0])
        return out

    def cramer_rao(self, *, ci_prob: float = 0.95, shape: str = "known") -> dict:
        """Cramér-Rao relative widths (upper-lower)/truth of slope_tr, slope_P and H_R.

        Whittle Fisher information of this campaign's exact spectrum, counted on the real
        sine-transform coefficients of every seed and axis (χ²_1 each).

        ``shape="known"`` (the SCIENCE.md definition): only the zero-frequency level is
        free, I(ln S0) = ½ Σ_k (S0/S(f_k))².  No estimator that is not told the spectrum's
        shape can reach it.  ``shape="parametric"``: the shape parameters of the
        generator's own family (:meth:`parametric_spectrum`: the white framework term,
        each AR(1) amplitude and relaxation time) are free too, as they are for any
        estimator that learns the vibrations from the data; the bound on ln S0 is then
        ``[F⁻¹]₀₀`` of the full Fisher matrix, per seed and axis.  It is the limit for an
        estimator that knows the *family* of shapes exactly; a flexible model of unknown
        shapes can only be wider.

        The tracer information is multiplied by N·H_R (paired ions carry the same hops).
        H_R: variances of the two logs added (their positive covariance, O(1/N), is
        ignored, so this bound is slightly loose).
        """
        from scipy import stats as _st
        if shape not in ("known", "parametric"):
            raise ValueError(f"shape must be 'known' or 'parametric', got {shape!r}")
        z = _st.norm.ppf(0.5 + ci_prob / 2)
        info = {"tr": np.zeros(3), "P": np.zeros(3)}
        for s in self.seeds:
            M = s["polarisation_increments"].shape[0]
            for comp in ("tr", "P"):
                info[comp] += self._series_information(M, s["dt_ps"], comp, shape)
        info["tr"] *= self.params["n_mobile"] * self.truth["haven_ratio"]
        out = {}
        var = {}
        for comp, key in (("tr", "slope_tr"), ("P", "slope_P")):
            w = np.asarray(self.truth[key + "_axes"]) / self.truth[key]
            with np.errstate(divide="ignore", invalid="ignore"):
                var[comp] = float(np.sum(np.where(w > 0, w * w / info[comp], 0.0)))
            out[key] = 2 * z * np.sqrt(var[comp])
        out["haven_ratio"] = 2 * z * np.sqrt(var["tr"] + var["P"])
        return out


def increment_spectrum_from_msd(msd, f_per_ps, dt_ps: float, n_lags: int) -> np.ndarray:
    """Spectrum S(f) of the one-frame increments of a process with stationary increments
    whose MSD per axis is ``msd(t)`` (t in ps; an array of shape (len(t),) or (len(t), 3)).

    The increments x_n = Y(t_{n+1}) - Y(t_n) have autocovariance γ(m) = ½[V((m+1)Δt) +
    V((m-1)Δt) - 2V(mΔt)], V the MSD; S(f) = Σ_m γ(m) cos(2π f m Δt) over |m| <= ``n_lags``
    (variance normalisation: white increments of variance s² have S = s²).
    """
    V = np.asarray(msd(np.arange(n_lags + 2, dtype=np.float64) * dt_ps), dtype=np.float64)
    gamma = np.empty((n_lags + 1,) + V.shape[1:])
    gamma[0] = V[1]
    gamma[1:] = 0.5 * (V[2:] + V[:-2] - 2.0 * V[1:-1])
    f = np.asarray(f_per_ps, dtype=np.float64)
    c = np.cos(2.0 * np.pi * np.outer(f, np.arange(n_lags + 1)) * dt_ps)
    c[:, 1:] *= 2.0
    return c @ gamma


def _ar1_shape(f, dt_ps: float, tau_ps: float) -> np.ndarray:
    """Spectrum of a unit-variance AR(1) with φ = exp(-Δt/τ) (an exponentially relaxing
    offset sampled at the frames): (1-φ²)/(1+φ²-2φ cos 2πfΔt)."""
    phi = math.exp(-dt_ps / tau_ps)
    return (1.0 - phi * phi) / (1.0 + phi * phi - 2.0 * phi * np.cos(2.0 * np.pi * np.asarray(f) * dt_ps))


def increment_campaign(*, process: str = "gaussian", durations_ps: Sequence[float] = (100, 100, 100),
                       dt_ps: float = 0.1, n_mobile: int = 64, D: float = 0.1, dims: int = 3,
                       hop_length: float = 2.5, back_hop_probability: float = 0.0,
                       back_hop_time_ps: float = 0.3, pair_fraction: float = 0.0,
                       rattle_amplitude: float = 0.3, rattle_time_ps: float = 0.3,
                       framework_vibration: float = 0.05, charge: float = 1.0,
                       volume_A3: float = 3300.0, temperature_K: float = 1000.0,
                       rng: np.random.Generator | int | None = None, name: str = "") -> IncrementCampaign:
    r"""Known-answer per-seed increments for the spectral estimator.

    Model (per seed, independent seeds; Å, ps, e):

    * ``n_mobile`` ions, a fraction ``pair_fraction`` of them in pairs that share one
      walker (same hops at the same times), the rest single;
    * walkers: ``process="gaussian"``: Gaussian increments with per-axis variance
      2 D_ax Δt on the ``dims`` active axes (x; x,y; x,y,z);
      ``process="hops"``: hops of fixed length ``hop_length`` along ±x/±y/±z (active axes)
      at Poisson times; a fraction ``back_hop_probability`` of the hops is undone after an
      exponential delay (mean ``back_hop_time_ps``), the rest are permanent.  The total
      hop rate Γ is set so that the surviving hops give D: Γ (1-p_b) a² = 6 D;
    * every ion rattles in its cage: an Ornstein-Uhlenbeck offset per axis (s.d.
      ``rattle_amplitude``, correlation time ``rattle_time_ps``), sampled exactly at frames;
    * the framework's charge centre vibrates: i.i.d. Gaussian offset per frame and axis
      (s.d. ``framework_vibration``), subtracted from every ion's position.

    The cell is neutral and the framework reference is its charge centre, so
    ΔP = q Σ_i Δr_i^rel exactly (Σ_F q_j (r_j - R_F) = 0).  Exact answers (``dims``-
    independent definition D* = slope/6):

    .. math::
        \mathrm{slope}_{tr} = 6D,\quad
        \mathrm{slope}_P = 6 D q^2 (N_1 + 4 N_2),\quad
        H_R = \frac{N q^2 \mathrm{slope}_{tr}}{\mathrm{slope}_P} = \frac{N_1 + 2N_2}{N_1 + 4N_2}

    (N_1 single ions, N_2 pairs).  ``durations_ps`` gives the number of seeds and their
    lengths (unequal lengths allowed); frames = round(duration/dt) + 1.
    """
    rng = np.random.default_rng(rng)
    if process not in ("gaussian", "hops"):
        raise ValueError(f"process must be 'gaussian' or 'hops', got {process!r}")
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, got {dims!r}")
    if not 0.0 <= back_hop_probability < 1.0:
        raise ValueError(f"back_hop_probability must be in [0, 1), got {back_hop_probability}")
    if back_hop_probability > 0 and process != "hops":
        raise ValueError("back hops need process='hops'")
    _check_positive(dt_ps=dt_ps, D=D, hop_length=hop_length, back_hop_time_ps=back_hop_time_ps,
                    rattle_time_ps=rattle_time_ps, volume_A3=volume_A3, temperature_K=temperature_K)
    n_pairs = int(round(pair_fraction * n_mobile / 2))
    n_single = n_mobile - 2 * n_pairs
    n_walkers = n_single + n_pairs
    walker_of_ion = np.concatenate([np.arange(n_single), np.repeat(n_single + np.arange(n_pairs), 2)])
    hop_rate = 6.0 * D / (hop_length**2 * (1.0 - back_hop_probability))
    params = dict(process=process, durations_ps=[float(d) for d in durations_ps], dt_ps=float(dt_ps),
                  n_mobile=int(n_mobile), D=float(D), dims=int(dims), hop_length=float(hop_length),
                  back_hop_probability=float(back_hop_probability), back_hop_time_ps=float(back_hop_time_ps),
                  pair_fraction=float(pair_fraction), rattle_amplitude=float(rattle_amplitude),
                  rattle_time_ps=float(rattle_time_ps), framework_vibration=float(framework_vibration),
                  charge=float(charge), volume_A3=float(volume_A3), temperature_K=float(temperature_K),
                  _hop_rate=hop_rate, _n_single=n_single, _n_pairs=n_pairs)
    active = np.zeros(3)
    active[:dims] = 1.0
    seeds = []
    phi = math.exp(-dt_ps / rattle_time_ps)
    for s, dur in enumerate(durations_ps):
        M = int(round(dur / dt_ps))          # increments
        # walkers
        if process == "gaussian":
            step = rng.normal(0.0, math.sqrt(6.0 * D / dims * dt_ps), size=(M, n_walkers, 3)) * active
        else:
            lam = hop_rate * (1.0 - back_hop_probability) / (2 * dims) * dt_ps
            step = (rng.poisson(lam, size=(M, n_walkers, 3)) - rng.poisson(lam, size=(M, n_walkers, 3))) \
                * hop_length * active
            if back_hop_probability > 0:
                step += _back_hops(rng, M, n_walkers, dims, dt_ps, hop_rate * back_hop_probability,
                                   back_hop_time_ps, hop_length)
        ion = step[:, walker_of_ion, :]
        # rattle: stationary AR(1) sampled at frames
        c = np.empty((M + 1, n_mobile, 3))
        c[0] = rng.normal(0.0, rattle_amplitude, size=(n_mobile, 3))
        innov = rng.normal(0.0, rattle_amplitude * math.sqrt(1.0 - phi * phi), size=(M, n_mobile, 3))
        for n in range(M):
            c[n + 1] = phi * c[n] + innov[n]
        u = rng.normal(0.0, framework_vibration, size=(M + 1, 3))
        tracer = ion + np.diff(c, axis=0) - np.diff(u, axis=0)[:, None, :]
        seeds.append({"name": f"{name or 'seed'}{s}", "dt_ps": float(dt_ps), "tracer_increments": tracer,
                      "polarisation_increments": charge * tracer.sum(axis=1)})
    slope_tr = 6.0 * D
    slope_P = 6.0 * D * charge**2 * (n_single + 4 * n_pairs)
    hr = (n_single + 2 * n_pairs) / (n_single + 4 * n_pairs)
    fac = units.conductivity_prefactor_S_per_cm(volume_A3, temperature_K)
    truth = {"slope_tr": slope_tr, "slope_P": slope_P, "D": D, "D_tr": D * units.A2_PER_PS_TO_CM2_PER_S,
             "sigma_tr": n_mobile * charge**2 * D * fac, "sigma": slope_P / 6.0 * fac, "haven_ratio": hr,
             "slope_tr_axes": list(slope_tr / dims * active), "slope_P_axes": list(slope_P / dims * active),
             "n_mobile": n_mobile, "charge": charge, "volume": volume_A3, "temperature_K": temperature_K}
    return IncrementCampaign(seeds=seeds, truth=truth, params=params)


def _back_hops(rng, M, n_walkers, dims, dt_ps, rate, tau, a) -> np.ndarray:
    """Displacement per frame (M, n_walkers, 3) of hops that are undone after Exp(tau).

    Events start uniformly in [-20 tau, M dt) (so the run starts stationary); each moves
    ±a along a random active axis at its start frame and back at its end frame.
    """
    out = np.zeros((M, n_walkers, 3))
    t0, t1 = -20.0 * tau, M * dt_ps
    n = rng.poisson(rate * (t1 - t0) * n_walkers)
    w = rng.integers(0, n_walkers, n)
    start = rng.uniform(t0, t1, n)
    end = start + rng.exponential(tau, n)
    axis = rng.integers(0, dims, n)
    sign = rng.choice((-1.0, 1.0), n) * a
    # a jump at time t lands in increment floor(t/dt) (between frames n and n+1)
    for times, sgn in ((start, sign), (end, -sign)):
        k = np.floor(times / dt_ps).astype(np.int64)
        ok = (k >= 0) & (k < M)
        np.add.at(out, (k[ok], w[ok], axis[ok]), sgn[ok])
    return out
