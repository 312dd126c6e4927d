"""Inject synthetic MLIP failures into clean trajectory Datasets.

Every function takes a clean run (an :mod:`uncertainty_gk.schema` Dataset, copied and
``.load()``-ed here, never modified in place), an injection time ``t_inj`` (ps) and a
:class:`numpy.random.Generator`, and returns ``(corrupted, info)``: a corrupted copy and a
dict describing what was done (atoms, sizes), so that every replica can be reproduced and
reported.  Frames (or thermo rows) before ``t_inj`` are left bit-for-bit unchanged.

Failure types and their sizes (the defaults; see ``docs/failure_injection.md``):

``contact``
    Close-contact collapse.  The closest anion-anion pair (O-O, S-S, ...) or the closest
    mobile-ion/anion pair (Li-O, Li-S) at the injection frame is pulled together along its
    minimum-image direction, linearly over ``ramp_ps`` ∈ [0.1, 0.3] ps, to
    ``f`` × (the smallest distance of that species pair over the whole clean run),
    ``f`` ∈ [0.55, 0.65] (O-O ≈ 1.2-1.4 Å, Li-O ≈ 0.95-1.1 Å, S-S ≈ 1.8-2.1 Å), and kept
    at that distance; the pair's centre and orientation follow the clean thermal motion.
``temperature``
    Temperature spike in the log: ``thermo_Temp`` of the production block is multiplied by
    ``1 + a·ramp(t)`` with ``a`` ∈ [0.30, 0.50] (+300 to +500 K at 1000 K, i.e. 6.4-10.6
    canonical σ_T for N = 297), ramped over ``ramp_ps`` ∈ [0.1, 0.3] ps and kept.  Only the
    ``Temp`` column is changed (the consistent rise of TotEng would be a second signature).
``tetrahedron``
    Broken tetrahedron: one ligand of a framework polyhedron (O of PO4/SiO4, S of PS4) is
    pulled radially away from its centre, over ``ramp_ps`` ∈ [0.1, 0.3] ps, to
    ``g`` × the bond cutoff of ``diagnose`` (1.2 × (r_cov,A + r_cov,B)), ``g`` ∈ [1.15, 1.4]
    (P-O: 2.4-2.9 Å instead of 1.54 Å), and kept there.
``melt``
    Framework melt: from ``t_inj`` every framework (non-mobile) atom gets an independent
    Gaussian random walk with diffusion coefficient ``D`` = 0.1 Å²/ps = 1e-5 cm²/s, the
    order of the Li self-diffusion coefficient in the LPSO runs (MSD 0.6 Å²/ps).
``drift``
    Framework drift: from ``t_inj`` every framework polyhedron (centre + its ligands,
    assigned at the first frame) and every other framework atom random-walks as a rigid
    unit with the same ``D`` = 0.1 Å²/ps; no bond is broken, the framework diffuses.
``energy``
    Energy drift: ``thermo_PotEng`` and ``thermo_TotEng`` of the production block get a
    linear drift of ``rate`` = −5 eV/ps per 297 atoms (−16.8 meV/atom/ps) from ``t_inj``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from uncertainty_gk.elements import FORMAL_CHARGES

__all__ = ["FAILURE_TYPES", "LOG_TYPES", "inject", "inject_contact", "inject_temperature", "inject_tetrahedron",
           "inject_melt", "inject_drift", "inject_energy", "polyhedra_units", "bond_cutoff",
           "production_rows"]

FAILURE_TYPES = ("contact", "temperature", "tetrahedron", "melt", "drift", "energy")
#: failure types that need a LAMMPS log (thermo rows)
LOG_TYPES = ("temperature", "energy")

D_FRAMEWORK_A2_PS = 0.1          # 1e-5 cm^2/s
ENERGY_RATE_EV_PS_PER_297 = -5.0


# --------------------------------------------------------------------------- helpers
def _copy(ds: xr.Dataset) -> xr.Dataset:
    return ds.copy(deep=True).load()


def _ramp(times: np.ndarray, t_inj: float, ramp_ps: float) -> np.ndarray:
    """0 before t_inj, linear to 1 at t_inj + ramp_ps, 1 after."""
    return np.clip((times - t_inj) / ramp_ps, 0.0, 1.0)


def _cell(ds: xr.Dataset) -> np.ndarray:
    c = np.asarray(ds["cell"].values, dtype=np.float64)
    return c if c.ndim == 2 else c[0]


def _min_image(d: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Minimum-image version of displacement vectors d (..., 3) in a (possibly triclinic) cell (rows = vectors)."""
    frac = d @ np.linalg.inv(cell)
    frac -= np.round(frac)
    return frac @ cell


def _species(ds) -> np.ndarray:
    return np.asarray(ds["species"].values).astype(str)


def _mobile(ds) -> np.ndarray:
    return np.asarray(ds["mobile"].values, dtype=bool)


def bond_cutoff(a: str, b: str, factor: float = 1.2) -> float:
    """The bond cutoff of ``diagnose``: factor × (r_cov,A + r_cov,B) (Å)."""
    from ase.data import atomic_numbers, covalent_radii
    return factor * float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])


def production_rows(ds: xr.Dataset) -> np.ndarray:
    """Indices of the thermo rows of the production block (the last block with rows, as in diagnose)."""
    blocks = np.asarray(ds["thermo_block"].values)
    block = ds.attrs.get("log_production_block")
    if block is None:
        block = int(blocks.max())
    return np.nonzero(blocks == int(block))[0]


def _frame_index(ds, t_inj) -> int:
    times = np.asarray(ds["time"].values)
    return int(min(np.searchsorted(times, t_inj - 1e-9), len(times) - 1))


def polyhedra_units(ds: xr.Dataset, frame: int = 0) -> tuple[list[tuple[int, list[int]]], np.ndarray]:
    """Framework polyhedra at ``frame``: [(centre, [ligands])], and a unit id per framework atom (-1 mobile).

    A centre is a non-mobile cation (formal charge > 0); its ligands are the anions within the
    bond cutoff; an anion bonded to no centre (e.g. the free S2- and Cl- of argyrodite) is its own unit.
    """
    sp = _species(ds)
    mob = _mobile(ds)
    pos = np.asarray(ds["positions"].values[frame], dtype=np.float64)
    cell = _cell(ds)
    q = np.array([FORMAL_CHARGES.get(s, 0) for s in sp])
    centres = np.nonzero(~mob & (q > 0))[0]
    anions = np.nonzero(~mob & (q < 0))[0]
    unit = np.full(len(sp), -1, dtype=np.int64)
    polys = []
    for k, c in enumerate(centres):
        unit[c] = k
    if len(anions):
        d = np.linalg.norm(_min_image(pos[anions][None, :, :] - pos[centres][:, None, :], cell), axis=2) \
            if len(centres) else np.zeros((0, len(anions)))
        cut = np.array([[bond_cutoff(sp[c], sp[a]) for a in anions] for c in centres]) if len(centres) else d
        bonded = d < cut
        for k, c in enumerate(centres):
            polys.append((int(c), [int(a) for a in anions[bonded[k]]]))
        for j, a in enumerate(anions):
            if len(centres) and bonded[:, j].any():
                unit[a] = int(np.argmin(np.where(bonded[:, j], d[:, j], np.inf)))
    nxt = len(centres)
    for i in np.nonzero(~mob & (unit < 0))[0]:
        unit[i] = nxt
        nxt += 1
    return polys, unit


def _move_pair(pos: np.ndarray, i: int, j: int, target: np.ndarray, cell: np.ndarray, weight_i: float) -> None:
    """Set the distance |r_j - r_i| (minimum image) of every frame to ``target`` (per frame), in place.

    ``weight_i`` is the share of the change taken by atom i (0.5 = symmetric, 0 = only j moves).
    Works on unwrapped positions: only the displacement along the pair axis is changed.
    """
    d = _min_image(pos[:, j, :] - pos[:, i, :], cell)
    r = np.linalg.norm(d, axis=1)
    u = d / r[:, None]
    change = (target - r)[:, None] * u          # add to r_j - r_i
    pos[:, i, :] -= weight_i * change
    pos[:, j, :] += (1.0 - weight_i) * change


def _set_positions(ds: xr.Dataset, pos: np.ndarray) -> xr.Dataset:
    ds["positions"] = (ds["positions"].dims, pos, ds["positions"].attrs)
    return ds


# --------------------------------------------------------------------------- injections
def inject_contact(ds: xr.Dataset, t_inj: float, rng: np.random.Generator, *, kind: str | None = None,
                   fraction: float | None = None, ramp_ps: float | None = None):
    """Pull the closest anion-anion (``kind='anion'``) or mobile-anion (``kind='mobile'``) pair together."""
    out = _copy(ds)
    sp, mob = _species(out), _mobile(out)
    q = np.array([FORMAL_CHARGES.get(s, 0) for s in sp])
    anion = q < 0
    kind = kind or ("anion" if rng.random() < 0.5 else "mobile")
    fraction = float(fraction if fraction is not None else rng.uniform(0.55, 0.65))
    ramp_ps = float(ramp_ps if ramp_ps is not None else rng.uniform(0.1, 0.3))
    first = np.nonzero(anion)[0] if kind == "anion" else np.nonzero(mob)[0]
    second = np.nonzero(anion)[0]
    pos = np.asarray(out["positions"].values, dtype=np.float64).copy()
    cell = _cell(out)
    k0 = _frame_index(out, t_inj)
    d = np.linalg.norm(_min_image(pos[k0, second][None, :, :] - pos[k0, first][:, None, :], cell), axis=2)
    d[first[:, None] == second[None, :]] = np.inf
    a, b = np.unravel_index(np.argmin(d), d.shape)
    i, j = int(first[a]), int(second[b])
    # smallest distance of this species pair in the clean run (every 5th frame is plenty)
    same_i = np.nonzero(sp == sp[i])[0]
    same_j = np.nonzero(sp == sp[j])[0]
    dmin = np.inf
    for f in range(0, pos.shape[0], 5):
        dd = np.linalg.norm(_min_image(pos[f, same_j][None] - pos[f, same_i][:, None], cell), axis=2)
        dd[same_i[:, None] == same_j[None, :]] = np.inf
        dmin = min(dmin, float(dd.min()))
    target_d = fraction * dmin
    times = np.asarray(out["time"].values)
    after = times >= t_inj
    r_now = np.linalg.norm(_min_image(pos[after, j] - pos[after, i], cell), axis=1)
    w = _ramp(times[after], t_inj, ramp_ps)
    target = (1 - w) * r_now + w * target_d
    sub = pos[after]
    _move_pair(sub, i, j, target, cell, 0.5)
    pos[after] = sub
    out = _set_positions(out, pos)
    return out, {"pair": f"{sp[i]}-{sp[j]}", "atoms": [i, j], "start_distance_A": round(float(d[a, b]), 3),
                 "clean_min_A": round(dmin, 3), "target_A": round(target_d, 3), "fraction": round(fraction, 3),
                 "ramp_ps": round(ramp_ps, 3)}


def inject_tetrahedron(ds: xr.Dataset, t_inj: float, rng: np.random.Generator, *, factor: float | None = None,
                       ramp_ps: float | None = None):
    """Pull one ligand of a random framework polyhedron beyond the bond cutoff."""
    out = _copy(ds)
    sp = _species(out)
    k0 = _frame_index(out, t_inj)
    polys = [p for p in polyhedra_units(out, k0)[0] if len(p[1]) >= 3]
    if not polys:
        raise ValueError("no framework polyhedra in this run")
    c, ligs = polys[int(rng.integers(len(polys)))]
    lig = int(ligs[int(rng.integers(len(ligs)))])
    factor = float(factor if factor is not None else rng.uniform(1.15, 1.4))
    ramp_ps = float(ramp_ps if ramp_ps is not None else rng.uniform(0.1, 0.3))
    cut = bond_cutoff(sp[c], sp[lig])
    target_d = factor * cut
    pos = np.asarray(out["positions"].values, dtype=np.float64).copy()
    cell = _cell(out)
    times = np.asarray(out["time"].values)
    after = times >= t_inj
    r_now = np.linalg.norm(_min_image(pos[after, lig] - pos[after, c], cell), axis=1)
    w = _ramp(times[after], t_inj, ramp_ps)
    target = np.maximum(r_now, (1 - w) * r_now + w * target_d)
    sub = pos[after]
    _move_pair(sub, c, lig, target, cell, 0.0)
    pos[after] = sub
    out = _set_positions(out, pos)
    return out, {"polyhedron": f"{sp[c]}{sp[lig]}{len(ligs)}", "centre": int(c), "ligand": lig,
                 "bond_A": round(float(r_now[0]), 3), "cutoff_A": round(cut, 3), "target_A": round(target_d, 3),
                 "factor": round(factor, 3), "ramp_ps": round(ramp_ps, 3)}


def _random_walk(times_after: np.ndarray, t_inj: float, n_units: int, D: float, rng) -> np.ndarray:
    """Gaussian random-walk displacements (frames_after, n_units, 3), zero at t_inj, variance 2 D (t - t_inj) per axis."""
    dt = np.diff(np.concatenate([[t_inj], times_after]))
    steps = rng.standard_normal((len(times_after), n_units, 3)) * np.sqrt(2 * D * np.maximum(dt, 0))[:, None, None]
    return np.cumsum(steps, axis=0)


def inject_melt(ds: xr.Dataset, t_inj: float, rng: np.random.Generator, *, D: float = D_FRAMEWORK_A2_PS):
    """Every framework atom random-walks independently with diffusion coefficient D (Å²/ps) from t_inj."""
    out = _copy(ds)
    fw = ~_mobile(out)
    pos = np.asarray(out["positions"].values, dtype=np.float64).copy()
    times = np.asarray(out["time"].values)
    after = times >= t_inj
    walk = _random_walk(times[after], t_inj, int(fw.sum()), D, rng)
    sub = pos[after]
    sub[:, fw, :] += walk
    pos[after] = sub
    return _set_positions(out, pos), {"D_A2_ps": D, "D_cm2_s": D * 1e-4, "n_atoms": int(fw.sum())}


def inject_drift(ds: xr.Dataset, t_inj: float, rng: np.random.Generator, *, D: float = D_FRAMEWORK_A2_PS):
    """Every framework polyhedron (and free framework ion) random-walks as a rigid unit with D (Å²/ps)."""
    out = _copy(ds)
    _, unit = polyhedra_units(out, 0)
    fw = unit >= 0
    n_units = int(unit.max()) + 1
    pos = np.asarray(out["positions"].values, dtype=np.float64).copy()
    times = np.asarray(out["time"].values)
    after = times >= t_inj
    walk = _random_walk(times[after], t_inj, n_units, D, rng)
    sub = pos[after]
    sub[:, fw, :] += walk[:, unit[fw], :]
    pos[after] = sub
    return _set_positions(out, pos), {"D_A2_ps": D, "D_cm2_s": D * 1e-4, "n_units": n_units}


def inject_temperature(ds: xr.Dataset, t_inj: float, rng: np.random.Generator, *, rise: float | None = None,
                       ramp_ps: float | None = None):
    """Multiply the production-block thermo Temp by 1 + rise·ramp(t)."""
    if "thermo_Temp" not in ds:
        raise ValueError("the run has no thermo Temp column")
    out = _copy(ds)
    rise = float(rise if rise is not None else rng.uniform(0.30, 0.50))
    ramp_ps = float(ramp_ps if ramp_ps is not None else rng.uniform(0.1, 0.3))
    rows = production_rows(out)
    t = np.asarray(out["thermo_time"].values, dtype=np.float64)[rows]
    v = np.asarray(out["thermo_Temp"].values, dtype=np.float64).copy()
    v[rows] = v[rows] * (1.0 + rise * _ramp(t, t_inj, ramp_ps))
    out["thermo_Temp"] = (out["thermo_Temp"].dims, v, out["thermo_Temp"].attrs)
    return out, {"rise": round(rise, 3), "ramp_ps": round(ramp_ps, 3)}


def inject_energy(ds: xr.Dataset, t_inj: float, rng: np.random.Generator, *, rate_eV_ps: float | None = None):
    """Add a linear drift (eV/ps) to the production-block PotEng and TotEng from t_inj."""
    if "thermo_PotEng" not in ds:
        raise ValueError("the run has no thermo PotEng column")
    out = _copy(ds)
    n = int(out.sizes["atom"])
    rate = float(rate_eV_ps if rate_eV_ps is not None else ENERGY_RATE_EV_PS_PER_297 * n / 297.0)
    rows = production_rows(out)
    t = np.asarray(out["thermo_time"].values, dtype=np.float64)[rows]
    for col in ("thermo_PotEng", "thermo_TotEng"):
        if col in out:
            v = np.asarray(out[col].values, dtype=np.float64).copy()
            v[rows] += rate * np.maximum(t - t_inj, 0.0)
            out[col] = (out[col].dims, v, out[col].attrs)
    return out, {"rate_eV_ps": round(rate, 3), "rate_meV_atom_ps": round(rate / n * 1e3, 2)}


_FUNCS = {"contact": inject_contact, "temperature": inject_temperature, "tetrahedron": inject_tetrahedron,
          "melt": inject_melt, "drift": inject_drift, "energy": inject_energy}


def inject(ds: xr.Dataset, kind: str, t_inj: float, rng: np.random.Generator, **kw):
    """Dispatch to ``inject_<kind>``; returns (corrupted Dataset, info dict)."""
    if kind not in _FUNCS:
        raise ValueError(f"unknown failure type {kind!r}; valid: {FAILURE_TYPES}")
    return _FUNCS[kind](ds, t_inj, rng, **kw)
