#!/usr/bin/env python3
"""Slopes of the whole-run MSDs over successive lag ranges (is 50-100 ps enough to be diffusive?).

    python studies/long_reference/msd_slopes.py [--runs DIR]     # -> msd_slopes.json (committed)
    python studies/long_reference/make_doc.py                    # shows it in docs/long_reference.md

Per seed, the framework-relative tracer MSD of Li (``displacement.tracer_msd``) and the
polarisation MSD (``displacement.polarisation_msd``) over every time origin of the whole
run; the secant slope between the ends of each lag range gives D* = slope/6 and
σ = slope_P/(6 V k_B T).  Mean over the three seeds, with the seeds' standard error.  In a
diffusive regime the slopes are the same in every range.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pieces as pc  # noqa: E402

from uncertainty_gk import displacement, units  # noqa: E402

RANGES_PS = [(2, 5), (5, 10), (10, 25), (25, 50), (50, 100), (100, 200), (200, 350), (350, 500)]
TEMPERATURE_K = 1000.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=pc.DEFAULT_RUNS)
    ap.add_argument("--out", type=Path, default=HERE / "msd_slopes.json")
    a = ap.parse_args(argv)
    seeds = pc.load_seeds(a.runs)
    per_seed = {"D_tr": [], "sigma": []}
    for s in seeds:
        tr = displacement.tracer_msd(s.ds)
        lag = tr["lag"].values
        m_tr = tr["msd"].sel(species="Li").values
        m_p = displacement.polarisation_msd(s.ds)["msd"].values
        fac = units.conductivity_prefactor_S_per_cm(float(s.ds["volume"].values), TEMPERATURE_K)
        row_tr, row_p = [], []
        for lo, hi in RANGES_PS:
            i, j = (int(np.argmin(np.abs(lag - x))) for x in (lo, hi))
            row_tr.append((m_tr[j] - m_tr[i]) / (lag[j] - lag[i]) / 6 * units.A2_PER_PS_TO_CM2_PER_S)
            row_p.append((m_p[j] - m_p[i]) / (lag[j] - lag[i]) / 6 * fac)
        per_seed["D_tr"].append(row_tr)
        per_seed["sigma"].append(row_p)
    out = {"ranges_ps": RANGES_PS, "seeds": [s.name for s in seeds], "ps_per_seed": [s.length_ps for s in seeds],
           "command": "python studies/long_reference/msd_slopes.py"}
    for q, rows in per_seed.items():
        x = np.array(rows)
        out[q] = {"per_seed": x.tolist(), "mean": x.mean(axis=0).tolist(),
                  "se": (x.std(axis=0, ddof=1) / np.sqrt(len(x))).tolist()}
    tmp = a.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(a.out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
