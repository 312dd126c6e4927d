#!/usr/bin/env python3
"""The tracer-collective correlation: the errors' against the one the intervals imply (issue 12, session 21).

    python studies/calibration_spectral/joint_from_raw.py [FOLDER]

From the committed per-replica results of an evaluation (``results_eval_*.csv.gz`` in FOLDER,
default this study's folder): per scenario family, the correlation across replicas of the
errors ln(median / truth) of D* and σ, against the correlation the intervals imply, ρ =
(s_tr² + s_P² - s_H²) / (2 s_tr s_P) with s the 68 % log half-widths of D*, σ and H_R (median
over replicas), and each quantity's error s.d. beside its modelled s.d. (root mean square of
s).  H_R = σ_tr / σ: a modelled correlation below the errors' widens H_R's interval.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else HERE
    files = sorted(folder.glob("results_eval_*.csv.gz"))
    if not files:
        print(f"no results_eval_*.csv.gz in {folder}", file=sys.stderr)
        return 1
    print("| family | errors' correlation | intervals' correlation | s.d. D*: errors / model | σ | H_R |")
    print("|---|---|---|---|---|---|")
    for f in files:
        df = pd.read_csv(f)
        g = {q: df[df.quantity == q].set_index("replica") for q in ("D_tr", "sigma", "haven_ratio")}
        e = {q: np.log(g[q]["median"] / g[q].truth) for q in g}
        s = {q: np.log(g[q].hi68 / g[q].lo68) / 2 for q in g}
        emp = float(np.corrcoef(e["D_tr"], e["sigma"])[0, 1])
        model = float(np.median((s["D_tr"] ** 2 + s["sigma"] ** 2 - s["haven_ratio"] ** 2) / (2 * s["D_tr"] * s["sigma"])))
        sds = " | ".join(f"{e[q].std():.4f} / {np.sqrt(np.mean(s[q] ** 2)):.4f}" for q in ("D_tr", "sigma", "haven_ratio"))
        print(f"| {df.scenario.iloc[0]} | {emp:+.3f} | {model:+.3f} | {sds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
