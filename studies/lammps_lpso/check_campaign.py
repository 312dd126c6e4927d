#!/usr/bin/env python3
"""Quick sanity check of a campaign written by run_seeds.py (numpy only).

For every run of ``campaign.toml``: number of dump frames and atoms, the thermo blocks of
the log and whether it ended normally, and the mean-squared displacements of Li and O
(from the dump, centre-of-mass drift removed, averaged over time origins) together with
the last c_msdLi / c_msdO of the log.  A healthy run has a growing Li MSD and an O MSD
below ~1 A^2 (the framework stays intact).

usage: python check_campaign.py ../../examples/lpso_T1000/campaign.toml
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tomllib
from pathlib import Path

import numpy as np

MASS = {"Li": 6.941, "P": 30.973762, "O": 15.9994, "Si": 28.0855}


def read_dump(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    steps, frames, types = [], [], None
    with opener(path, "rt") as fh:
        while True:
            line = fh.readline()
            if not line:
                break
            if line.startswith("ITEM: TIMESTEP"):
                steps.append(int(fh.readline()))
            elif line.startswith("ITEM: NUMBER OF ATOMS"):
                n = int(fh.readline())
            elif line.startswith("ITEM: ATOMS"):
                cols = line.split()[2:]
                block = np.loadtxt([fh.readline() for _ in range(n)], ndmin=2)
                ids = block[:, cols.index("id")].astype(int)
                if not np.all(np.diff(ids) > 0):
                    raise ValueError(f"{path}: atoms not sorted by id at step {steps[-1]}")
                types = block[:, cols.index("type")].astype(int)
                frames.append(block[:, [cols.index(c) for c in ("xu", "yu", "zu")]])
    return np.array(steps), np.array(frames), types


def read_log(path: Path):
    lines = path.read_text(errors="replace").splitlines()
    blocks, cur = [], None
    for ln in lines:
        s = ln.split()
        if s and s[0] == "Step":
            cur = {"header": s, "rows": []}
            blocks.append(cur)
        elif ln.startswith("Loop time"):
            cur = None
        elif cur is not None and s and s[0].lstrip("-").isdigit():
            try:
                cur["rows"].append([float(x) for x in s])
            except ValueError:
                pass
    ended = any(ln.startswith("Total wall time") for ln in lines[-5:])
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return blocks, ended, errors


def msd(pos: np.ndarray, sel: np.ndarray, masses: np.ndarray, max_lag: int) -> np.ndarray:
    com = (pos * masses[None, :, None]).sum(1) / masses.sum()
    x = pos[:, sel] - com[:, None, :]
    out = np.zeros(max_lag + 1)
    for lag in range(1, max_lag + 1):
        d = x[lag:] - x[:-lag]
        out[lag] = (d ** 2).sum(-1).mean()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--dt-ps", type=float, default=0.001, help="MD timestep (ps)")
    a = ap.parse_args(argv)
    man = tomllib.loads(a.manifest.read_text())
    typemap = {int(k): v for k, v in man["defaults"]["types"].items()}
    root = a.manifest.parent
    ok_all = True
    for run in man["runs"]:
        steps, pos, types = read_dump(root / run["trajectory"])
        blocks, ended, errors = read_log(root / run["log"])
        species = np.array([typemap[t] for t in types])
        masses = np.array([MASS[s] for s in species])
        dt = (steps[1] - steps[0]) * a.dt_ps
        n = len(steps)
        lags = sorted({max(1, n // 20), n // 4, n // 2})
        mli = msd(pos, species == "Li", masses, max(lags))
        mo = msd(pos, species == "O", masses, max(lags))
        # tracer D* from the slope of the Li MSD between n/20 and n/2 (Einstein, 3D)
        l1, l2 = lags[0], lags[-1]
        dstar = (mli[l2] - mli[l1]) / ((l2 - l1) * dt) / 6 * 1e-4  # A^2/ps -> cm^2/s
        nvt = blocks[-1]
        h = nvt["header"]
        last = nvt["rows"][-1]
        ok = (ended and not errors and len(blocks) == 3 and mo[max(lags)] < 1.0
              and mli[l2] > mli[l1])
        ok_all &= ok
        print(f"{run['trajectory']}  [{'OK' if ok else 'CHECK'}]")
        print(f"  dump: {n} frames x {pos.shape[1]} atoms, {dt:g} ps apart "
              f"(steps {steps[0]}..{steps[-1]}), species {({str(k): int(v) for k, v in zip(*np.unique(species, return_counts=True))})}")
        print(f"  log : {len(blocks)} thermo blocks {[len(b['rows']) for b in blocks]} rows, "
              f"ended normally: {ended}, errors: {len(errors)}")
        temps = np.array(nvt["rows"])[:, h.index("Temp")]
        print(f"        NVT <T> = {temps.mean():.0f} K, last c_msdLi[4] = {last[h.index('c_msdLi[4]')]:.2f} A2,"
              f" c_msdO[4] = {last[h.index('c_msdO[4]')]:.3f} A2 at t = {last[h.index('Time')]:g} ps")
        print("  MSD (time-origin averaged): " + ", ".join(
            f"{lag * dt:g} ps: Li {mli[lag]:.2f} / O {mo[lag]:.3f} A2" for lag in lags))
        print(f"  Li D* ~ {dstar:.2e} cm2/s (slope {l1 * dt:g}-{l2 * dt:g} ps)")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
