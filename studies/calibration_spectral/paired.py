#!/usr/bin/env python3
"""Two evaluation runs of the spectral estimator on the same replicas, compared replica by replica.

``run.py --set eval --seed-base S --outdir A`` and the same with other options and ``--outdir B``
fit the same replica seeds; the difference of their ln medians per replica is far more precise
than the difference of two biases (the replicas' own fluctuations cancel).  Prints one markdown
table: per scenario and quantity, the bias of ln median of A and of B, the paired shift B - A
(mean ± s.e. over replicas), the 95 % and 68 % coverage of each, and the ratio B / A of the 95 %
widths (of the means, and the median of the per-replica ratios, which one extreme interval
cannot move):

    python studies/calibration_spectral/paired.py studies/calibration_spectral/session9_level \\
        studies/calibration_spectral/session9_tracer_order
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_table import load  # noqa: E402

QUANT = [("D_tr", "D*"), ("sigma_tr", "σ_tr"), ("sigma", "σ"), ("haven_ratio", "H_R")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path, help="folder of the reference run's results_eval_*.csv.gz")
    ap.add_argument("b", type=Path, help="folder of the compared run's files (same seeds)")
    ap.add_argument("--quantities", nargs="*", default=["sigma", "haven_ratio"])
    a = ap.parse_args(argv)
    lines = [f"A = `{a.a.name}`, B = `{a.b.name}`; ln bias = mean of ln(median / truth) in %.", "",
             "| scenario | quantity | n | ln bias A | ln bias B | shift B - A | cov 95 A / B | cov 68 A / B "
             "| w95 B / A (means) | w95 B / A (median ratio) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for fa in sorted(a.a.glob("results_eval_*.csv.gz")):
        fb = a.b / fa.name
        if not fb.exists():
            continue
        ra, rb = load(fa), load(fb)
        for q, label in QUANT:
            if q not in a.quantities:
                continue
            ia = {r["seed"]: r for r in ra if r["quantity"] == q}
            ib = {r["seed"]: r for r in rb if r["quantity"] == q}
            seeds = sorted(set(ia) & set(ib))

            def col(rows, key, seeds=seeds):
                return np.array([float(rows[s][key]) for s in seeds])

            t = col(ia, "truth")
            la, lb = np.log(col(ia, "median") / t), np.log(col(ib, "median") / t)
            d = 100 * (lb - la)
            cov = {k: [np.mean((col(r, "lo" + k) <= t) & (t <= col(r, "hi" + k))) for r in (ia, ib)] for k in ("95", "68")}
            wa, wb = col(ia, "hi95") - col(ia, "lo95"), col(ib, "hi95") - col(ib, "lo95")
            lines.append(f"| {fa.name[len('results_eval_'):-len('.csv.gz')]} | {label} | {len(seeds)} | {100 * la.mean():+.2f} "
                         f"| {100 * lb.mean():+.2f} | {d.mean():+.2f} ± {d.std(ddof=1) / np.sqrt(len(d)):.2f} "
                         f"| {cov['95'][0]:.2f} / {cov['95'][1]:.2f} | {cov['68'][0]:.2f} / {cov['68'][1]:.2f} "
                         f"| {wb.mean() / wa.mean():.3f} | {np.median(wb / wa):.3f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
