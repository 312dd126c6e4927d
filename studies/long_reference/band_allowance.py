#!/usr/bin/env python3
"""The spectral option ``band_allowance=True`` on the long-reference pieces (issue 12, item 0).

    python studies/long_reference/band_allowance.py [--runs DIR]   # -> band_allowance.json (committed)

Per 50 and 100 ps piece (the campaigns of ``analyse_pieces.py``, same rng seeds), the spectral
estimator with its defaults and with ``band_allowance=True``, each on the full band and with
``band_fraction`` 0.5 and 0.25.  Printed and written:

* band stability: the shift of σ's and D*'s log median from the full-band fit to the
  half- and quarter-band fits, in units of the full-band fit's own log s.e. (68 % half-width),
  the share beyond 1 s.e. (the target: none within the diffusive regime), and the
  H_R verdict (95 % interval includes 1 or not) flips;
* coverage of D* and σ against the spectral rest-of-run references of
  ``results_pieces.csv.gz`` (their log s.e. added in quadrature, as in ``scoring.py``),
  and the mean width relative to the default's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pandas as pd  # noqa: E402
import pieces as pc  # noqa: E402

import uncertainty_gk as ugk  # noqa: E402
from uncertainty_gk.estimators import build_group_data  # noqa: E402
from uncertainty_gk.estimators.spectral import fit_spectral, spectral_series_of  # noqa: E402

VARIANTS = {"default": {}, "allowance": {"band_allowance": True}}
BANDS = [1.0, 0.5, 0.25]
KEYS = {"slope_tr": "D_tr", "slope_P": "sigma"}


def fit_piece(series, seed: int) -> dict:
    out = {}
    for vname, opts in VARIANTS.items():
        for b in BANDS:
            fit = fit_spectral(series, rng=np.random.default_rng(seed), band_fraction=b, **opts)
            rec = {}
            for key in KEYS:
                x = np.log(np.asarray(fit.draws[key]).ravel())
                q = np.quantile(x, [0.16, 0.5, 0.84])
                rec[key] = {"log_median": float(q[1]), "log_se": float((q[2] - q[0]) / 2 / 0.994),
                            "allowance": fit.diagnostics["band_check"].get(key, {}).get("allowance", 0.0)}
            h = np.quantile(np.asarray(fit.draws["slope_tr"]).ravel() / np.asarray(fit.draws["slope_P"]).ravel(),
                            [0.025, 0.975])
            rec["hr_includes_1"] = bool(h[0] <= 1.0 <= h[1])
            rec["regime"] = fit.regime
            out[f"{vname}_band{b:g}"] = rec
    return out


def summarise(pieces: list[dict], refs: pd.DataFrame) -> list[dict]:
    rows = []
    for L in sorted({p["length_ps"] for p in pieces}):
        ps = [p for p in pieces if p["length_ps"] == L]
        for vname in VARIANTS:
            base = [p["fits"][f"{vname}_band1"] for p in ps]
            for key, qn in KEYS.items():
                row = {"length_ps": L, "variant": vname, "quantity": qn, "n": len(ps)}
                for b in BANDS[1:]:
                    sh = np.array([(p["fits"][f"{vname}_band{b:g}"][key]["log_median"] - f[key]["log_median"])
                                   / f[key]["log_se"] for p, f in zip(ps, base)])
                    row[f"share_shift_gt1_band{b:g}"] = float(np.mean(np.abs(sh) > 1))
                    row[f"median_abs_shift_band{b:g}"] = float(np.median(np.abs(sh)))
                    row[f"hr_flips_band{b:g}"] = int(sum(p["fits"][f"{vname}_band{b:g}"]["hr_includes_1"]
                                                         != f["hr_includes_1"] for p, f in zip(ps, base)))
                z = []
                for p, f in zip(ps, base):
                    r = refs.loc[(L, p["piece"], qn)]
                    conv = np.log(1e-4 / 6) if qn == "D_tr" else np.log(p["sigma_per_slope_P"])
                    z.append((f[key]["log_median"] + conv - np.log(r["median"])) / np.hypot(f[key]["log_se"], r["se"]))
                z = np.array(z)
                row.update({"cov95": float(np.mean(np.abs(z) < 1.96)), "cov68": float(np.mean(np.abs(z) < 1.0)),
                            "mean_z2": float(np.mean(z**2)),
                            "width_vs_default": float(np.mean([f[key]["log_se"] / p["fits"]["default_band1"][key]["log_se"]
                                                               for p, f in zip(ps, base)])),
                            "share_with_allowance": float(np.mean([f[key]["allowance"] > 0 for f in base]))})
                rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=pc.DEFAULT_RUNS)
    ap.add_argument("--out", type=Path, default=HERE / "band_allowance.json")
    a = ap.parse_args(argv)
    seeds = pc.load_seeds(a.runs)
    pieces = []
    for L in (50.0, 100.0):
        for k, ranges in enumerate(pc.piece_ranges(seeds, L)):
            st = ugk.AnalysisSettings(method="spectral", per_seed=False, seed=1)
            gd = build_group_data(pc.campaign_runs(seeds, ranges), st.resolved())
            series = [spectral_series_of(s) for s in gd.seeds]
            # σ per unit slope_P (S/cm per e² Å²/ps), from the core's own conversion
            scale = float(np.ravel(gd.physical({"slope_tr": np.ones(1), "slope_P_per_volume": np.ones(1) / gd.volume_A3})
                                   ["sigma"])[0])
            pieces.append({"length_ps": L, "piece": k, "sigma_per_slope_P": scale,
                           "fits": fit_piece(series, int(1000 * L) + k)})
            print(f"  {L:g} ps piece {k}", flush=True)
    d = pd.read_csv(HERE / "results_pieces.csv.gz")
    d = d[(d.role == "rest") & (d.method == "spectral") & (d.variant == "default")].copy()
    d["se"] = (np.log(d.hi68) - np.log(d.lo68)) / 2 / 0.994
    rows = summarise(pieces, d.set_index(["length_ps", "piece", "quantity"]))
    tmp = a.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"summary": rows, "pieces": pieces,
                               "command": "python studies/long_reference/band_allowance.py",
                               "uncertainty_gk": ugk.__version__}, indent=1) + "\n")
    tmp.replace(a.out)
    cols = ["length_ps", "variant", "quantity", "share_shift_gt1_band0.5", "share_shift_gt1_band0.25",
            "hr_flips_band0.5", "hr_flips_band0.25", "cov95", "cov68", "mean_z2", "width_vs_default", "share_with_allowance"]
    print("| " + " | ".join(cols) + " |")
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
