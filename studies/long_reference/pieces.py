"""Reading the long-reference runs back and cutting them into campaigns (issue 12, items 5-6).

Shared by ``analyse_pieces.py`` (our methods) and ``studies/side_by_side/compare.py``
(other tools).  Reads only segments that the driver has finished (log with the marker
line, gzipped dump and current present), consecutive from ``seg000``; never writes into
the run directories and never copies the data.

A *campaign* is a mapping run name -> frame range [i0, i1] (inclusive) of one seed's
concatenated trajectory:

* piece k of length L: frames [k n, (k+1) n] of every seed (n = L / Δt), i.e. n increments
  per seed; pieces of one length never overlap, so they are independent 3-seed campaigns
  (up to the slow correlations across a piece boundary);
* "rest of the run" for piece k: every frame of every seed *outside* piece k, as up to two
  chunks per seed (before and after the piece), each analysed as its own run;
* the whole run: every frame of every seed.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from uncertainty_gk.io.lammps_dump import read_lammps_dump

#: The line ``run_reference.py`` prints last in a finished segment's log (same string as there).
MARKER = "uncertainty_gk reference segment finished"
DEFAULT_RUNS = Path("/work/main/studies/long_reference/runs")
TYPES = {1: "Li", 2: "P", 3: "O", 4: "Si"}
CHARGES = {"Li": 0.6, "P": 3.0, "Si": 2.4, "O": -1.2}      # Pedone partial charges (the potential's)
TEMPERATURE_K = 1000.0
TIMESTEP_PS = 0.001
MIN_CHUNK_PS = 20.0        # rest-of-run chunks shorter than this are dropped (too short for an MSD window)


def finished_segments(seed_dir: Path) -> list[Path]:
    """Finished segments of one seed, consecutive from seg000 (stops at the first unfinished)."""
    out = []
    for d in sorted(seed_dir.glob("seg[0-9][0-9][0-9]")):
        log = d / "log.lammps"
        ok = (log.exists() and MARKER in log.read_text(errors="replace")
              and (d / "dump.lammpstrj.gz").exists() and (d / "current.dat.gz").exists())
        if not ok:
            break
        out.append(d)
    return out


def read_current(segments: list[Path]) -> np.ndarray:
    """(steps, J (T, 3)) of the concatenated current files, repeated boundary steps dropped."""
    parts = []
    for d in segments:
        with gzip.open(d / "current.dat.gz", "rt") as fh:
            parts.append(np.loadtxt(fh, comments="#"))
    c = np.concatenate(parts)
    _, first = np.unique(c[:, 0], return_index=True)
    c = c[np.sort(first)]
    if np.any(np.diff(c[:, 0]) <= 0):
        raise ValueError(f"current steps are not increasing in {segments[0].parent}")
    return c


@dataclass
class Seed:
    """One seed's whole finished trajectory (Dataset), its current and what it was read from."""

    name: str
    ds: xr.Dataset
    current: np.ndarray          # (T_J, 4): step, Jx, Jy, Jz (e Å/ps)
    segments: list[Path]

    @property
    def dt_ps(self) -> float:
        return float(np.median(np.diff(self.ds["time"].values)))

    @property
    def n_frames(self) -> int:
        return int(self.ds.sizes["time"])

    @property
    def length_ps(self) -> float:
        return self.dt_ps * (self.n_frames - 1)


def load_seeds(runs_dir: Path, seeds=(1, 2, 3), max_segments: int | None = None) -> list[Seed]:
    """Every seed's finished segments as one trajectory Dataset (the package's LAMMPS reader)."""
    out = []
    for s in seeds:
        segs = finished_segments(Path(runs_dir) / f"s{s}")[:max_segments]
        if not segs:
            raise SystemExit(f"{runs_dir}/s{s}: no finished segment")
        ds = read_lammps_dump([str(d / "dump.lammpstrj.gz") for d in segs], types=TYPES, timestep_ps=TIMESTEP_PS,
                              charges=CHARGES, mobile=("Li",),
                              labels={"structure": "lpso", "model": "pedone", "seed": s,
                                      "temperature_K": TEMPERATURE_K})
        t = ds["time"].values
        if np.ptp(np.diff(t)) > 1e-6:
            raise ValueError(f"s{s}: frames are not evenly spaced (duplicate or missing frames between segments?)")
        out.append(Seed(f"s{s}", ds, read_current(segs), segs))
    return out


def piece_ranges(seeds: list[Seed], length_ps: float) -> list[dict[str, tuple[int, int]]]:
    """Frame ranges of the pieces of ``length_ps`` common to all seeds (piece k of every seed)."""
    dt = seeds[0].dt_ps
    n = int(round(length_ps / dt))
    n_pieces = min((s.n_frames - 1) // n for s in seeds)
    return [{s.name: (k * n, (k + 1) * n) for s in seeds} for k in range(n_pieces)]


def rest_ranges(seeds: list[Seed], piece: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The rest of the run outside ``piece``: chunks before/after it, each its own run."""
    out = {}
    for s in seeds:
        i0, i1 = piece[s.name]
        min_frames = int(round(MIN_CHUNK_PS / s.dt_ps))
        if i0 >= min_frames:
            out[f"{s.name}a"] = (0, i0)
        if s.n_frames - 1 - i1 >= min_frames:
            out[f"{s.name}b"] = (i1, s.n_frames - 1)
    return out


def whole_ranges(seeds: list[Seed]) -> dict[str, tuple[int, int]]:
    return {s.name: (0, s.n_frames - 1) for s in seeds}


def seed_of(seeds: list[Seed], run_name: str) -> Seed:
    """The seed a run name of a campaign refers to (``s2``, ``s2a``, ``s2b`` -> ``s2``)."""
    return next(s for s in seeds if run_name.rstrip("ab") == s.name)


def campaign_runs(seeds: list[Seed], ranges: dict[str, tuple[int, int]]) -> dict[str, xr.Dataset]:
    """The trajectory Datasets of a campaign (views of the seeds' frames)."""
    return {name: seed_of(seeds, name).ds.isel(time=slice(i0, i1 + 1)) for name, (i0, i1) in ranges.items()}


def campaign_current(seeds: list[Seed], ranges: dict[str, tuple[int, int]]) -> dict[str, tuple[np.ndarray, float]]:
    """Per run of a campaign, the current samples (T, 3) covering its frames and their Δt (ps)."""
    out = {}
    for name, (i0, i1) in ranges.items():
        s = seed_of(seeds, name)
        t = s.ds["time"].values
        step0, step1 = round(t[i0] / TIMESTEP_PS), round(t[i1] / TIMESTEP_PS)
        c = s.current
        sel = (c[:, 0] >= step0) & (c[:, 0] <= step1)
        dtJ = float(np.median(np.diff(c[:, 0]))) * TIMESTEP_PS
        out[name] = (c[sel, 1:4], dtJ)
    return out


def ps_per_seed(seeds: list[Seed]) -> str:
    return "/".join(f"{s.length_ps:g}" for s in seeds)
