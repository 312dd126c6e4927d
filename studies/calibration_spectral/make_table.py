#!/usr/bin/env python3
"""Regenerate docs/spectral_calibration.md from results_dev.csv.gz and results_eval.csv.gz.

Coverage = fraction of replicas whose interval holds the truth; bias = mean of
ln(median/truth) (± its standard error; the target |bias| <= 2 % is on this), with the
mean of median/truth - 1 beside it.  The point estimate is the posterior median, which
is equivariant (the median of H_R = σ_tr/σ is the ratio of the medians' draws, the
median of 1/σ is 1/median σ); the mean of a ratio of two estimates whose logarithms are
symmetric exceeds its median by about var/2, so "median/truth - 1" averaged over
replicas is biased upward by half the replicas' relative variance even for an
estimator whose logarithm is exactly unbiased (+0.8 % for H_R at 3 x 100 ps, +1.5 % at
3 x 50 ps).  ``--check`` exits 1 if the page differs from what the raw files give.  Width = mean (hi95 - lo95)/truth; two
Cramér-Rao widths of the generator's exact spectrum: "known" with the spectrum's shape
known (only S(0) free; SCIENCE.md), "param" with the shape parameters of the generator's
own family free as well (``IncrementCampaign.cramer_rao(shape="parametric")``), the
limit for an estimator that has to learn the vibrations from the data.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from run import HELD_OUT  # noqa: E402

QUANT = [("D_tr", "D*"), ("sigma_tr", "σ_tr"), ("sigma", "σ"), ("haven_ratio", "H_R")]


def load(path: Path) -> list[dict]:
    with gzip.open(path, "rt", newline="") as fh:
        return list(csv.DictReader(fh))


def combine(files: list[list[dict]]) -> list[dict]:
    """Rows of several files of one set; a scenario found in more than one file (a run
    interrupted just after it started the scenario that another file holds) is taken
    from the file with the most replicas of it."""
    best = {}
    for i, rows in enumerate(files):
        for sc in {r["scenario"] for r in rows}:
            n = len({r["replica"] for r in rows if r["scenario"] == sc})
            if sc not in best or n > best[sc][1]:
                best[sc] = (i, n)
    return [r for i, rows in enumerate(files) for r in rows if best[r["scenario"]][0] == i]


def _seed_range(rows: list[dict]) -> str:
    """The replica seeds of a cell ("first-last"); files written before the seed column
    existed used the set's default base (1000 dev, 500000 eval)."""
    if rows[0].get("seed"):
        seeds = [int(r["seed"]) for r in rows]
    else:
        base = 1000 if rows[0]["set"] == "dev" else 500000
        seeds = [base + int(r["replica"]) for r in rows]
    return f"{min(seeds)}-{max(seeds)}"


def _clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion k/n."""
    from scipy import stats

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _prob_in_range(n: int, p: float, a: float, b: float) -> float:
    """P(a <= X/n <= b) for X ~ Binomial(n, p): how often a calibrated cell's coverage lands in range."""
    from scipy import stats

    return float(stats.binom.cdf(np.floor(b * n + 1e-9), n, p) - stats.binom.cdf(np.ceil(a * n - 1e-9) - 1, n, p))


def table(rows: list[dict]) -> list[str]:
    """Markdown table rows plus a one-paragraph summary of the targets met."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["scenario"], r["quantity"])].append(r)
    scen = list(dict.fromkeys(r["scenario"] for r in rows))
    out = ["| scenario | quantity | seeds | n | cov 95 % | cov 68 % | bias % of ln (± se) | mean ratio - 1 % | width 95 % | CRB known | width / known "
           "| CRB param | width / param | provisional |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    tally: dict[str, list] = {"c95": [], "c68": [], "bias": [], "ratio_sigma": [], "ratio_sigma_param": [],
                              "ok95": [], "ok68": [], "okbias": [], "p95": [], "p68": []}
    pooled: dict[str, list] = defaultdict(list)      # per quantity: (in 95 %, in 68 %, z²) of every replica
    for sc in scen:
        for q, label in QUANT:
            g = groups.get((sc, q))
            if not g:
                continue
            t = np.array([float(r["truth"]) for r in g])
            med = np.array([float(r["median"]) for r in g])
            lo95, hi95 = (np.array([float(r[k]) for r in g]) for k in ("lo95", "hi95"))
            lo68, hi68 = (np.array([float(r[k]) for r in g]) for k in ("lo68", "hi68"))
            crb = np.array([float(r["crb_width_true"]) for r in g])
            crb_p = np.array([float(r.get("crb_width_param") or "nan") for r in g])
            n = len(g)
            c95 = np.mean((lo95 <= t) & (t <= hi95))
            c68 = np.mean((lo68 <= t) & (t <= hi68))
            b = np.log(med / t)
            b_ratio = med / t - 1
            wid = (hi95 - lo95) / t
            prov = np.mean([r["regime"] != "diffusive" for r in g])
            # z: the ln error in units of the 68 % half-width on the log scale (1 on average, squared)
            z = b / (0.5 * np.log(hi68 / lo68))
            pooled[label] += list(zip((lo95 <= t) & (t <= hi95), (lo68 <= t) & (t <= hi68), z**2))
            name = sc + (" (held out)" if sc in HELD_OUT else "")
            seeds = _seed_range(g)
            tally["c95"].append(0.93 <= c95 <= 0.97)
            tally["c68"].append(0.64 <= c68 <= 0.72)
            tally["bias"].append(abs(b.mean()) <= 0.02)
            # consistent with the target: the cell's exact 95 % interval of the coverage meets
            # the target range (the bias's ±2 s.e. meets ±2 %); and the chance that a perfectly
            # calibrated estimator's observed coverage falls in the range with this n
            for key, cov, nominal, (a, b_) in (("95", c95, 0.95, (0.93, 0.97)), ("68", c68, 0.68, (0.64, 0.72))):
                lo_ci, hi_ci = _clopper_pearson(int(round(cov * n)), n)
                tally["ok" + key].append(hi_ci >= a and lo_ci <= b_)
                tally["p" + key].append(_prob_in_range(n, nominal, a, b_))
            tally["okbias"].append(abs(b.mean()) - 2 * b.std(ddof=1) / np.sqrt(n) <= 0.02)
            if q == "sigma":
                tally["ratio_sigma"].append(wid.mean() / crb.mean())
                tally["ratio_sigma_param"].append(wid.mean() / crb_p.mean())
            out.append(f"| {name} | {label} | {seeds} | {n} | {c95:.3f} | {c68:.3f} | {100 * b.mean():+.2f} (± {100 * b.std(ddof=1) / np.sqrt(n):.2f}) "
                       f"| {100 * b_ratio.mean():+.2f} | {wid.mean():.3f} | {crb.mean():.3f} | {wid.mean() / crb.mean():.2f} | {crb_p.mean():.3f} "
                       f"| {wid.mean() / crb_p.mean():.2f} | {prov:.2f} |")
    n_cells = len(tally["c95"])
    rs, rp = tally["ratio_sigma"], np.array(tally["ratio_sigma_param"])
    summary = (f"Targets met: 95 % coverage in 0.93-0.97 in {sum(tally['c95'])}/{n_cells} cells, "
               f"68 % coverage in 0.64-0.72 in {sum(tally['c68'])}/{n_cells}, |bias| <= 2 % in "
               f"{sum(tally['bias'])}/{n_cells}; σ's 95 % width / shape-known CRB width {min(rs):.2f}-{max(rs):.2f} "
               f"(target <= 1.3: not met in any scenario); σ's 95 % width / parametric CRB width "
               f"{np.nanmin(rp):.2f}-{np.nanmax(rp):.2f}, <= 1.3 in {int(np.sum(rp <= 1.3))}/{len(rp)} scenarios.  "
               f"With n replicas the binomial s.e. of a 95 % coverage is "
               f"sqrt(0.95·0.05/n) (0.015 at n = 200, 0.022 at n = 100), so even a perfectly calibrated "
               f"estimator would have its observed coverage in range in only about {sum(tally['p95']):.0f} (95 %) and "
               f"{sum(tally['p68']):.0f} (68 %) of these {n_cells} cells.  *Consistent with the target* (the cell's exact "
               f"95 % binomial interval of the coverage meets the target range; the bias's ±2 s.e. meets ±2 %): 95 % in "
               f"{sum(tally['ok95'])}/{n_cells}, 68 % in {sum(tally['ok68'])}/{n_cells}, bias in {sum(tally['okbias'])}/{n_cells}.")
    pooled_line = ("**Pooled over every replica of every scenario** (95 % coverage / 68 % coverage / mean z², z the ln "
                   "error in units of the 68 % half-width; 1 for a calibrated interval, ± its s.e.): " + "; ".join(
                       f"{label} {np.mean(a[:, 0]):.3f} / {np.mean(a[:, 1]):.3f} / {np.mean(a[:, 2]):.2f} "
                       f"(± {np.std(a[:, 2], ddof=1) / np.sqrt(len(a)):.2f}, n = {len(a)})"
                       for label, a in ((k, np.array(v, dtype=np.float64)) for k, v in pooled.items())) + ".")
    return [summary, "", pooled_line, ""] + out


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (the page must not depend on the checkout)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "spectral_calibration.md")
    ap.add_argument("--indir", type=Path, default=HERE, help="folder of the results files (default: this study's)")
    ap.add_argument("--check", action="store_true", help="only compare: exit 1 if the page is out of date")
    a = ap.parse_args(argv)
    lines = ["# Calibration of the spectral estimator (generated)", "",
             "Generated by `studies/calibration_spectral/make_table.py` from the committed raw results "
             f"`{_shown(a.indir)}/results_{{dev,eval}}_*.csv.gz`; do not edit by hand.  "
             "Scenarios: `uncertainty_gk.synthetic.INCREMENT_SCENARIOS`.  Targets: 95 % coverage 0.93-0.97, "
             "68 % coverage 0.64-0.72, |bias| <= 2 % (bias of the posterior median on the log scale, "
             "mean of ln(median/truth); the mean of median/truth - 1 is shown beside it), σ's 95 % width "
             "<= 1.3 x the Cramér-Rao width.", "",
             "**Two information limits.**  *CRB known* is the Cramér-Rao width with the spectrum's shape "
             "known and only S(0) free (the SCIENCE.md definition, I = ½ Σ_k (S0/S_k)²).  No estimator that "
             "is not told the vibrational spectrum can reach it.  *CRB param* frees the shape parameters of "
             "the generator's own family as well (a white framework term, and per bounded motion an AR(1) "
             "amplitude and relaxation time; `IncrementCampaign.cramer_rao(shape=\"parametric\")`): the "
             "limit of an estimator that knows the exact *form* of the vibrations and learns their size "
             "and time scale from the data.  For σ it is 1.5-2.0x the shape-known width in these scenarios, "
             "for D* 1.8-3.7x, so the issue's target of 1.3x the shape-known width is below what any "
             "estimator can reach here; our estimator does not know the form either (a cosine series of "
             "adaptive order), so width/param is the honest measure of what is left to gain.", ""]
    for name, title in (("eval", "Evaluation set (never tuned on; replica seeds per cell)"),
                        ("dev", "Development set (replica seeds 1000+; options were chosen on these)")):
        paths = sorted(a.indir.glob(f"results_{name}_*.csv.gz"))      # one file per scenario
        rows = combine([load(p) for p in paths])
        if rows:
            lines += [f"## {title}", "", "Files: " + ", ".join(f"`{p.name}`" for p in paths), ""] + table(rows) + [""]
    text = "\n".join(lines)
    if a.check:
        if not a.out.exists() or a.out.read_text() != text:
            print(f"{a.out} is out of date: rerun {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    tmp = a.out.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
