#!/usr/bin/env python3
"""Which part of a level's variance makes an interval too wide or too narrow (issue 12, session 23).

Each seed's ln slope y_s of a component carries a variance made of three parts: the Whittle
(Fisher) sampling variance ``var_s`` (for the tracer with its fourth-cumulant term), the
model-order allowance (``var - var_s``: the squared shift to the next order), and, on pooling,
the seed random effect τ².  For replicas of a synthetic scenario with a known truth this script
captures every seed's (y_s, var_s, var) as the estimator pools them and scores the pooled
estimate ȳ (the mean over seeds weighted by length) against the truth with three variances:

    sampling   Σ w_s² var_s            (no allowance, no τ)
    + allow    Σ w_s² var_s + allowance (the estimator without the random effect)
    reported   the 68 % half-width of the estimator's own interval (all three parts)

and prints for each the mean z² (1 for a calibrated variance) with the share of the reported
variance each part takes.  z² well below 1 with the sampling part alone says the Fisher
variance itself is too large; near 1 there and below 1 with the allowance says the allowance
over-states the order's uncertainty; and so on.

    python studies/calibration_spectral/variance_parts.py --scenario pairs_hr05_3x300ps --first-seed 794100 --replicas 40

Randomness: the replica's data from its seed (``synthetic.increment_campaign``), the draws from
default_rng(10000 + seed), as ``ablation.py``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import replica  # noqa: E402

from uncertainty_gk.estimators import spectral  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=40)
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="an estimator option (a Python literal)")
    a = ap.parse_args(argv)
    opts = {k: ast.literal_eval(v) for k, v in a.option}
    captured: list = []
    original = spectral._common_seed_variances

    def spy(seed_sum, lengths, comps, opt):
        original(seed_sum, lengths, comps, opt)
        captured.append(([{c: dict(s[c]) for c in comps} for s in seed_sum], list(lengths)))

    spectral._common_seed_variances = spy
    rows = {c: [] for c in ("tr", "P")}
    try:
        for r in range(a.replicas):
            seed = a.first_seed + r
            series, truth = replica(a.scenario, seed)
            captured.clear()
            # the cell's frame: the estimate itself (the principal frame only adds a second fit for the axes)
            fit = spectral.fit_spectral(series, rng=np.random.default_rng(10000 + seed), band_check=False,
                                        **{"frame": "lab", **opts})
            (seeds, lengths), = captured
            w = np.asarray(lengths, dtype=float)
            w /= w.sum()
            for c, key in (("tr", "slope_tr"), ("P", "slope_P")):
                y = np.array([s[c]["y"] for s in seeds])
                vs = np.array([s[c]["var_s"] for s in seeds])
                va = np.array([s[c]["var"] for s in seeds])
                err = float(w @ y - np.log(truth[key]))
                med, lo, hi = fit.interval(key, 0.68)
                half = 0.5 * (np.log(hi) - np.log(lo))
                rows[c].append((err, float(w**2 @ vs), float(w**2 @ va), half**2, np.log(med / truth[key])))
    finally:
        spectral._common_seed_variances = original
    print(f"`{a.scenario}`, seeds {a.first_seed}-{a.first_seed + a.replicas - 1}, options {opts or 'default'}\n")
    print("| component | bias of ȳ % | z² sampling | z² + allowance | z² reported (own median) | sampling / reported | allowance / reported |")
    print("|---|---|---|---|---|---|---|")
    for c, name in (("tr", "tracer"), ("P", "collective")):
        e, vs, va, rep, emed = map(np.array, zip(*rows[c]))
        print(f"| {name} | {100 * e.mean():+.2f} ± {100 * e.std(ddof=1) / np.sqrt(len(e)):.2f} | {np.mean(e**2 / vs):.2f} | "
              f"{np.mean(e**2 / va):.2f} | {np.mean(emed**2 / rep):.2f} | {np.mean(vs / rep):.2f} | {np.mean((va - vs) / rep):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
