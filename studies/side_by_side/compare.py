#!/usr/bin/env python3
"""kinisi, STACIE, sportran and our spectral estimator on the same data (issue 12, item 6).

The other tools are NOT dependencies of uncertainty_gk; run this in a study venv:

    python3 -m venv /work/sidevenv
    /work/sidevenv/bin/pip install kinisi stacie sportran && /work/sidevenv/bin/pip install -e .
    nice -n 10 /work/sidevenv/bin/python studies/side_by_side/compare.py synthetic --replicas 40
    nice -n 10 /work/sidevenv/bin/python studies/side_by_side/compare.py real [--runs DIR]
    /work/sidevenv/bin/python studies/side_by_side/make_table.py        # -> docs/side_by_side.md

``synthetic``: the evaluation replicas of the spectral calibration
(``studies/calibration_spectral/run.py``: replica r of scenario S is
``synthetic.increment_campaign(rng=500000 + r, **INCREMENT_SCENARIOS[S])``), scored
against the generator's exact answers.  Every tool gets the same increments: ours and
STACIE the framework-relative Li increments and the polarisation increments (its documented
ExpPoly [0, 1, 2] model, and [0, 2] as ``stacie_even``); sportran the
block-averaged current ΔP/Δt (the only current a positions-only run has); kinisi the
positions rebuilt from the increments (cumulative sums, wrapped into the cubic cell of the
scenario's volume, plus one immobile framework atom so that its drift correction is
zero), fitted from 5 ps (the synthetic rattle/back-hop times are 0.3 ps) to the full run.

``real``: the pieces of the long-reference LAMMPS runs (``studies/long_reference``: piece k
of seeds 1-3, 50 and 100 ps, and the whole run), read with the package's reader; STACIE
gets the same framework-relative increments as our estimator (``spectral_series_of``), kinisi
the raw positions (its own drift correction, Li charge 0.6, fitted from the start of our
automatic MSD window to the end of the piece), sportran the charge current J written every
5 fs, resampled to F* = 5 THz (the Nyquist frequency of the 0.1 ps frames, i.e. the band
our positions route uses) and to F* = 1 THz (``sportran_f1``).  Our own rows for the real pieces come from
``studies/long_reference/results_pieces.csv.gz`` (same campaigns, same core).

Raw rows: ``results_synthetic_<scenario>_<tool>.csv.gz`` (one file per scenario and tool, so
``--tools ugk_spectral`` reruns only ours after an estimator change) and ``results_real.csv.gz`` here
(committed); ``make_table.py`` makes the doc.  Versions go to ``versions.json``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "studies" / "long_reference"))

import tools  # noqa: E402

from uncertainty_gk import synthetic  # noqa: E402
from uncertainty_gk.estimators.spectral import SpectralSeries  # noqa: E402

SCENARIOS = ["brownian_3x100ps", "brownian_3x50ps", "hops_3x100ps", "channel_1d_3x100ps", "pairs_hr067_3x100ps"]
SEED_BASE = 500000                      # the evaluation replicas of studies/calibration_spectral
TOOLS = ["ugk_spectral", "stacie", "stacie_even", "sportran", "sportran_f1", "kinisi"]
KINISI_START_PS = 5.0
SPORTRAN_FSTAR_THZ = 5.0                # real MD: the Nyquist frequency of the 0.1 ps frames
SPORTRAN_LOW_FSTAR_THZ = 1.0            # variant sportran_f1: only the lowest fifth of that band
FIELDS_SYN = ["scenario", "replica", "tool", "quantity", "truth", "median", "lo95", "hi95", "lo68", "hi68",
              "seconds", "info"]
FIELDS_REAL = ["campaign", "role", "length_ps", "piece", "tool", "quantity", "median", "lo95", "hi95", "lo68",
               "hi68", "seconds", "info"]


def write_csv(rows, fields, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with gzip.GzipFile(tmp, "wb", mtime=0) as raw, io.TextIOWrapper(raw, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, (float, np.floating)) else v) for k, v in r.items()})
    tmp.replace(path)


def versions() -> dict:
    from importlib.metadata import version
    out = {"python": platform.python_version()}
    for p in ("uncertainty_gk", "kinisi", "stacie", "sportran", "numpy", "scipy", "scipp", "ase"):
        try:
            out[p] = version(p)
        except Exception:                      # noqa: BLE001 - a missing package is reported as such
            out[p] = "not installed"
    return out


def emit(rows, base, tool, out, sec, info, truth=None):
    for qn, s in out.items():
        row = {**base, "tool": tool, "quantity": qn, **s, "seconds": sec, "info": json.dumps(info) if info else ""}
        if truth is not None:
            row["truth"] = truth[qn]
        rows.append(row)


def kinisi_positions(camp, rng):
    """Positions (T, N+1, 3) per seed from the increments, wrapped into the scenario's cubic cell."""
    L = camp.truth["volume"] ** (1.0 / 3.0)
    out = []
    for s in camp.seeds:
        inc = np.asarray(s["tracer_increments"])
        N = inc.shape[1]
        p = np.concatenate([rng.uniform(0.0, L, (1, N, 3)), inc]).cumsum(axis=0) % L
        out.append(np.concatenate([p, np.full((p.shape[0], 1, 3), L / 2)], axis=1))
    return out, ["Li"] * N + ["O"], np.eye(3) * L


def synthetic_rows(tool: str, sc: str, r: int) -> list[dict]:
    """One tool on replica r of scenario sc: one row per quantity."""
    seed = SEED_BASE + r
    camp = synthetic.increment_campaign(rng=seed, **synthetic.INCREMENT_SCENARIOS[sc])
    tr = camp.truth
    kw = dict(n_mobile=tr["n_mobile"], charge=tr["charge"], volume_A3=tr["volume"], temperature_K=tr["temperature_K"])
    dt = camp.seeds[0]["dt_ps"]
    if tool == "ugk_spectral":
        o, s, i = tools.ugk_spectral([SpectralSeries(**x) for x in camp.seeds], seed=seed, **kw)
    elif tool in ("stacie", "stacie_even"):
        o, s, i = tools.stacie([x["tracer_increments"] for x in camp.seeds],
                               [x["polarisation_increments"] for x in camp.seeds], dt,
                               degrees=(0, 2) if tool == "stacie_even" else (0, 1, 2), **kw)
    elif tool in ("sportran", "sportran_f1"):
        o, s, i = tools.sportran([x["polarisation_increments"] / dt for x in camp.seeds], dt * 1000.0,
                                 volume_A3=tr["volume"], temperature_K=tr["temperature_K"],
                                 fstar_THz=SPORTRAN_LOW_FSTAR_THZ if tool == "sportran_f1" else None)
    else:
        pos, symbols, cell = kinisi_positions(camp, np.random.default_rng(seed))
        o, s, i = tools.kinisi(tools.ase_lists(pos, symbols, cell), species="Li", frame_ps=dt,
                               start_ps=KINISI_START_PS, seed=seed % 2**31, **kw)
    rows: list[dict] = []
    emit(rows, {"scenario": sc, "replica": r}, tool, o, s, i, tr)
    return rows


def run_synthetic(a) -> None:
    # one file per scenario and tool, rewritten after every replica (an interrupted run keeps its rows;
    # rerunning one tool, e.g. ours after an estimator change, replaces only its files)
    for tool in a.tools:
        for sc in a.scenarios:
            out_path = HERE / f"results_synthetic_{sc}_{tool}.csv.gz"
            rows: list[dict] = []
            t0 = time.perf_counter()
            for r in range(a.replicas):
                rows += synthetic_rows(tool, sc, r)
                write_csv(rows, FIELDS_SYN, out_path)
            print(f"[side_by_side] {tool} {sc}: {a.replicas} replicas in {time.perf_counter() - t0:.0f} s", flush=True)


def run_real(a) -> None:
    import pieces as pc

    import uncertainty_gk as ugk
    from uncertainty_gk.estimators import build_group_data
    from uncertainty_gk.estimators.spectral import spectral_series_of

    seeds = pc.load_seeds(a.runs, max_segments=a.max_segments)
    print(f"[side_by_side] real: {pc.ps_per_seed(seeds)} ps per seed", flush=True)
    rows: list[dict] = []
    campaigns = [("whole", "whole", np.nan, -1, pc.whole_ranges(seeds))]
    for L in a.lengths:
        campaigns += [(f"{L:g}ps_{k}", "piece", L, k, r) for k, r in enumerate(pc.piece_ranges(seeds, L))]
    for name, role, L, k, ranges in campaigns:
        t0 = time.perf_counter()
        runs = pc.campaign_runs(seeds, ranges)
        gd = build_group_data(runs, ugk.AnalysisSettings(per_seed=False, seed=0).resolved())
        s0 = gd.seeds[0]
        kw = dict(n_mobile=s0.n_mobile, charge=s0.charge, volume_A3=gd.volume_A3, temperature_K=gd.temperature_K)
        base = {"campaign": name, "role": role, "length_ps": L, "piece": k}
        series = [spectral_series_of(s) for s in gd.seeds]
        for tool, degrees in (("stacie", (0, 1, 2)), ("stacie_even", (0, 2))):
            if tool in a.tools:
                o, s, i = tools.stacie([x.tracer_increments for x in series],
                                       [x.polarisation_increments for x in series], series[0].dt_ps,
                                       degrees=degrees, **kw)
                emit(rows, base, tool, o, s, i)
        cur = pc.campaign_current(seeds, ranges)
        dtJ = next(iter(cur.values()))[1]
        for tool, fstar in (("sportran", SPORTRAN_FSTAR_THZ), ("sportran_f1", SPORTRAN_LOW_FSTAR_THZ)):
            if tool in a.tools:
                o, s, i = tools.sportran([J for J, _ in cur.values()], dtJ * 1000.0, volume_A3=gd.volume_A3,
                                         temperature_K=gd.temperature_K, fstar_THz=fstar)
                emit(rows, base, tool, o, s, i)
        if "kinisi" in a.tools:
            ds0 = next(iter(runs.values()))
            symbols = [str(x) for x in np.asarray(ds0["species"].values).astype(str)]
            n = min(int(ds.sizes["time"]) for ds in runs.values())        # kinisi needs equal lengths
            pos = [np.asarray(ds["positions"].values[:n], dtype=np.float64) for ds in runs.values()]
            cell = np.asarray(ds0["cell"].values, dtype=np.float64)
            start = float(gd.window.start_ps) if gd.window is not None else KINISI_START_PS
            o, s, i = tools.kinisi(tools.ase_lists(pos, symbols, cell), species="Li", frame_ps=gd.dt_ps,
                                   start_ps=start, seed=1000 + max(k, 0), **kw)
            emit(rows, base, "kinisi", o, s, i)
        write_csv(rows, FIELDS_REAL, HERE / "results_real.csv.gz")
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    meta = {"ps_per_seed": [round(s.length_ps, 3) for s in seeds], "lengths_ps": a.lengths,
            "command": "compare.py real" + ("" if a.runs == pc.DEFAULT_RUNS else f" --runs {a.runs}")
                       + ("" if a.max_segments is None else f" --max-segments {a.max_segments}")}
    (HERE / "results_real_meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("synthetic")
    s.add_argument("--replicas", type=int, default=40)
    s.add_argument("--scenarios", nargs="+", default=SCENARIOS)
    s.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    r = sub.add_parser("real")
    r.add_argument("--runs", type=Path, default=Path("/work/main/studies/long_reference/runs"))
    r.add_argument("--lengths", type=float, nargs="+", default=[50.0, 100.0])
    r.add_argument("--max-segments", type=int, default=None)
    r.add_argument("--tools", nargs="+", default=TOOLS[1:], choices=TOOLS[1:])
    a = ap.parse_args(argv)
    (HERE / "versions.json").write_text(json.dumps(versions(), indent=1) + "\n")
    run_synthetic(a) if a.what == "synthetic" else run_real(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
