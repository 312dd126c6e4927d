"""A realistic benchmark trajectory: the bundled LPSO cell, replicated, with vibrations and Li hops.

Shared by ``bench_diagnose.py`` and ``bench_analyze.py`` (run them as scripts from the
repository root; this file sits beside them).

Structure: ``examples/lpso_T1000/lpso_start.data`` (Li3.25P0.75Si0.25O4, 297 atoms, the
relaxed starting structure of the project's own LAMMPS runs), replicated ``reps`` times
(default 2 x 1 x 1: 594 sites in 29.1 x 15.7 x 12.2 Å, the real density, so neighbour
lists hold as many pairs as in production data), with 14 Li removed to make vacancies and
14 of the 18 Si turned back into P to keep the cell neutral (580 atoms).

Dynamics (10 fs between frames, 1000 K labels):

* every atom vibrates about its site with an AR(1) offset (lag-1 correlation 0.95 per
  frame; standard deviation per component 0.09 Å for P/Si and Li); an O moves
  with its P/Si centre plus its own 0.05 Å offset, so PO4/SiO4 units stay intact;
* Li diffuse by vacancy hops, one at a time: each frame, with probability
  ``hop_probability``, a random vacancy is filled by the Li on a random neighbouring Li
  site (closer than 4.5 Å, along a straight path at least 1.5 Å from every framework
  site; the Li sites closer than 2 Å to the path must be vacant); the hop takes
  ``hop_frames`` frames, so no step exceeds the thermal jump limit.  These hop pairs
  connect every Li site; with the defaults D* is a few 1e-6 cm²/s (Li MSD 14-21 Å² at
  100 ps for seeds 0-2, all three passing the diagnostics).

The run passes ``diagnose`` with default thresholds (status ``ok``), so
``analyse`` keeps it whole; it is written with reader name ``benchmark`` (not
``synthetic``) so that ``analyse`` diagnoses it as it would a real run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from uncertainty_gk.schema import FrameChunk, RunHeader, RunInfo, assemble_dataset

STRUCTURE = Path(__file__).resolve().parent.parent / "examples" / "lpso_T1000" / "lpso_start.data"
_TYPES = {1: "Li", 2: "P", 3: "O", 4: "Si"}
_SIGMA = {"P": 0.09, "Si": 0.09, "O": 0.05, "Li": 0.09}  # O: its own offset on top of its centre's


def read_structure(path=STRUCTURE):
    """Species (N,), Cartesian sites (N, 3) and orthogonal cell (3, 3) of a LAMMPS ``atom_style charge`` data file."""
    lines = Path(path).read_text().splitlines()
    bounds = {}
    for line in lines[:20]:
        parts = line.split()
        if len(parts) == 4 and parts[2].endswith("lo") and parts[3].endswith("hi"):
            bounds[parts[2][0]] = (float(parts[0]), float(parts[1]))
    start = next(k for k, line in enumerate(lines) if line.strip().startswith("Atoms")) + 1
    rows = []
    for line in lines[start:]:
        parts = line.split()
        if not parts:
            if rows:
                break
            continue
        rows.append((int(parts[0]), int(parts[1]), float(parts[3]), float(parts[4]), float(parts[5])))
    rows.sort()
    species = np.array([_TYPES[r[1]] for r in rows])
    sites = np.array([r[2:] for r in rows])
    cell = np.diag([bounds[a][1] - bounds[a][0] for a in "xyz"])
    return species, sites, cell


def _hop_pairs(sites, cell, li, framework, *, max_length=4.5, clearance=1.5, li_clearance=2.0):
    """Li-site pairs a hop apart whose straight path keeps ``clearance`` from every framework site.

    Returns ``(a, b, displacement a -> b, blocking)``: ``blocking`` are the other Li sites
    closer than ``li_clearance`` to the path, which must be vacant for the hop.
    """
    from uncertainty_gk.diagnostics.neighbours import periodic_pairs

    inv = np.linalg.inv(cell)
    i, j, d, n = periodic_pairs(sites[li], cell, max_length, return_shifts=True)

    def gaps(path, points):
        diff = path[:, None, :] - points[None]
        diff -= np.round(diff @ inv) @ cell
        return np.sqrt((diff ** 2).sum(axis=2)).min(axis=0)

    out = []
    for a, b, shift in zip(i, j, n):
        if a == b:
            continue
        start, end = sites[li[a]], sites[li[b]] + shift @ cell
        path = start + np.linspace(0.0, 1.0, 21)[:, None] * (end - start)
        if gaps(path, sites[framework]).min() < clearance:
            continue
        near = np.nonzero(gaps(path, sites[li]) < li_clearance)[0]
        out.append((int(a), int(b), end - start, near[(near != a) & (near != b)]))
    return out


def lpso_run(n_frames: int, *, rng, reps=(2, 1, 1), vacancies: int = 14, hop_probability: float = 0.1,
             hop_frames: int = 5, interval_ps: float = 0.01, rho: float = 0.95, chunk: int = 2000):
    """The replicated LPSO trajectory (an xarray Dataset in schema form, reader ``benchmark``)."""
    species1, sites1, cell1 = read_structure()
    grid = np.array([(a, b, c) for a in range(reps[0]) for b in range(reps[1]) for c in range(reps[2])])
    sites = np.concatenate([sites1 + g @ cell1 for g in grid])
    species = np.tile(species1, len(grid))
    cell = cell1 * np.asarray(reps, dtype=float)[:, None]
    li_all = np.nonzero(species == "Li")[0]
    removed = rng.choice(li_all, size=vacancies, replace=False)
    keep = np.setdiff1d(np.arange(len(species)), removed)
    # charge balance: each Li vacancy turns one Si(4+) back into P(5+), as in Li3PO4 itself
    silicon = np.nonzero(species == "Si")[0]
    species[rng.choice(silicon, size=min(vacancies, len(silicon)), replace=False)] = "P"
    hops = [[] for _ in li_all]          # per Li site: (source site, displacement source -> here, blocking)
    for a, b, disp, near in _hop_pairs(sites, cell, li_all, np.nonzero(species != "Li")[0]):
        hops[b].append((a, disp, near))
        hops[a].append((b, -disp, near))
    rows_of = {int(atom): r for r, atom in enumerate(keep)}
    occupant = np.array([rows_of.get(int(atom), -1) for atom in li_all])  # Li site -> atom row, -1 vacant
    species = species[keep]
    home = sites[keep].copy()            # current site of each atom (unwrapped, moves with hops)
    n = len(species)
    # framework polyhedra vibrate as units: each O follows its P/Si centre plus a small own offset
    centre_of = np.arange(n)
    centres = np.nonzero(np.isin(species, ["P", "Si"]))[0]
    oxygens = np.nonzero(species == "O")[0]
    diff = home[oxygens][:, None, :] - home[centres][None]
    diff -= np.round(diff / np.diag(cell)) * np.diag(cell)
    centre_of[oxygens] = centres[np.argmin((diff ** 2).sum(axis=2), axis=1)]
    sigma = np.array([_SIGMA[s] for s in species])[:, None]
    kick = np.sqrt(1.0 - rho ** 2)
    u = sigma * rng.standard_normal((n, 3))
    hop = None                           # the hop in progress: (atom, step, frames left)
    chunks = []
    for a in range(0, n_frames, chunk):
        m = min(chunk, n_frames - a)
        noise = rng.standard_normal((m, n, 3))
        pos = np.empty((m, n, 3))
        for f in range(m):
            u = rho * u + kick * sigma * noise[f]
            if hop is None and rng.random() < hop_probability:
                # one hop at a time: a random vacancy, filled from a random neighbouring site
                site = rng.choice(np.nonzero(occupant < 0)[0])
                if hops[site]:
                    src, disp, near = hops[site][rng.integers(len(hops[site]))]
                    if occupant[src] >= 0 and np.all(occupant[near] < 0):
                        hop = (occupant[src], disp / hop_frames, hop_frames)
                        occupant[site], occupant[src] = occupant[src], -1
            if hop is not None:
                atom, step, left = hop
                home[atom] += step
                hop = (atom, step, left - 1) if left > 1 else None
            pos[f] = home + u + np.where(species == "O", 1.0, 0.0)[:, None] * u[centre_of]
        chunks.append(FrameChunk(positions=pos, cell=np.repeat(cell[None], m, axis=0)))
    header = RunHeader(atom_id=np.arange(1, n + 1), species=species)
    info = RunInfo(reader="benchmark", sources=[], frame_interval_ps=interval_ps, temperature_K=1000.0)
    return assemble_dataset(header, chunks, info, labels={"structure": "lpso_replica", "temperature_K": 1000.0,
                                                          "seed": 0})
