"""Run ``diagnose`` on the shared real data and print one row per run.

Usage::

    python studies/diagnostics_calibration/calibrate.py ../shared/data [--json out.json] [--no-mlip]

The data folder is the one described in ``shared/data/README.md``: clean LAMMPS runs
(``lammps/lpso_T1000``), failing LAMMPS runs (``lammps/failures``), a failing Allegro run
with its training set (``mlip``) and VASP argyrodite AIMD (``vasp/argyrodite_Li6PS5Cl``).
Every run is read with the package readers and diagnosed with the default thresholds;
the table shows the expected verdict, the status, the first failure time, the trusted
segment, the checks that fired, and how close the run came to the main thresholds
(``thresholds["observed"]``).  See README.md in this folder for the calibration.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from pathlib import Path

from uncertainty_gk.diagnostics import diagnose
from uncertainty_gk.errors import UGKWarning
from uncertainty_gk.io.extxyz import read_extxyz
from uncertainty_gk.io.lammps_dump import read_lammps_dump
from uncertainty_gk.io.lammps_log import parse_lammps_log
from uncertainty_gk.io.vasp import read_xdatcar
from uncertainty_gk.schema import merge_log

LAMMPS_TYPES = {1: "Li", 2: "P", 3: "O", 4: "Si"}

#: Expected verdict and our reading of the true failure time (ps) from the data (README.md).
TRUTH = {
    "bad_C1.5_T1000_s1": ("failed", "0.005-0.065 (T 1633 K at 5 fs; O-O 1.99 Å at 10 fs; Lost atoms at 65 fs)"),
    "bad_C1_T1000_s1": ("failed", "<= 0.1 (T 1441 K, O-O 1.72 Å, PO4 with 5-6 O at the first dumped frame)"),
    "md_ep3_T1000": ("failed", "0.06 (two SiO4 lose an O); O-O 1.87 Å at 0.10, 1.39 Å at 0.12"),
}


def lammps_runs(folder: Path):
    for dump in sorted(folder.glob("dump.*.lammpstrj")):
        tag = dump.name[len("dump."):-len(".lammpstrj")]
        log = folder / f"log.{tag}.lammps"
        m = re.search(r"_T(\d+)_s(\d+)", tag)
        labels = {"run": tag, "temperature_K": float(m.group(1)), "seed": int(m.group(2))} if m else {"run": tag}

        def load(dump=dump, log=log, labels=labels):
            ds = read_lammps_dump(dump, types=LAMMPS_TYPES, timestep_ps=0.001, labels=labels)
            if log.exists():
                ds = merge_log(ds, parse_lammps_log(log, warn=False).to_dataset())
            return ds

        yield tag, load, {}


def vasp_runs(folder: Path):
    for path in sorted(folder.glob("*.XDATCAR.gz")):
        tag = path.name[: -len(".XDATCAR.gz")]

        def load(path=path, tag=tag):
            return read_xdatcar(path, frame_interval_ps=0.1, temperature_K=500.0, labels={"run": tag})

        yield tag, load, {}


def mlip_runs(folder: Path):
    path = folder / "md_ep3_T1000.xyz.gz"
    if path.exists():
        def load():
            return read_extxyz(path, frame_interval_ps=0.02, temperature_K=1000.0, labels={"run": "md_ep3_T1000"})

        yield "md_ep3_T1000", load, {"training": folder / "train_1000K.xyz"}


def observed_summary(obs: dict) -> str:
    parts = []
    if "temperature_max_sigma" in obs:
        parts.append(f"T {obs['temperature_max_sigma']:.1f}σ")
    e = [v for k, v in obs.items() if k.startswith("energy_") and k.endswith("_max_ratio")]
    if e:
        parts.append(f"E {max(e):.2f}")
    md = obs.get("min_distance_ratio")
    if md:
        pair = min(md, key=md.get)
        parts.append(f"d/thr {md[pair]:.2f} ({pair})")
    dd = obs.get("domain_distance_ratio")
    if dd:
        pair = min(dd, key=dd.get)
        parts.append(f"d/train {dd[pair]:.2f} ({pair})")
    if "framework_max_displacement_A" in obs:
        parts.append(f"fw {obs['framework_max_displacement_A']:.2f} Å/{obs['framework_max_msd_A2']:.2f} Å²")
    if "framework_max_msd_growth_A2" in obs:
        parts.append(f"fw growth +{obs['framework_max_msd_growth_A2']:.2f} Å² (plateau "
                     f"{obs['framework_msd_plateau_A2']:.2f})")
    if "rdf_drift_max" in obs:
        parts.append(f"rdf {obs['rdf_drift_max']:.2f}")
    if "jump_max_ratio" in obs:
        parts.append(f"jump {obs['jump_max_ratio']:.2f}")
    return ", ".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="the shared data folder (contains lammps/, mlip/, vasp/)")
    parser.add_argument("--json", type=Path, help="write every diagnosis as JSON here")
    parser.add_argument("--no-mlip", action="store_true", help="skip the (slow to read) Allegro trajectory")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: data folder {args.data} does not exist", file=sys.stderr)
        return 2
    groups = [("clean LAMMPS", lammps_runs(args.data / "lammps" / "lpso_T1000"), "ok"),
              ("failing LAMMPS", lammps_runs(args.data / "lammps" / "failures"), "failed"),
              ("VASP argyrodite", vasp_runs(args.data / "vasp" / "argyrodite_Li6PS5Cl"), "ok")]
    if not args.no_mlip:
        groups.append(("Allegro MLIP", mlip_runs(args.data / "mlip"), "failed"))
    results = []
    header = f"{'run':28s} {'expect':7s} {'status':7s} {'first fail':>10s} {'trusted':>8s} {'end':>7s}  checks / observed"
    print(header)
    print("-" * len(header))
    n_wrong = 0
    for title, runs, expected in groups:
        print(f"# {title}")
        for tag, load, kw in runs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UGKWarning)
                t0 = time.perf_counter()
                ds = load()
                t1 = time.perf_counter()
                d = diagnose(ds, **kw)
                t2 = time.perf_counter()
            expect = TRUTH.get(tag, (expected, ""))[0]
            n_wrong += d.status != expect and not (expect == "ok" and d.status == "warning")
            first = "-" if d.first_flag_time_ps is None else f"{d.first_flag_time_ps:.3g}"
            failed = sorted({f.check for f in d.flags if f.severity == "failed"})
            warned = sorted({f.check for f in d.flags if f.severity == "warning"})
            checks = ",".join(failed) + (f" (warn: {','.join(warned)})" if warned else "")
            print(f"{tag:28s} {expect:7s} {d.status:7s} {first:>10s} {d.trusted_until_ps:8.3g} {d.run_end_ps:7.3g}  "
                  f"{checks or '-'}")
            print(f"{'':28s} observed: {observed_summary(d.thresholds['observed'])}; "
                  f"read {t1 - t0:.1f} s, diagnose {t2 - t1:.2f} s")
            if tag in TRUTH:
                print(f"{'':28s} judged true failure time (ps): {TRUTH[tag][1]}")
            results.append(d.to_dict())
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"\n{len(results)} runs, {n_wrong} with an unexpected verdict")
    return 0 if n_wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
