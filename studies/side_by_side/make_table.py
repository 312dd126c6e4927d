#!/usr/bin/env python3
"""docs/side_by_side.md from the committed raw rows of compare.py (never edit the doc).

    python studies/side_by_side/make_table.py [--check]

Reads ``results_synthetic_*.csv.gz``, ``results_real.csv.gz`` and ``versions.json`` here,
and our own rows for the real pieces from ``studies/long_reference/results_pieces.csv.gz``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "studies" / "long_reference"))

import scoring  # noqa: E402

DOC = ROOT / "docs" / "side_by_side.md"
PIECES = ROOT / "studies" / "long_reference" / "results_pieces.csv.gz"
QN = {"D_tr": "D*", "sigma_tr": "σ_tr", "sigma": "σ", "haven_ratio": "H_R"}
TOOLS = ["ugk_spectral", "ugk_bayes", "stacie", "stacie_even", "sportran", "sportran_f1", "kinisi"]
LABEL = {"ugk_spectral": "ours (spectral)", "ugk_bayes": "ours (bayes, the former default)", "stacie": "STACIE", "stacie_even": "STACIE (even model [0, 2])",
         "sportran": "sportran (J)", "sportran_f1": "sportran (J, F* = 1 THz)", "kinisi": "kinisi"}


def synthetic_table() -> tuple[list[str], list[str]]:
    files = sorted(HERE.glob("results_synthetic_*.csv.gz"))
    if not files:
        return ["(no synthetic results yet)"], []
    d = pd.concat([pd.read_csv(f).assign(file=f.name) for f in files])
    dup = d[d.duplicated(["scenario", "replica", "tool", "quantity"], keep=False)]
    if len(dup):
        raise SystemExit(f"the same replica and tool in several files ({sorted(set(dup.file))}): delete the stale ones")
    d["cov95"] = (d.lo95 <= d.truth) & (d.truth <= d.hi95)
    d["cov68"] = (d.lo68 <= d.truth) & (d.truth <= d.hi68)
    d["rel"] = d["median"] / d.truth - 1
    d["width"] = (d.hi95 - d.lo95) / d.truth
    d["tool"] = pd.Categorical(d.tool, TOOLS, ordered=True)
    d["quantity"] = pd.Categorical(d.quantity, list(QN), ordered=True)
    g = d.groupby(["scenario", "quantity", "tool"], observed=True, sort=True)
    s = g.agg(n=("rel", "size"), cov95=("cov95", "mean"), cov68=("cov68", "mean"), bias=("rel", "mean"),
              sd=("rel", "std"), width=("width", "mean"), sec=("seconds", "mean")).reset_index()
    lines = ["| scenario | quantity | tool | n | cov 95 % | cov 68 % | bias % (± se) | width 95 % / truth | "
             "s per analysis |", "|---|---|---|---|---|---|---|---|---|"]
    for _, r in s.iterrows():
        lines.append(f"| {r.scenario} | {QN[r.quantity]} | {LABEL[r.tool]} | {r.n} | {r.cov95:.2f} | {r.cov68:.2f} | "
                     f"{100 * r.bias:+.1f} (± {100 * r.sd / np.sqrt(r.n):.1f}) | {r.width:.3f} | {r.sec:.2f} |")
    # pooled over scenarios, per tool and quantity
    p = d.groupby(["quantity", "tool"], observed=True).agg(
        n=("rel", "size"), cov95=("cov95", "mean"), cov68=("cov68", "mean"), width=("width", "mean"),
        sec=("seconds", "mean")).reset_index()
    pooled = ["| quantity | tool | n | cov 95 % | cov 68 % | mean width 95 % / truth | s per analysis |",
              "|---|---|---|---|---|---|---|"]
    for _, r in p.iterrows():
        pooled.append(f"| {QN[r.quantity]} | {LABEL[r.tool]} | {r.n} | {r.cov95:.2f} | {r.cov68:.2f} | {r.width:.3f} | "
                      f"{r.sec:.2f} |")
    pooled += [""]
    for q in QN:
        x = p[p.quantity == q]
        ok = x[(x.cov95 >= 0.93) & (x.cov95 <= 0.97) & (x.cov68 >= 0.64) & (x.cov68 <= 0.72)]
        best = ok.sort_values("width").iloc[0] if len(ok) else None
        pooled.append(f"* {QN[q]}: pooled coverage inside both targets (95 %: 0.93-0.97, 68 %: 0.64-0.72) for "
                      + (", ".join(LABEL[t] for t in ok.tool) if len(ok) else "no tool")
                      + (f"; narrowest of these: {LABEL[best.tool]} (mean width {best.width:.3f})." if best is not None
                         else "."))
    return lines, pooled


def real_rows() -> pd.DataFrame:
    parts = []
    f = HERE / "results_real.csv.gz"
    if f.exists():
        parts.append(pd.read_csv(f))
    if PIECES.exists():
        ours = pd.read_csv(PIECES)
        ours = ours[(ours.variant == "default") & ours.method.isin(["spectral", "bayes"]) & (ours.role != "rest")]
        if parts:   # the same pieces (identical frames) as the other tools analysed; our whole run stays ours
            ours = ours[ours.campaign.isin(set(parts[0].campaign)) | (ours.role == "whole")]
        parts.append(ours.assign(tool="ugk_" + ours.method)[["campaign", "role", "length_ps", "piece", "tool",
                                                             "quantity", "median", "lo95", "hi95", "lo68", "hi68",
                                                             "seconds"]])
    return pd.concat(parts) if parts else pd.DataFrame()


def real_table(d: pd.DataFrame, ref_method: str) -> list[str]:
    refs = pd.read_csv(PIECES)
    refs = refs[(refs.role == "rest") & (refs.variant == "default") & (refs.method == ref_method)]
    s = scoring.score(d[d.role == "piece"], refs, by=["length_ps", "quantity", "tool"])
    s["tool"] = pd.Categorical(s.tool, TOOLS, ordered=True)
    s["quantity"] = pd.Categorical(s.quantity, list(QN), ordered=True)
    s = s.sort_values(["length_ps", "quantity", "tool"])
    lines = ["| piece | quantity | tool | n | cov 95 % | cov 68 % | bias % (± se) | width 95 % / ref |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in s.iterrows():
        lines.append(f"| {r.length_ps:g} ps | {QN[r.quantity]} | {LABEL[r.tool]} | {r.n} | {r.cov95:.2f} | "
                     f"{r.cov68:.2f} | {100 * r.bias:+.1f} (± {100 * r.bias_se:.1f}) | {r.width95:.2f} |")
    return lines


def whole_table(d: pd.DataFrame) -> list[str]:
    w = d[d.role == "whole"]
    lines = ["| tool | D* (1e-5 cm²/s) | σ_tr (S/cm) | σ (S/cm) | H_R | s |", "|---|---|---|---|---|---|"]
    for t in TOOLS:
        g = w[w.tool == t].set_index("quantity")
        if g.empty:
            continue
        cells = []
        for q in QN:
            if q not in g.index:
                cells.append("-")
                continue
            r, s = g.loc[q], (1e5 if q == "D_tr" else 1.0)
            cells.append(f"{r['median'] * s:.3f} [{r.lo95 * s:.3f}, {r.hi95 * s:.3f}]")
        lines.append(f"| {LABEL[t]} | " + " | ".join(cells) + f" | {g.seconds.iloc[0]:.1f} |")
    return lines


def render() -> str:
    v = json.loads((HERE / "versions.json").read_text())
    syn, pooled = synthetic_table()
    d = real_rows()
    meta_f = HERE / "results_real_meta.json"
    meta = json.loads(meta_f.read_text()) if meta_f.exists() else {}
    n_syn = sorted({f.name for f in HERE.glob("results_synthetic_*.csv.gz")})
    out = [
        "# Side by side: ours, STACIE, sportran and kinisi on the same data (generated)", "",
        "Generated by `studies/side_by_side/make_table.py` from the committed raw rows "
        f"(`results_synthetic_<scenario>_<tool>.csv.gz`, {len(n_syn)} files, and `results_real.csv.gz` in "
        "`studies/side_by_side/`; our real-MD "
        "rows from `studies/long_reference/results_pieces.csv.gz`); do not edit by hand.  Issue 12, item 6.  "
        "This replaces the older kinisi-only comparison (`studies/kinisi_comparison/`, removed).", "",
        "Versions: " + ", ".join(f"{k} {x}" for k, x in v.items()) + ".  The other tools are not dependencies of "
        "uncertainty_gk; they run in a study venv:", "",
        "```sh",
        "python3 -m venv /work/sidevenv && /work/sidevenv/bin/pip install kinisi stacie sportran "
        "&& /work/sidevenv/bin/pip install -e .",
        "nice -n 10 /work/sidevenv/bin/python studies/side_by_side/compare.py synthetic --replicas 40",
        "nice -n 10 /work/sidevenv/bin/python studies/side_by_side/" + meta.get("command", "compare.py real"),
        "/work/sidevenv/bin/python studies/side_by_side/make_table.py", "```", "",
        "## How each tool was called", "",
        "Exactly as documented by each tool (details and the reasons in the docstrings of "
        "`studies/side_by_side/tools.py` and `compare.py`):", "",
        "* **ours (spectral)**: `fit_spectral` with its defaults on the framework-relative Li increments and the "
        "polarisation increments; joint draws give D*, σ_tr, σ and H_R.",
        "* **STACIE**: `compute_spectrum` of the block-averaged velocities Δr/Δt (every ion and axis of every seed) "
        "and of the block-averaged current ΔP/Δt (every axis of every seed), `include_zero_freq=False`, "
        "`estimate_acint` with `ExpPolyModel([0, 1, 2])` (its recipe for D and σ from positions); variant **even model**: `ExpPolyModel([0, 2])`, which its theory "
        "page advises for spectra with a vanishing derivative at zero frequency (true here); interval "
        "log-normal from `log_acint_std`; H_R from the two separate estimates.",
        "* **sportran**: `ElectricCurrent(J, DT_FS, UNITS='metal', ...)` with the seeds' Cartesian components as "
        "equivalent components, `cepstral_analysis()` (AIC); synthetic: J = ΔP/Δt at the frame interval; real "
        "MD: the dense current (5 fs) resampled to F* = 5 THz (the band of our positions route); variant "
        "**F* = 1 THz**: resampled to the lowest 1 THz (sportran's usual advice is to choose F* by eye below the "
        "first spectral features; 1 THz is one such choice, fixed in advance).  σ only.  (sportran 1.0.0rc4 calls `np.trapz`, "
        "gone in numpy 2.4; the study aliases it to `np.trapezoid`.)",
        "* **kinisi**: `DiffusionAnalyzer` / `ConductivityAnalyzer.from_ase`, `dtype='identical'`, "
        "`system_particles` = seeds, default Bayesian regression, dt = 100 lags up to the full run, fit from 5 ps "
        "(synthetic) or from the start of our automatic MSD window (real); H_R by pairing its D* and σ draws "
        "at random.", "",
        "## Synthetic replicas (truth known)", "",
        "The evaluation replicas of `studies/calibration_spectral` (seeds 500000 + r, "
        "`synthetic.INCREMENT_SCENARIOS`), the same replicas for every tool.  Coverage = share of replicas whose "
        "interval contains the truth (binomial s.e. 0.034 for a 0.95 coverage at n = 40); bias = mean "
        "median/truth − 1; width = mean 95 % width / truth; time = wall seconds of the tool's own analysis on a "
        "shared, loaded machine (relative numbers only; kinisi's includes parsing and its two MCMC fits, ours "
        "the whole estimator).", "",
        "### Pooled over the scenarios", "", *pooled, "",
        "### Per scenario", "", *syn, "",
        "## Real MD: the long-reference pieces", "",
        f"Pieces: those of the first {' / '.join(f'{x:g}' for x in meta.get('ps_per_seed', []))} ps per seed "
        "(what the other tools were run on, `compare.py real`; our rows are restricted to the same pieces, "
        "identical frames).  References: the rest of the finished long-reference runs "
        "(`docs/long_reference.md` has the details, the run lengths, the scoring rule and why the spectral "
        "reference sits ~10 % below every short-piece D*).  In the whole-run table our rows use the whole "
        "finished runs and the other tools' rows the runs they were given.  Each tool's piece interval is scored "
        "against our rest-of-run reference (the run without the piece) with the reference's uncertainty added in "
        "quadrature; few pieces, so coverages are coarse.", "",
        "### Against the spectral rest-of-run reference", "", *(real_table(d, "spectral") if len(d) else ["(none)"]),
        "", "### Against the bayes rest-of-run reference", "",
        *(real_table(d, "bayes") if len(d) else ["(none)"]), "",
        "### The whole run by each tool (95 % intervals)", "", *(whole_table(d) if len(d) else ["(none)"]), "",
    ]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    text = render()
    if a.check:
        if DOC.read_text() != text:
            print("docs/side_by_side.md is out of date: run studies/side_by_side/make_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
