"""Benchmark: :func:`uncertainty_gk.diagnostics.diagnose` against the pre-issue-13 code, as ratios.

Usage (from the repository root)::

    python benchmarks/bench_diagnose.py                       # 580 atoms x 10,000 frames, 3 repeats
    python benchmarks/bench_diagnose.py --frames 2000 --repeats 1
    python benchmarks/bench_diagnose.py --input crystal       # the 297-atom PO4/Li toy crystal

Input (``--input lpso``, default): the bundled 297-atom LPSO cell
(``examples/lpso_T1000/lpso_start.data``) doubled along x with 14 Li vacancies (580 atoms,
the real density), atoms vibrating about their sites and Li diffusing by vacancy hops,
10 fs between frames (:mod:`lpso_replica`), plus a LAMMPS-like log (Temp, PotEng,
TotEng with canonical fluctuations) every ``--thermo-every`` frames.

Timed in the same process, interleaved (new, old, old, new, ...), ``--repeats`` times:

* **new**: ``diagnose(ds)`` as it is;
* **old**: the same ``diagnose`` with its structural checks taken from
  ``reference_structure_c84a6c9.py``, a verbatim copy of
  ``uncertainty_gk/diagnostics/structure.py`` at c84a6c9 (one cKDTree per examined frame,
  RDF windows one frame at a time);
* the two expensive parts alone, old vs new: the neighbour scan of the frames that
  ``diagnose`` examines, and the RDF drift check.

Prints the median ratio old / new of each (target for ``diagnose``: ≥ 5), checks that
both give the same status and flags, and shows the subsampling ``diagnose`` reports.  The
machine is shared and noisy, so only ratios from one run are meaningful; the seconds are
printed for orientation only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_structure_c84a6c9 as old_structure  # noqa: E402
from lpso_replica import lpso_run  # noqa: E402

from uncertainty_gk.diagnostics import diagnose  # noqa: E402
from uncertainty_gk.diagnostics import run as diagnose_module  # noqa: E402
from uncertainty_gk.diagnostics import structure as new_structure  # noqa: E402
from uncertainty_gk.schema import FrameChunk, RunHeader, RunInfo, assemble_dataset, merge_log  # noqa: E402

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
    """A vibrating toy crystal of 11 × n_cells³ atoms (297 for 3 cells); AR(1) vibrations with lag-1
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


def build_input(kind: str, n_frames: int, *, seed: int, thermo_every: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    if kind == "lpso":
        ds = lpso_run(n_frames, rng=rng)
    else:
        ds = synthetic_run(n_frames, rng=rng)
    if thermo_every > 0:
        times = np.asarray(ds["time"].values)[::thermo_every]
        ds = merge_log(ds, synthetic_log(times, int(ds.sizes["atom"]), float(ds.attrs["temperature_K"]), rng=rng))
    return ds


def diagnose_old(ds):
    """``diagnose`` with every structural check from the c84a6c9 copy."""
    with mock.patch.object(diagnose_module, "_structure", old_structure):
        return diagnose(ds)


def verdict(d) -> list:
    return [d.status] + sorted((f.check, f.subject, round(f.time_ps, 9), f.count) for f in d.flags)


def scan_frames(ds) -> tuple[np.ndarray, float]:
    """The frames ``diagnose`` examines in its neighbour scan with default thresholds."""
    th = diagnose_module.DEFAULT_THRESHOLDS
    times = np.asarray(ds["time"].values)
    n = len(times)
    ref_ps = min(th["reference_ps"], th["reference_fraction"] * (times[-1] - times[0]))
    n_ref = new_structure.reference_frames(times, ref_ps)
    stride = max(1, math.ceil(n / th["max_neighbour_frames"]))
    frames = np.union1d(np.union1d(np.arange(0, n, stride), np.arange(n_ref)), [n - 1])
    return frames, ref_ps


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", choices=("lpso", "crystal"), default="lpso")
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--thermo-every", type=int, default=10, help="frames per thermo row (0: no log)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    ds = build_input(args.input, args.frames, seed=args.seed, thermo_every=args.thermo_every)
    print(f"input: {args.input}, {ds.sizes['atom']} atoms x {args.frames} frames, "
          f"{int(ds.sizes.get('thermo', 0))} thermo rows (built in {time.perf_counter() - t0:.1f} s)")

    frames, ref_ps = scan_frames(ds)
    th = diagnose_module.DEFAULT_THRESHOLDS
    scan_kw = {"r_search": th["neighbour_radius_A"], "bond_factor": th["bond_factor"]}
    times = np.asarray(ds["time"].values)
    rdf_kw = {"reference_ps": max(ref_ps, min(th["rdf_window_ps"], times[-1] - times[0])),
              "window_ps": th["rdf_window_ps"], "r_max": th["rdf_r_max_A"], "dr": th["rdf_dr_A"],
              "threshold": th["rdf_threshold"], "frames_per_window": th["rdf_frames_per_window"],
              "max_windows": th["rdf_max_windows"]}
    parts = {
        "diagnose (whole)": (lambda: diagnose_old(ds), lambda: diagnose(ds)),
        f"neighbour scan ({len(frames)} frames)": (lambda: old_structure.scan_neighbours(ds, frames, **scan_kw),
                                                   lambda: new_structure.scan_neighbours(ds, frames, **scan_kw)),
        "RDF drift check": (lambda: old_structure.check_rdf_drift(ds, **rdf_kw),
                            lambda: new_structure.check_rdf_drift(ds, **rdf_kw)),
    }
    seconds = {name: {"old": [], "new": []} for name in parts}
    results = {}
    for rep in range(args.repeats):
        for name, (old, new) in parts.items():
            order = (("new", new), ("old", old)) if rep % 2 == 0 else (("old", old), ("new", new))
            for which, fn in order:
                dt, out = timed(fn)
                seconds[name][which].append(dt)
                results[(name, which)] = out
        print(f"  repeat {rep + 1}/{args.repeats}: diagnose old {seconds['diagnose (whole)']['old'][-1]:.2f} s, "
              f"new {seconds['diagnose (whole)']['new'][-1]:.2f} s", flush=True)

    d_new, d_old = results[("diagnose (whole)", "new")], results[("diagnose (whole)", "old")]
    scan_old, scan_new = results[(list(parts)[1], "old")], results[(list(parts)[1], "new")]
    same_scan = (np.array_equal(scan_old.counts, scan_new.counts)
                 and np.allclose(scan_old.min_distance, scan_new.min_distance, rtol=0, atol=1e-9, equal_nan=True))
    print()
    print(f"{'part':<32} {'old s':>7} {'new s':>7} {'median ratio old/new':>21}   per repeat")
    for name in parts:
        o, n = seconds[name]["old"], seconds[name]["new"]
        ratios = [a / b for a, b in zip(o, n)]
        print(f"{name:<32} {statistics.median(o):7.2f} {statistics.median(n):7.2f} "
              f"{statistics.median(ratios):21.1f}   {', '.join(f'{r:.1f}' for r in ratios)}")
    print()
    print(f"verdicts identical (status, flags, times, counts): {verdict(d_new) == verdict(d_old)}  "
          f"[{d_new.summary()}]")
    print(f"neighbour scan identical (bond counts equal, minimum distances within 1e-9 Å): {same_scan}")
    print(f"subsampling reported by diagnose: {json.dumps(d_new.thresholds['subsample'])}")
    print("target: diagnose old/new >= 5")


if __name__ == "__main__":
    main()
