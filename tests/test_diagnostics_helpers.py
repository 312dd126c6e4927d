"""Small synthetic trajectories for the diagnostics tests (and a test that they are clean).

``crystal_dataset`` builds a vibrating Li/PO4 crystal in the schema form with
:func:`uncertainty_gk.schema.assemble_dataset`; ``log_dataset`` builds the Dataset form of
a simulation log (thermo rows + events) that :func:`uncertainty_gk.schema.merge_log`
merges in.  Neither depends on the file readers.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from uncertainty_gk.schema import FrameChunk, RunHeader, RunInfo, assemble_dataset, merge_log, validate

TETRA = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3.0)
A_CELL = 5.5  # Å, edge of one PO4 cell
BOND = 1.55  # Å, P-O


def crystal_sites(n_cells: int = 2):
    """Per cell: 1 P, 4 O (tetrahedron, P-O 1.55 Å) and 3 Li. Returns species, sites, cell."""
    li = np.array([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]]) * A_CELL
    species, sites = [], []
    for i in range(n_cells):
        for j in range(n_cells):
            for k in range(n_cells):
                corner = np.array([i, j, k], dtype=float) * A_CELL
                p = corner + A_CELL / 2
                species += ["P"] + ["O"] * 4 + ["Li"] * 3
                sites += [p, *(p + BOND * TETRA), *(corner + li)]
    return np.array(species), np.array(sites), np.eye(3) * n_cells * A_CELL


def crystal_positions(n_frames: int = 100, *, n_cells: int = 2, rng=0, rho: float = 0.9,
                      amplitude: float = 0.05):
    """(positions, species, cell): AR(1) vibrations of ``amplitude`` Å about the sites."""
    rng = np.random.default_rng(rng)
    species, sites, cell = crystal_sites(n_cells)
    n = len(species)
    u = amplitude * rng.standard_normal((n, 3))
    pos = np.empty((n_frames, n, 3))
    kick = np.sqrt(1 - rho**2) * amplitude
    for f in range(n_frames):
        u = rho * u + kick * rng.standard_normal((n, 3))
        pos[f] = sites + u
    return pos, species, cell


def crystal_dataset(n_frames: int = 100, *, interval_ps: float = 0.02, temperature_K: float | None = 300.0,
                    n_cells: int = 2, rng=0, positions=None, cell=None, labels=None, log=None,
                    velocities=None) -> xr.Dataset:
    """A run Dataset of the vibrating crystal; ``positions`` (and ``cell``) override the geometry."""
    pos, species, cell0 = crystal_positions(n_frames, n_cells=n_cells, rng=rng)
    if positions is not None:
        pos = positions
    cell = cell0 if cell is None else cell
    cells = np.repeat(np.asarray(cell)[None], len(pos), axis=0)
    header = RunHeader(atom_id=np.arange(1, len(species) + 1), species=species)
    info = RunInfo(reader="test", sources=[], frame_interval_ps=interval_ps, temperature_K=temperature_K)
    chunk = FrameChunk(positions=pos, cell=cells, velocities=velocities)
    ds = assemble_dataset(header, [chunk], info, labels=labels or {"seed": 1})
    if log is not None:
        ds = merge_log(ds, log)
    return ds


def log_dataset(times, columns: dict, *, timestep_ps: float = 0.001, blocks=None, events=(),
                requested_steps=None, steps_done=None, ended_with_error: bool = False) -> xr.Dataset:
    """The Dataset form of a LAMMPS log: ``columns`` maps thermo keyword -> values per row.

    ``events`` is a sequence of (kind, message, step).
    """
    times = np.asarray(times, dtype=np.float64)
    steps = np.round(times / timestep_ps).astype(np.int64)
    blocks = np.zeros(len(times), dtype=np.int64) if blocks is None else np.asarray(blocks, dtype=np.int64)
    n_blocks = int(blocks.max()) + 1 if len(blocks) else 0
    data = {f"thermo_{k}": ("thermo", np.asarray(v, dtype=np.float64)) for k, v in columns.items()}
    ev = list(events)
    coords = {
        "thermo_step": ("thermo", steps), "thermo_time": ("thermo", times), "thermo_block": ("thermo", blocks),
        "event_step": ("event", np.array([e[2] for e in ev], dtype=np.int64)),
        "event_kind": ("event", np.array([e[0] for e in ev], dtype=str) if ev else np.zeros(0, "<U7")),
        "event_message": ("event", np.array([e[1] for e in ev], dtype=str) if ev else np.zeros(0, "<U1")),
        "event_line": ("event", np.arange(1, len(ev) + 1, dtype=np.int64)),
    }
    done = steps_done if steps_done is not None else [int(steps[blocks == b][-1]) for b in range(n_blocks)]
    req = requested_steps if requested_steps is not None else done
    attrs = {"units": "metal", "timestep_ps": timestep_ps, "run_lengths": json.dumps(req),
             "steps_done": json.dumps(done), "block_requested_steps": json.dumps(req),
             "ended_with_error": int(ended_with_error), "production_block": n_blocks - 1}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def canonical_thermo(times, *, n_atoms: int, temperature_K: float = 300.0, e0: float = -500.0, rng=1):
    """Temp, PotEng, TotEng rows with canonical fluctuations (σ_T = T sqrt(2/3N), σ_U = k_B T sqrt(3N/2))."""
    rng = np.random.default_rng(rng)
    kb = 8.617333262e-5
    n = len(times)
    temp = temperature_K * (1 + np.sqrt(2 / (3 * n_atoms)) * rng.standard_normal(n))
    pot = e0 + kb * temperature_K * np.sqrt(1.5 * n_atoms) * rng.standard_normal(n)
    tot = pot + 1.5 * n_atoms * kb * temp
    return {"Temp": temp, "PotEng": pot, "TotEng": tot}


# --------------------------------------------------------------------------- the helpers are sound
def test_crystal_dataset_follows_schema():
    ds = crystal_dataset(20)
    validate(ds)
    assert ds.sizes["atom"] == 64 and ds.sizes["time"] == 20
    assert set(np.unique(ds["species"].values)) == {"Li", "O", "P"}
    assert ds["mobile"].values[ds["species"].values == "Li"].all()


def test_log_dataset_merges():
    t = np.arange(10) * 0.1
    log = log_dataset(t, canonical_thermo(t, n_atoms=64))
    ds = crystal_dataset(10, log=log)
    assert "thermo_Temp" in ds and ds.sizes["thermo"] == 10
    assert ds.attrs["log_production_block"] == 0
