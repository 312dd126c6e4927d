"""Benchmark: frames per second of :func:`uncertainty_gk.diagnostics.diagnose`.

Usage::

    python benchmarks/bench_diagnose.py                   # 300 atoms x 100,000 frames
    python benchmarks/bench_diagnose.py --frames 20000    # quicker

Builds a synthetic 297-atom crystal (a vibrating PO4 framework with Li ions, cubic
cell, 10 fs between frames, no log) in memory, runs ``diagnose`` once with default
thresholds and prints the wall time, frames per second and the subsampling it chose.
Target: a 300-atom x 100,000-frame run in under a minute on one core.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from uncertainty_gk.diagnostics import diagnose
from uncertainty_gk.schema import FrameChunk, RunHeader, RunInfo, assemble_dataset


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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    ds = synthetic_run(args.frames, rng=np.random.default_rng(args.seed))
    t1 = time.perf_counter()
    d = diagnose(ds)
    t2 = time.perf_counter()
    fps = args.frames / (t2 - t1)
    print(f"synthetic run: {ds.sizes['atom']} atoms x {args.frames} frames built in {t1 - t0:.1f} s")
    print(f"diagnose: {t2 - t1:.2f} s wall, {fps:,.0f} frames/s; status {d.status}")
    print(f"subsample: {d.thresholds['subsample']}")


if __name__ == "__main__":
    main()
