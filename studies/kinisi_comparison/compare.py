"""Side-by-side comparison of uncertainty_gk with kinisi (D*, sigma, sigma_tr, H_R).

Runs in a separate environment that has both packages (kinisi is NOT a dependency of
uncertainty_gk)::

    python3 -m venv /work/kvenv
    /work/kvenv/bin/pip install kinisi
    /work/kvenv/bin/pip install -e .
    /work/kvenv/bin/python studies/kinisi_comparison/compare.py synthetic --replicas 100 \
        --scenarios independent_small
    /work/kvenv/bin/python studies/kinisi_comparison/compare.py lammps ../shared/data

``synthetic``: replica i of a calibration scenario (studies/calibration/run_calibration.py)
is ``synthetic.generate(**COMMON, **SCENARIOS[name], rng=i)``; both tools analyse the same
three seeds and are scored against ``system.truth``.  Results go to
``OUT/synthetic_<scenario>.json`` (one row per replica; re-running appends missing replicas)
and the summary table to ``OUT/table.md``.

``lammps``: the shared LAMMPS runs ``DATA/lammps/lpso_T1000`` (never copied: our side is
ingested into a temporary archive, kinisi reads the dumps with ASE).

kinisi (2.x) conventions used here, read from its source:

* seeds: ``dtype="identical"`` concatenates the seeds' displacements along the particle
  axis; for sigma we pass ``system_particles = n_seeds`` so that each seed's ions form
  one "system particle" (one polarisation per seed, never a sum over seeds); kinisi then
  divides by the summed volume of the seeds, which is consistent.
* drift: kinisi subtracts the unweighted mean displacement of all non-mobile atoms; its
  sigma uses only the mobile species (``ionic_charge``), not the framework charges.
* units: ``D`` in cm^2/s, ``sigma`` in mS/cm (converted to S/cm here).
* interval: 95 % equal-tailed interval of the posterior samples (``.D.values``,
  ``.sigma.values``).  sigma_tr(kinisi) = N q^2 D* / (V k T) applied to every D* sample;
  H_R(kinisi) = median(sigma_tr) / median(sigma) (naive ratio of medians, no interval).
* window: kinisi fits from ``start_dt`` to the LAST time interval in ``dt``.  Variant
  ``kinisi_win`` gives it our window (dt = our window's lags, start = our start); variant
  ``kinisi_full`` gives it our start but 100 lags up to the full run length (its default
  end).  NB kinisi counts independent samples as N * dt_max / dt, i.e. it takes the
  largest dt given as the run length, so truncating dt widens its intervals.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "studies" / "calibration"))

QUANTS = ("D_tr", "sigma_tr", "sigma", "haven_ratio")
VARIANTS = ("kinisi_win", "kinisi_full")


# --------------------------------------------------------------------------- kinisi side
def _ase_lists(runs, mobile_species):
    """One list of ase.Atoms per seed (positions Å, the run's cell, pbc)."""
    from ase import Atoms

    out = []
    for ds in runs:
        pos = np.asarray(ds["positions"].values, dtype=np.float64)
        cell = np.asarray(ds["cell"].values, dtype=np.float64)
        symbols = [str(s) for s in np.asarray(ds["species"].values).astype(str)]
        out.append([Atoms(symbols=symbols, positions=p, cell=cell, pbc=True) for p in pos])
    return out


def _equal_tailed(x, prob=0.95):
    a = (1 - prob) / 2
    lo, med, hi = np.quantile(np.asarray(x, dtype=np.float64), [a, 0.5, 1 - a])
    return {"median": float(med), "lower": float(lo), "upper": float(hi)}


def kinisi_analyse(atoms_lists, *, species, charge, n_mobile, volume_A3, temperature_K, frame_ps, lag_frames,
                   start_ps, seed):
    """D* and sigma from kinisi (DiffusionAnalyzer, ConductivityAnalyzer) on all seeds."""
    import scipp as sc
    from kinisi.analyze import ConductivityAnalyzer, DiffusionAnalyzer

    from uncertainty_gk import units

    n_seeds = len(atoms_lists)
    common = dict(specie=species, time_step=sc.scalar(frame_ps, unit="ps"),
                  step_skip=sc.scalar(1, unit=sc.units.dimensionless),
                  dt=sc.array(dims=["time interval"], values=np.asarray(lag_frames, float) * frame_ps, unit="ps"),
                  progress=False)
    if n_seeds > 1:
        common["dtype"] = "identical"
    traj = atoms_lists if n_seeds > 1 else atoms_lists[0]
    start = sc.scalar(float(start_ps), unit="ps")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = DiffusionAnalyzer.from_ase(traj, **common)
        d.diffusion(start, progress=False, random_state=np.random.RandomState(seed))
        c = ConductivityAnalyzer.from_ase(traj, ionic_charge=float(charge) * sc.Unit("e"),
                                          system_particles=n_seeds, **common)
        c.conductivity(start, temperature=sc.scalar(float(temperature_K), unit="K"), progress=False,
                       random_state=np.random.RandomState(seed + 1))
    seconds = time.perf_counter() - t0
    D = np.asarray(d.D.values, dtype=np.float64)                       # cm^2/s
    assert str(d.D.unit) in ("cm^2/s", "cm**2/s"), d.D.unit
    sig = np.asarray(sc.to_unit(c.sigma, "S/cm").values, dtype=np.float64)
    sig_tr = D / units.A2_PER_PS_TO_CM2_PER_S * n_mobile * charge**2 * units.conductivity_prefactor_S_per_cm(
        volume_A3, temperature_K)
    q = {"D_tr": _equal_tailed(D), "sigma": _equal_tailed(sig), "sigma_tr": _equal_tailed(sig_tr)}
    q["haven_ratio"] = {"median": q["sigma_tr"]["median"] / q["sigma"]["median"], "lower": np.nan, "upper": np.nan}
    return q, seconds, {"fit_ps": [float(start_ps), float(lag_frames[-1] * frame_ps)], "n_dt": len(lag_frames)}


def kinisi_lags(variant, start_ps, end_ps, frame_ps, n_frames, n_lags=100):
    a = max(1, int(round(start_ps / frame_ps)))
    if variant == "kinisi_win":
        b = int(round(end_ps / frame_ps))
    else:
        b = n_frames - 1
    return np.unique(np.linspace(a, b, min(n_lags, b - a + 1)).round().astype(np.int64))


# --------------------------------------------------------------------------- synthetic replicas
def one_replica(scenario, i):
    from run_calibration import COMMON, SCENARIOS

    from uncertainty_gk import synthetic
    from uncertainty_gk.analysis import analyse_group
    from uncertainty_gk.settings import AnalysisSettings

    system = synthetic.generate(**COMMON, **SCENARIOS[scenario], rng=i)
    truth = {k: float(system.truth[k]) for k in QUANTS}
    row = {"scenario": scenario, "replica": i, "truth": truth, "methods": {}, "seconds": {}, "window": {}}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyse_group(system.runs, AnalysisSettings(seed=10_000 + i, per_seed=False))
    row["seconds"]["ugk"] = time.perf_counter() - t0
    row["methods"]["ugk"] = {k: {"median": float(res.quantities[k].median), "lower": float(res.quantities[k].lower),
                                 "upper": float(res.quantities[k].upper)} for k in QUANTS}
    start, end = res.window_ps
    row["window"]["ugk"] = [float(start), float(end)]
    ds0 = system.runs[0]
    frame_ps = float(ds0.attrs["frame_interval_ps"])
    n_frames = int(ds0.sizes["time"])
    t0 = time.perf_counter()
    atoms = _ase_lists(system.runs, "Li")
    row["seconds"]["ase_build"] = time.perf_counter() - t0
    for v in VARIANTS:
        lags = kinisi_lags(v, start, end, frame_ps, n_frames)
        q, sec, info = kinisi_analyse(atoms, species="Li", charge=system.truth["charge_mobile"],
                                      n_mobile=int(system.truth["n_mobile"]), volume_A3=system.truth["volume"],
                                      temperature_K=system.truth["temperature_K"], frame_ps=frame_ps,
                                      lag_frames=lags, start_ps=start, seed=20_000 + i)
        row["methods"][v] = q
        row["seconds"][v] = sec
        row["window"][v] = info["fit_ps"]
    return row


def summarise(rows):
    table = {}
    for r in rows:
        for m, qs in r["methods"].items():
            for k, e in qs.items():
                t = r["truth"][k]
                d = table.setdefault((r["scenario"], m, k), {"cov": [], "rel": [], "width": []})
                if np.isfinite(e["lower"]):
                    d["cov"].append(e["lower"] <= t <= e["upper"])
                    d["width"].append((e["upper"] - e["lower"]) / t)
                d["rel"].append(e["median"] / t - 1)
    out = {}
    for key, d in table.items():
        rel = np.array(d["rel"])
        n = len(rel)
        out[key] = {"n": n, "coverage95": float(np.mean(d["cov"])) if d["cov"] else float("nan"),
                    "bias": float(np.mean(rel)), "bias_se": float(np.std(rel, ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
                    "rel_width95": float(np.mean(d["width"])) if d["width"] else float("nan")}
    return out


def markdown(rows):
    s = summarise(rows)
    lines = []
    for sc_ in sorted({k[0] for k in s}):
        sub = [r for r in rows if r["scenario"] == sc_]
        win = np.array([r["window"]["ugk"] for r in sub])
        lines += [f"### {sc_} ({len(sub)} replicas)", "",
                  f"Fit window (ours, automatic): start {np.median(win[:, 0]):.3g} ps "
                  f"(range {win[:, 0].min():.3g}-{win[:, 0].max():.3g}), end {np.median(win[:, 1]):.3g} ps; "
                  f"kinisi_win: same; kinisi_full: same start, end {sub[0]['window']['kinisi_full'][1]:.4g} ps.", "",
                  "| tool | quantity | 95 % coverage | bias of median | 95 % width / truth | s per replica |",
                  "|---|---|---|---|---|---|"]
        for m in ("ugk",) + VARIANTS:
            secs = np.mean([r["seconds"][m] for r in sub])
            for k in QUANTS:
                d = s.get((sc_, m, k))
                if d is None:
                    continue
                cov = "-" if np.isnan(d["coverage95"]) else f"{d['coverage95']:.2f}"
                wid = "-" if np.isnan(d["rel_width95"]) else f"{d['rel_width95']:.3f}"
                lines.append(f"| {m} | {k} | {cov} | {d['bias'] * 100:+.1f} ± {d['bias_se'] * 100:.1f} % | {wid} | "
                             f"{secs:.1f} |")
        ase = np.mean([r["seconds"]["ase_build"] for r in sub])
        lines += ["", f"(building the ase.Atoms lists for kinisi: {ase:.2f} s per replica, not counted)", ""]
    return "\n".join(lines)


def run_synthetic(a):
    a.out.mkdir(parents=True, exist_ok=True)
    for sc_ in a.scenarios.split(","):
        path = a.out / f"synthetic_{sc_}.json"
        rows = json.loads(path.read_text()) if path.exists() else []
        done = {r["replica"] for r in rows}
        t0 = time.time()
        for i in range(a.first, a.replicas):
            if i in done:
                continue
            rows.append(one_replica(sc_, i))
            path.write_text(json.dumps(rows))
            print(f"{sc_}: {len(rows)} replicas, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
            if a.max_minutes and time.time() - t0 > 60 * a.max_minutes:
                print(f"{sc_}: stopping after {a.max_minutes} min", file=sys.stderr)
                break
    allrows = []
    for p in sorted(a.out.glob("synthetic_*.json")):
        seen = set()
        for r in json.loads(p.read_text()):        # one row per (scenario, replica)
            if (r["scenario"], r["replica"]) not in seen:
                seen.add((r["scenario"], r["replica"]))
                allrows.append(r)
    text = markdown(allrows)
    (a.out / "table.md").write_text(text + "\n")
    print(text)


# --------------------------------------------------------------------------- shared LAMMPS runs
LPSO_TYPES = {1: "Li", 2: "P", 3: "O", 4: "Si"}
LPSO_CHARGES = {"Li": 0.6, "P": 3.0, "Si": 2.4, "O": -1.2}


def run_lammps(a):
    from ase.io import read

    data = a.data.resolve()
    folder = data / "lammps" / "lpso_T1000"
    dumps = [folder / f"dump.T1000_s{s}.lammpstrj" for s in (1, 2, 3)]
    out = {"data": str(folder)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        py = sys.executable
        subprocess.run([py, str(ROOT / "studies" / "shared_data" / "make_manifests.py"), str(data), str(tmp)],
                       check=True, capture_output=True)
        t0 = time.perf_counter()
        subprocess.run([py, "-m", "uncertainty_gk.cli", "ingest", str(tmp / "lpso_T1000.toml"), "-o",
                        str(tmp / "x.nc")], check=True, capture_output=True)
        t1 = time.perf_counter()
        proc = subprocess.run([py, "-m", "uncertainty_gk.cli", "analyze", str(tmp / "x.nc"), "--json",
                               str(tmp / "r.json")], capture_output=True, text=True)
        t2 = time.perf_counter()
        if proc.returncode not in (0, 1):
            raise RuntimeError(proc.stderr)
        ours = json.loads((tmp / "r.json").read_text())
        out["ugk"] = {"seconds_ingest": t1 - t0, "seconds_analyze": t2 - t1, "result": ours}
    grp = _first_group(ours)
    start, end = grp["window_ps"]
    out["ugk_window_ps"] = [start, end]
    t0 = time.perf_counter()
    atoms = []
    for p in dumps:
        frames = read(str(p), index=":", format="lammps-dump-text")
        for at in frames:
            at.set_chemical_symbols([LPSO_TYPES[int(t)] for t in at.get_array("type")] if "type" in at.arrays
                                    else [LPSO_TYPES[int(z)] for z in at.numbers])
        atoms.append(frames)
    out["seconds_ase_read"] = time.perf_counter() - t0
    sym = np.array(atoms[0][0].get_chemical_symbols())
    n_li = int(np.sum(sym == "Li"))
    vol = float(np.mean([at.get_volume() for fr in atoms for at in fr]))
    n_frames = min(len(f) for f in atoms)
    frame_ps = 0.2
    out["n_frames"], out["n_li"], out["volume_A3"] = n_frames, n_li, vol
    for v in VARIANTS:
        lags = kinisi_lags(v, start, end, frame_ps, n_frames)
        q, sec, info = kinisi_analyse(atoms, species="Li", charge=LPSO_CHARGES["Li"], n_mobile=n_li, volume_A3=vol,
                                      temperature_K=1000.0, frame_ps=frame_ps, lag_frames=lags, start_ps=start,
                                      seed=12345)
        out[v] = {"quantities": q, "seconds": sec, **info}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "lammps_lpso_T1000.json").write_text(json.dumps(out, indent=1, default=float))
    print(json.dumps({k: v for k, v in out.items() if k != "ugk"}, indent=1, default=float))
    print(json.dumps(grp, indent=1, default=float)[:4000])


def _first_group(result):
    """The (only) group of an ``ugk analyze --json`` result."""
    if isinstance(result, dict) and "groups" in result:
        g = result["groups"]
        return g[0] if isinstance(g, list) else next(iter(g.values()))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synthetic")
    s.add_argument("--replicas", type=int, default=100)
    s.add_argument("--scenarios", default="independent_small")
    s.add_argument("--first", type=int, default=0, help="first replica index (to split a run over processes)")
    s.add_argument("--max-minutes", type=float, default=0.0, help="stop a scenario after this many minutes")
    s.add_argument("--out", type=Path, default=HERE / "out")
    lm = sub.add_parser("lammps")
    lm.add_argument("data", type=Path, help="the shared data folder (../shared/data)")
    lm.add_argument("--out", type=Path, default=HERE / "out")
    a = ap.parse_args(argv)
    if a.cmd == "synthetic":
        run_synthetic(a)
    else:
        run_lammps(a)


if __name__ == "__main__":
    main()
