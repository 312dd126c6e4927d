#!/usr/bin/env python3
"""Pool the raw results of several ``ablation.py --raw`` runs (one .npz per scenario).

For every variant and slope: per scenario "cov95/cov68/mean z²/bias of ln median %", then
over all scenarios pooled the coverages and the mean z² ± its s.e., and how many scenarios
have their 95 % / 68 % coverage in the target ranges (0.93-0.97 / 0.64-0.72):

    python studies/calibration_spectral/pool_ablation.py studies/calibration_spectral/session10_dev/round1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import cell  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    a = ap.parse_args(argv)
    files = sorted(a.folder.glob("*.npz"))
    if not files:
        raise SystemExit(f"{a.folder}: no .npz files (write them with ablation.py --raw)")
    data = {f.stem: np.load(f) for f in files}
    variants = list(dict.fromkeys(k.split("/")[0] for d in data.values() for k in d.files))
    for slope in ("slope_tr", "slope_P", "ratio"):
        print(f"\n### {slope}: per scenario cov95 / cov68 / mean z² / bias of ln median (%); pooled\n")
        print("| variant | " + " | ".join(data) + " | pooled cov95, cov68, z² | in range 95 / 68 |")
        print("|---" * (len(data) + 3) + "|")
        for v in variants:
            cells, pooled, inr = [], [], [0, 0]
            for d in data.values():
                if f"{v}/{slope}" not in d.files:
                    cells.append("-")
                    continue
                x = d[f"{v}/{slope}"]
                c95, c68, z2 = cell(x)
                pooled.append(x)
                inr[0] += 0.93 <= c95 <= 0.97
                inr[1] += 0.64 <= c68 <= 0.72
                cells.append(f"{c95:.2f} / {c68:.2f} / {z2.mean():.2f} / {100 * x[:, 2].mean():+.1f}")
            c95, c68, z2 = cell(np.concatenate(pooled))
            print(f"| {v} | " + " | ".join(cells) + f" | {c95:.3f}, {c68:.3f}, {z2.mean():.2f} ± "
                  f"{z2.std(ddof=1) / np.sqrt(len(z2)):.2f} | {inr[0]} / {inr[1]} of {len(pooled)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
