#!/usr/bin/env python3
"""Two runs of ``fast_test_z.py --out`` (or two ``run.py`` results files of one scenario, or
two folders of them) on the same replicas, compared replica by replica (development only).

For each quantity and each kind of replica (independent walkers, H_R = 1; rigid pairs,
H_R = 0.5) prints, for both runs, the bias of ln median (in % and in units of the
posterior s.d., i.e. mean z) with its standard error, the mean of median/truth - 1 and
the mean posterior s.d. of ln (results files of ``run.py``: per scenario instead of
per kind; two folders: one Markdown table row per scenario and quantity, see below); then, paired, how many replicas the second run changed,
the mean shift of ln median on those, their width ratio, and the first run's mean z on
the changed and on the unchanged replicas (does the change correct an error the first
run made there?).

    python studies/calibration_spectral/fast_test_z.py --first-seed 795120 --replicas 240 --out a.csv
    python studies/calibration_spectral/fast_test_z.py --first-seed 795120 --replicas 240 --out b.csv \\
        --option collective_order "'tracer_bias'"
    python studies/calibration_spectral/paired_z.py a.csv b.csv

Session 15's files (studies/calibration_spectral/session15_fast_test/, seeds 795120+:
``ftd`` default, ``ftt`` collective_order="tracer_bias", ``ftr2`` relaxation_basis="tracer";
``ft600_relax`` the relaxation option on the fast test's own seeds 600000-600059):

    python studies/calibration_spectral/paired_z.py studies/calibration_spectral/session15_fast_test/ftd_795120.csv.gz \
        studies/calibration_spectral/session15_fast_test/ftt_795120.csv.gz

Session 16's adoption of the relaxation column: the session-12 estimator
(``session16_default_same_replicas/``) against the new default (the study root), both on
replicas 696000-696299 (coverage from the stored 95 % and 68 % bounds):

    python studies/calibration_spectral/paired_z.py studies/calibration_spectral/session16_default_same_replicas \
        studies/calibration_spectral
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def _summary(label: str, g: pd.DataFrame) -> str:
    ln = np.log(g["median"] / g["truth"])
    s = np.log(g["upper"] / g["lower"]) / (2 * Z95)
    z = ln / s
    n = len(g)
    return (f"{label}: ln bias {100 * ln.mean():+.2f} ± {100 * ln.std(ddof=1) / np.sqrt(n):.2f} %, "
            f"mean z {z.mean():+.3f} ± {z.std(ddof=1) / np.sqrt(n):.3f}, mean z² {np.mean(z**2):.3f}, "
            f"ratio - 1 {100 * (np.exp(ln).mean() - 1):+.2f} %, mean s.d. of ln {s.mean():.3f}")


def _normalised(d: pd.DataFrame) -> pd.DataFrame:
    """A ``run.py`` results file (one scenario, 95 % bounds ``lo95``/``hi95``) in the
    columns of a ``fast_test_z.py --out`` file; the latter unchanged."""
    if "lo95" in d:
        d = d.rename(columns={"lo95": "lower", "hi95": "upper"})
    return d


def _paired(path1, path2) -> pd.DataFrame:
    """Rows of two results files merged replica by replica (same generator checked)."""
    x, y = (_normalised(pd.read_csv(p)) for p in (path1, path2))
    m = x.merge(y, on=["replica", "quantity"], suffixes=("_1", "_2"))
    if m.empty:
        raise SystemExit(f"{path1} and {path2} share no replica ({len(x)} and {len(y)} rows)")
    if len(m) != len(x) or len(m) != len(y):
        print(f"(the replicas both files hold: {len(m)} rows of {len(x)} and {len(y)})")
    if not np.allclose(m["truth_1"], m["truth_2"]):
        raise SystemExit(f"{path1} and {path2} hold different truths for the same replica: not the same generator")
    return m


def _folders(d1: Path, d2: Path) -> int:
    """Every scenario whose results file both folders hold: one Markdown row per scenario
    and quantity, the second run against the first on the same replicas."""
    names = sorted({p.name for p in d1.glob("results_*.csv.gz")} & {p.name for p in d2.glob("results_*.csv.gz")})
    if not names:
        raise SystemExit(f"{d1} and {d2} hold no results file of the same name")
    print("| scenario | quantity | n | ln shift % (± se) | width ratio | mean z: 1 -> 2 | mean z²: 1 -> 2 "
          "| cov 95 %: 1 -> 2 | cov 68 %: 1 -> 2 |")
    print("|---|---|---|---|---|---|---|---|---|")
    label = {"D_tr": "D*", "sigma_tr": "σ_tr", "sigma": "σ", "haven_ratio": "H_R"}
    for name in names:
        m = _paired(d1 / name, d2 / name)
        for q in ("D_tr", "sigma", "haven_ratio"):
            g = m[m["quantity"] == q]
            s1, s2 = (np.log(g[f"upper_{k}"] / g[f"lower_{k}"]) / (2 * Z95) for k in "12")
            z1, z2 = (np.log(g[f"median_{k}"] / g[f"truth_{k}"]) / s for k, s in zip("12", (s1, s2)))
            shift = np.log(g["median_2"] / g["median_1"])
            n = len(g)
            c95 = [np.mean((g[f"lower_{k}"] <= g[f"truth_{k}"]) & (g[f"truth_{k}"] <= g[f"upper_{k}"])) for k in "12"]
            c68 = [np.mean((g[f"lo68_{k}"] <= g[f"truth_{k}"]) & (g[f"truth_{k}"] <= g[f"hi68_{k}"])) for k in "12"]
            print(f"| {name[13:-7]} | {label[q]} | {n} | {100 * shift.mean():+.2f} (± {100 * shift.std(ddof=1) / np.sqrt(n):.2f}) "
                  f"| {np.mean(s2 / s1):.3f} | {z1.mean():+.3f} -> {z2.mean():+.3f} | {np.mean(z1**2):.2f} -> {np.mean(z2**2):.2f} "
                  f"| {c95[0]:.3f} -> {c95[1]:.3f} | {c68[0]:.3f} -> {c68[1]:.3f} |")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first")
    ap.add_argument("second")
    a = ap.parse_args(argv)
    if Path(a.first).is_dir() and Path(a.second).is_dir():
        return _folders(Path(a.first), Path(a.second))
    m = _paired(a.first, a.second)
    if "scenario_1" in m:
        m["kind"] = m["scenario_1"]
    else:
        m["kind"] = np.where(m["haven_ratio_1"] > 0.75, "independent", "pairs")
    for (q, kind), g in m.groupby(["quantity", "kind"]):
        print(f"{q}, {kind} (n = {len(g)})")
        for k in ("1", "2"):
            cols = {f"{c}_{k}": c for c in ("median", "lower", "upper", "truth")}
            print("  " + _summary(f"run {k}", g[list(cols)].rename(columns=cols)))
        shift = np.log(g["median_2"] / g["median_1"])
        width = np.log(g["upper_2"] / g["lower_2"]) / np.log(g["upper_1"] / g["lower_1"])
        z1 = np.log(g["median_1"] / g["truth_1"]) / (np.log(g["upper_1"] / g["lower_1"]) / (2 * Z95))
        changed = (np.abs(shift) > 1e-9) | (np.abs(width - 1) > 1e-9)
        if changed.any():
            print(f"  changed {changed.sum()}/{len(g)}: ln shift {100 * shift[changed].mean():+.2f} %, "
                  f"width ratio {width[changed].mean():.3f} (all: {width.mean():.3f}); run 1's mean z "
                  f"{z1[changed].mean():+.2f} there, {z1[~changed].mean() if (~changed).any() else np.nan:+.2f} elsewhere")
        else:
            print("  no replica changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
