"""Split replicas by the collective's relaxation check and compare collective orders within each part.

For each replica of one increment scenario (or ``SCENARIO+heteroD=T``, as in ``ablation.py``),
fits the default (``collective_order="own"``), ``"tracer_shaped"`` and ``"tracer"`` with the same
draws' rng, and splits the replicas by whether the default keeps the collective's relaxation
column. Per part it prints the default's ln σ bias and the paired shifts of the two other
orders. A check that is decided by the collective's own noise selects: the default's bias
differs between the parts (session 18, ``ablation_2026-12-05_session18.md``).  ``--gains-only``
fits the default alone and prints the distribution of the collective's check gain (how often
it is a near tie, within 2 of zero)::

    python studies/calibration_spectral/check_split.py sparse_05ps_3x300ps --first-seed 780000 --replicas 120
    python studies/calibration_spectral/check_split.py hops_3x100ps --first-seed 780000 --replicas 20 --gains-only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import replica  # noqa: E402

from uncertainty_gk.estimators.spectral import fit_spectral  # noqa: E402

ORDERS = ("own", "tracer_shaped", "tracer")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("--first-seed", type=int, required=True)
    ap.add_argument("--replicas", type=int, default=120)
    ap.add_argument("--gains-only", action="store_true", help="fit the default alone; print its check gains")
    a = ap.parse_args(argv)
    orders = ORDERS[:1] if a.gains_only else ORDERS
    ln_p = np.empty((a.replicas, len(ORDERS)))
    kept = np.zeros(a.replicas, dtype=bool)
    gain = np.full(a.replicas, np.nan)
    for r in range(a.replicas):
        series, truth = replica(a.scenario, a.first_seed + r)
        for i, order in enumerate(orders):
            fit = fit_spectral(series, rng=np.random.default_rng(10_000 + a.first_seed + r), n_draws=4000,
                               frame="lab", band_check=False, collective_order=order)
            ln_p[r, i] = np.median(np.log(fit.draws["slope_P"].ravel() / truth["slope_P"]))
            if order == "own":
                kept[r] = fit.band["P"].get("relaxation_time_ps") is not None
                g = fit.band["P"].get("relaxation_check_gain")
                gain[r] = np.nan if g is None else g
    tie = int(np.sum((gain > -2) & (gain <= 0)))
    print(f"{a.scenario}: the collective's check gain, median {np.nanmedian(gain):.2f}, range "
          f"{np.nanmin(gain):.2f} to {np.nanmax(gain):.2f}; in (-2, 0] in {tie} of {a.replicas} replicas")
    if a.gains_only:
        return 0
    print(f"{a.scenario}, replicas {a.first_seed}-{a.first_seed + a.replicas - 1}; ln σ in %")
    print("| subset | n | default's bias | shaped - default | tracer - default |")
    print("|---|---|---|---|---|")
    for name, m in (("the collective keeps the column", kept), ("the collective drops it", ~kept)):
        n = int(m.sum())
        if n < 2:
            print(f"| {name} | {n} | | | |")
            continue
        cells = [f"{100 * ln_p[m, 0].mean():+.2f}"]
        for i in (1, 2):
            d = 100 * (ln_p[m, i] - ln_p[m, 0])
            cells.append(f"{d.mean():+.2f} ± {d.std(ddof=1) / np.sqrt(n):.2f}")
        print(f"| {name} | {n} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
