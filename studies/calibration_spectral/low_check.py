#!/usr/bin/env python3
"""Size and power of the spectral estimator's low-frequency check (issue 12, item 0; session 25).

``fit_spectral`` compares, per component, the lowest ``low_ordinates`` = 4 periodogram
ordinates (time scales beyond half the run), pooled over seeds and axes, with the fitted
spectrum there, and calls the result provisional when |z| > ``low_z`` = 3
(``fit.diagnostics["low_check"]``); since session 28 (``low_first``) the lowest ordinate
alone as well (``z_first``).  This script measures

* its **size** on the calibration families (``synthetic.INCREMENT_SCENARIOS``, diffusive
  by construction): z's mean and s.d. per family and component, and how many replicas
  it flags (a calibrated z is N(0, 1); the variance is an upper bound, so s.d. <= 1);
* its **power** against a relaxation slower than the run (``slow_dip.py``'s generator: a
  Lorentzian dip of the tracer's spectrum towards f = 0), with the estimate / truth it
  warns of.

    python studies/calibration_spectral/low_check.py size --first-seed 797200 --replicas 60 \\
        --scenarios hops_3x100ps brownian_3x50ps ... --raw studies/calibration_spectral/session25_low_check/size_A.npz
    python studies/calibration_spectral/low_check.py power --replicas 6 --depth 0.5 --corner 0.005 --ions 120

Randomness: the replica seed (``synthetic.increment_campaign(rng=seed)``) and
``numpy.random.default_rng(seed)`` for the draws; ``power``: ``default_rng(--seed)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import slow_dip  # noqa: E402

KEYS = ("slope_tr", "slope_P")


def size(a) -> int:
    scenarios = a.scenarios or sorted(synthetic.INCREMENT_SCENARIOS)
    raw = {}
    print("| family | replicas | tracer z: mean / s.d. / flagged | collective z: mean / s.d. / flagged "
          "| tracer z_first: mean / s.d. / flagged | collective z_first: mean / s.d. / flagged |")
    print("|---|---|---|---|---|---|")
    for sc in scenarios:
        z = np.full((a.replicas, 4), np.nan)
        for r in range(a.replicas):
            seed = a.first_seed + r
            camp = synthetic.increment_campaign(rng=seed, **synthetic.INCREMENT_SCENARIOS[sc])
            fit = fit_spectral([SpectralSeries(**s) for s in camp.seeds], rng=np.random.default_rng(seed),
                               n_draws=500, band_check=False, frame="lab")
            low = fit.diagnostics["low_check"]
            z[r] = [low.get(k, {}).get(name, np.nan) for name in ("z", "z_first") for k in KEYS]
        raw[sc] = z
        cells = [f"{np.nanmean(z[:, i]):+.2f} / {np.nanstd(z[:, i]):.2f} / {int(np.sum(np.abs(z[:, i]) > 3))}"
                 for i in range(4)]
        print(f"| {sc} | {a.replicas} | {' | '.join(cells)} |", flush=True)
    allz = np.concatenate(list(raw.values()))
    flagged = int(np.sum(np.any(np.abs(allz[:, :2]) > 3, axis=1)))
    either = int(np.sum(np.any(np.abs(allz) > 3, axis=1)))
    print(f"\npooled: {len(allz)} replicas, tracer z s.d. {np.nanstd(allz[:, 0]):.2f}, collective "
          f"{np.nanstd(allz[:, 1]):.2f}, tracer z_first s.d. {np.nanstd(allz[:, 2]):.2f}, collective "
          f"{np.nanstd(allz[:, 3]):.2f}; replicas flagged by the pooled check {flagged} "
          f"({100 * flagged / len(allz):.2f} %), by it or the first ordinate {either} ({100 * either / len(allz):.2f} %)")
    if a.raw:
        a.raw.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(a.raw, first_seed=a.first_seed, **raw)
    return 0


def power(a) -> int:
    rng = np.random.default_rng(a.seed)
    truth = 3 * (1 - a.depth) * slow_dip.TRACER_SCALE**2 / slow_dip.DT_PS
    print(f"dip depth {a.depth}, corner {a.corner} THz, 3 x {a.frames * slow_dip.DT_PS:g} ps, {a.ions} ions "
          f"(truth slope_tr {truth:.4f})")
    print("| replica | estimate / truth (95 %) | low-check z | lowest ordinates / fit | regime |")
    print("|---|---|---|---|---|")
    hits = 0
    for r in range(a.replicas):
        seeds = [slow_dip.seed_series(rng, f"s{k}", a.frames, a.ions, a.depth, a.corner, a.bump) for k in range(3)]
        fit = fit_spectral(seeds, rng=np.random.default_rng(r), n_draws=500, band_check=False)
        m, lo, hi = fit.interval("slope_tr")
        low = fit.diagnostics["low_check"]["slope_tr"]
        hits += abs(low["z"]) > 3 or low.get("z_first", 0.0) < -3
        print(f"| {r} | {m / truth:.3f} [{lo / truth:.3f}, {hi / truth:.3f}] | {low['z']:+.2f} "
              f"(first {low.get('z_first', np.nan):+.2f}) | {low['ratio']:.3f} | {fit.regime} |")
    print(f"\nflagged by the low-frequency check: {hits} of {a.replicas}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("size", help="z on the calibration families (diffusive by construction)")
    s.add_argument("--first-seed", type=int, required=True)
    s.add_argument("--replicas", type=int, default=60)
    s.add_argument("--scenarios", nargs="*", default=None)
    s.add_argument("--raw", type=Path, default=None, help="write every replica's z's here (.npz)")
    p = sub.add_parser("power", help="z against a relaxation slower than the run")
    p.add_argument("--replicas", type=int, default=6)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--frames", type=int, default=1000)
    p.add_argument("--ions", type=int, default=120)
    p.add_argument("--depth", type=float, default=0.5)
    p.add_argument("--corner", type=float, default=0.005, help="THz")
    p.add_argument("--bump", type=float, default=0.0, help="rattle bump at 2 THz (slow_dip.py's b)")
    a = ap.parse_args(argv)
    return size(a) if a.mode == "size" else power(a)


if __name__ == "__main__":
    raise SystemExit(main())
