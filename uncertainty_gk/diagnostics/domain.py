r"""The training-set domain of an MLIP, and frames that leave it (extrapolation).

An MLIP is only trustworthy near the structures it was trained on.  A cheap, model-free
description of that domain (Stocker et al., MLST 3, 045010 (2022) discuss why low test
errors do not guarantee stable MD; extrapolation typically starts with a close contact
the training set never showed):

* the minimum distance of every species pair over all training structures,
  :math:`d^{train}_{AB}`;
* the range :math:`[n^{min}_{AB}, n^{max}_{AB}]` of the number of B neighbours of an A
  atom within the bond cutoff ``bond_factor × (r_cov,A + r_cov,B)``.

A frame is outside the domain (failed) when a pair comes closer than
``domain_distance_fraction`` × :math:`d^{train}_{AB}`, or when the coordination of a
framework polyhedron (non-mobile cation by anions), or of a pair the training set never
bonded (:math:`n^{max}_{AB} = 0`, e.g. O-O, P-P), leaves the training range by more than
``domain_coordination_margin`` neighbours.  The shells of mobile ions are not judged: their
counts fluctuate beyond the range of a finite training set in any long clean run.  Species absent from the training set
are a failure at the first frame.  The flags say how far outside (Å and neighbours).

Training structures are read with :func:`ase.io.read` (extended XYZ or any ASE format).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from .flags import Flag
from .structure import (NeighbourScan, cell_heights, covalent_cutoffs, first_exceedance, pair_label,
                        periodic_pairs, polyhedra)

__all__ = ["TrainingDomain", "load_training", "check_domain"]


def _pairs_any(positions, cell, pbc, r_search):
    if np.all(pbc):
        r = min(r_search, float(cell_heights(cell).min()))
        return periodic_pairs(positions, cell, r)
    tree = cKDTree(positions)
    pairs = tree.query_pairs(r_search, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    return i, j, np.linalg.norm(positions[i] - positions[j], axis=1)


@dataclass
class TrainingDomain:
    """Per-species-pair distance and coordination ranges of a training set.

    Attributes
    ----------
    species : list of str
        Sorted chemical symbols present in the training set.
    min_distance : (S, S) array
        Smallest distance of each species pair (Å); ``inf`` when never closer than ``r_search``.
    coordination_min, coordination_max : (S, S) int arrays
        Range of the number of neighbours of species ``[b]`` around an atom of species ``[a]``
        within ``bond_factor × (r_cov,a + r_cov,b)``; -1 when species ``a`` is absent.
    """

    species: list[str]
    min_distance: np.ndarray
    coordination_min: np.ndarray
    coordination_max: np.ndarray
    r_search: float
    bond_factor: float
    n_structures: int
    source: str = ""

    @classmethod
    def from_structures(cls, structures, *, r_search: float = 4.0, bond_factor: float = 1.2,
                        source: str = "") -> TrainingDomain:
        """Domain of a sequence of :class:`ase.Atoms`."""
        structures = list(structures)
        if not structures:
            raise ValueError(f"training set {source or '<structures>'} is empty")
        species = sorted({s for atoms in structures for s in atoms.get_chemical_symbols()})
        index = {s: k for k, s in enumerate(species)}
        n_sp = len(species)
        cutoffs = covalent_cutoffs(species, bond_factor)
        md = np.full((n_sp, n_sp), np.inf)
        cmin = np.full((n_sp, n_sp), np.iinfo(np.int64).max, dtype=np.int64)
        cmax = np.full((n_sp, n_sp), -1, dtype=np.int64)
        for atoms in structures:
            codes = np.array([index[s] for s in atoms.get_chemical_symbols()], dtype=np.int64)
            i, j, d = _pairs_any(atoms.get_positions(), np.asarray(atoms.get_cell()), atoms.get_pbc(), r_search)
            ci, cj = codes[i], codes[j]
            np.minimum.at(md, (ci, cj), d)
            np.minimum.at(md, (cj, ci), d)
            bonded = d < cutoffs[ci, cj]
            n = len(codes)
            cnt = (np.bincount(i[bonded] * n_sp + cj[bonded], minlength=n * n_sp)
                   + np.bincount(j[bonded] * n_sp + ci[bonded], minlength=n * n_sp)).reshape(n, n_sp)
            for a in np.unique(codes):
                rows = cnt[codes == a]
                cmin[a] = np.minimum(cmin[a], rows.min(axis=0))
                cmax[a] = np.maximum(cmax[a], rows.max(axis=0))
        cmin[cmax < 0] = -1
        return cls(species=species, min_distance=md, coordination_min=cmin, coordination_max=cmax,
                   r_search=float(r_search), bond_factor=float(bond_factor), n_structures=len(structures),
                   source=source)

    @classmethod
    def from_file(cls, path, *, index=":", r_search: float = 4.0, bond_factor: float = 1.2) -> TrainingDomain:
        """Domain of the structures in a file readable by :func:`ase.io.read` (e.g. extended XYZ)."""
        import ase.io

        from ..errors import InputFormatError
        from ..fileio import note_input
        from ..io.registry import sniff_format

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"training set {path} does not exist")
        fmt = sniff_format(path)
        if fmt != "extxyz":
            raise InputFormatError(f"a training set must be an extended XYZ file (structures with Lattice=...); "
                                   f"this file looks like {fmt or 'another format'}: pass the MLIP's training "
                                   "structures, not a trajectory", path=path)
        note_input(path)
        try:
            structures = ase.io.read(str(path), index=index, format="extxyz")
        except Exception as exc:  # ASE raises many types for malformed files
            raise InputFormatError(f"cannot read the training set as extended XYZ: {type(exc).__name__}: {exc}",
                                   path=path) from None
        if not isinstance(structures, list):
            structures = [structures]
        return cls.from_structures(structures, r_search=r_search, bond_factor=bond_factor, source=str(path))

    def to_dict(self) -> dict:
        """JSON-ready summary: per-pair minimum distance and coordination ranges."""
        out = {"source": self.source, "n_structures": self.n_structures, "bond_factor": self.bond_factor,
               "r_search_A": self.r_search, "min_distance_A": {}, "coordination": {}}
        s = self.species
        for a in range(len(s)):
            for b in range(len(s)):
                if b >= a:
                    d = self.min_distance[a, b]
                    out["min_distance_A"][f"{s[a]}-{s[b]}"] = float(d) if np.isfinite(d) else None
                if self.coordination_max[a, b] > 0:
                    out["coordination"][f"{s[b]} around {s[a]}"] = [int(self.coordination_min[a, b]),
                                                                    int(self.coordination_max[a, b])]
        return out


def load_training(training, *, r_search: float = 4.0, bond_factor: float = 1.2) -> TrainingDomain:
    """A :class:`TrainingDomain` from a domain, a file path, or a sequence of ase.Atoms."""
    if training is None or isinstance(training, TrainingDomain):
        return training
    if isinstance(training, (str, Path)):
        return TrainingDomain.from_file(training, r_search=r_search, bond_factor=bond_factor)
    return TrainingDomain.from_structures(training, r_search=r_search, bond_factor=bond_factor)


def check_domain(ds: xr.Dataset, scan: NeighbourScan, domain: TrainingDomain, *, distance_fraction: float,
                 coordination_margin: int, refine=None, stats: dict | None = None
                 ) -> tuple[list[Flag], NeighbourScan]:
    """Flags for examined frames outside the training domain (see module docstring)."""
    times = np.asarray(ds["time"].values, dtype=np.float64)
    missing = sorted(set(scan.species) - set(domain.species))
    flags: list[Flag] = []
    for s in missing:
        flags.append(Flag(check="domain_species", time_ps=float(times[0]), value=0.0, threshold=1.0,
                          message=f"species {s} does not occur in the training set {domain.source or ''} "
                                  f"(training species: {domain.species}): the model extrapolates from the start",
                          subject=s))
    known = [k for k, s in enumerate(scan.species) if s in domain.species]
    to_dom = {k: domain.species.index(scan.species[k]) for k in known}
    n_sp = len(scan.species)
    d_train = np.full((n_sp, n_sp), np.inf)
    cmin = np.full((n_sp, n_sp), -1, dtype=np.int64)
    cmax = np.full((n_sp, n_sp), -1, dtype=np.int64)
    for a in known:
        for b in known:
            d = domain.min_distance[to_dom[a], to_dom[b]]
            d_train[a, b] = d if np.isfinite(d) else domain.r_search
            cmin[a, b] = domain.coordination_min[to_dom[a], to_dom[b]]
            cmax[a, b] = domain.coordination_max[to_dom[a], to_dom[b]]
    # bond cutoffs must agree with the training ones for the coordination ranges to apply
    same_cutoffs = abs(domain.bond_factor - scan.bond_factor) < 1e-12

    # coordination is judged for framework polyhedra and for pairs the training set never bonded;
    # the loose shells of mobile ions fluctuate beyond a finite training set in any long clean run
    poly = set(polyhedra(ds, scan.species))
    judged = [(a, b) for a in known for b in known
              if cmax[a, b] >= 0 and ((a, b) in poly or cmax[a, b] == 0)]
    judged_mask = np.zeros((n_sp, n_sp), dtype=bool)
    for a, b in judged:
        judged_mask[a, b] = True

    def evaluate(sc):
        hard_d = sc.min_distance < distance_fraction * d_train[None]
        cn = sc.counts.astype(np.int64)
        lo = cmin[sc.codes][None]  # (1, N, S)
        hi = cmax[sc.codes][None]
        valid = (lo >= 0) & (cn >= 0) & same_cutoffs & judged_mask[sc.codes][None]
        under = np.where(valid, lo - cn, 0)
        over = np.where(valid, cn - hi, 0)
        excess = np.maximum(under, over)  # neighbours outside the range, per atom and species
        return hard_d, excess

    hard_d, excess = evaluate(scan)
    if refine is not None:
        bad = hard_d.any(axis=(1, 2)) | (excess > coordination_margin).any(axis=(1, 2))
        if bad.any():
            scan = refine(scan, int(scan.frames[np.nonzero(bad)[0][0]]))
            hard_d, excess = evaluate(scan)
    t = times[scan.frames]
    if stats is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.nanmin(scan.min_distance, axis=0) / d_train
        stats["domain_distance_ratio"] = {pair_label(scan.species, a, b): round(float(ratio[a, b]), 4)
                                          for a in known for b in known if b >= a and np.isfinite(ratio[a, b])}
    for a in known:
        for b in known:
            if b < a:
                continue
            label = pair_label(scan.species, a, b)
            v = scan.min_distance[:, a, b]
            dt = d_train[a, b]
            hard = hard_d[:, a, b]
            flags += first_exceedance(
                "domain_distance", t, v, hard, distance_fraction * dt,
                lambda tt, vv, label=label, dt=dt: (
                    f"{label} distance {vv:.3g} Å at t = {tt:.4g} ps is {dt - vv:.3g} Å ({100 * (1 - vv / dt):.0f} %) "
                    f"below the training-set minimum {dt:.3g} Å: the MLIP extrapolates"), subject=label)
    for a, b in judged:
        e = excess[:, scan.codes == a, b]  # (F, n_a)
        worst = e.max(axis=1) if e.shape[1] else np.zeros(len(t))
        label = f"{scan.species[b]} around {scan.species[a]}"
        rng = f"[{cmin[a, b]}, {cmax[a, b]}]"
        msg = (lambda tt, vv, label=label, rng=rng, a=a, b=b: (
            f"coordination ({label}, cutoff {scan.cutoffs[a, b]:.3g} Å) is {int(vv)} outside the training "
            f"range {rng} at t = {tt:.4g} ps: the MLIP extrapolates"))
        flags += first_exceedance("domain_coordination", t, worst, worst > coordination_margin,
                                  coordination_margin, msg, subject=label)
    return flags, scan
