#!/usr/bin/env python3
"""The lowest-ordinate check (``low_first``, session 28) on the shared real runs (issue 12, item 0).

    python studies/shared_data/make_manifests.py ../shared/data /tmp/sd
    ugk ingest /tmp/sd/argyrodite.toml -o /tmp/sd/argyrodite.nc
    ugk ingest /tmp/sd/lpso_T1000.toml -o /tmp/sd/lpso_T1000.nc
    python studies/calibration_spectral/low_first_real.py /tmp/sd/argyrodite.nc /tmp/sd/lpso_T1000.nc

For every group of each archive (the analysis core's own group data, every seed): the
default fit's D* (95 %), the low-frequency check's pooled z and the lowest ordinate's z
and ratio data / fit, the fit's regime; the tracer's band narrowed by hand to one half and
one quarter (what ``low_band`` would do if the lowest ordinate alone triggered it); and the
pooled framework-relative tracer MSD's secant slopes over 1-3.5, 3.5-7 and 7-10 ps (the
numbers the issue quotes for the argyrodite runs).  Development and validation only: the
data are read from the archives, never copied.  Randomness: ``default_rng(0)`` per fit.
"""

from __future__ import annotations

import argparse

import numpy as np

import uncertainty_gk as ugk
from uncertainty_gk import units
from uncertainty_gk.estimators.data import pooled_tracer_curve
from uncertainty_gk.estimators.spectral import fit_spectral, spectral_series_of

LAGS_PS = ((1.0, 3.5), (3.5, 7.0), (7.0, 10.0))


def d_star(fit, band: str = "") -> str:
    m, lo, hi = (x / 6 * units.A2_PER_PS_TO_CM2_PER_S * 1e5 for x in fit.interval("slope_tr"))
    return f"{m:.3f} [{lo:.3f}, {hi:.3f}]{band}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("archives", nargs="+")
    a = ap.parse_args(argv)
    print("| group | D* (1e-5 cm²/s), default | pooled z | first-ordinate z (data / fit) | regime | "
          "D*, tracer band 1/2 | D*, tracer band 1/4 | MSD slopes 1-3.5 / 3.5-7 / 7-10 ps |")
    print("|---|---|---|---|---|---|---|---|")
    for path in a.archives:
        camp = ugk.load_runs(path)
        for key, members in camp.groups().items():
            data = ugk.build_group_data(members, ugk.AnalysisSettings(seed=0).resolved(), show_warnings=False)
            series = [spectral_series_of(s) for s in data.every_seed]
            fit = fit_spectral(series, rng=np.random.default_rng(0))
            low = fit.diagnostics["low_check"]["slope_tr"]
            narrow = [fit_spectral(series, rng=np.random.default_rng(0), band_fraction={"tr": b, "P": 1.0})
                      for b in (0.5, 0.25)]
            lag, msd = pooled_tracer_curve(data.every_seed)
            slopes = []
            for lo, hi in LAGS_PS:
                i, j = np.searchsorted(lag, lo), np.searchsorted(lag, hi)
                ok = j < len(lag)
                slopes.append(f"{(msd[j] - msd[i]) / (lag[j] - lag[i]) / 6 * units.A2_PER_PS_TO_CM2_PER_S * 1e5:.2f}"
                              if ok else "-")
            first = "tr: its lowest frequency" in fit.regime_reason
            print(f"| {key} | {d_star(fit)} | {low['z']:+.1f} | {low['z_first']:+.1f} ({low['ratio_first']:.2f}) | "
                  f"{fit.regime}{' (first ordinate)' if first else ''} | {d_star(narrow[0])} | {d_star(narrow[1])} | "
                  f"{' / '.join(slopes)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
