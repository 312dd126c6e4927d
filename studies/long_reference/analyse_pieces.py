#!/usr/bin/env python3
"""Every interval method on pieces of the long-reference LAMMPS runs (issue 12, items 0, 2, 5).

    python studies/long_reference/analyse_pieces.py [--runs /work/main/studies/long_reference/runs]
    python studies/long_reference/make_doc.py            # -> docs/long_reference.md

Reads the finished segments of the three seeds (``pieces.py``; never copies them), cuts
each seed into pieces of 50 and 100 ps, and analyses piece k of seeds 1, 2, 3 as one
3-seed campaign with every interval method of the package through the analysis core
(``analyse_group`` on the campaign's trajectory Datasets: ``spectral``, ``bayes``,
``bootstrap``, ``block``).  References, with the same core:

* the **whole run** (every finished frame of every seed), spectral and bayes;
* for every piece, the **rest of the run** (the whole run without that piece, as up to two
  chunks per seed), spectral and bayes: independent of the piece, so the piece-vs-reference
  comparison can add the two uncertainties in quadrature (see ``make_doc.py``).

Also, per campaign (pieces and whole run):

* item 0: the spectral estimate at ``band_fraction`` 1, 0.5, 0.25 and the bayes estimate
  on the automatic MSD window [a, b], on [2a, b] (later start) and on [a, 2b] (longer,
  capped at half the shortest run);
* item 2: σ from the charge current J (written every 5 fs, block-integrated over each
  frame interval with ``series_from_current``) with the same spectral estimator.

One raw row per campaign, method, variant and quantity goes to
``studies/long_reference/results_pieces.csv.gz`` (committed) and the run's metadata to
``results_pieces_meta.json``; nothing is summarised here.
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
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pieces as pc  # noqa: E402

import uncertainty_gk as ugk  # noqa: E402
from uncertainty_gk import units  # noqa: E402
from uncertainty_gk.estimators import build_group_data  # noqa: E402
from uncertainty_gk.estimators.spectral import fit_spectral, series_from_current, spectral_series_of  # noqa: E402

METHODS = ["spectral", "bayes", "bootstrap", "block"]
REFERENCE_METHODS = ["spectral", "bayes"]
QUANTITIES = ["D_tr", "sigma_tr", "sigma", "haven_ratio"]
BANDS = [0.5, 0.25]
FIELDS = ["campaign", "role", "length_ps", "piece", "method", "variant", "quantity", "median", "lo95", "hi95",
          "lo68", "hi68", "regime", "window_lo", "window_hi", "seconds", "runs", "ps_total"]
PROBS = [0.025, 0.16, 0.5, 0.84, 0.975]


def q_row(x: np.ndarray) -> dict:
    q = np.quantile(np.asarray(x, dtype=np.float64).ravel(), PROBS)
    return {"lo95": q[0], "lo68": q[1], "median": q[2], "hi68": q[3], "hi95": q[4]}


class Campaign:
    """One campaign's analyses; appends raw rows."""

    def __init__(self, seeds, ranges, *, name, role, length_ps, piece, seed, rows):
        self.seeds, self.ranges, self.rows = seeds, ranges, rows
        self.base = {"campaign": name, "role": role, "length_ps": length_ps, "piece": piece,
                     "runs": len(ranges),
                     "ps_total": sum((i1 - i0) * pc.seed_of(seeds, n).dt_ps for n, (i0, i1) in ranges.items())}
        self.runs = pc.campaign_runs(seeds, ranges)
        self.seed = seed

    def emit(self, method, variant, draws: dict, regime, window, seconds):
        for qn in QUANTITIES:
            if qn not in draws:
                continue
            self.rows.append({**self.base, "method": method, "variant": variant, "quantity": qn,
                              **q_row(draws[qn]), "regime": regime, "window_lo": window[0], "window_hi": window[1],
                              "seconds": seconds})

    def core(self, methods, *, window_ps=None, variant="default"):
        """``analyse_group`` with ``methods`` (one GroupData); returns the GroupData's window.
        A method whose rows for this campaign and variant are in ``_KEEP`` (``--spectral-only``)
        is not rerun: those rows are appended as they were."""
        st = ugk.AnalysisSettings(method=methods[0], per_seed=False, seed=self.seed, window_ps=window_ps)
        t0 = time.perf_counter()
        gd = build_group_data(self.runs, st.resolved())
        prep = time.perf_counter() - t0
        window = gd.window.as_list() if gd.window is not None else [np.nan, np.nan]
        for m in methods:
            kept = _KEEP.get((self.base["campaign"], m, variant))
            if kept is not None:
                self.rows.extend(kept)
                continue
            t0 = time.perf_counter()
            res = ugk.analyse_group(gd, methods=[m])
            sec = time.perf_counter() - t0 + prep
            d = res.draws[m]
            regime = res.quantities["sigma"].regime
            self.emit(m, variant, d, regime, window if m != "spectral" else [np.nan, np.nan], sec)
        return gd, window

    def spectral_variants(self, gd, variants: dict[str, dict]):
        """The spectral estimate with options changed (same data, fit_spectral directly)."""
        series = [spectral_series_of(s) for s in gd.seeds]
        for name, options in variants.items():
            t0 = time.perf_counter()
            try:
                fit = fit_spectral(series, rng=np.random.default_rng(self.seed), **options)
            except (ValueError, TypeError) as e:          # an option the estimator no longer has
                print(f"  {name}: skipped ({e})", flush=True)
                continue
            draws = gd.physical({"slope_tr": np.asarray(fit.draws["slope_tr"]),
                                 "slope_P_per_volume": np.asarray(fit.draws["slope_P"]) / gd.volume_A3})
            self.emit("spectral", name, draws, fit.regime, [np.nan, np.nan], time.perf_counter() - t0)

    def bands(self, gd):
        """Item 0: the spectral estimate on narrower bands."""
        self.spectral_variants(gd, {f"band_{b:g}": {"band_fraction": b} for b in BANDS})

    def windows(self, window):
        """Item 0: bayes on a later-starting and on a longer window."""
        a, b = window
        if not np.isfinite(a):
            return
        shortest = min((i1 - i0) * pc.seed_of(self.seeds, n).dt_ps for n, (i0, i1) in self.ranges.items())
        for variant, w in (("window_late", (2 * a, b)), ("window_long", (a, min(2 * b, 0.5 * shortest)))):
            if w[1] - w[0] < 2.0 or (variant == "window_long" and w[1] <= b + 1e-9):
                continue
            self.core(["bayes"], window_ps=w, variant=variant)

    def current(self, gd):
        """Item 2: σ from the charge current, the same estimator, per run block-integrated to the frames."""
        t0 = time.perf_counter()
        series = []
        for name, (J, dtJ) in pc.campaign_current(self.seeds, self.ranges).items():
            block = int(round(pc.seed_of(self.seeds, name).dt_ps / dtJ))
            series.append(series_from_current(J, dtJ, block, name=name))
        fit = fit_spectral(series, rng=np.random.default_rng(self.seed))
        fac = units.conductivity_prefactor_S_per_cm(gd.volume_A3, gd.temperature_K)
        sig = np.asarray(fit.draws["slope_P"]).ravel() / 6.0 * fac
        self.emit("spectral_current", "default", {"sigma": sig}, fit.regime, [np.nan, np.nan],
                  time.perf_counter() - t0)


def write_rows(rows, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with gzip.GzipFile(tmp, "wb", mtime=0) as raw, io.TextIOWrapper(raw, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    tmp.replace(path)


_SEEDS: list = []        # the loaded runs; set before the worker processes fork, so they share them
_KEEP: dict = {}         # --spectral-only: the existing rows of the other methods, by (campaign, method, variant)
SPECTRAL_METHODS = ("spectral", "spectral_current")


def kept_rows(path: Path) -> dict:
    """The rows of ``path`` of every method but the spectral ones, by (campaign, method, variant),
    as write_rows wrote them (the values are re-read as text and written back unchanged)."""
    if not path.exists():
        raise SystemExit(f"--spectral-only keeps the other methods' rows of {path}, which does not exist: "
                         "run analyse_pieces.py without --spectral-only first")
    keep: dict = {}
    with gzip.open(path, "rt", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["method"] not in SPECTRAL_METHODS:
                keep.setdefault((r["campaign"], r["method"], r["variant"]), []).append(r)
    return keep


def analyse_campaign(spec: dict) -> list[dict]:
    """Every analysis of one campaign (``spec``: ranges, name, role, length_ps, piece, seed); its raw rows."""
    t0 = time.perf_counter()
    rows: list[dict] = []
    kw = {k: v for k, v in spec.items() if k != "ranges"}
    c = Campaign(_SEEDS, spec["ranges"], rows=rows, **kw)
    methods = METHODS if kw["role"] != "rest" else REFERENCE_METHODS
    gd, window = c.core(methods)
    if kw["role"] != "piece":
        # the references on the full band (low_band=False, the default until session 26); the
        # default narrows the band while the low-frequency check fails (session 27)
        c.spectral_variants(gd, {"full_band": {"low_band": False, "first_step": False}})
    if kw["role"] != "rest":
        c.bands(gd)
        c.windows(window)
        c.current(gd)
    print(f"  {kw['name']}: {time.perf_counter() - t0:.0f} s", flush=True)
    return rows


def campaign_specs(seeds, lengths) -> list[dict]:
    """The whole run, then per piece length every piece followed by its rest-of-run reference."""
    specs = [{"ranges": pc.whole_ranges(seeds), "name": "whole", "role": "whole", "length_ps": np.nan,
              "piece": -1, "seed": 1}]
    for L in lengths:
        for k, ranges in enumerate(pc.piece_ranges(seeds, L)):
            specs.append({"ranges": ranges, "name": f"{L:g}ps_{k}", "role": "piece", "length_ps": L, "piece": k,
                          "seed": int(1000 * L) + k})
            specs.append({"ranges": pc.rest_ranges(seeds, ranges), "name": f"rest_{L:g}ps_{k}", "role": "rest",
                          "length_ps": L, "piece": k, "seed": int(1000 * L) + 500 + k})
    return specs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, default=pc.DEFAULT_RUNS, help="the runs directory (read only)")
    ap.add_argument("--lengths", type=float, nargs="+", default=[50.0, 100.0], help="piece lengths (ps)")
    ap.add_argument("--max-segments", type=int, default=None, help="use at most this many segments per seed")
    ap.add_argument("--jobs", type=int, default=1,
                    help="campaigns analysed in parallel (forked processes; the rows are the same, in the same order)")
    ap.add_argument("--out", type=Path, default=HERE / "results_pieces.csv.gz")
    ap.add_argument("--spectral-only", action="store_true",
                    help="rerun only the spectral estimator's rows (after a change of the spectral estimator); the "
                         "other methods' rows are kept from --out, which must exist, in the order a full run gives")
    a = ap.parse_args(argv)
    if a.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {a.jobs}")
    t_all = time.perf_counter()
    if a.spectral_only:
        _KEEP.update(kept_rows(a.out))
    seeds = pc.load_seeds(a.runs, max_segments=a.max_segments)
    _SEEDS[:] = seeds
    print(f"[long_reference] {pc.ps_per_seed(seeds)} ps per seed ({time.perf_counter() - t_all:.0f} s to read)",
          flush=True)
    specs = campaign_specs(seeds, a.lengths)
    done: list[list[dict] | None] = [None] * len(specs)

    def flush_done() -> list[dict]:       # the finished prefix, in campaign order (kept if interrupted)
        rows = []
        for r in done:
            if r is None:
                break
            rows.extend(r)
        return rows

    if a.jobs == 1:
        for i, spec in enumerate(specs):
            done[i] = analyse_campaign(spec)
            if spec["role"] == "rest":
                write_rows(flush_done(), a.out)     # the finished prefix (never empty: the whole run is first)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(a.jobs, mp_context=mp.get_context("fork")) as pool:
            futures = [pool.submit(analyse_campaign, spec) for spec in specs]
            for i, f in enumerate(futures):
                done[i] = f.result()
                if specs[i]["role"] == "rest":
                    write_rows(flush_done(), a.out)  # in campaign order, so the finished prefix
    rows = flush_done()
    write_rows(rows, a.out)
    meta = {"ps_per_seed": [round(s.length_ps, 3) for s in seeds], "segments_per_seed": [len(s.segments) for s in seeds],
            "frame_interval_ps": round(seeds[0].dt_ps, 6), "n_li": int(seeds[0].ds["mobile"].sum()) if "mobile" in seeds[0].ds
            else None, "lengths_ps": a.lengths, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": round(time.perf_counter() - t_all), "uncertainty_gk": ugk.__version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "command": "python studies/long_reference/analyse_pieces.py"
                       + ("" if a.runs == pc.DEFAULT_RUNS else f" --runs {a.runs}")
                       + ("" if a.max_segments is None else f" --max-segments {a.max_segments}")
                       + ("" if a.lengths == [50.0, 100.0] else " --lengths " + " ".join(f"{x:g}" for x in a.lengths))
                       + (" --spectral-only" if a.spectral_only else "")}
    a.out.with_name("results_pieces_meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"[long_reference] {len(rows)} rows -> {a.out} ({time.perf_counter() - t_all:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
