#!/usr/bin/env python3
"""The low-frequency check's first ordinate on the long-reference pieces (issue 12, item 0; session 28).

    python studies/long_reference/first_ordinate.py [--max-segments K] [--out first_ordinate.json]

For every 50 and 100 ps piece (independent 3-seed campaigns, as in ``analyse_pieces.py``)
and the whole run: the spectral default's low-frequency check - the pooled lowest four
ordinates' z and, since session 28 (``low_first``), the lowest ordinate's z and ratio
data / fit - for the tracer and the collective, and whether the first ordinate makes the
result provisional (z < -3).  The check changes no draw, so the coverage tables of
``docs/long_reference.md`` are those of this estimator; this script counts what it adds
to their regime column.  Reads the runs through the analysis core (never writes into
them); randomness: ``default_rng(0)`` per fit (the check itself draws nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

sys.path.insert(0, str(HERE.parent / "calibration_spectral"))

import pieces as pc  # noqa: E402
from first_level import first_level  # noqa: E402

import uncertainty_gk as ugk  # noqa: E402
from uncertainty_gk.estimators import build_group_data  # noqa: E402
from uncertainty_gk.estimators.spectral import fit_spectral, spectral_series_of  # noqa: E402


def check(seeds, ranges) -> dict:
    runs = pc.campaign_runs(seeds, ranges)
    data = build_group_data(runs, ugk.AnalysisSettings(seed=0).resolved(), show_warnings=False)
    series = [spectral_series_of(s) for s in data.every_seed]
    fit = fit_spectral(series, rng=np.random.default_rng(0))
    low = fit.diagnostics["low_check"]
    out = {c: {k: float(v) for k, v in low.get(key, {}).items()} for c, key in (("tr", "slope_tr"), ("P", "slope_P"))}
    # the tracer's level at the lowest ordinate alone (slope units: Σ_axes I_1 / Δt per seed,
    # seeds weighted by their increments), beside the fit's zero-frequency level
    out["tr"]["slope_first"] = first_level(series)
    out["tr"]["slope_median"] = float(np.median(fit.draws["slope_tr"]))
    out["first_flags"] = [c for c in ("tr", "P") if f"{c}: its lowest frequency" in fit.regime_reason]
    out["regime"] = fit.regime
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, default=pc.DEFAULT_RUNS)
    ap.add_argument("--max-segments", type=int, default=None)
    ap.add_argument("--lengths", type=float, nargs="+", default=[50.0, 100.0])
    ap.add_argument("--out", type=Path, default=HERE / "first_ordinate.json")
    a = ap.parse_args(argv)
    seeds = pc.load_seeds(a.runs, max_segments=a.max_segments)
    rows = []
    specs = [("whole", np.nan, -1, pc.whole_ranges(seeds))]
    specs += [(f"{L:g}ps_{k}", L, k, r) for L in a.lengths for k, r in enumerate(pc.piece_ranges(seeds, L))]
    print("| campaign | tracer: pooled z / first z (data / fit) | collective: pooled z / first z (data / fit) | "
          "first ordinate flags | regime |")
    print("|---|---|---|---|---|")
    for name, L, k, ranges in specs:
        r = {"campaign": name, "length_ps": L, "piece": k, **check(seeds, ranges)}
        rows.append(r)
        cell = [f"{r[c].get('z', np.nan):+.1f} / {r[c].get('z_first', np.nan):+.1f} ({r[c].get('ratio_first', np.nan):.2f})"
                for c in ("tr", "P")]
        print(f"| {name} | {cell[0]} | {cell[1]} | {', '.join(r['first_flags']) or '-'} | {r['regime']} |", flush=True)
    summary = {}
    for L in a.lengths:
        g = [r for r in rows if r["length_ps"] == L]
        summary[f"{L:g}"] = {"pieces": len(g), **{f"first_{c}": sum(c in r["first_flags"] for r in g) for c in ("tr", "P")},
                             "tracer_z_first_mean": float(np.mean([r["tr"]["z_first"] for r in g])),
                             "tracer_ratio_first_mean": float(np.mean([r["tr"]["ratio_first"] for r in g]))}
        rel = np.array([r["tr"]["slope_first"] / r["tr"]["slope_median"] for r in g])
        summary[f"{L:g}"]["tracer_first_over_estimate_mean"] = float(rel.mean())
        summary[f"{L:g}"]["tracer_first_over_estimate_se"] = float(rel.std(ddof=1) / np.sqrt(len(rel))) if len(rel) > 1 else None
        s = summary[f"{L:g}"]
        print(f"\n{L:g} ps pieces: {s['pieces']}; first ordinate flags the tracer in {s['first_tr']} and the collective "
              f"in {s['first_P']}; tracer first ordinate / fit {s['tracer_ratio_first_mean']:.3f} on average "
              f"(mean z {s['tracer_z_first_mean']:+.2f}); the lowest ordinate's level / the estimate "
              f"{s['tracer_first_over_estimate_mean']:.3f}")
    a.out.write_text(json.dumps({"command": "python studies/long_reference/first_ordinate.py"
                                 + (f" --max-segments {a.max_segments}" if a.max_segments else ""),
                                 "ps_per_seed": pc.ps_per_seed(seeds), "summary": summary, "rows": rows},
                                indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
