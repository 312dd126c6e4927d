"""Benchmark: frames per second of :func:`uncertainty_gk.diagnostics.diagnose`.

Usage::

    python benchmarks/bench_diagnose.py                   # 300 atoms x 100,000 frames
    python benchmarks/bench_diagnose.py --frames 20000    # quicker

Builds a synthetic 297-atom crystal (a vibrating PO4 framework with Li ions, cubic
cell, 10 fs between frames) in memory, with a LAMMPS-like log (Temp, PotEng, TotEng
with canonical fluctuations, a thermo row every ``--thermo-every`` frames; 0 = no log),
runs ``diagnose`` once with default thresholds and prints the wall time, frames per
second, the subsampling it chose, and the ratio of the wall time to an **in-process
reference**: one vectorised numpy pass over every frame (centroid-removed squared
displacements from the first frame, the cheapest full-trajectory analysis), timed in
the same process so that the ratio is comparable between machines.
Target: a 300-atom x 100,000-frame run in under a minute on one core.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import xarray as xr

from uncertainty_gk.diagnostics import diagnose
from uncertainty_gk.schema import FrameChunk, RunHeader, RunInfo, assemble_dataset, merge_log

KB_EV = 8.617333262e-5


def crystal_sites(n_cells: int = 3, a: float = 5.5, bond: float = 1.55):
    """Sites of a cubic PO4/Li arrangement: per cell 1 P, 4 O (a tetrahedron) and 6 Li (11 atoms)."""
    tetra = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3.0) * bond
    li = np.array([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]) * a
    species, sites = [], []
    for i in range(n_cells):
        for j in range(n_cells):
            for k in range(n_cells):
                corner = np.array([i, j, k], dtype=float) * a
                p = corner + a / 2
                species += ["P"] + ["O"] * 4 + ["Li"] * 6
                sites += [p, *(p + tetra), *(corner + li)]
    return np.array(species), np.array(sites), np.eye(3) * n_cells * a


def synthetic_run(n_frames: int, *, rng, n_cells: int = 3, interval_ps: float = 0.01, chunk: int = 5000,
                  rho: float = 0.95):
    """A vibrating crystal of 11 × n_cells³ atoms (297 for 3 cells); AR(1) vibrations with lag-1
    correlation ``rho`` so that frame-to-frame steps are small, as in real MD at 10 fs."""
    species, sites, cell = crystal_sites(n_cells)
    n = len(species)
    amp = np.where(species == "Li", 0.12, 0.06)[:, None]
    u = amp * rng.standard_normal((n, 3))
    kick = np.sqrt(1.0 - rho**2)
    chunks = []
    for a in range(0, n_frames, chunk):
        m = min(chunk, n_frames - a)
        noise = rng.standard_normal((m, n, 3))
        pos = np.empty((m, n, 3))
        for f in range(m):
            u = rho * u + kick * amp * noise[f]
            pos[f] = sites + u
        chunks.append(FrameChunk(positions=pos, cell=np.repeat(cell[None], m, axis=0)))
    header = RunHeader(atom_id=np.arange(1, n + 1), species=species)
    info = RunInfo(reader="benchmark", sources=[], frame_interval_ps=interval_ps, temperature_K=300.0)
    return assemble_dataset(header, chunks, info)


def synthetic_log(times: np.ndarray, n_atoms: int, temperature_K: float, *, rng) -> xr.Dataset:
    """A one-block LAMMPS log Dataset: Temp, PotEng, TotEng rows with canonical fluctuations."""
    n = len(times)
    temp = temperature_K * (1 + np.sqrt(2 / (3 * n_atoms)) * rng.standard_normal(n))
    pot = -3.0 * n_atoms + KB_EV * temperature_K * np.sqrt(1.5 * n_atoms) * rng.standard_normal(n)
    tot = pot + 1.5 * n_atoms * KB_EV * temp
    steps = np.round(times / 0.001).astype(np.int64)
    cols = {"Temp": temp, "PotEng": pot, "TotEng": tot}
    data = {f"thermo_{k}": ("thermo", v) for k, v in cols.items()}
    coords = {"thermo_step": ("thermo", steps), "thermo_time": ("thermo", times),
              "thermo_block": ("thermo", np.zeros(n, dtype=np.int64)),
              "event_step": ("event", np.zeros(0, dtype=np.int64)), "event_kind": ("event", np.zeros(0, "<U7")),
              "event_message": ("event", np.zeros(0, "<U1")), "event_line": ("event", np.zeros(0, dtype=np.int64))}
    done = json.dumps([int(steps[-1])])
    attrs = {"units": "metal", "timestep_ps": 0.001, "run_lengths": done, "steps_done": done,
             "block_requested_steps": done, "ended_with_error": 0, "production_block": 0}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def reference_pass(ds) -> float:
    """Wall time of one vectorised numpy pass over every frame (in chunks, as diagnose reads them)."""
    t0 = time.perf_counter()
    pos = ds["positions"]
    first = np.asarray(pos[0].values, dtype=np.float64)
    first = first - first.mean(axis=0)
    out = np.empty(ds.sizes["time"])
    for a in range(0, ds.sizes["time"], 5000):
        p = np.asarray(pos[a:a + 5000].values, dtype=np.float64)
        p = p - p.mean(axis=1, keepdims=True)
        out[a:a + len(p)] = np.mean(np.sum((p - first) ** 2, axis=2), axis=1)
    return time.perf_counter() - t0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--thermo-every", type=int, default=10, help="frames per thermo row (0: no log)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    ds = synthetic_run(args.frames, rng=rng)
    if args.thermo_every > 0:
        times = np.asarray(ds["time"].values)[::args.thermo_every]
        ds = merge_log(ds, synthetic_log(times, int(ds.sizes["atom"]), 300.0, rng=rng))
    t1 = time.perf_counter()
    d = diagnose(ds)
    t2 = time.perf_counter()
    ref = reference_pass(ds)
    fps = args.frames / (t2 - t1)
    n_rows = int(ds.sizes.get("thermo", 0))
    print(f"synthetic run: {ds.sizes['atom']} atoms x {args.frames} frames, {n_rows} thermo rows, "
          f"built in {t1 - t0:.1f} s")
    print(f"diagnose: {t2 - t1:.2f} s wall, {fps:,.0f} frames/s; status {d.status}")
    print(f"reference (one numpy pass over every frame): {ref:.2f} s; diagnose / reference = {(t2 - t1) / ref:.1f}")
    if args.frames != 100_000:
        print(f"extrapolated to 100,000 frames: at most {(t2 - t1) * max(1.0, 100_000 / args.frames):.1f} s "
              "(linear in frames; an upper bound when extrapolating up, since the neighbour scan and the RDF "
              "examine at most max_neighbour_frames frames and rdf_max_windows windows)")
    print(f"subsample: {d.thresholds['subsample']}")


if __name__ == "__main__":
    main()
