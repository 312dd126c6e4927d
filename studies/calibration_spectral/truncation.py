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
    python studies/calibration_spectral/truncation.py fast_test_hr1 fast_test_hr05

``fast_test_hr1`` / ``fast_test_hr05``: the fast calibration test's generator
(``synthetic.generate`` with the scenario of tests/test_calibration_fast.py: 24 ions with a
0.3 Å / 0.2 ps rattle in a vibrating framework whose charges enter the polarisation,
independent walkers or rigid pairs); its exact spectrum from the system's expected MSDs
(``SyntheticSystem.expected_tracer_msd`` / ``expected_polarisation_msd``, isotropic).

Session 14 (docs/spectral.md, "Session 14"): the estimator's remaining miscalibrations
(D* of 3 x 100 ps walkers, σ of the stiff small cells and of 0.5 ps frames) sit where the
orders that the rule picks carry a truncation bias of 0.5-3 s.e.
"""

from __future__ import annotations

import argparse

import numpy as np

from fast_test_z import SCENARIO
from uncertainty_gk import synthetic
from uncertainty_gk.estimators.spectral import DEFAULTS, _order_fits, _relaxation_time

ORDERS = 10
#: the fast calibration test's scenario (tests/test_calibration_fast.py), as fast_test_z.py runs it
FAST_TEST = SCENARIO
FAST_TEST_HAVEN = {"fast_test_hr1": 1.0, "fast_test_hr05": 0.5}


def fast_test_ladder(scenario: str, component: str, options: dict) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`ladder`, for the fast calibration test's generator (isotropic, equal seeds)."""
    system = synthetic.generate(**{**FAST_TEST, "n_frames": 2}, haven_ratio=FAST_TEST_HAVEN[scenario], rng=0)
    dt, M, n_seeds = FAST_TEST["frame_interval_ps"], FAST_TEST["n_frames"] - 1, FAST_TEST["n_seeds"]
    f = np.arange(1, M + 1) / (2.0 * (M + 1) * dt)
    if component == "tr":
        msd, truth = (lambda t: system.expected_tracer_msd(t) / 3.0), 2.0 * FAST_TEST["D"]
        alpha = 0.5 * FAST_TEST["n_mobile"] * system.truth["haven_ratio"]
    else:
        msd, truth = (lambda t: system.expected_polarisation_msd(t) / 3.0), system.truth["polarisation_msd_slope"] / 3.0
        alpha = 0.5
    S = synthetic.increment_spectrum_from_msd(msd, f, dt, int(np.ceil(40 * FAST_TEST["rattle_time_ps"] / dt)) + 2)
    opt = {**DEFAULTS, **options}
    relax = _relaxation_time([S], [f], [dt], [alpha], 1.0, opt) if opt["relaxation_basis"] else None
    fits = _order_fits(S, f, alpha, opt, dt, 1.0, relax)[:ORDERS]
    bias = np.log(np.array([np.exp(x["mean"]) for x in fits]) / dt / truth)
    # 3 seeds x 3 equal axes, pooled: the variance of one fit over 9
    se = np.sqrt(np.array([x["var"] for x in fits]) / (3 * n_seeds))
    return bias, se


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
    relax = None
    if opt["relaxation_basis"]:
        # the estimator's τ: profiled on all (seed, axis) spectra of the component together
        Ss, fs, dts = [], [], []
        for s in camp.seeds:
            dt = float(s["dt_ps"])
            M = s["polarisation_increments"].shape[0]
            f = np.arange(1, M + 1) / (2.0 * (M + 1) * dt)
            S = camp.increment_spectrum(f, dt, component)
            for ax in range(3):
                if truth_axes[ax] > 0:
                    Ss.append(S[:, ax]), fs.append(f), dts.append(dt)
        relax = _relaxation_time(Ss, fs, dts, [alpha] * len(Ss), 1.0, opt)
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
            fits = _order_fits(S[:, ax], f, alpha, opt, dt, 1.0, relax)[:ORDERS]
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
    ap.add_argument("scenarios", nargs="*", default=sorted(synthetic.INCREMENT_SCENARIOS),
                    choices=sorted(synthetic.INCREMENT_SCENARIOS) + sorted(FAST_TEST_HAVEN))
    ap.add_argument("--warp", type=float, default=None, help="fit_spectral's warp (default: the estimator's)")
    ap.add_argument("--relaxation-basis", action="store_true", help="fit_spectral's relaxation_basis='own'")
    a = ap.parse_args(argv)
    options = {} if a.warp is None else {"warp": a.warp}
    if a.relaxation_basis:
        options["relaxation_basis"] = "own"
    print(f"truncation bias of ln slope per order index 1..{ORDERS - 1}: % of truth / in pooled s.e.; "
          f"options {options or 'default'}")
    print("| scenario | component | " + " | ".join(f"{b}" for b in range(1, ORDERS)) + " | settled at |")
    print("|---|---|" + "---|" * (ORDERS - 1) + "---|")
    for sc in a.scenarios:
        for comp in ("tr", "P"):
            bias, se = (fast_test_ladder if sc in FAST_TEST_HAVEN else ladder)(sc, comp, options)
            cells = [f"{100 * b:+.2f} / {b / s:+.1f}" for b, s in zip(bias[1:], se[1:])]
            st = settled(bias, se)
            print(f"| {sc} | {'D*' if comp == 'tr' else 'σ'} | " + " | ".join(cells) + f" | {st if st is not None else '-'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
