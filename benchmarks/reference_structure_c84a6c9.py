"""Reference for bench_diagnose.py: uncertainty_gk/diagnostics/structure.py as of c84a6c9 (before issue 13).

A verbatim copy (relative imports made absolute), kept only so that the benchmark can time
the old per-frame neighbour search and RDF in the same process as the new code.  Not
imported by the package or the tests.
"""
# ruff: noqa
# (the original module docstring is omitted; see git show c84a6c9:uncertainty_gk/diagnostics/structure.py)

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from uncertainty_gk.units import BOLTZMANN_EV_PER_K
from uncertainty_gk.diagnostics.flags import Flag

__all__ = [
    "cell_heights", "is_orthogonal", "periodic_pairs", "covalent_cutoffs", "NeighbourScan",
    "scan_neighbours", "refine_scan", "check_nan_positions", "check_jumps", "check_framework",
    "check_min_distance", "contact_floors", "check_coordination", "check_rdf_drift", "rdf_window",
    "thermal_speed_A_per_ps", "pair_label",
]

#: Kinetic energy unit conversion: 1 amu Å^2/ps^2 in eV.
_AMU_A2_PS2_IN_EV = 1.66053906660e-27 * 1e-20 / 1e-24 / 1.602176634e-19


# --------------------------------------------------------------------------- geometry kernels
def cell_heights(cell: np.ndarray) -> np.ndarray:
    """Perpendicular widths (Å) of a cell with lattice vectors as rows: V / |b × c| etc."""
    cell = np.asarray(cell, dtype=np.float64)
    vol = abs(np.linalg.det(cell))
    areas = np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    return vol / areas


def is_orthogonal(cell: np.ndarray, *, tol: float = 1e-9) -> bool:
    """True when the lattice vectors lie along x, y and z (off-diagonals ≤ tol × largest)."""
    cell = np.asarray(cell, dtype=np.float64)
    off = cell - np.diag(np.diag(cell))
    return bool(np.all(np.abs(off) <= tol * np.max(np.abs(cell))) and np.all(np.diag(cell) > 0))


_SHIFTS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                    if (i, j, k) != (0, 0, 0)], dtype=np.float64)
# a shift is "positive" when its first non-zero component is > 0 (keeps one of n, -n)
_SHIFT_POSITIVE = np.array([next(c for c in s if c != 0) > 0 for s in _SHIFTS])


def periodic_pairs(positions: np.ndarray, cell: np.ndarray, r_max: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All atom pairs closer than ``r_max`` under periodic boundary conditions.

    Parameters
    ----------
    positions : (N, 3) array
        Cartesian positions in Å (wrapped or unwrapped).
    cell : (3, 3) array
        Lattice vectors as rows (Å); orthogonal or triclinic.
    r_max : float
        Search radius (Å); must not exceed the smallest perpendicular cell width.

    Returns
    -------
    i, j, d : arrays
        Atom indices (``i < j``, or ``i == j`` for an atom near its own image) and distances.
        Each periodic image pair closer than ``r_max`` appears once.

    Orthogonal cells use a periodic :class:`scipy.spatial.cKDTree` (``boxsize``), which
    returns the minimum image only; triclinic cells add ghost images of the atoms within
    ``r_max`` of a face and keep each physical pair once.  Cost O(N log N), not O(N²).
    """
    pos = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    h = cell_heights(cell)
    if r_max > h.min() + 1e-12:
        raise ValueError(f"search radius {r_max:.3g} Å exceeds the smallest cell width {h.min():.3g} Å; "
                         "use a smaller radius or a supercell")
    n = len(pos)
    if is_orthogonal(cell):
        box = np.diag(cell).copy()
        wrapped = np.mod(pos, box)
        wrapped[wrapped >= box] = 0.0
        tree = cKDTree(wrapped, boxsize=box)
        pairs = tree.query_pairs(r_max, output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
        diff = wrapped[i] - wrapped[j]
        diff -= box * np.round(diff / box)
        return i, j, np.sqrt(np.einsum("ij,ij->i", diff, diff))
    inv = np.linalg.inv(cell)
    frac = pos @ inv
    frac -= np.floor(frac)
    margin = r_max / h
    shifted = frac[None, :, :] + _SHIFTS[:, None, :]
    inside = np.all((shifted > -margin) & (shifted < 1.0 + margin), axis=2)  # (26, N)
    s_idx, owner = np.nonzero(inside)
    ghosts = shifted[s_idx, owner] @ cell
    pts = np.concatenate([frac @ cell, ghosts])
    tree = cKDTree(pts)
    pairs = tree.query_pairs(r_max, output_type="ndarray")
    pairs.sort(axis=1)
    pairs = pairs[pairs[:, 0] < n]  # drop ghost-ghost pairs
    a, b = pairs[:, 0], pairs[:, 1]
    d = np.linalg.norm(pts[a] - pts[b], axis=1)
    ghost = b >= n
    g = b[ghost] - n
    own = owner[g]
    keep_ghost = (a[ghost] < own) | ((a[ghost] == own) & _SHIFT_POSITIVE[s_idx[g]])
    keep = ~ghost
    keep[np.nonzero(ghost)[0][keep_ghost]] = True
    j = b.copy()
    j[ghost] = own
    return a[keep], j[keep], d[keep]


def covalent_cutoffs(species: list[str], factor: float) -> np.ndarray:
    """(S, S) matrix ``factor × (r_cov,A + r_cov,B)`` from ASE's covalent radii (Å)."""
    from ase.data import atomic_numbers, covalent_radii

    r = np.array([covalent_radii[atomic_numbers[s]] for s in species])
    return factor * (r[:, None] + r[None, :])


def pair_label(species: list[str], a: int, b: int) -> str:
    a, b = sorted((a, b))
    return f"{species[a]}-{species[b]}"


def thermal_speed_A_per_ps(mass_amu: np.ndarray, temperature_K: float) -> np.ndarray:
    """One-component thermal speed sqrt(k_B T / m) in Å/ps."""
    return np.sqrt(BOLTZMANN_EV_PER_K * temperature_K / (np.asarray(mass_amu) * _AMU_A2_PS2_IN_EV))


# --------------------------------------------------------------------------- dataset helpers
def _cell_at(ds: xr.Dataset):
    cell = ds["cell"]
    if "time" in cell.dims:
        values = cell.values
        return lambda f: values[f]
    fixed = np.asarray(cell.values, dtype=np.float64)
    return lambda f: fixed


def _min_height(ds: xr.Dataset) -> float:
    cell = np.asarray(ds["cell"].values, dtype=np.float64)
    if cell.ndim == 2:
        return float(cell_heights(cell).min())
    return float(min(cell_heights(c).min() for c in cell[:: max(1, len(cell) // 50)]))


def _chunks(n_frames: int, chunk: int):
    for a in range(0, n_frames, chunk):
        yield a, min(n_frames, a + chunk)


def _positions(ds: xr.Dataset, frames) -> np.ndarray:
    """Positions of the given frames (a slice or sorted index array) as float64."""
    return np.asarray(ds["positions"].isel(time=frames).values, dtype=np.float64)


def _frame_bytes(ds: xr.Dataset) -> int:
    return int(ds.sizes["atom"]) * 3 * 8


def _chunk_frames(ds: xr.Dataset, target_bytes: int = 1 << 26) -> int:
    return max(1, target_bytes // _frame_bytes(ds))


def species_codes(ds: xr.Dataset) -> tuple[list[str], np.ndarray]:
    """Sorted species list and each atom's index in it."""
    sp = np.asarray(ds["species"].values).astype(str)
    names, codes = np.unique(sp, return_inverse=True)
    return [str(s) for s in names], codes.astype(np.int64)


def reference_frames(times: np.ndarray, reference_ps: float, *, min_frames: int = 3) -> int:
    """Number of frames in the reference window [t0, t0 + reference_ps] (at least min_frames)."""
    n = int(np.searchsorted(times, times[0] + reference_ps, side="right"))
    return int(min(len(times), max(n, min_frames)))


# --------------------------------------------------------------------------- per-frame scan
@dataclass
class NeighbourScan:
    """Per-frame neighbour statistics of examined frames.

    Attributes
    ----------
    frames : (F,) int
        Indices of the examined frames.
    min_distance : (F, S, S) float
        Minimum periodic distance per species pair (symmetric; ``inf`` when no pair is
        closer than the search radius).
    counts : (F, N, S) int16
        Number of neighbours of each species within the bond cutoff of the pair.
    """

    species: list[str]
    codes: np.ndarray
    r_search: float
    cutoffs: np.ndarray
    bond_factor: float
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    min_distance: np.ndarray | None = None
    counts: np.ndarray | None = None

    def extend(self, other: NeighbourScan) -> NeighbourScan:
        """Merge another scan (same settings) in, keeping frames sorted and unique."""
        frames = np.concatenate([self.frames, other.frames])
        md = np.concatenate([self.min_distance, other.min_distance])
        cn = np.concatenate([self.counts, other.counts])
        frames, idx = np.unique(frames, return_index=True)
        return NeighbourScan(self.species, self.codes, self.r_search, self.cutoffs, self.bond_factor, frames,
                             md[idx], cn[idx])


def _frame_neighbours(pos, cell, codes, n_species, r_search, cutoffs):
    i, j, d = periodic_pairs(pos, cell, r_search)
    ci, cj = codes[i], codes[j]
    key = np.minimum(ci, cj) * n_species + np.maximum(ci, cj)
    md = np.full(n_species * n_species, np.inf)
    if len(d):
        order = np.argsort(d, kind="stable")
        uk, first = np.unique(key[order], return_index=True)
        md[uk] = d[order][first]
    md = md.reshape(n_species, n_species)
    md = np.minimum(md, md.T)
    bonded = d < cutoffs[ci, cj]
    n = len(codes)
    cnt = np.bincount(i[bonded] * n_species + cj[bonded], minlength=n * n_species)
    cnt += np.bincount(j[bonded] * n_species + ci[bonded], minlength=n * n_species)
    return md, cnt.reshape(n, n_species)


def scan_neighbours(ds: xr.Dataset, frames: np.ndarray, *, r_search: float, bond_factor: float,
                    chunk_frames: int | None = None) -> NeighbourScan:
    """Minimum distance per species pair and bond counts for the given frames."""
    species, codes = species_codes(ds)
    s = len(species)
    cutoffs = covalent_cutoffs(species, bond_factor)
    r_search = float(min(r_search, _min_height(ds)))
    frames = np.asarray(frames, dtype=np.int64)
    n_atoms = len(codes)
    md = np.empty((len(frames), s, s))
    cn = np.empty((len(frames), n_atoms, s), dtype=np.int16)
    cell_at = _cell_at(ds)
    chunk = chunk_frames or _chunk_frames(ds)
    for a, b in _chunks(len(frames), chunk):
        pos = _positions(ds, frames[a:b])
        for k in range(b - a):
            f = int(frames[a + k])
            if not np.all(np.isfinite(pos[k])):
                md[a + k] = np.nan
                cn[a + k] = -1
                continue
            md[a + k], cn[a + k] = _frame_neighbours(pos[k], cell_at(f), codes, s, r_search, cutoffs)
    return NeighbourScan(species, codes, r_search, cutoffs, bond_factor, frames, md, cn)


# --------------------------------------------------------------------------- flag helper
def first_exceedance(check: str, times: np.ndarray, values: np.ndarray, bad: np.ndarray,
                     threshold: float, message, *, severity: str = "failed", subject: str = "",
                     count: int | None = None) -> list[Flag]:
    """One :class:`Flag` for the first ``bad`` frame (count = number of bad frames)."""
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return []
    idx = np.nonzero(bad)[0]
    k = int(idx[0])
    v = float(values[k])
    t = float(times[k])
    return [Flag(check=check, time_ps=t, value=v, threshold=float(threshold),
                 message=message(t, v) if callable(message) else str(message), severity=severity,
                 subject=subject, count=int(count if count is not None else len(idx)),
                 last_time_ps=float(times[idx[-1]]))]


# --------------------------------------------------------------------------- checks
def check_nan_positions(ds: xr.Dataset, *, chunk_frames: int | None = None) -> list[Flag]:
    """Frames with a NaN or infinite coordinate (failed)."""
    times = np.asarray(ds["time"].values, dtype=np.float64)
    bad = np.zeros(len(times), dtype=bool)
    n_bad_atoms = np.zeros(len(times))
    for a, b in _chunks(len(times), chunk_frames or _chunk_frames(ds)):
        nonfinite = ~np.isfinite(_positions(ds, slice(a, b))).all(axis=2)
        n_bad_atoms[a:b] = nonfinite.sum(axis=1)
        bad[a:b] = n_bad_atoms[a:b] > 0
    return first_exceedance(
        "nan_positions", times, n_bad_atoms, bad, 0.0,
        lambda t, v: f"frame at t = {t:.4g} ps has non-finite positions for {int(v)} atom(s) "
                     "(the integration blew up); later frames are meaningless",
        subject="positions")


def check_jumps(ds: xr.Dataset, *, temperature_K: float | None, jump_factor: float,
                chunk_frames: int | None = None, stats: dict | None = None) -> list[Flag]:
    """Displacements between consecutive frames beyond thermal motion (failed)."""
    times = np.asarray(ds["time"].values, dtype=np.float64)
    n = len(times)
    if n < 2:
        return []
    mass = np.asarray(ds["mass"].values, dtype=np.float64)
    cap = 0.5 * _min_height(ds)
    dt = np.diff(times)
    if temperature_K is not None and np.isfinite(temperature_K) and temperature_K > 0:
        v_th = thermal_speed_A_per_ps(mass, temperature_K)
    else:
        v_th = None
    ratio = np.zeros(n)  # displacement / threshold of the worst atom, per arrival frame
    worst = np.zeros(n)
    thr_worst = np.full(n, cap)
    chunk = chunk_frames or _chunk_frames(ds)
    prev = None
    for a, b in _chunks(n, chunk):
        pos = _positions(ds, slice(a, b))
        block = pos if prev is None else np.concatenate([prev[None], pos])
        start = a if prev is None else a - 1
        prev = pos[-1]
        if len(block) < 2:
            continue
        step = np.linalg.norm(np.diff(block, axis=0), axis=2)  # (k, N)
        step = np.where(np.isfinite(step), step, 0.0)
        dts = dt[start:start + len(step)]
        if v_th is not None:
            thr = np.minimum(jump_factor * v_th[None, :] * dts[:, None], cap)
        else:
            thr = np.full_like(step, cap)
        r = step / thr
        w = np.argmax(r, axis=1)
        rows = np.arange(len(step))
        ratio[start + 1:start + 1 + len(step)] = r[rows, w]
        worst[start + 1:start + 1 + len(step)] = step[rows, w]
        thr_worst[start + 1:start + 1 + len(step)] = thr[rows, w]
    bad = ratio > 1.0
    if stats is not None:
        stats["jump_max_ratio"] = float(ratio.max())
    if not bad.any():
        return []
    k = int(np.nonzero(bad)[0][0])
    basis = (f"{jump_factor:g} × sqrt(k_B T/m) × Δt at T = {temperature_K:.0f} K, capped at half the cell width"
             if v_th is not None else "half the smallest cell width (temperature unknown)")
    return [Flag(check="jump", time_ps=float(times[k]), value=float(worst[k]), threshold=float(thr_worst[k]),
                 message=f"an atom moved {worst[k]:.3g} Å between the frames at {times[k - 1]:.4g} and "
                         f"{times[k]:.4g} ps, more than {thr_worst[k]:.3g} Å ({basis})",
                 severity="failed", subject="positions", count=int(bad.sum()),
                 last_time_ps=float(times[np.nonzero(bad)[0][-1]]))]


def check_framework(ds: xr.Dataset, *, displacement_A: float, msd_A2: float, growth_A2: float | None = None,
                    reference_frames: int | None = None, chunk_frames: int | None = None,
                    stats: dict | None = None) -> list[Flag]:
    """Framework atoms leaving their sites (max displacement) and framework MSD: absolute and growth.

    Displacements are measured after removing the motion of the framework centroid, so a
    uniform drift of the cell contents is not counted.

    * ``framework_displacement`` / ``framework_msd`` (subject ``framework``): from the
      **first-frame** sites, against absolute limits.  A reference-window mean would
      absorb the damage of a run that breaks in its first picoseconds.
    * ``framework_msd`` (subject ``growth``): from the **reference-window mean** sites
      (the first ``reference_frames`` frames), whose MSD is the vibrational plateau
      <u²> of the framework; flagged when the MSD exceeds that plateau (its mean over the
      reference window) by more than ``growth_A2``.  This separates systems with
      different vibrational baselines and catches a framework that starts to diffuse or
      melt mid-run within a fraction of a picosecond.
    """
    times = np.asarray(ds["time"].values, dtype=np.float64)
    fw = ~np.asarray(ds["mobile"].values, dtype=bool)
    if not fw.any() or len(times) < 2:
        return []
    sp = np.asarray(ds["species"].values).astype(str)[fw]
    n = len(times)
    first = _positions(ds, slice(0, 1))[0, fw, :]
    site = first - first.mean(axis=0, keepdims=True)  # starting sites, relative to the framework centroid
    n_ref = int(min(max(reference_frames or 0, 0), n))
    use_growth = growth_A2 is not None and n_ref >= 3 and n > n_ref
    if use_growth:
        ref = _positions(ds, slice(0, n_ref))[:, fw, :]
        ref = ref - ref.mean(axis=1, keepdims=True)
        site_ref = ref.mean(axis=0)
    dmax = np.zeros(n)
    who = np.zeros(n, dtype=np.int64)
    msd = np.zeros(n)
    msd_ref = np.zeros(n)
    for a, b in _chunks(n, chunk_frames or _chunk_frames(ds)):
        pos = _positions(ds, slice(a, b))[:, fw, :]
        pos = pos - pos.mean(axis=1, keepdims=True)
        d2 = np.sum((pos - site[None]) ** 2, axis=2)
        who[a:b] = np.argmax(np.where(np.isfinite(d2), d2, -1.0), axis=1)
        dmax[a:b] = np.sqrt(d2[np.arange(b - a), who[a:b]])
        msd[a:b] = np.nanmean(d2, axis=1)
        if use_growth:
            msd_ref[a:b] = np.nanmean(np.sum((pos - site_ref[None]) ** 2, axis=2), axis=1)
    if stats is not None:
        stats["framework_max_displacement_A"] = float(np.nanmax(dmax))
        stats["framework_max_msd_A2"] = float(np.nanmax(msd))
    flags = first_exceedance(
        "framework_displacement", times, dmax, dmax > displacement_A, displacement_A,
        lambda t, v: f"a framework atom ({sp[who[np.searchsorted(times, t)]]}) is {v:.3g} Å from its "
                     f"starting site at t = {t:.4g} ps (limit {displacement_A:g} Å): the framework "
                     "is melting or diffusing", subject="framework")
    flags += first_exceedance(
        "framework_msd", times, msd, msd > msd_A2, msd_A2,
        lambda t, v: f"framework mean squared displacement from the starting sites is {v:.3g} Å² "
                     f"at t = {t:.4g} ps (limit {msd_A2:g} Å²): the framework is not rigid",
        subject="framework")
    if use_growth:
        plateau = float(np.nanmean(msd_ref[:n_ref]))
        growth = msd_ref - plateau
        after = np.arange(n) >= n_ref
        if stats is not None:
            stats["framework_msd_plateau_A2"] = plateau
            stats["framework_max_msd_growth_A2"] = float(np.nanmax(growth[after]))
        flags += first_exceedance(
            "framework_msd", times, msd_ref, after & (growth > growth_A2), plateau + growth_A2,
            lambda t, v: f"framework MSD from the reference-window sites is {v:.3g} Å² at t = {t:.4g} ps, "
                         f"{v - plateau:.3g} Å² above its vibrational plateau {plateau:.3g} Å² (limit "
                         f"+{growth_A2:g} Å²): the framework has started to diffuse or melt",
            subject="growth")
    return flags


def refine_scan(ds, scan: NeighbourScan, first_sampled: int, *, r_search: float, bond_factor: float):
    """Examine the skipped frames before the first offending sampled frame."""
    pos = int(np.searchsorted(scan.frames, first_sampled))
    lo = int(scan.frames[pos - 1]) + 1 if pos > 0 else 0
    missing = np.arange(lo, first_sampled)
    if len(missing) == 0:
        return scan
    return scan.extend(scan_neighbours(ds, missing, r_search=r_search, bond_factor=bond_factor))


def contact_floors(species: list[str], mobile_species, *, floor_fraction: float,
                   like_floor_fraction: float) -> np.ndarray:
    """(S, S) absolute minimum-distance floors (Å).

    ``floor_fraction × (r_cov,A + r_cov,B)`` for every pair, raised to
    ``like_floor_fraction × (r_cov,A + r_cov,B)`` for pairs of like-charged ions that repel
    and are never bonded in an ionic solid: two anions (formal charge < 0, e.g. O-O, S-S,
    Cl-S) or two framework cations (non-mobile, charge > 0, e.g. P-P, P-Si).  Peroxide or
    polysulfide bonds (O-O 1.49 Å, S-S 2.05 Å) lie just above 1.1 × (r_cov,A + r_cov,B).
    """
    from uncertainty_gk.elements import FORMAL_CHARGES

    floor = covalent_cutoffs(species, floor_fraction)
    like = covalent_cutoffs(species, like_floor_fraction)
    q = np.array([FORMAL_CHARGES.get(s, 0) for s in species])
    fw = np.array([s not in set(mobile_species) for s in species])
    anion = q < 0
    fw_cation = (q > 0) & fw
    same = (anion[:, None] & anion[None, :]) | (fw_cation[:, None] & fw_cation[None, :])
    return np.where(same, np.maximum(floor, like), floor)


def min_distance_thresholds(scan: NeighbourScan, n_ref_frames: int, *, fraction: float,
                            floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair thresholds ``max(fraction × reference-window minimum, floor)`` and the reference minima."""
    ref = scan.min_distance[scan.frames < n_ref_frames]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref_min = np.nanmin(ref, axis=0) if len(ref) else np.full(scan.cutoffs.shape, np.inf)
    ref_min = np.where(np.isfinite(ref_min), ref_min, scan.r_search)  # censored at the search radius
    return np.maximum(fraction * ref_min, floor), ref_min


def check_min_distance(ds: xr.Dataset, scan: NeighbourScan, *, n_ref_frames: int, fraction: float,
                       floor_fraction: float, like_floor_fraction: float, refine=None,
                       stats: dict | None = None) -> tuple[list[Flag], NeighbourScan]:
    """Species-pair minimum distances below the per-pair threshold (failed)."""
    times = np.asarray(ds["time"].values, dtype=np.float64)
    sp = np.asarray(ds["species"].values).astype(str)
    mobile = set(sp[np.asarray(ds["mobile"].values, dtype=bool)].tolist())
    floor = contact_floors(scan.species, mobile, floor_fraction=floor_fraction,
                           like_floor_fraction=like_floor_fraction)
    thr, ref_min = min_distance_thresholds(scan, n_ref_frames, fraction=fraction, floor=floor)
    bad = scan.min_distance < thr[None]  # (F, S, S); NaN frames compare False
    if stats is not None:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ratio = np.nanmin(scan.min_distance, axis=0) / thr
        stats["min_distance_ratio"] = {pair_label(scan.species, a, b): round(float(ratio[a, b]), 4)
                                       for a in range(len(scan.species)) for b in range(a, len(scan.species))
                                       if np.isfinite(ratio[a, b])}
    if bad.any() and refine is not None:
        first = int(scan.frames[np.nonzero(bad.any(axis=(1, 2)))[0][0]])
        scan = refine(scan, first)
        bad = scan.min_distance < thr[None]
    flags = []
    s = len(scan.species)
    t = times[scan.frames]
    for a in range(s):
        for b in range(a, s):
            col = bad[:, a, b]
            if not col.any():
                continue
            label = pair_label(scan.species, a, b)
            basis = (f"absolute floor {floor[a, b]:.3g} Å" if floor[a, b] >= fraction * ref_min[a, b]
                     else f"{fraction:g} × reference-window minimum {ref_min[a, b]:.3g} Å")
            flags += first_exceedance(
                "min_distance", t, scan.min_distance[:, a, b], col, thr[a, b],
                lambda tt, v, label=label, basis=basis, th=thr[a, b]:
                    f"{label} distance {v:.3g} Å at t = {tt:.4g} ps is below {th:.3g} Å ({basis}): "
                    "close contact, the potential is extrapolating", subject=label)
    return flags, scan


def polyhedra(ds: xr.Dataset, species: list[str]) -> list[tuple[int, int]]:
    """(centre, ligand) species codes of framework polyhedra: non-mobile cation × anion."""
    from uncertainty_gk.elements import FORMAL_CHARGES

    mobile = set(np.asarray(ds["species"].values).astype(str)[np.asarray(ds["mobile"].values, bool)])
    out = []
    for a, sa in enumerate(species):
        if sa in mobile or FORMAL_CHARGES.get(sa, 0) <= 0:
            continue
        for b, sb in enumerate(species):
            if FORMAL_CHARGES.get(sb, 0) < 0:
                out.append((a, b))
    return out


def check_coordination(ds: xr.Dataset, scan: NeighbourScan, *, persist_frames: int,
                       refine=None) -> tuple[list[Flag], NeighbourScan]:
    """Framework polyhedra that gain or lose a ligand relative to the starting structure (failed)."""
    times = np.asarray(ds["time"].values, dtype=np.float64)
    pairs = polyhedra(ds, scan.species)
    if not pairs:
        return [], scan

    def changed(sc):
        # reference: the first examined frame, i.e. the starting structure (a run broken from
        # its first steps would otherwise carry its broken polyhedra into the reference)
        out = {}
        for a, b in pairs:
            centres = np.nonzero(sc.codes == a)[0]
            c = sc.counts[:, centres, b].astype(np.int64)  # (F, n_centres)
            mode = c[0]
            diff = (c != mode[None]) & (c >= 0)
            n_changed = diff.sum(axis=1)
            # persistence: the same centre changed in `persist_frames` consecutive examined frames
            run = diff.copy()
            for k in range(1, persist_frames):
                run[k:] &= diff[:-k]
                run[:k] = False
            out[(a, b)] = (n_changed, run.any(axis=1), mode, c)
        return out

    res = changed(scan)
    anybad = np.zeros(len(scan.frames), bool)
    for v in res.values():
        anybad |= v[1]
    if anybad.any() and refine is not None:
        first = int(scan.frames[np.nonzero(anybad)[0][0]])
        scan = refine(scan, first)
        res = changed(scan)
    flags = []
    t = times[scan.frames]
    for (a, b), (n_changed, bad, mode, c) in res.items():
        if not bad.any():
            continue
        label = f"{scan.species[a]}{scan.species[b]}"
        k = int(np.nonzero(bad)[0][0])
        # the change started persist_frames - 1 examined frames earlier
        k0 = max(0, k - (persist_frames - 1))
        centre_changed = np.nonzero(c[k] != mode)[0]
        detail = ", ".join(f"{mode[i]}→{c[k, i]}" for i in centre_changed[:3])
        flags += [Flag(
            check="coordination", time_ps=float(t[k0]), value=float(n_changed[k]), threshold=0.0,
            message=(f"{int(n_changed[k])} {label} polyhedra changed coordination ({detail}) at "
                     f"t = {t[k0]:.4g} ps, persisting over {persist_frames} examined frames "
                     f"(bond cutoff {scan.cutoffs[a, b]:.3g} Å): the framework is breaking"),
            severity="failed", subject=label, count=int(bad.sum()),
            last_time_ps=float(t[np.nonzero(bad)[0][-1]]))]
    return flags, scan


def rdf_window(ds: xr.Dataset, frames: np.ndarray, *, r_max: float, dr: float) -> np.ndarray:
    """Total g(r) over the given frames (all atom pairs), bins of width ``dr`` up to ``r_max``."""
    edges = np.arange(0.0, r_max + 0.5 * dr, dr)
    hist = np.zeros(len(edges) - 1)
    cell_at = _cell_at(ds)
    pos = _positions(ds, np.asarray(frames))
    n = pos.shape[1]
    vol = 0.0
    used = 0
    for k, f in enumerate(frames):
        if not np.all(np.isfinite(pos[k])):
            continue
        cell = cell_at(int(f))
        _, _, d = periodic_pairs(pos[k], cell, r_max)
        hist += np.histogram(d, bins=edges)[0]
        vol += abs(np.linalg.det(cell))
        used += 1
    if used == 0:
        return np.full(len(hist), np.nan)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    density = n / (vol / used)
    ideal = 0.5 * n * density * shell * used
    return hist / ideal


def check_rdf_drift(ds: xr.Dataset, *, reference_ps: float, window_ps: float, r_max: float, dr: float,
                    threshold: float, frames_per_window: int, max_windows: int) -> tuple[list[Flag], dict]:
    """Fu et al. (TMLR 2023) RDF drift: ∫|g - g_ref| dr per window above ``threshold`` (failed)."""
    times = np.asarray(ds["time"].values, dtype=np.float64)
    r_max = float(min(r_max, 0.5 * _min_height(ds)))
    info = {"rdf_r_max_A": r_max}
    n_ref = reference_frames(times, reference_ps)
    edges = np.arange(times[0], times[-1] + window_ps, window_ps)
    window_of = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, None)
    n_windows = int(window_of[-1]) + 1
    if n_windows < 2:
        return [], info

    def pick(idx):
        if len(idx) <= frames_per_window:
            return idx
        return idx[np.linspace(0, len(idx) - 1, frames_per_window).round().astype(int)]

    g_ref = rdf_window(ds, pick(np.arange(n_ref)), r_max=r_max, dr=dr)
    candidates = np.arange(n_windows)
    if n_windows > max_windows:
        candidates = np.unique(np.linspace(0, n_windows - 1, max_windows).round().astype(int))
        info["rdf_windows_examined"] = int(len(candidates))
    starts = np.searchsorted(window_of, candidates, side="left")
    ends = np.searchsorted(window_of, candidates, side="right")
    wt, wv = [], []
    for w, a, b in zip(candidates, starts, ends):
        if b <= a or b <= n_ref:
            continue
        g = rdf_window(ds, pick(np.arange(max(a, 0), b)), r_max=r_max, dr=dr)
        wt.append(times[a])
        wv.append(float(np.nansum(np.abs(g - g_ref)) * dr) if np.isfinite(g).any() else np.nan)
    wt, wv = np.asarray(wt), np.asarray(wv)
    info["rdf_drift_max"] = float(np.nanmax(wv)) if len(wv) and np.isfinite(wv).any() else None
    flags = first_exceedance(
        "rdf_drift", wt, wv, wv > threshold, threshold,
        lambda t, v: f"∫|g(r) - g_ref(r)| dr over 0-{r_max:.3g} Å is {v:.3g} for the {window_ps:g} ps window "
                     f"starting at {t:.4g} ps (limit {threshold:g}; Fu et al. 2023): the structure drifted",
        subject="rdf")
    return flags, info
