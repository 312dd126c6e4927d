#!/usr/bin/env python3
"""Is the tracer-collective correlation of the joint draws right?  (issue 12, session 30)

H_R = σ_tr/σ is formed draw by draw from joint draws of ln σ_tr and ln σ, so its interval
is right only if the draws' correlation is the correlation of the two estimates' errors.
From the committed raw per-replica results of an evaluation (no refitting) this script
prints, per scenario:

* the draws' correlation implied by the three 68 % half-widths, h_H² = h_tr² + h_σ² - 2ρ h_tr h_σ
  (the draws are bivariate normal on the log scale given τ), averaged over replicas;
* the correlation of the errors ln(median/truth) of σ_tr and σ across replicas (± its s.e.
  (1 - ρ²)/√n): what the draws' correlation should be;
* mean z² of σ_tr, σ and H_R (z: the ln error over the 68 % half-width; 1 when calibrated) and
  the z² H_R would have with the errors' correlation in place of the draws'.

    python studies/calibration_spectral/joint_check.py                      # the headline evaluation
    python studies/calibration_spectral/joint_check.py --indir studies/calibration_spectral/session29_default
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_table import _shown, load  # noqa: E402


def read(path: Path) -> tuple[str, dict[str, dict[str, np.ndarray]]]:
    """Per quantity: ln error and the 68 % half-width on the log scale, by replica."""
    rows: dict[str, dict[int, tuple[float, float]]] = {}
    scenario = ""
    for r in load(path):
        scenario = r["scenario"]
        err = np.log(float(r["median"]) / float(r["truth"]))
        half = 0.5 * (np.log(float(r["hi68"])) - np.log(float(r["lo68"])))
        rows.setdefault(r["quantity"], {})[int(r["replica"])] = (err, half)
    out = {}
    for q, by in rows.items():
        arr = np.array([by[k] for k in sorted(by)])
        out[q] = {"err": arr[:, 0], "half": arr[:, 1]}
    return scenario, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--indir", type=Path, default=HERE, help="folder of results_eval_*.csv.gz files")
    a = ap.parse_args(argv)
    files = sorted(a.indir.glob("results_eval_*.csv.gz"))
    if not files:
        print(f"no results_eval_*.csv.gz files in {a.indir}", file=sys.stderr)
        return 1
    print(f"Raw files: `{_shown(a.indir)}`\n")
    print("| scenario | n | draws' correlation | errors' correlation (± s.e.) | z² σ_tr | z² σ | z² H_R "
          "| z² H_R with the errors' correlation |")
    print("|---|---|---|---|---|---|---|---|")
    pooled = {"draws": [], "errors": [], "zH": [], "zHe": []}
    for f in files:
        scenario, d = read(f)
        tr, s, h = d["sigma_tr"], d["sigma"], d["haven_ratio"]
        rho_d = (tr["half"] ** 2 + s["half"] ** 2 - h["half"] ** 2) / (2 * tr["half"] * s["half"])
        rho_e = float(np.corrcoef(tr["err"], s["err"])[0, 1])
        n = len(rho_d)
        var_he = tr["half"] ** 2 + s["half"] ** 2 - 2 * rho_e * tr["half"] * s["half"]
        z2 = {k: float(np.mean(v["err"] ** 2 / v["half"] ** 2)) for k, v in (("tr", tr), ("s", s), ("h", h))}
        z2he = float(np.mean(h["err"] ** 2 / var_he))
        print(f"| {scenario} | {n} | {rho_d.mean():.3f} | {rho_e:.3f} (± {(1 - rho_e**2) / np.sqrt(n):.3f}) | "
              f"{z2['tr']:.2f} | {z2['s']:.2f} | {z2['h']:.2f} | {z2he:.2f} |")
        pooled["draws"].append(rho_d.mean())
        pooled["errors"].append(rho_e)
        pooled["zH"].append(z2["h"])
        pooled["zHe"].append(z2he)
    print(f"\nMean over scenarios: draws' correlation {np.mean(pooled['draws']):.3f}, errors' "
          f"{np.mean(pooled['errors']):.3f}; z² H_R {np.mean(pooled['zH']):.2f} (with the errors' correlation "
          f"{np.mean(pooled['zHe']):.2f}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
