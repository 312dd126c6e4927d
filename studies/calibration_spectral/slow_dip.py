#!/usr/bin/env python3
"""A slow relaxation the shape model does not resolve: the tracer's spectrum with a low-frequency dip.

Real MD of the LPSO cell (docs/long_reference.md) is not diffusive on the scale of a 50-100 ps
piece: the whole-run tracer MSD slope falls from 1.07e-5 cm²/s at 2-5 ps lags to 0.74e-5 at
200-350 ps, i.e. the tracer increments' spectrum dips towards f = 0 over frequencies far below
the band the spectral estimator fits.  None of the calibration families has such a dip.  This
script makes one (session 22) and asks which estimator options follow it:

    S(f) = 1 - a / (1 + (f / f0)^2) + b exp(-((f - 2 THz) / 0.8 THz)^2)

per ion and axis (Gaussian increments drawn by filtering white noise: the level at f = 0 is
1 - a, a rattle bump at 2 THz), 3 seeds x ``--frames`` frames of 0.1 ps, ``--ions`` ions.
The truth is slope_tr = 3 (1 - a) var / dt, var the increments' white variance.  Prints per
variant the mean posterior median / truth, the mean log-s.e. (95 % half-width / 1.96), the mean
z² against the truth and the bands and orders chosen.

    python studies/calibration_spectral/slow_dip.py --replicas 8
    python studies/calibration_spectral/slow_dip.py --replicas 8 --variant warp10 warp=10.0 \\
        --variant win8 'order_window={"tr": 8, "P": 3}'

Randomness: numpy's default_rng(--seed) for the data, default_rng(replica) for the draws.
"""

from __future__ import annotations

import argparse
import ast

import numpy as np

from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral

DT_PS = 0.1
TRACER_SCALE = 0.3       # Å per unit white noise (tracer increments)
COLLECTIVE_SCALE = 3.0   # e·Å per unit white noise (polarisation increments)


def spectrum(f: np.ndarray, depth: float, corner_thz: float, bump: float) -> np.ndarray:
    return 1.0 - depth / (1.0 + (f / corner_thz) ** 2) + bump * np.exp(-((f - 2.0) / 0.8) ** 2)


def seed_series(rng: np.random.Generator, name: str, frames: int, ions: int, depth: float, corner_thz: float,
                bump: float) -> SpectralSeries:
    f = np.fft.rfftfreq(2 * frames, DT_PS)
    amp = np.sqrt(spectrum(f, depth, corner_thz, bump))

    def draw(shape: tuple) -> np.ndarray:
        w = np.fft.rfft(rng.standard_normal((2 * frames,) + shape), axis=0)
        return np.fft.irfft(w * amp.reshape((-1,) + (1,) * len(shape)), n=2 * frames, axis=0)[:frames]

    return SpectralSeries(name=name, dt_ps=DT_PS, tracer_increments=draw((ions, 3)) * TRACER_SCALE,
                          polarisation_increments=draw((3,)) * COLLECTIVE_SCALE)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--frames", type=int, default=1000, help="frames per seed (0.1 ps each)")
    ap.add_argument("--ions", type=int, default=40)
    ap.add_argument("--depth", type=float, default=0.12, help="a: relative depth of the dip at f = 0")
    ap.add_argument("--corner", type=float, default=0.03, help="f0 (THz): the dip's width")
    ap.add_argument("--bump", type=float, default=0.8, help="b: height of the rattle bump at 2 THz")
    ap.add_argument("--variant", nargs="+", action="append", default=[], metavar=("NAME", "OPTION=VALUE"),
                    help="a name and estimator options (Python literals); 'default' is always run")
    a = ap.parse_args(argv)
    variants = {"default": {}}
    for name, *opts in a.variant:
        variants[name] = {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in opts)}
    truth = 3 * (1 - a.depth) * TRACER_SCALE**2 / DT_PS
    rng = np.random.default_rng(a.seed)
    rows: dict[str, list] = {v: [] for v in variants}
    for r in range(a.replicas):
        seeds = [seed_series(rng, f"s{k}", a.frames, a.ions, a.depth, a.corner, a.bump) for k in range(3)]
        for name, opts in variants.items():
            fit = fit_spectral(seeds, rng=np.random.default_rng(r), n_draws=1000, band_check=False, **opts)
            m, lo, hi = fit.interval("slope_tr")
            se = (np.log(hi) - np.log(lo)) / (2 * 1.959964)
            rows[name].append((m / truth, se, np.log(m / truth) / se, fit.band["tr"]["band_fraction"],
                               fit.band["tr"]["level"]))
    print(f"truth slope_tr {truth:.4f}; dip depth {a.depth}, corner {a.corner} THz; {a.replicas} replicas of "
          f"3 x {a.frames * DT_PS:g} ps, {a.ions} ions")
    print("| variant | median / truth | log-s.e. | mean z² | bands | levels |")
    print("|---|---|---|---|---|---|")
    for name, x in rows.items():
        print(f"| {name} | {np.mean([y[0] for y in x]):.4f} | {np.mean([y[1] for y in x]):.4f} | "
              f"{np.mean([y[2] ** 2 for y in x]):.2f} | {' '.join(f'{y[3]:g}' for y in x)} | "
              f"{' '.join(str(y[4]) for y in x)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
