#!/usr/bin/env python3
"""The spectral estimator's options on the long-reference pieces (development; session 15).

``analyse_pieces.py`` scores every method with its defaults.  This script reruns only the
spectral estimator on the same pieces (and its own rest-of-run references) with estimator
options changed, writes the raw rows next to ``--out``, and prints the coverage, bias and
width of the pieces against the spectral and the Bayes rest-of-run references beside the
committed default's, in the format of docs/long_reference.md (``scoring.score``).

    python studies/long_reference/spectral_variants.py --option relaxation_basis "'tracer'" \\
        --out /tmp/lr_tracer/results_pieces.csv.gz
    python studies/long_reference/spectral_variants.py --rows /tmp/lr_tracer/results_pieces.csv.gz   # score only

Session 15 (docs/spectral.md, "Session 15"): the relaxation column widens σ's intervals on
these real-MD pieces by 35-50 % (the collective's spectrum, shaped by the framework, is not
the tracer's relaxation), which is why it is not the default.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scoring  # noqa: E402

QN = {"D_tr": "D*", "sigma": "σ", "haven_ratio": "H_R"}


def table(rows: pd.DataFrame, committed: pd.DataFrame, label: str) -> None:
    pieces = rows[(rows.role == "piece") & (rows.method == "spectral") & (rows.variant == "default")]
    for ref_method, src in (("spectral", rows), ("bayes", committed)):
        refs = src[(src.role == "rest") & (src.variant == "default") & (src.method == ref_method)]
        s = scoring.score(pieces, refs, by=["length_ps", "quantity"])
        print(f"{label}, against the {ref_method} rest-of-run reference:")
        print("| piece | quantity | n | cov 95 % | cov 68 % | bias % (± se) | width 95 % / ref |")
        for _, r in s[s.quantity.isin(QN)].iterrows():
            print(f"| {r.length_ps:g} ps | {QN[r.quantity]} | {r.n} | {r.cov95:.2f} | {r.cov68:.2f} | "
                  f"{100 * r.bias:+.1f} (± {100 * r.bias_se:.1f}) | {r.width95:.2f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--option", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--out", type=Path, help="raw rows of the rerun (its meta file goes beside it)")
    ap.add_argument("--rows", type=Path, help="score these raw rows instead of running")
    a = ap.parse_args(argv)
    committed = pd.read_csv(HERE / "results_pieces.csv.gz")
    if a.rows is None:
        if a.out is None:
            ap.error("give --out (where the rerun's rows go) or --rows")
        if a.out.resolve() == (HERE / "results_pieces.csv.gz").resolve():
            ap.error("--out must not be the committed results file")
        from uncertainty_gk.estimators import spectral

        options = {k: ast.literal_eval(v) for k, v in a.option}
        unknown = set(options) - set(spectral.DEFAULTS)
        if unknown:
            ap.error(f"unknown spectral options {sorted(unknown)}")
        spectral.DEFAULTS.update(options)        # fit_spectral reads its defaults at call time
        import analyse_pieces

        analyse_pieces.METHODS[:] = ["spectral"]
        analyse_pieces.REFERENCE_METHODS[:] = ["spectral"]
        analyse_pieces.main(["--out", str(a.out)])
        rows_path = a.out
    else:
        rows_path = a.rows
    table(committed, committed, "committed default")
    table(pd.read_csv(rows_path), committed, f"{rows_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
