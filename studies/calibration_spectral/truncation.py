#!/usr/bin/env python3
"""Truncation bias of the spectral estimator's shape model, without noise (development).

For every scenario of ``synthetic.INCREMENT_SCENARIOS`` the generator's *exact* increment
spectrum (``IncrementCampaign.increment_spectrum``, from the MSD, independent of the
estimator) is given to the estimator's own fits as if it were the periodogram: the
expected sine-transform ordinate is S(f_k) to within 2e-3 relative for this generator
(checked against the exact quadratic form s_kᵀ Γ s_k in session 14), so the level each
order returns is the bias of that order with no sampling noise at all - the error of
the model, not of the data.  It is printed per order, in % of the true slope and in
units of the pooled standard error of ln slope at that order (the fits' Fisher variance
with the true Gamma shape, axes weighted by their slope, seeds pooled by inverse
variance).  Last column: the lowest order whose bias and that of the next two orders stay
within 0.25 s.e.

    python studies/calibration_spectral/truncation.py                 # every scenario
    python studies/calibration_spectral/truncation.py brownian_3x100ps --warp 20

Session 14 (docs/spectral.md, "Session 14"): the estimator's remaining miscalibrations
(D* of 3 x 100 ps walkers, σ of the stiff small cells and of 0.5 ps frames) sit where the
orders that the rule picks carry a truncation bias of 0.5-3 s.e.
"""

from __future__ import annotations

import argparse

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import DEFAULTS, _order_fits

ORDERS = 10


def ladder(scenario: str, component: str, options: dict) -> tuple[np.ndarray, np.ndarray]:
    """(bias, s.e.) of ln slope per order index 0..ORDERS-1, pooled over seeds and axes."""
    params = synthetic.INCREMENT_SCENARIOS[scenario]
    camp = synthetic.increment_campaign(rng=0, **params)
    opt = {**DEFAULTS, **options}
    key = "slope_tr" if component == "tr" else "slope_P"
    truth_axes = np.asarray(camp.truth[key + "_axes"], dtype=np.float64)
    # Gamma shape of an ordinate: χ²₁ for the collective; the ion average of N ions, paired
    # ions moving together (R = 1/H_R), for the tracer
    alpha = 0.5 if component == "P" else 0.5 * camp.params["n_mobile"] * camp.truth["haven_ratio"]
    est = np.zeros((len(camp.seeds), ORDERS))
    inv_var = np.zeros(ORDERS)
    lengths = []
    for j, s in enumerate(camp.seeds):
        dt = float(s["dt_ps"])
        M = s["polarisation_increments"].shape[0]
        lengths.append(M)
        f = np.arange(1, M + 1) / (2.0 * (M + 1) * dt)
        S = camp.increment_spectrum(f, dt, component)
        var_seed = np.zeros(ORDERS)
        w = truth_axes / truth_axes.sum()
        for ax in range(3):
            if truth_axes[ax] <= 0:
                continue
            fits = _order_fits(S[:, ax], f, alpha, opt, dt, 1.0)[:ORDERS]
            lev = np.array([np.exp(x["mean"]) for x in fits]) / dt          # slope of this axis
            var = np.array([x["var"] for x in fits])
            est[j, :len(fits)] += lev
            var_seed[:len(fits)] += w[ax] ** 2 * var
        inv_var += 1.0 / var_seed
    wl = np.asarray(lengths, dtype=np.float64) / sum(lengths)
    bias = np.log(wl @ est / truth_axes.sum())
    return bias, np.sqrt(1.0 / inv_var)


def settled(bias: np.ndarray, se: np.ndarray, tol: float = 0.25) -> int | None:
    for b in range(len(bias) - 2):
        if np.all(np.abs(bias[b:b + 3]) <= tol * se[b:b + 3]):
            return b
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="*", default=sorted(synthetic.INCREMENT_SCENARIOS))
    ap.add_argument("--warp", type=float, default=None, help="fit_spectral's warp (default: the estimator's)")
    a = ap.parse_args(argv)
    options = {} if a.warp is None else {"warp": a.warp}
    print(f"truncation bias of ln slope per order index 1..{ORDERS - 1}: % of truth / in pooled s.e.; "
          f"options {options or 'default'}")
    print("| scenario | component | " + " | ".join(f"{b}" for b in range(1, ORDERS)) + " | settled at |")
    print("|---|---|" + "---|" * (ORDERS - 1) + "---|")
    for sc in a.scenarios:
        for comp in ("tr", "P"):
            bias, se = ladder(sc, comp, options)
            cells = [f"{100 * b:+.2f} / {b / s:+.1f}" for b, s in zip(bias[1:], se[1:])]
            st = settled(bias, se)
            print(f"| {sc} | {'D*' if comp == 'tr' else 'σ'} | " + " | ".join(cells) + f" | {st if st is not None else '-'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
