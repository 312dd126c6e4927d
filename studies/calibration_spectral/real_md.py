#!/usr/bin/env python3
"""The spectral estimator on real LAMMPS MD of the LPSO cell (issue 12, items 0 and 5).

    python studies/calibration_spectral/real_md.py /work/shared/data/lammps/lpso_T1000/dump.T1000_s{1,2,3}.lammpstrj
    python studies/calibration_spectral/real_md.py --segments studies/long_reference/runs/s{1,2,3}

Reads ``id type xu yu zu`` dumps (plain or gzipped; with ``--segments`` the consecutive
``seg*/dump.lammpstrj.gz`` of each seed directory are concatenated), builds per seed the
framework-relative Li increments (framework = all non-Li atoms, |q|-weighted centre) and
the polarisation increments with the Pedone partial charges (Li 0.6, P 3.0, Si 2.4,
O -1.2; types 1 Li, 2 P, 3 O, 4 Si), and reports the spectral estimate of D*, σ and H_R,
its regime check, the information width, and how the estimate moves when the band or
the model order is changed (the "does it move beyond its s.e." check of item 0).
With ``--pieces PS`` the seeds are cut into pieces of PS ps analysed as independent
campaigns, against the whole run as reference.  ``--option NAME VALUE`` changes an option
of every fit (the estimator's defaults), e.g. ``--option relaxation_basis "'tracer'"``.
Never copies the data.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import sys
from pathlib import Path

import numpy as np

from uncertainty_gk import units
from uncertainty_gk.estimators import spectral
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral, series_from_current

CHARGE = {1: 0.6, 2: 3.0, 3: -1.2, 4: 2.4}
TEMPERATURE_K = 1000.0
TIMESTEP_PS = 0.001


def read_dump(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(steps (T,), types (N,), positions (T, N, 3), box lengths (T, 3)) of a sorted dump."""
    opener = gzip.open if str(path).endswith(".gz") else open
    steps, frames, boxes, types = [], [], [], None
    with opener(path, "rt") as fh:
        while True:
            line = fh.readline()
            if not line:
                break
            if line.startswith("ITEM: TIMESTEP"):
                steps.append(int(fh.readline()))
            elif line.startswith("ITEM: NUMBER OF ATOMS"):
                n = int(fh.readline())
            elif line.startswith("ITEM: BOX BOUNDS"):
                b = [list(map(float, fh.readline().split()[:2])) for _ in range(3)]
                boxes.append([hi - lo for lo, hi in b])
            elif line.startswith("ITEM: ATOMS"):
                a = np.loadtxt([fh.readline() for _ in range(n)])
                a = a[np.argsort(a[:, 0])]
                types = a[:, 1].astype(int)
                frames.append(a[:, 2:5])
    return np.array(steps), types, np.array(frames), np.array(boxes)


def seed_series(name: str, steps, types, pos) -> SpectralSeries:
    q = np.array([CHARGE[t] for t in types])
    li = types == 1
    fw = ~li
    w = np.abs(q[fw]) / np.abs(q[fw]).sum()
    centre = np.einsum("tnk,n->tk", pos[:, fw], w)
    rel = pos[:, li] - centre[:, None, :]
    P = np.einsum("tnk,n->tk", pos, q)
    dt = float(np.median(np.diff(steps))) * TIMESTEP_PS
    return SpectralSeries(name=name, dt_ps=dt, tracer_increments=np.diff(rel, axis=0),
                          polarisation_increments=np.diff(P, axis=0))


def _relaxation_note(fit) -> str:
    tau = fit.band["tr"].get("relaxation_time_ps")
    return "" if tau is None else f"relaxation τ {tau:.3g} ps | "


def summary(fit, n_li: int, volume: float, label: str) -> dict:
    fac = units.conductivity_prefactor_S_per_cm(volume, TEMPERATURE_K)
    D = fit.draws["slope_tr"].ravel() / 6 * units.A2_PER_PS_TO_CM2_PER_S
    sig = fit.draws["slope_P"].ravel() / 6 * fac
    sig_tr = n_li * 0.6**2 * fit.draws["slope_tr"].ravel() / 6 * fac
    hr = sig_tr / sig
    out = {}
    for k, x in (("D*", D), ("sigma", sig), ("H_R", hr)):
        lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975])
        out[k] = (med, lo, hi)
    print(f"{label:28s} D* {out['D*'][0]:.3e} [{out['D*'][1]:.3e}, {out['D*'][2]:.3e}] cm2/s | "
          f"sigma {out['sigma'][0]:.3f} [{out['sigma'][1]:.3f}, {out['sigma'][2]:.3f}] S/cm | "
          f"H_R {out['H_R'][0]:.2f} [{out['H_R'][1]:.2f}, {out['H_R'][2]:.2f}] | width/CRB sigma "
          f"{fit.width_over_crb['slope_P']:.2f} | order tr/P {fit.band['tr']['level']}/{fit.band['P']['level']} | "
          f"band tr/P {fit.band['tr']['band_fraction']:g}/{fit.band['P']['band_fraction']:g} | "
          f"{_relaxation_note(fit)}"
          f"{fit.regime}{': ' + fit.regime_reason if fit.regime_reason else ''} | "
          f"tracer κ4 per increment {np.round(fit.diagnostics['fourth_cumulant'], 5).tolist()} Å⁴", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--segments", action="store_true", help="paths are seed directories of seg*/dump.lammpstrj.gz")
    ap.add_argument("--pieces", type=float, default=None, help="also analyse pieces of this many ps")
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="estimator option (a Python literal) for every fit")
    a = ap.parse_args(argv)
    options = {k: ast.literal_eval(v) for k, v in a.option}
    unknown = set(options) - set(spectral.DEFAULTS)
    if unknown:
        ap.error(f"unknown spectral options {sorted(unknown)}")
    spectral.DEFAULTS.update(options)       # fit_spectral reads its defaults at call time
    seeds, vols, n_li, currents = [], [], None, []
    for p in a.paths:
        if a.segments:
            parts = [read_dump(d / "dump.lammpstrj.gz") for d in sorted(p.glob("seg*")) if (d / "dump.lammpstrj.gz").exists()]
            if not parts:
                continue
            steps = np.concatenate([x[0] for x in parts])
            types = parts[0][1]
            pos = np.concatenate([x[2] for x in parts])
            box = np.concatenate([x[3] for x in parts])
            cur = [np.loadtxt(d / "current.dat.gz") for d in sorted(p.glob("seg*"))
                   if (d / "current.dat.gz").exists() and (d / "dump.lammpstrj.gz").exists()]
            if cur:
                c = np.concatenate(cur)
                _, first = np.unique(c[:, 0], return_index=True)     # boundary steps appear twice
                c = c[np.sort(first)]
                currents.append((p.name, c))
        else:
            steps, types, pos, box = read_dump(p)
        seeds.append(seed_series(p.name, steps, types, pos))
        vols.append(float(np.mean(np.prod(box, axis=1))))
        n_li = int(np.sum(types == 1))
        print(f"{p}: {len(steps)} frames, dt {seeds[-1].dt_ps:g} ps, {seeds[-1].dt_ps * (len(steps) - 1):g} ps", flush=True)
    V = float(np.mean(vols))
    rng = np.random.default_rng(0)
    summary(fit_spectral(seeds, rng=rng), n_li, V, "default")
    for opt in ({"band_fraction": 0.5}, {"band_fraction": 0.25}, {"order_z": 1.0}, {"order_z": 2.5},
                {"kurtosis_correction": False}):
        summary(fit_spectral(seeds, rng=np.random.default_rng(0), **opt), n_li, V, str(opt))
    if currents:
        dtJ = float(np.median(np.diff(currents[0][1][:, 0]))) * TIMESTEP_PS
        block = max(1, int(round(seeds[0].dt_ps / dtJ)))
        cs = [series_from_current(c[:, 1:4], dtJ, block, name=name) for name, c in currents]
        fit = fit_spectral(cs, rng=np.random.default_rng(0))
        fac = units.conductivity_prefactor_S_per_cm(V, TEMPERATURE_K)
        lo, med, hi = np.quantile(fit.draws["slope_P"].ravel() / 6 * fac, [0.025, 0.5, 0.975])
        print(f"{'current route (J every ' + format(dtJ * 1000, 'g') + ' fs)':28s} sigma {med:.3f} [{lo:.3f}, {hi:.3f}] S/cm | "
              f"{fit.regime}{': ' + fit.regime_reason if fit.regime_reason else ''}", flush=True)
    if a.pieces:
        n = int(round(a.pieces / seeds[0].dt_ps))
        n_pieces = min(s.polarisation_increments.shape[0] for s in seeds) // n
        for k in range(n_pieces):
            cut = [SpectralSeries(name=f"{s.name}[{k}]", dt_ps=s.dt_ps, tracer_increments=s.tracer_increments[k * n:(k + 1) * n],
                                  polarisation_increments=s.polarisation_increments[k * n:(k + 1) * n]) for s in seeds]
            summary(fit_spectral(cut, rng=np.random.default_rng(k)), n_li, V, f"piece {k} ({a.pieces:g} ps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
