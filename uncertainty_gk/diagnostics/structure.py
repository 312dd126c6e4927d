r"""Failure checks from the trajectory alone (no log needed).

Every check reads the positions in frame chunks (``ds.positions.isel(time=slice(a, b))``),
so a lazily opened netCDF archive is never loaded whole.  Each returns a list of
:class:`~uncertainty_gk.diagnostics.flags.Flag` (one per check and subject: the first
offending frame, with the number of offending frames in ``count``).

Checks
------
``nan_positions``
    A frame with a non-finite coordinate (the integrator blew up).
``jump``
    An atom moved further between consecutive frames than thermal motion allows:
    :math:`|r_i(t+\delta t) - r_i(t)| > k\,\sqrt{k_B T / m_i}\;\delta t` (``jump_factor`` = k;
    a speed of k times the one-component thermal speed is essentially never reached in
    equilibrium, :math:`P \sim e^{-k^2/2}`), capped at half the smallest cell height,
    beyond which unwrapping itself becomes ambiguous.
``framework_displacement`` / ``framework_msd``
    Non-mobile atoms leaving their sites: the largest displacement of a framework atom
    from its starting position, after removing the motion of the framework centroid (He et al., npj Comput. Mater. 4, 18 (2018) warn beyond 5 Å), and
    the framework mean squared displacement from those sites.
``min_distance``
    The minimum periodic distance of each species pair, below a fraction of the
    reference-window minimum of that pair (``min_distance_fraction``) or below an
    absolute floor ``contact_floor_fraction × (r_cov,A + r_cov,B)`` (ASE covalent radii).
``coordination``
    Framework polyhedra (a non-mobile cation with anion neighbours, e.g. PO\ :sub:`4`,
    SiO\ :sub:`4`, PS\ :sub:`4`): the number of ligands within
    ``bond_factor × (r_cov,A + r_cov,B)`` differs from the centre's value in the starting
    structure (first frame) for ``coordination_frames`` consecutive examined frames.
``rdf_drift``
    Fu et al., "Forces are not enough", TMLR 2023: the total radial distribution function
    of a window of ``rdf_window_ps`` compared with the reference window,
    :math:`\int_0^{r_{max}} |g(r) - g_{ref}(r)|\,dr` with :math:`r_{max}` = 6 Å; more than
    1.0 is flagged.

Neighbour-based checks (min distance, coordination, training-domain distances) examine
every ``stride``-th frame; around the first offending frame the skipped frames are
examined too, so the first flagged time is exact.  Pairs, for these checks and for the
RDF windows, come from :mod:`.neighbours`: exact periodic neighbour lists built with
:class:`scipy.spatial.cKDTree` once per block of frames (a Verlet list with an exact
skin), never with an O(N²) distance matrix.  Every subsampling is stated in
``thresholds["subsample"]`` of the diagnosis.

.. warning::
   All reference values come from the *start* of the run (the first frame, or the
   reference window for the extreme-value statistics of minimum distances and the RDF).
   A run that is broken from its first steps has a broken reference; the absolute floors, the
   training-set domain (:mod:`.domain`) and the log checks (:mod:`.thermo`) cover that case.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..units import AMU_A2_PER_PS2_IN_EV, BOLTZMANN_EV_PER_K
from .flags import Flag
from .neighbours import DistanceBins, cell_heights, is_orthogonal, iter_block_pairs, periodic_pairs

__all__ = [
    "cell_heights", "is_orthogonal", "periodic_pairs", "covalent_cutoffs", "NeighbourScan",
    "scan_neighbours", "refine_scan", "check_nan_positions", "check_jumps", "check_framework",
    "check_min_distance", "contact_floors", "check_coordination", "check_rdf_drift", "rdf_window",
    "thermal_speed_A_per_ps", "pair_label",
]

#: Kinetic energy unit conversion: 1 amu Å^2/ps^2 in eV.


# --------------------------------------------------------------------------- geometry kernels
# cell_heights, is_orthogonal and periodic_pairs live in .neighbours (re-exported here)


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
    return np.sqrt(BOLTZMANN_EV_PER_K * temperature_K / (np.asarray(mass_amu) * AMU_A2_PER_PS2_IN_EV))


# --------------------------------------------------------------------------- dataset helpers
def _cells(ds: xr.Dataset, frames) -> np.ndarray:
    """(F, 3, 3) cells of the given frames (a fixed cell is broadcast)."""
    cell = ds["cell"]
    frames = np.asarray(frames)
    if "time" in cell.dims:
        return np.asarray(cell.isel(time=frames).values, dtype=np.float64)
    fixed = np.asarray(cell.values, dtype=np.float64)
    return np.broadcast_to(fixed, (len(frames), 3, 3))


def _min_height(ds: xr.Dataset) -> float:
    """Smallest perpendicular cell width over every frame (Å)."""
    return float(cell_heights(np.asarray(ds["cell"].values, dtype=np.float64)).min())


def _same_cell_runs(cells: np.ndarray, rows: np.ndarray):
    """Split ``rows`` (indices into ``cells``) into consecutive runs that share one cell."""
    if len(rows) == 0:
        return
    c = cells[rows].reshape(len(rows), 9)
    breaks = np.nonzero(np.any(c[1:] != c[:-1], axis=1))[0] + 1
    for part in np.split(rows, breaks):
        yield part, cells[part[0]]


def frame_blocks(n_frames: int, chunk: int):
    for a in range(0, n_frames, chunk):
        yield a, min(n_frames, a + chunk)


def _positions(ds: xr.Dataset, frames) -> np.ndarray:
    """Positions of the given frames (a slice or sorted index array) as float64."""
    return np.asarray(ds["positions"].isel(time=frames).values, dtype=np.float64)


def _frame_bytes(ds: xr.Dataset) -> int:
    return int(ds.sizes["atom"]) * 3 * 8


def frames_per_chunk(ds: xr.Dataset, target_bytes: int = 1 << 26) -> int:
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


def _block_neighbours(block, codes, n_species, r_search, cutoffs):
    """Per-frame species-pair minimum distances and bond counts of one block of frames.

    Exact, with per-frame distances evaluated only where the block's distance bounds
    (:class:`.neighbours.BlockPairs`) leave the answer open: pairs that may be the closest
    of their species pair in some frame, and pairs that may cross their bond cutoff.
    """
    n_frames, n_atoms = len(block.frames), len(codes)
    size = n_atoms * n_species
    ci, cj = codes[block.i], codes[block.j]
    key = np.minimum(ci, cj) * n_species + np.maximum(ci, cj)
    lower = block.centre_distance - block.slack
    upper = block.centre_distance + block.slack
    # bonded: d < cutoff and d <= r_search, i.e. d < min(cutoff, next float above r_search)
    bond = np.minimum(cutoffs, np.nextafter(r_search, np.inf))[ci, cj]
    always = upper < bond
    maybe = ~always & (lower < bond)
    # a pair can be the closest of its species pair only if its lower bound is below every
    # other pair's upper bound of that species pair
    best_upper = np.full(n_species * n_species, np.inf)
    np.minimum.at(best_upper, key, upper)
    closest = lower <= best_upper[key]
    sel = np.nonzero(closest | maybe)[0]
    d = block.distances(sel)  # (len(sel), F)
    md = np.full((n_species * n_species, n_frames), np.inf)
    if len(sel):
        order = np.argsort(key[sel], kind="stable")
        sorted_key = key[sel][order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        # the minimum over the candidates is the minimum within r_search whenever it is <= r_search
        md[sorted_key[starts]] = np.minimum.reduceat(d[order], starts, axis=0)
        md[md > r_search] = np.inf
    md = md.T.reshape(n_frames, n_species, n_species)
    md = np.minimum(md, md.transpose(0, 2, 1))
    fixed = np.bincount(block.i[always] * n_species + cj[always], minlength=size)
    fixed += np.bincount(block.j[always] * n_species + ci[always], minlength=size)
    row = np.nonzero(maybe[sel])[0]
    q, f = np.nonzero(d[row] < bond[sel[row]][:, None])
    p = sel[row[q]]
    cnt = np.bincount((f * n_atoms + block.i[p]) * n_species + cj[p], minlength=n_frames * size)
    cnt += np.bincount((f * n_atoms + block.j[p]) * n_species + ci[p], minlength=n_frames * size)
    return md, cnt.reshape(n_frames, n_atoms, n_species) + fixed.reshape(1, n_atoms, n_species)


def scan_neighbours(ds: xr.Dataset, frames: np.ndarray, *, r_search: float, bond_factor: float,
                    chunk_frames: int | None = None) -> NeighbourScan:
    """Minimum distance per species pair and bond counts for the given frames.

    Every given frame is examined exactly (:func:`.neighbours.iter_block_pairs`: one
    candidate list per block of frames, exact distances in every frame).  Frames with a
    non-finite coordinate get ``NaN`` minimum distances and counts of -1.
    """
    species, codes = species_codes(ds)
    s = len(species)
    cutoffs = covalent_cutoffs(species, bond_factor)
    r_search = float(min(r_search, _min_height(ds)))
    frames = np.asarray(frames, dtype=np.int64)
    n_atoms = len(codes)
    md = np.empty((len(frames), s, s))
    cn = np.empty((len(frames), n_atoms, s), dtype=np.int16)
    chunk = chunk_frames or frames_per_chunk(ds)
    for a, b in frame_blocks(len(frames), chunk):
        pos = _positions(ds, frames[a:b])
        cells = _cells(ds, frames[a:b])
        finite = np.isfinite(pos).all(axis=(1, 2))
        md[a:b][~finite] = np.nan
        cn[a:b][~finite] = -1
        for rows, cell in _same_cell_runs(cells, np.nonzero(finite)[0]):
            for block in iter_block_pairs(pos[rows], cell, r_search):
                out = a + rows[block.frames]
                md[out], cn[out] = _block_neighbours(block, codes, s, r_search, cutoffs)
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
    for a, b in frame_blocks(len(times), chunk_frames or frames_per_chunk(ds)):
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
    chunk = chunk_frames or frames_per_chunk(ds)
    prev = None
    for a, b in frame_blocks(n, chunk):
        pos = _positions(ds, slice(a, b))
        block = pos if prev is None else np.concatenate([prev[None], pos])
        start = a if prev is None else a - 1
        prev = pos[-1]
        if len(block) < 2:
            continue
        diff = np.diff(block, axis=0)
        step = np.sqrt(np.einsum("fnk,fnk->fn", diff, diff))  # (k, N)
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
    for a, b in frame_blocks(n, chunk_frames or frames_per_chunk(ds)):
        pos = _positions(ds, slice(a, b))[:, fw, :]
        pos = pos - pos.mean(axis=1, keepdims=True)
        dev = pos - site[None]
        d2 = np.einsum("fnk,fnk->fn", dev, dev)
        who[a:b] = np.argmax(np.where(np.isfinite(d2), d2, -1.0), axis=1)
        dmax[a:b] = np.sqrt(d2[np.arange(b - a), who[a:b]])
        msd[a:b] = np.nanmean(d2, axis=1)
        if use_growth:
            dev = pos - site_ref[None]
            msd_ref[a:b] = np.nanmean(np.einsum("fnk,fnk->fn", dev, dev), axis=1)
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
    from ..elements import FORMAL_CHARGES

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
    from ..elements import FORMAL_CHARGES

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


#: Frames per neighbour-list block of the RDF (the frames of RDF windows are spread out, so
#: larger blocks than the neighbour scan's pay off; only the speed depends on it).
RDF_BLOCK_FRAMES = 96


def rdf_histograms(ds: xr.Dataset, frames: np.ndarray, *, r_max: float, dr: float,
                   chunk_frames: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair-distance histograms of each given frame, from the shared neighbour lists.

    One candidate list per block of frames (:func:`.neighbours.iter_block_pairs`), whose
    distances are binned frame by frame in one vectorised pass per few thousand pairs
    (:meth:`.neighbours.BlockPairs.histogram`); the counts are those of ``np.histogram``
    of every periodic pair distance of each frame.

    Returns ``(edges, counts, volume)``: bin edges ``0, dr, ..., r_max`` (Å), ``(F, B)``
    pair counts per frame (each periodic pair once) and ``(F,)`` cell volumes (Å³), NaN for
    a frame with a non-finite coordinate (its counts are zero).
    """
    edges = np.arange(0.0, r_max + 0.5 * dr, dr)
    n_bins = len(edges) - 1
    bins = DistanceBins(edges, r_max)
    frames = np.asarray(frames, dtype=np.int64)
    counts = np.zeros((len(frames), n_bins), dtype=np.int64)
    volume = np.full(len(frames), np.nan)
    for a, b in frame_blocks(len(frames), chunk_frames or frames_per_chunk(ds)):
        pos = _positions(ds, frames[a:b])
        cells = _cells(ds, frames[a:b])
        finite = np.nonzero(np.isfinite(pos).all(axis=(1, 2)))[0]
        volume[a + finite] = np.abs(np.linalg.det(cells[finite]))
        for rows, cell in _same_cell_runs(cells, finite):
            for block in iter_block_pairs(pos[rows], cell, r_max, block_frames=RDF_BLOCK_FRAMES):
                counts[a + rows[block.frames]] += block.histogram(bins)[:, :n_bins]
    return edges, counts, volume


def _rdf(edges: np.ndarray, counts: np.ndarray, volume: np.ndarray, n_atoms: int) -> np.ndarray:
    """Total g(r) of a set of frames from their pair counts and volumes (NaN-volume frames left out)."""
    used = np.isfinite(volume)
    if not used.any():
        return np.full(len(edges) - 1, np.nan)
    hist = counts[used].sum(axis=0).astype(np.float64)
    density = n_atoms / (volume[used].sum() / used.sum())
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    return hist / (0.5 * n_atoms * density * shell * used.sum())


def rdf_window(ds: xr.Dataset, frames: np.ndarray, *, r_max: float, dr: float) -> np.ndarray:
    """Total g(r) over the given frames (all atom pairs), bins of width ``dr`` up to ``r_max``.

    Pairs come from the same neighbour lists as the neighbour scan
    (:func:`.neighbours.iter_block_pairs`); frames with a non-finite coordinate are left out.
    """
    edges, counts, volume = rdf_histograms(ds, frames, r_max=r_max, dr=dr)
    return _rdf(edges, counts, volume, int(ds.sizes["atom"]))


def check_rdf_drift(ds: xr.Dataset, *, reference_ps: float, window_ps: float, r_max: float, dr: float,
                    threshold: float, frames_per_window: int, max_windows: int) -> tuple[list[Flag], dict]:
    """Fu et al. (TMLR 2023) RDF drift: ∫|g - g_ref| dr per window above ``threshold`` (failed).

    Subsampling, stated in the returned info: ``frames_per_window`` evenly spaced frames of
    each window (and of the reference window), and at most ``max_windows`` evenly spaced
    windows.  All examined frames go through the neighbour lists in one pass.
    """
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

    candidates = np.arange(n_windows)
    if n_windows > max_windows:
        candidates = np.unique(np.linspace(0, n_windows - 1, max_windows).round().astype(int))
    starts = np.searchsorted(window_of, candidates, side="left")
    ends = np.searchsorted(window_of, candidates, side="right")
    ref_frames = pick(np.arange(n_ref))
    windows = [(a, pick(np.arange(max(a, 0), b))) for a, b in zip(starts, ends) if not (b <= a or b <= n_ref)]
    examined = np.unique(np.concatenate([ref_frames] + [w for _, w in windows]))
    bins, counts, volume = rdf_histograms(ds, examined, r_max=r_max, dr=dr)
    n_atoms = int(ds.sizes["atom"])

    def g_of(frames):
        rows = np.searchsorted(examined, frames)
        return _rdf(bins, counts[rows], volume[rows], n_atoms)

    g_ref = g_of(ref_frames)
    wt, wv = [], []
    for a, frames in windows:
        g = g_of(frames)
        wt.append(times[a])
        wv.append(float(np.nansum(np.abs(g - g_ref)) * dr) if np.isfinite(g).any() else np.nan)
    wt, wv = np.asarray(wt), np.asarray(wv)
    info.update({"rdf_windows": n_windows, "rdf_windows_examined": int(len(candidates)),
                 "rdf_windows_compared": len(windows),
                 "rdf_frames_per_window": int(frames_per_window), "rdf_reference_frames": int(len(ref_frames)),
                 "rdf_frames_examined": int(len(examined))})
    info["rdf_drift_max"] = float(np.nanmax(wv)) if len(wv) and np.isfinite(wv).any() else None
    flags = first_exceedance(
        "rdf_drift", wt, wv, wv > threshold, threshold,
        lambda t, v: f"∫|g(r) - g_ref(r)| dr over 0-{r_max:.3g} Å is {v:.3g} for the {window_ps:g} ps window "
                     f"starting at {t:.4g} ps (limit {threshold:g}; Fu et al. 2023): the structure drifted",
        subject="rdf")
    return flags, info
