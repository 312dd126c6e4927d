"""Benchmark: end-to-end ``ugk ingest`` of one ~150 MB LAMMPS dump, against the parser alone and numpy.loadtxt.

Writes a ``dump custom`` text file (``id type xu yu zu``, ``%.5f``, 1000 atoms, 4700 frames
by default: about 150 MB) and a one-run manifest into a temporary directory, then
measures in this one run:

* **ugk ingest (command)**: ``python -m uncertainty_gk.cli ingest campaign.toml -o out.nc``
  in a fresh subprocess, wall time from start to exit (interpreter start-up and imports
  included: what a user waits for);
* **ingest (API)**: ``uncertainty_gk.archive.ingest`` timed inside a fresh subprocess
  after its imports (the same work without start-up);
* **parser only**: ``LammpsDumpReader.iter_chunks`` over the whole file, timed inside a
  fresh subprocess after its imports (no archive written);
* **numpy.loadtxt** of the atom lines only (headers removed beforehand), in this process;
* **start-up**: ``python -m uncertainty_gk.cli --version`` (interpreter and CLI imports only).

With ``--baseline REF`` (a git commit, branch or tag of this repository) the package as it
was at REF is extracted into the scratch directory and its command, API and parser are
measured in the same run, each run of it alternating with a run of the working tree's,
so that both see the same machine; the figures and the ratios baseline / now are printed
(the session notes' before/after tables come from this).  The peak RSS of each
subprocess is printed too.  Both trees are imported from copies in the scratch directory;
``--bytecode cached`` (default) compiles their modules once beforehand into a private
cache, as an installed package's are, ``--bytecode none`` compiles them at every start
(what this repository's machine does, with PYTHONDONTWRITEBYTECODE=1, and how the
Session 9 figures were taken).

It prints MB/s of dump text for each and the ratios ingest / parser and ingest / loadtxt
(the machine is shared and noisy: only ratios measured in the same run mean anything;
the seconds are for orientation), plus the CPU time (user + system) of each
subprocess, which load from other processes disturbs less than wall time, and the load
average before and after.  The ingest reads in one thread while it encodes, hashes and
compresses in others, so on an idle multi-core machine its CPU time exceeds its wall
time; on a saturated machine the wall-time ratio mostly says how the scheduler shared
the cores, and the CPU-time ratio (ingest CPU / parser CPU) is the steadier figure.  The
archive written is checked with ``ugk verify``.

Usage (from the repository root)::

    nice -n 10 python benchmarks/bench_ingest_e2e.py                 # 1000 atoms x 4700 frames
    nice -n 10 python benchmarks/bench_ingest_e2e.py --frames 1000   # quicker
    nice -n 10 python benchmarks/bench_ingest_e2e.py --repeat 3      # best of 3 for each subprocess
    nice -n 10 python benchmarks/bench_ingest_e2e.py --stages        # and the CPU seconds of each stage
    python benchmarks/bench_ingest_e2e.py --repeat 5 --baseline main # this tree against main, same run

Numbers are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import atom_lines_only  # noqa: E402
from bench_ingest_archive import MANIFEST, write_dump  # noqa: E402

PARSER_CHILD = r"""
import json, sys, time
import pandas  # noqa: F401
from uncertainty_gk.io.lammps_dump import LammpsDumpReader
t0 = time.perf_counter()
n = sum(c.n_frames for c in LammpsDumpReader(sys.argv[1]).iter_chunks())
print(json.dumps({"seconds": time.perf_counter() - t0, "frames": n}))
"""

API_CHILD = r"""
import json, sys, time
import numpy, xarray, h5netcdf, h5py  # noqa: F401
from uncertainty_gk import archive
t0 = time.perf_counter()
archive.ingest(sys.argv[1], sys.argv[2], show_progress=False)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


STAGES_CHILD = r"""
import hashlib, json, sys, time
import numpy as np
from uncertainty_gk import archive
from uncertainty_gk.h5chunks import _compress
from uncertainty_gk.io.lammps_dump import LammpsDumpReader
from uncertainty_gk.schema import check_frames, sha256_file
cpu = time.process_time
out = {}
t = cpu(); sha256_file(sys.argv[1]); out["SHA-256 of the input file"] = cpu() - t
reader = LammpsDumpReader(sys.argv[1])
n_atoms = reader.header().n_atoms
piece = max(1, archive.PIECE_BYTES // (24 * n_atoms))
cshape = archive._chunk_shape(reader.n_frames_estimate() or 1, n_atoms)
keys = ["parse (reader, in pieces)", "check_frames", "decimals + encode", "SHA-256 of the encoded values",
        "shuffle + deflate (in threads when ingesting)"]
out.update({k: 0.0 for k in keys})
enc = None
it = reader.iter_chunks(max_frames=piece)
stored = 0
while True:
    t = cpu(); chunk = next(it, None); out[keys[0]] += cpu() - t
    if chunk is None:
        break
    t = cpu(); check_frames(chunk, source="x", first_frame=0); out[keys[1]] += cpu() - t
    t = cpu()
    if enc is None:
        enc = archive._Encoder("positions", chunk.positions, chunk.cell, True)
    codes = enc.encode(chunk.positions, chunk.cell)
    out[keys[2]] += cpu() - t
    t = cpu(); hashlib.sha256(memoryview(codes).cast("B")); out[keys[3]] += cpu() - t
    t = cpu()
    for a in range(0, len(codes), cshape[0]):
        data, _ = _compress(codes[a:a + cshape[0]], True, archive.COMPLEVEL)
        stored += len(data)
    out[keys[4]] += cpu() - t
t = cpu(); hashlib.sha256(b"\0" * stored); out["read-back check (SHA-256 of the compressed bytes)"] = cpu() - t
print(json.dumps(out))
"""


#: Environment of the measured subprocesses: where compiled bytecode is kept (set in main).
CHILD_ENV: dict = {}


def run_child(cmd: list[str], *, cwd: Path, pythonpath: str | None = None) -> dict:
    """Run ``cmd`` in ``cwd`` (so that the package is imported from where the environment
    says, not from the current directory); its wall time, CPU time (user + system), peak
    RSS and (if it prints one) its JSON line.  ``pythonpath``: import the package from there."""
    env = {**os.environ, **CHILD_ENV}
    env = {k: v for k, v in env.items() if v is not None}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    res = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_MiB": usage.ru_maxrss / 1024}
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if last.startswith("{"):
        res.update(json.loads(last))
    return res


def best(runs: list[dict]) -> dict:
    """The fastest of ``runs``, with the median wall and CPU time of all of them."""
    top = dict(min(runs, key=lambda r: r.get("seconds", r["wall_s"])))
    top["median_s"] = float(np.median([r.get("seconds", r["wall_s"]) for r in runs]))
    top["median_cpu_s"] = float(np.median([r["cpu_s"] for r in runs]))
    return top


def copy_working_tree(into: Path) -> Path:
    """The package of this working tree (uncommitted changes included) copied under ``into``,
    without compiled bytecode."""
    src = Path(__file__).resolve().parent.parent / "uncertainty_gk"
    shutil.copytree(src, into / "uncertainty_gk", ignore=shutil.ignore_patterns("__pycache__"))
    return into


def extract_baseline(ref: str, into: Path) -> Path:
    """The package as it is at git ``ref`` of this repository, extracted under ``into``."""
    repo = Path(__file__).resolve().parent.parent
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(repo), "archive", ref, "uncertainty_gk"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--atoms", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=4700)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each subprocess (the fastest is reported)")
    ap.add_argument("--dir", type=Path, default=None, help="scratch directory (default: system temp)")
    ap.add_argument("--dump", type=Path, default=None,
                    help="use this existing 'id type xu yu zu' dump (types 1, 2) instead of writing one")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--stages", action="store_true",
                    help="also measure the CPU seconds of each stage of the ingest, one after the other")
    ap.add_argument("--baseline", metavar="REF", default=None,
                    help="also measure the package at this git commit/branch, alternating with the working tree")
    ap.add_argument("--bytecode", choices=("cached", "none"), default="cached",
                    help="cached (default): Python modules compiled once beforehand, into a private cache, as "
                         "an installed package's are; none: compiled at every start (PYTHONDONTWRITEBYTECODE=1 "
                         "without a cache, as the Session 9 figures were measured)")
    a = ap.parse_args(argv)
    py = sys.executable
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=a.dir, prefix="bench_ingest_e2e_") as tmp:
        tmp = Path(tmp)
        if a.dump is None:
            dump = tmp / "dump.lammpstrj"
            t0 = time.perf_counter()
            nbytes = write_dump(dump, a.atoms, a.frames)
            print(f"dump: {a.atoms} atoms x {a.frames} frames, {nbytes / 1e6:.1f} MB of text (written in "
                  f"{time.perf_counter() - t0:.0f} s)", flush=True)
        else:
            dump = a.dump.resolve()
            nbytes = dump.stat().st_size
            print(f"dump: {dump}, {nbytes / 1e6:.1f} MB of text", flush=True)
        mb = nbytes / 1e6
        manifest = tmp / "campaign.toml"
        manifest.write_text(MANIFEST.format(traj=dump))
        out = tmp / "campaign.nc"

        # the package is imported from copies without bytecode, so that both trees start alike
        # whatever the working tree's __pycache__ holds: compiled once into a private cache
        # (cached; the cache also holds the installed packages' bytecode), or at every start
        # (none; installed packages keep their own bytecode)
        if a.bytecode == "cached":
            CHILD_ENV.update(PYTHONPYCACHEPREFIX=str(tmp / "pycache"), PYTHONDONTWRITEBYTECODE=None)
        else:
            CHILD_ENV.update(PYTHONPYCACHEPREFIX=None, PYTHONDONTWRITEBYTECODE="1")
        trees = {"now": str(copy_working_tree(tmp / "now"))}
        if a.baseline:
            trees["baseline"] = str(extract_baseline(a.baseline, tmp / "baseline"))
        if a.bytecode == "cached":                 # a first run of each compiles its modules
            for where in trees.values():
                out.unlink(missing_ok=True)
                run_child([py, "-m", "uncertainty_gk.cli", "ingest", str(manifest), "-o", str(out), "--quiet"],
                          cwd=tmp, pythonpath=where)
        runs: dict = {(t, k): [] for t in trees for k in ("parser", "command", "api", "startup")}
        for i in range(max(1, a.repeat)):
            for tree, where in (list(trees.items()) if i % 2 == 0 else list(trees.items())[::-1]):
                def child(cmd, _where=where):
                    out.unlink(missing_ok=True)
                    return run_child(cmd, cwd=tmp, pythonpath=_where)

                runs[tree, "parser"].append(child([py, "-c", PARSER_CHILD, str(dump)]))
                runs[tree, "command"].append(child([py, "-m", "uncertainty_gk.cli", "ingest", str(manifest), "-o",
                                                    str(out), "--quiet"]))
                runs[tree, "api"].append(child([py, "-c", API_CHILD, str(manifest), str(out)]))
                runs[tree, "startup"].append(child([py, "-m", "uncertainty_gk.cli", "--version"]))
        fig = {key: best(v) for key, v in runs.items()}
        parser, command, inproc, startup = (fig["now", k] for k in ("parser", "command", "api", "startup"))
        now = trees["now"]
        run_child([py, "-m", "uncertainty_gk.cli", "ingest", str(manifest), "-o", str(out), "--quiet"], cwd=tmp,
                  pythonpath=now)
        verify = run_child([py, "-m", "uncertainty_gk.cli", "verify", str(out)], cwd=tmp, pythonpath=now)
        stages = run_child([py, "-c", STAGES_CHILD, str(dump)], cwd=tmp, pythonpath=now) if a.stages else None
        archive_mb = out.stat().st_size / 1e6
        atoms_file = tmp / "atoms.txt"
        n_atom_bytes = atom_lines_only(dump, atoms_file)
        t0 = time.perf_counter()
        np.loadtxt(atoms_file)
        t_loadtxt = time.perf_counter() - t0

    rows = {
        "ugk ingest (command, wall incl. start-up)": (command["wall_s"], command["cpu_s"], mb),
        "ingest (API, after imports)": (inproc["seconds"], inproc["cpu_s"], mb),
        "parser only (LammpsDumpReader)": (parser["seconds"], parser["cpu_s"], mb),
        "numpy.loadtxt (atom lines only)": (t_loadtxt, float("nan"), n_atom_bytes / 1e6),
    }
    print()
    print("| pass | seconds | MB/s of text | CPU s of its process |")
    print("|---|---|---|---|")
    for name, (s, cpu, size) in rows.items():
        print(f"| {name} | {s:.2f} | {size / s:.0f} | {cpu:.2f} |")
    cmd_mbs, api_mbs = mb / command["wall_s"], mb / inproc["seconds"]
    parser_mbs, loadtxt_mbs = mb / parser["seconds"], n_atom_bytes / 1e6 / t_loadtxt
    print()
    print(f"ingest command / parser only: {cmd_mbs / parser_mbs:.2f}  (API: {api_mbs / parser_mbs:.2f})"
          "   <- wall-time ratio, the issue's target is >= 0.67")
    print(f"CPU time, ingest / parser only: command {command['cpu_s'] / parser['cpu_s']:.2f}, "
          f"API {inproc['cpu_s'] / parser['cpu_s']:.2f} (each includes its interpreter start-up and imports)")
    print(f"ingest command / numpy.loadtxt: {cmd_mbs / loadtxt_mbs:.2f}  (API: {api_mbs / loadtxt_mbs:.2f})")
    print(f"start-up (ugk --version): {startup['wall_s']:.2f} s wall, {startup['cpu_s']:.2f} s CPU; Python "
          f"bytecode: {'compiled beforehand' if a.bytecode == 'cached' else 'compiled at every start'}")
    print(f"peak RSS: command {command['rss_MiB']:.0f} MiB, API {inproc['rss_MiB']:.0f} MiB, "
          f"parser {parser['rss_MiB']:.0f} MiB")
    print(f"archive {archive_mb:.1f} MB ({archive_mb / mb:.2f} of the text); ugk verify: OK "
          f"({verify['wall_s']:.1f} s)")
    if stages is not None:
        cpu = {k: v for k, v in stages.items() if k not in ("wall_s", "cpu_s")}
        total = sum(cpu.values())
        print()
        print("| stage (CPU s, each alone in one thread) | CPU s | MB/s of text |")
        print("|---|---|---|")
        for k, v in cpu.items():
            print(f"| {k} | {v:.2f} | {mb / v if v else float('inf'):.0f} |")
        print(f"| total | {total:.2f} | {mb / total:.0f} |")
        print(f"with all stages spread over {os.cpu_count()} cores: at best {total / (os.cpu_count() or 1):.2f} s, "
              f"{(os.cpu_count() or 1) * mb / total:.0f} MB/s, i.e. ingest / parser <= "
              f"{min(1.0, cpu[next(iter(k for k in cpu if k.startswith('parse')))] * (os.cpu_count() or 1) / total):.2f}"
              " (imports and start-up excluded)")
    if a.baseline:
        print()
        print(f"against {a.baseline} (same run, {max(1, a.repeat)} alternating runs of each; best, median in "
              "brackets):")
        print()
        print(f"| {mb:.0f} MB dump | {a.baseline} | now | {a.baseline} / now |")
        print("|---|---|---|---|")
        for k, name in (("command", "`ugk ingest` command, wall s (MB/s)"),
                        ("api", "`ingest` API after imports, wall s (MB/s)"),
                        ("parser", "parser alone, wall s (MB/s)"), ("startup", "`ugk --version`, wall s")):
            b, n = fig["baseline", k], fig["now", k]
            bs, ns = b.get("seconds", b["wall_s"]), n.get("seconds", n["wall_s"])
            rate = k != "startup"
            print(f"| {name} | {bs:.2f} [{b['median_s']:.2f}]" + (f" ({mb / bs:.0f})" if rate else "")
                  + f" | {ns:.2f} [{n['median_s']:.2f}]" + (f" ({mb / ns:.0f})" if rate else "")
                  + f" | {bs / ns:.2f} |")
        b, n = fig["baseline", "command"], fig["now", "command"]
        print(f"| CPU s of the command (median) | {b['median_cpu_s']:.2f} | {n['median_cpu_s']:.2f} | "
              f"{b['median_cpu_s'] / n['median_cpu_s']:.2f} |")
        print(f"| peak RSS of the command, MiB | {b['rss_MiB']:.0f} | {n['rss_MiB']:.0f} | "
              f"{b['rss_MiB'] / n['rss_MiB']:.2f} |")
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {' '.join(f'{x:.1f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.1f}' for x in load_after)} on {os.cpu_count()} cores")
    if a.json:
        a.json.write_text(json.dumps({"text_MB": mb, "archive_MB": archive_mb, "command": command, "api": inproc,
                                      "parser": parser, "startup": startup, "loadtxt_s": t_loadtxt,
                                      "loadtxt_MB": n_atom_bytes / 1e6, "load_before": load_before,
                                      "load_after": load_after, "baseline": a.baseline,
                                      "baseline_figures": {k: fig["baseline", k] for k in
                                                           ("command", "api", "parser", "startup")}
                                      if a.baseline else None}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
