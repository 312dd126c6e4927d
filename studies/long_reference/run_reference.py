#!/usr/bin/env python3
"""Resumable long-reference LAMMPS runs of the LPSO cell (issue 12, item 5).

Goal: >= 2 ns of NVT production of the Pedone LPSO model at 1000 K in three velocity seeds
(default 3 x 1050 ps since session 26; 3 x 700 ps before), later cut into 50-100 ps pieces that are analysed as independent
3-seed campaigns, with the estimate from the whole run as the reference.

The whole thing takes hours of one core and a session can be killed at any moment, so
every seed runs in segments:

    runs/s{seed}/equil/            ref_equil.in: box relax + NPT, ends in equil.restart
    runs/s{seed}/seg{k:03d}/       ref_segment.in: NVT segment k (SEGMENT_PS each), reads the
                                   previous restart and writes
                                     dump.lammpstrj.gz  id type xu yu zu every 0.1 ps
                                     current.dat.gz     J = sum_i q_i v_i every 5 fs (e*A/ps)
                                     log.lammps, segment.restart

A segment counts as finished when its log ends with the marker line and its gzipped
outputs and restart exist; anything else is rerun from the previous restart (LAMMPS is
deterministic on one core, so a rerun reproduces the same trajectory).  Seeds are
interleaved (segment k of every seed before segment k+1 of any), so all three grow
together and the run is useful whenever it stops.  One LAMMPS process at a time,
single-threaded, under whatever `nice` the caller uses:

    nohup nice -n 10 python studies/long_reference/run_reference.py > runs/driver.log 2>&1 &

Rerunning the same command resumes.  ``--status`` prints how far every seed is.

Reading the segments back: concatenate the dumps of seg000, seg001, ... in order (the
first frame of segment k >= 1 is suppressed with ``dump_modify delay``, so there are no
duplicates; frame times are step * 1 fs with steps counting from the production start).
The current files may repeat the boundary step between segments; drop repeated steps.
Instantaneous currents sampled every 0.1 ps would alias the vibrational part of the
current spectrum onto f = 0, which is why J is written every 5 fs.
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
REPO = HERE.parent.parent
MARKER = "uncertainty_gk reference segment finished"


def find_lmp(explicit: str | None) -> str:
    for cand in (explicit, os.environ.get("LMP"), shutil.which("lmp"), "/work/lmpvenv/bin/lmp"):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    raise SystemExit("no LAMMPS executable: pass --lmp or set $LMP")


def gzip_file(src: Path, dst: Path) -> None:
    tmp = dst.with_suffix(dst.suffix + ".tmp")
    with open(src, "rb") as fi, open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0) as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
    tmp.replace(dst)
    src.unlink()


def finished(d: Path, need: tuple[str, ...]) -> bool:
    log = d / "log.lammps"
    if not log.exists() or MARKER not in log.read_text(errors="replace"):
        return False
    return all((d / n).exists() for n in need)


SEG_FILES = ("dump.lammpstrj.gz", "current.dat.gz", "segment.restart")


def run_lmp(lmp: str, inp: Path, d: Path, vars_: dict[str, str]) -> float:
    d.mkdir(parents=True, exist_ok=True)
    cmd = [lmp, "-in", str(inp), "-log", "log.lammps", "-screen", "none", "-nocite"]
    for k, v in vars_.items():
        cmd += ["-var", k, str(v)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=d, env=dict(os.environ, OMP_NUM_THREADS="1"),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    text = (d / "log.lammps").read_text(errors="replace") if (d / "log.lammps").exists() else ""
    if proc.returncode != 0 or MARKER not in text:
        tail = "\n".join((text or proc.stdout).splitlines()[-15:])
        raise RuntimeError(f"LAMMPS failed in {d} (exit {proc.returncode}):\n{tail}")
    return wall


def status(outdir: Path, seeds: list[int], seg_ps: float) -> dict[int, int]:
    done = {}
    for s in seeds:
        k = 0
        while finished(outdir / f"s{s}" / f"seg{k:03d}", SEG_FILES):
            k += 1
        done[s] = k
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outdir", type=Path, default=HERE / "runs")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--temperature", type=float, default=1000.0)
    ap.add_argument("--target-ps", type=float, default=1050.0, help="production per seed")
    ap.add_argument("--segment-ps", type=float, default=50.0)
    ap.add_argument("--npt-steps", type=int, default=10000)
    ap.add_argument("--dump-every", type=int, default=100, help="steps (1 fs) between frames")
    ap.add_argument("--current-every", type=int, default=5, help="steps between J samples")
    ap.add_argument("--data", type=Path, default=REPO / "examples" / "lpso_T1000" / "lpso_start.data")
    ap.add_argument("--lmp", default=None)
    ap.add_argument("--status", action="store_true", help="print progress and exit")
    a = ap.parse_args(argv)

    outdir = a.outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    seg_steps = int(round(a.segment_ps * 1000))
    n_seg = int(round(a.target_ps / a.segment_ps))
    if a.status:
        for s, k in status(outdir, a.seeds, a.segment_ps).items():
            print(f"seed {s}: {k} segments = {k * a.segment_ps:g} ps of {a.target_ps:g} ps")
        return 0

    lmp = find_lmp(a.lmp)
    for name in ("ref_equil.in", "ref_segment.in"):
        shutil.copyfile(HERE / name, outdir / name)
    data = outdir / "lpso_start.data"
    if not data.exists():
        shutil.copyfile(a.data, data)
    T = f"{a.temperature:g}"

    for s in a.seeds:
        d = outdir / f"s{s}" / "equil"
        if not finished(d, ("equil.restart",)):
            print(f"[ref] seed {s}: equilibration ({a.npt_steps} NPT steps)", flush=True)
            w = run_lmp(lmp, outdir / "ref_equil.in", d,
                        {"T": T, "SEED": s, "NPTSTEPS": a.npt_steps, "DATA": data,
                         "RESTART": "equil.restart"})
            print(f"[ref]   done in {w:.0f} s", flush=True)

    for k in range(n_seg):
        for s in a.seeds:
            d = outdir / f"s{s}" / f"seg{k:03d}"
            if finished(d, SEG_FILES):
                continue
            prev = (outdir / f"s{s}" / "equil" / "equil.restart" if k == 0
                    else outdir / f"s{s}" / f"seg{k - 1:03d}" / "segment.restart")
            if not prev.exists():
                raise SystemExit(f"missing {prev}")
            start = k * seg_steps
            print(f"[ref] seed {s} segment {k}: {start / 1000:g}-{(start + seg_steps) / 1000:g} ps",
                  flush=True)
            for stale in ("dump.lammpstrj", "current.dat"):
                (d / stale).unlink(missing_ok=True)
            w = run_lmp(lmp, outdir / "ref_segment.in", d,
                        {"T": T, "NSTEPS": seg_steps, "DUMPEVERY": a.dump_every,
                         "JEVERY": a.current_every, "DELAY": start + 1 if k else 0,
                         "INRESTART": prev, "RESTART": "segment.restart",
                         "DUMPFILE": "dump.lammpstrj", "CURRENTFILE": "current.dat",
                         "TAG": f"s{s} seg{k:03d}"})
            # gzip, then rewrite the log last so that 'finished' implies complete outputs
            gzip_file(d / "dump.lammpstrj", d / "dump.lammpstrj.gz")
            gzip_file(d / "current.dat", d / "current.dat.gz")
            print(f"[ref]   done in {w:.0f} s ({w / a.segment_ps:.2f} s per ps)", flush=True)
    print("[ref] all segments finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
