#!/usr/bin/env python3
"""A step at the run's longest time scale, marginalised: what it could buy (issue 12; session 29).

Session 28 found that on the long-reference pieces (real MD, 50-100 ps) the tracer's lowest
ordinate sits on average 8 % below the fitted spectrum (about 1.4 s.e. per piece) and that
its level alone is nearly unbiased against the rest-of-run references where D* is +9-11 %
high; on the calibration families the same ordinate alone is ~3 x noisier than the estimate.
The candidate it left: a model term for a step at or below the first ordinate, marginalised,
that moves the level only as far as that ordinate's evidence carries it.

This study computes, offline, the posterior such a term gives and scores it before any of it
goes into the estimator.  Per campaign: the tracer estimate m without the step (session 28's default) (log median) and its
log-s.e. s0 (95 % interval / 3.92), and the first-ordinate ratio u = ln(I_1 / Ŝ_1) with its
s.e. s1 (``fit.diagnostics["low_check"]["slope_tr"]["se_first"]``).  Model: the zero-frequency
level is the fit's times e^δ, δ <= 0 a step below the lowest ordinate, u ~ N(δ, s1²); a priori
δ = 0 with probability p0 (the run is diffusive, as designed) and otherwise δ ~ -|N(0, w²)|.
The posterior of ln D* is then m + δ + N(0, s0²) with δ from its posterior given u (a grid),
its quantiles the interval.  Scored:

* on the 13 calibration families (diffusive: truth δ = 0), ablation replicas
  ``--first-seed``+ (``collect``): coverage, bias and width against the no-step estimator's own
  intervals (normal approximations of both, so that only the step term differs);
* on the long-reference pieces (``real``: every piece refitted by the estimator itself with
  the step off and with each ``--prior``) against the spectral and the bayes rest-of-run
  references of ``results_pieces.csv.gz``, the reference's own s.e. added in quadrature as
  in ``scoring.py``.

    python studies/calibration_spectral/first_step.py collect --first-seed 797700 --replicas 40 \\
        --raw studies/calibration_spectral/session29_first_step/synthetic.npz [--scenarios ...]
    python studies/calibration_spectral/first_step.py evaluate \\
        --raw studies/calibration_spectral/session29_first_step/synthetic*.npz

Randomness: the replica seed (``synthetic.increment_campaign(rng=seed)``) and
``numpy.random.default_rng(seed)`` for the draws.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

from uncertainty_gk import synthetic
from uncertainty_gk.units import A2_PER_PS_TO_CM2_PER_S
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral

HERE = Path(__file__).resolve().parent
LONG = HERE.parent / "long_reference"
Z95, Z68 = stats.norm.ppf(0.975), stats.norm.ppf(0.84)
COLUMNS = ("m", "lo95", "hi95", "lo68", "hi68", "u", "s1", "z_first")
#: the priors scored: (p0, w)
PRIORS = [(0.5, 0.05), (0.5, 0.1), (0.5, 0.2), (0.8, 0.1), (0.8, 0.2), (0.9, 0.1), (0.95, 0.1), (0.98, 0.1), (0.0, 0.1)]


def options(a) -> dict:
    """The estimator's options of a run: no step (``first_step=False``, the session-28
    default), or ``first_step`` with the given prior."""
    return {"first_step": True, "first_step_prior": tuple(a.first_step)} if a.first_step else {"first_step": False}


def collect(a) -> int:
    raw = {}
    for sc in a.scenarios or sorted(synthetic.INCREMENT_SCENARIOS):
        rows = np.full((a.replicas, len(COLUMNS)), np.nan)
        for r in range(a.replicas):
            seed = a.first_seed + r
            camp = synthetic.increment_campaign(rng=seed, **synthetic.INCREMENT_SCENARIOS[sc])
            fit = fit_spectral([SpectralSeries(**s) for s in camp.seeds], rng=np.random.default_rng(seed),
                               n_draws=2000, band_check=False, **options(a))
            t = camp.truth["slope_tr"]
            m, lo95, hi95 = fit.interval("slope_tr", 0.95)
            _, lo68, hi68 = fit.interval("slope_tr", 0.68)
            low = fit.diagnostics["low_check"]["slope_tr"]
            rows[r] = [np.log(m / t), np.log(lo95 / t), np.log(hi95 / t), np.log(lo68 / t), np.log(hi68 / t),
                       np.log(low["ratio_first"]), low["se_first"], low["z_first"]]
        raw[sc] = rows
        print(f"{sc}: {a.replicas} replicas, mean z_first {np.mean(rows[:, 7]):+.2f}", flush=True)
    a.raw.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.raw.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, columns=np.array(COLUMNS), first_seed=a.first_seed, **raw)
    tmp.replace(a.raw)
    print(f"wrote {a.raw}")
    return 0


def step_quantiles(m, s0, u, s1, p0: float, w: float, probs) -> np.ndarray:
    """Quantiles (rows: probs) of m + δ + N(0, s0²) with δ's posterior given u ~ N(δ, s1²)
    under the spike-and-slab prior (p0 at 0, else -|N(0, w²)|); vectorised over campaigns."""
    m, s0, u, s1 = (np.asarray(x, dtype=float)[:, None] for x in (m, s0, u, s1))
    grid = -np.linspace(0.0, 5 * w, 401)[None, :]               # the slab's support (δ <= 0)
    dg = 5 * w / 400
    like = stats.norm.pdf(u, grid, s1)
    slab = (1 - p0) * 2 * stats.norm.pdf(grid, 0.0, w) * like * dg
    slab[:, 0] *= 0.5
    spike = p0 * stats.norm.pdf(u[:, 0], 0.0, s1[:, 0])
    norm = spike + slab.sum(axis=1)
    wd = np.column_stack([spike / norm, slab / norm[:, None]])    # weights of δ = 0 and of the grid
    deltas = np.column_stack([np.zeros(len(u)), grid.repeat(len(u), axis=0)])
    out = []
    for p in probs:
        lo = (m - 8 * s0 - 5 * w)[:, 0]
        hi = (m + 8 * s0)[:, 0]
        for _ in range(60):                                       # bisection on the mixture's CDF
            mid = 0.5 * (lo + hi)
            cdf = np.sum(wd * stats.norm.cdf((mid[:, None] - m - deltas) / s0), axis=1)
            lo, hi = np.where(cdf < p, mid, lo), np.where(cdf < p, hi, mid)
        out.append(0.5 * (lo + hi))
    return np.array(out)


def score(err_lo95, err_hi95, err_lo68, err_hi68, med, ref_se=None) -> dict:
    """Coverage of 0 by [lo, hi] (log errors against the truth or the reference), widened in
    quadrature by the reference's s.e. when given (``scoring.py``'s rule)."""
    sr = np.zeros_like(med) if ref_se is None else np.asarray(ref_se)

    def cov(lo, hi, z):
        return float(np.mean((-np.hypot(med - lo, z * sr) <= -med) & (-med <= np.hypot(hi - med, z * sr))))

    return {"cov95": cov(err_lo95, err_hi95, Z95), "cov68": cov(err_lo68, err_hi68, Z68),
            "bias": float(np.mean(np.expm1(med))), "width": float(np.mean(np.exp(err_hi95) - np.exp(err_lo95)))}


def variants(m, s0, u, s1) -> dict:
    """Normal-approximation intervals without the step and with each prior: log errors."""
    out = {"no step (normal approx.)": (m - Z95 * s0, m + Z95 * s0, m - Z68 * s0, m + Z68 * s0, m)}
    for p0, w in PRIORS:
        q = step_quantiles(m, s0, u, s1, p0, w, [0.025, 0.975, 0.16, 0.84, 0.5])
        out[f"step p0 {p0:g}, w {w:g}"] = tuple(q)
    return out


def load(paths) -> dict:
    raw = {}
    for path in paths:
        d = np.load(path)
        raw.update({k: d[k] for k in d.files if k not in ("columns", "first_seed")})
    return raw


def evaluate(a) -> int:
    raw = load(a.raw)
    if a.actual:
        actual(raw, load(a.actual))
    print("## Synthetic families (diffusive; truth δ = 0)\n")
    print("| family | n | variant | cov 95 % | cov 68 % | bias % | width 95 % / no step's |")
    print("|---|---|---|---|---|---|---|")
    pooled: dict[str, list] = {}
    for sc, x in sorted(raw.items()):
        c = dict(zip(COLUMNS, x.T))
        s0 = (c["hi95"] - c["lo95"]) / (2 * Z95)
        base = None
        for name, iv in variants(c["m"], s0, c["u"], c["s1"]).items():
            s = score(*iv)
            base = base or s["width"]
            pooled.setdefault(name, []).append((len(x), s))
            print(f"| {sc} | {len(x)} | {name} | {s['cov95']:.3f} | {s['cov68']:.3f} | {100 * s['bias']:+.2f} | "
                  f"{s['width'] / base:.2f} |")
    print("\n| variant | families | cov 95 % (range) | cov 68 % (range) | bias % (range) | width / no step's (range) |")
    print("|---|---|---|---|---|---|")
    for name, rows in pooled.items():
        def rng_(k, f=1.0):
            v = [f * s[k] for _, s in rows]
            return f"{np.mean(v):.3f} ({min(v):.3f}-{max(v):.3f})"
        wr = [s["width"] / b["width"] for (_, s), (_, b) in zip(rows, pooled["no step (normal approx.)"])]
        print(f"| {name} | {len(rows)} | {rng_('cov95')} | {rng_('cov68')} | {rng_('bias', 100)} | "
              f"{np.mean(wr):.2f} ({min(wr):.2f}-{max(wr):.2f}) |")
    return 0


def actual(raw: dict, on: dict) -> None:
    """The estimator's own intervals with first_step on (``collect --first-step``) against the
    no-step estimator's (``collect``), on the same replicas: coverage, bias, width ratio per family."""
    print("## The estimator with first_step on, against no step (same replicas; its own draws)\n")
    print("| family | n | cov 95 % no step / step | cov 68 % no step / step | bias % no step / step | "
          "width 95 % step / no step |")
    print("|---|---|---|---|---|---|")
    tot = []
    for sc in sorted(set(raw) & set(on)):
        c0, c1 = dict(zip(COLUMNS, raw[sc].T)), dict(zip(COLUMNS, on[sc].T))
        s0 = score(c0["lo95"], c0["hi95"], c0["lo68"], c0["hi68"], c0["m"])
        s1 = score(c1["lo95"], c1["hi95"], c1["lo68"], c1["hi68"], c1["m"])
        tot.append((s0, s1))
        print(f"| {sc} | {len(c0['m'])} | {s0['cov95']:.3f} / {s1['cov95']:.3f} | {s0['cov68']:.3f} / {s1['cov68']:.3f} | "
              f"{100 * s0['bias']:+.2f} / {100 * s1['bias']:+.2f} | {s1['width'] / s0['width']:.2f} |")
    if tot:
        wr = [b["width"] / a_["width"] for a_, b in tot]
        print(f"\nover {len(tot)} families: cov 95 % {np.mean([b['cov95'] for _, b in tot]):.3f} "
              f"(no step {np.mean([a_['cov95'] for a_, _ in tot]):.3f}), cov 68 % {np.mean([b['cov68'] for _, b in tot]):.3f} "
              f"(no step {np.mean([a_['cov68'] for a_, _ in tot]):.3f}), bias {100 * np.mean([b['bias'] for _, b in tot]):+.2f} % "
              f"(range {100 * min(b['bias'] for _, b in tot):+.2f} to {100 * max(b['bias'] for _, b in tot):+.2f}), "
              f"width x {np.mean(wr):.2f} ({min(wr):.2f}-{max(wr):.2f})\n")


def real(a) -> int:
    """The long-reference pieces refitted by the estimator itself with ``first_step`` on (each
    prior of ``--prior``) and off, scored with ``scoring.py`` against the rest-of-run
    references of ``results_pieces.csv.gz``; per-piece intervals written to ``--out``."""
    if a.rescore:
        saved = json.loads(a.out.read_text())
        return _score_real(a, saved["rows"], dict.fromkeys(r["variant"] for r in saved["rows"]), saved["ps_per_seed"])
    import sys
    sys.path.insert(0, str(LONG))
    import pieces as pc

    import uncertainty_gk as ugk
    from uncertainty_gk.estimators import build_group_data
    from uncertainty_gk.estimators.spectral import spectral_series_of

    seeds = pc.load_seeds(pc.DEFAULT_RUNS, max_segments=a.max_segments)
    variants_ = {"no step": {"first_step": False},
                 **{f"step p0 {p0:g}, w {w:g}": {"first_step": True, "first_step_prior": (p0, w)} for p0, w in a.prior}}
    rows = []
    for L in (50.0, 100.0):
        for k, ranges in enumerate(pc.piece_ranges(seeds, L)):
            data = build_group_data(pc.campaign_runs(seeds, ranges), ugk.AnalysisSettings(seed=0).resolved(),
                                    show_warnings=False)
            series = [spectral_series_of(x) for x in data.every_seed]
            for name, opts in variants_.items():
                fit = fit_spectral(series, rng=np.random.default_rng(0), **opts)
                m, lo95, hi95 = fit.interval("slope_tr", 0.95)
                _, lo68, hi68 = fit.interval("slope_tr", 0.68)
                fs = fit.diagnostics["first_step"]
                rows.append({"length_ps": L, "piece": k, "variant": name, "median": m, "lo95": lo95, "hi95": hi95,
                             "lo68": lo68, "hi68": hi68, "prob_step": fs.get("prob_step", 0.0)})
            print(f"{L:g} ps piece {k}: " + ", ".join(f"{r['variant']} {r['median']:.4f} [{r['lo95']:.4f}, {r['hi95']:.4f}]"
                                                     for r in rows[-len(variants_):]), flush=True)
    return _score_real(a, rows, variants_, pc.ps_per_seed(seeds))


def _score_real(a, rows: list, variants_: dict, ps_per_seed: str) -> int:
    import sys

    import pandas as pd
    sys.path.insert(0, str(LONG))
    import scoring

    d = pd.read_csv(LONG / "results_pieces.csv.gz")
    d = d[(d.quantity == "D_tr") & (d.variant == "default") & (d.role == "rest")]
    res = pd.DataFrame(rows)
    # the fit's slope_tr (Å²/ps, = 6 D*) as the raw rows' D* (cm²/s)
    for col in ("median", "lo95", "hi95", "lo68", "hi68"):
        res[col] = res[col] * A2_PER_PS_TO_CM2_PER_S / 6.0
    res["quantity"] = "D_tr"
    p_step = res.groupby(["length_ps", "variant"])["prob_step"].mean()
    lines = ["| pieces | reference | variant | n | cov 95 % | cov 68 % | bias % | width 95 % / no step's | mean P(step) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for L in (50.0, 100.0):
        for ref_method in ("spectral", "bayes"):
            sc = scoring.score(res[res.length_ps == L], d[d.method == ref_method], by=["variant"]).set_index("variant")
            for name in variants_:
                r = sc.loc[name]
                lines.append(f"| {L:g} ps | {ref_method} | {name} | {int(r.n)} | {r.cov95:.2f} | {r.cov68:.2f} | "
                             f"{100 * r.bias:+.1f} | {r.width95 / sc.width95[next(iter(variants_))]:.2f} | "
                             f"{p_step[(L, name)]:.2f} |")
    print("\n".join(["", *lines]))
    tmp = a.out.with_suffix(".tmp")
    command = (json.loads(a.out.read_text())["command"] if a.rescore else
               "python studies/calibration_spectral/first_step.py real " + " ".join(f"--prior {p0:g} {w:g}" for p0, w in a.prior))
    tmp.write_text(json.dumps({"command": command, "ps_per_seed": ps_per_seed,
                               "rows": rows, "table": lines}, indent=1) + "\n")
    tmp.replace(a.out)
    print(f"wrote {a.out}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--first-seed", type=int, required=True)
    c.add_argument("--replicas", type=int, default=40)
    c.add_argument("--scenarios", nargs="*", default=None)
    c.add_argument("--raw", type=Path, required=True)
    c.add_argument("--first-step", type=float, nargs=2, metavar=("P0", "W"), default=None,
                   help="run the estimator with first_step=True and this prior (default: first_step=False)")
    e = sub.add_parser("evaluate")
    e.add_argument("--raw", type=Path, nargs="+", required=True, help="collect's files without the step")
    e.add_argument("--actual", type=Path, nargs="*", default=[], help="collect --first-step's files (same replicas)")
    r = sub.add_parser("real")
    r.add_argument("--prior", type=float, nargs=2, action="append", metavar=("P0", "W"))
    r.add_argument("--rescore", action="store_true", help="score the intervals saved in --out again (no refit)")
    r.add_argument("--max-segments", type=int, default=None)
    r.add_argument("--out", type=Path, default=HERE / "session29_first_step" / "pieces.json")
    a = ap.parse_args(argv)
    return {"collect": collect, "evaluate": evaluate, "real": real}[a.cmd](a)


if __name__ == "__main__":
    raise SystemExit(main())
