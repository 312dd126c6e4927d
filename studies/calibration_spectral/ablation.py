#!/usr/bin/env python3
"""Switch options of the spectral estimator on and off on the same replicas (issue 12).

Every variant is fitted to the same replicas (same data, same draws' rng: seed 10000 + replica seed), so the
difference between two variants is measured far more precisely than either bias:

    python studies/calibration_spectral/ablation.py --scenario brownian_3x50ps --first-seed 700000 --replicas 200 \\
        --variant before seed_weights=\\"own\\" log_bias_correction=False --variant after
    python studies/calibration_spectral/ablation.py --scenario generate:independent_small --first-seed 0 --replicas 100 \\
        --variant default --variant no_tau tau_scale=0.0 --variant no_kurtosis kurtosis_correction=False

``--scenario`` is a key of ``synthetic.INCREMENT_SCENARIOS`` (optionally with ``+heteroD=T``: every seed's
slopes scaled by exp(T z), z ~ N(0, 1) per seed, or ``+heteroP=T``: the collective's alone), or ``generate:NAME`` with NAME
a scenario of the first-round study (``studies/calibration/run_calibration.py``: the
positions-level generator, series built as the analysis core builds them).  Prints one
markdown table (per variant and slope: bias of ln median, coverage, the 68 % misses below
and above, P(median < truth), mean z², 68/95 half-width ratio; Gaussian 0.507) and, with
``--out``, writes it there.  Seeds: keep clear of the study's (1000+, 500000+, 600000+, 640000+)
and the tests' (900000+); the session-7 numbers in docs/spectral.md used 700000+, session 8
710000+ (and the evaluation seeds 640000+ only to compare two versions on the same replicas), session 9
720000+.  A second table gives every variant's shift against the first one on the same replicas
(paired: far more precise than the difference of two biases), its width ratio and the mean number of
cosine coefficients chosen per component.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import SpectralSeries, fit_spectral, spectral_series_of

HERE = Path(__file__).resolve().parent


def replica(scenario: str, seed: int) -> tuple[list[SpectralSeries], dict]:
    """The series of one replica and the true slopes (slope_tr, slope_P)."""
    if scenario.startswith("generate:"):
        sys.path.insert(0, str(HERE.parent / "calibration"))
        from run_calibration import COMMON, SCENARIOS

        from uncertainty_gk.estimators.data import prepare_seed

        system = synthetic.generate(**COMMON, **SCENARIOS[scenario.split(":", 1)[1]], rng=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            series = [spectral_series_of(prepare_seed(ds, name=f"s{j}")) for j, ds in enumerate(system.runs)]
        return series, {"slope_tr": system.truth["msd_slope"], "slope_P": system.truth["polarisation_msd_slope"]}
    scenario, _, hetero = scenario.partition("+")
    camp = synthetic.increment_campaign(rng=seed, **synthetic.INCREMENT_SCENARIOS[scenario])
    series = [SpectralSeries(**s) for s in camp.seeds]
    if hetero:
        # seeds that really differ: each seed's slopes scaled by exp(t z), z ~ N(0, 1) per seed
        # (heteroD=t: tracer and collective together; heteroP=t: the collective alone); the
        # truth is the population's median, the scenario's own
        kind, t = hetero.split("=")
        if kind not in ("heteroD", "heteroP"):
            raise ValueError(f"unknown heterogeneity {kind!r}: use heteroD=T or heteroP=T")
        z = np.random.default_rng(5_000_000 + seed).standard_normal(len(series))
        series = [SpectralSeries(s.name, s.dt_ps,
                                 s.tracer_increments * (np.exp(float(t) * zj / 2) if kind == "heteroD" else 1.0),
                                 s.polarisation_increments * np.exp(float(t) * zj / 2)) for s, zj in zip(series, z)]
    return series, {k: camp.truth[k] for k in ("slope_tr", "slope_P")}


def cell(x: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(replicas, 5) quantiles 2.5/16/50/84/97.5 % of ln(draw/truth) -> 95 % and 68 % coverage,
    and z² of the ln median in units of the 68 % half-width, per replica."""
    c95 = float(np.mean((x[:, 0] <= 0) & (x[:, 4] >= 0)))
    c68 = float(np.mean((x[:, 1] <= 0) & (x[:, 3] >= 0)))
    return c95, c68, (x[:, 2] / ((x[:, 3] - x[:, 1]) / 2)) ** 2


def summary_rows(name: str, q: dict[str, np.ndarray]) -> list[str]:
    """q[key]: (replicas, 5) quantiles 2.5/16/50/84/97.5 % of ln(draw / truth)."""
    rows = []
    for key, x in q.items():
        n = len(x)
        med = x[:, 2]
        c95, c68, z2 = cell(x)
        rows.append(f"| {name} | {key} | {n} | {100 * med.mean():+.2f} ± {100 * med.std(ddof=1) / np.sqrt(n):.2f} "
                    f"| {c95:.3f} | {c68:.3f} "
                    f"| {np.mean(x[:, 1] > 0):.3f} / {np.mean(x[:, 3] < 0):.3f} | {np.mean(med < 0):.3f} "
                    f"| {np.mean(z2):.2f} | {np.mean((x[:, 3] - x[:, 1]) / (x[:, 4] - x[:, 0])):.3f} |")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--variant", nargs="+", action="append", required=True, metavar=("NAME", "OPTION=VALUE"),
                    help="a name and estimator options (Python literals), e.g. --variant no_tau tau_scale=0.0")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--raw", type=Path, default=None,
                    help="also save every replica's quantiles (variant/slope arrays, replicas x 5) to this .npz")
    a = ap.parse_args(argv)
    variants = {v[0]: {k: eval(x, {}) for k, x in (o.split("=", 1) for o in v[1:])} for v in a.variant}
    probs = [0.025, 0.16, 0.5, 0.84, 0.975]
    q: dict[str, dict[str, list]] = {name: {"slope_tr": [], "slope_P": [], "ratio": []} for name in variants}
    orders: dict[str, dict[str, list]] = {name: {"tr": [], "P": []} for name in variants}
    for r in range(a.replicas):
        series, truth = replica(a.scenario, a.first_seed + r)
        for name, opts in variants.items():
            fit = fit_spectral(series, rng=np.random.default_rng(10_000 + a.first_seed + r), n_draws=4000,
                               **{"frame": "lab", "band_check": False, **opts})
            for c in ("tr", "P"):
                orders[name][c].append(fit.n_coefficients[c] - 1)
            lt = np.log(fit.draws["slope_tr"].ravel() / truth["slope_tr"])
            lp = np.log(fit.draws["slope_P"].ravel() / truth["slope_P"])
            for key, x in (("slope_tr", lt), ("slope_P", lp), ("ratio", lt - lp)):
                q[name][key].append(np.quantile(x, probs))
    lines = [f"Scenario `{a.scenario}`, replica seeds {a.first_seed}-{a.first_seed + a.replicas - 1}; "
             "all numbers on ln(estimate / truth); ratio = slope_tr / slope_P (H_R up to a constant).", "",
             "| variant | slope | n | bias of ln median (%) | cov 95 % | cov 68 % | 68 % misses below / above "
             "| P(median < truth) | mean z² | w68 / w95 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in variants:
        lines += summary_rows(name, {k: np.array(v) for k, v in q[name].items()})
    # paired: the same replicas and draws' rng for every variant, so the difference of two
    # variants' ln medians is far more precise than either bias
    first = next(iter(variants))
    lines += ["", f"Paired against `{first}` (mean over replicas ± s.e.): shift of the ln median (%), ratio of the "
              "mean 95 % width (on the log scale), mean number of cosine coefficients chosen (tracer / collective).", "",
              "| variant | shift ln slope_tr | shift ln slope_P | shift ln ratio | w95 slope_P / first | w95 ratio / first "
              "| coefficients tr / P |", "|---|---|---|---|---|---|---|"]
    for name in variants:
        arr = {k: np.array(v) for k, v in q[name].items()}
        ref = {k: np.array(v) for k, v in q[first].items()}
        sh = []
        for k in ("slope_tr", "slope_P", "ratio"):
            dlt = 100 * (arr[k][:, 2] - ref[k][:, 2])
            sh.append(f"{dlt.mean():+.2f} ± {dlt.std(ddof=1) / np.sqrt(len(dlt)):.2f}")
        wr = [np.mean(arr[k][:, 4] - arr[k][:, 0]) / np.mean(ref[k][:, 4] - ref[k][:, 0]) for k in ("slope_P", "ratio")]
        lines.append(f"| {name} | {' | '.join(sh)} | {wr[0]:.3f} | {wr[1]:.3f} | {np.mean(orders[name]['tr']):.2f} / "
                     f"{np.mean(orders[name]['P']):.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.raw:
        tmp_raw = a.raw.with_suffix(".tmp.npz")
        np.savez_compressed(tmp_raw, **{f"{name}/{k}": np.array(v) for name in variants for k, v in q[name].items()})
        tmp_raw.replace(a.raw)
    if a.out:
        tmp = a.out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
