"""Benchmark: one huge run ingested and analysed with bounded memory, measured.

The target (issue 13): a 1000-atom x 300,000-frame run (7.2 GB of float64 positions)
is ingested and analysed with peak memory under 2 GB.  This

1. writes a LAMMPS ``dump custom`` text file (``id type xu yu zu``, 5 decimals) frame
   block by frame block, never holding the run in memory: 375 Li ions random-walking
   through a Li3PO4-like framework (125 P, 500 O vibrating about lattice sites), with a
   manifest (charges Li +1, P +5, O -2; timestep 0.001 ps, a frame every 10 steps);
2. runs ``ugk ingest`` and then ``ugk analyze --include-flagged`` (diagnostics run and
   are recorded; the run is analysed whole even if flagged; ``--method``, default the
   package's default estimator) in subprocesses;
3. prints the wall time and the peak RSS of each subprocess (``os.wait4`` rusage of that
   child alone) against the size of the float64 positions, and the results' D*.

Usage::

    nice -n 10 python benchmarks/bench_huge_run.py               # 1000 x 300,000 (~12 GB of text)
    python benchmarks/bench_huge_run.py --frames 5000            # a quick version
    python benchmarks/bench_huge_run.py --dir /scratch --keep    # scratch directory; keep the files
    python benchmarks/bench_huge_run.py --method bayes           # another estimator than the default
    python benchmarks/bench_huge_run.py --frames 30000 --archive /scratch/ugk_bench_huge_x/huge.nc
                                                                 # analyse a kept archive again

Needs free disk in ``--dir`` (default: the system temporary directory) for the text
(~40 bytes per atom line), the archive (~45 % of the positions) and the analysis spool
(24 bytes per Li ion per frame); it refuses to start otherwise.  Everything it writes is
in one temporary directory removed at the end (unless ``--keep``).  Numbers are printed
(and optionally written as JSON), not asserted.
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

N_CELLS = 5                        # 5 x 5 x 5 cells of 8 sites = 1000 atoms
CELL_A = 6.0                       # cell edge (Å); box 30 Å
LI_STEP_A = 0.02                   # random-walk step of Li per frame and component (Å)
VIBRATION_A = 0.08                 # framework vibration amplitude (Å)
FRAME_STEPS = 10                   # MD steps between frames (timestep 0.001 ps)
COORD_WIDTH = 11                   # " -123.45678": a space, sign, 3 integer digits, 5 decimals
GIB = 2**30

MANIFEST = """[defaults]
types = {{1 = "Li", 2 = "P", 3 = "O"}}
charges = {{Li = 1, P = 5, O = -2}}
mobile = ["Li"]
timestep_ps = 0.001
temperature_K = 1000

[[runs]]
trajectory = "{traj}"
labels = {{structure = "huge", seed = 1}}
"""


def lattice(rng) -> tuple[np.ndarray, np.ndarray, float]:
    """Sites (1000, 3) and types (Li 1, P 2, O 3) of 125 Li3PO4-like cells; the box edge."""
    frac = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5],
                     [0.25, 0.25, 0.25], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75], [0.25, 0.75, 0.75]])
    kinds = np.array([1, 1, 1, 2, 3, 3, 3, 3])          # 3 Li, 1 P, 4 O per cell
    grid = np.stack(np.meshgrid(*[np.arange(N_CELLS)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    sites = ((grid + frac[None]) * CELL_A).reshape(-1, 3)
    types = np.tile(kinds, N_CELLS ** 3)
    order = np.argsort(types, kind="stable")            # Li first, then P, then O
    return sites[order] + rng.normal(0, 0.01, (len(order), 3)), types[order], N_CELLS * CELL_A


def format_block(prefix: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Atom lines of a block of frames as bytes: (F, n_atoms, line) uint8.

    ``prefix`` (n_atoms, w) holds ``"id type"``; each coordinate is written as a fixed
    width 5-decimal number (the same text ``%.5f`` gives, right-aligned), computed with
    integer arithmetic so that gigabytes are formatted in seconds.
    """
    q = np.rint(pos * 1e5).astype(np.int64)
    if np.abs(q).max() >= 10 ** 8:
        raise SystemExit("a coordinate left -999.99999..999.99999; lower LI_STEP_A")
    neg = q < 0
    a = np.abs(q)
    ip, fp = a // 100000, a % 100000
    out = np.full(q.shape + (COORD_WIDTH,), ord(" "), dtype=np.uint8)
    for k in range(5):                                  # decimals, last first
        out[..., COORD_WIDTH - 1 - k] = ord("0") + (fp // 10 ** k) % 10
    out[..., COORD_WIDTH - 6] = ord(".")
    nd = 1 + (ip >= 10) + (ip >= 100)
    for k in range(3):                                  # integer digits, right-aligned
        col = COORD_WIDTH - 7 - k
        out[..., col] = np.where(k < nd, ord("0") + (ip // 10 ** k) % 10, ord(" "))
    sign_col = COORD_WIDTH - 7 - nd                     # just before the first digit
    np.put_along_axis(out, sign_col[..., None],
                      np.where(neg, ord("-"), ord(" ")).astype(np.uint8)[..., None], axis=-1)
    n_f, n_a = pos.shape[:2]
    line = np.empty((n_f, n_a, prefix.shape[1] + 3 * COORD_WIDTH + 1), dtype=np.uint8)
    line[:, :, :prefix.shape[1]] = prefix[None]
    line[:, :, prefix.shape[1]:-1] = out.reshape(n_f, n_a, 3 * COORD_WIDTH)
    line[:, :, -1] = ord("\n")
    return line


def write_dump(path: Path, n_frames: int, *, seed: int = 0, block: int = 250) -> int:
    """The trajectory as dump text, ``block`` frames at a time; returns the bytes written."""
    rng = np.random.default_rng(seed)
    sites, types, box = lattice(rng)
    n_atoms = len(types)
    li = types == 1
    ids = np.arange(1, n_atoms + 1)
    width = len(str(n_atoms))
    prefix = np.array([list(f"{i:>{width}d} {t}".encode()) for i, t in zip(ids, types)], dtype=np.uint8)
    li_pos = sites[li].copy()
    written = 0
    with open(path, "wb") as fh:
        for k0 in range(0, n_frames, block):
            n = min(block, n_frames - k0)
            walk = li_pos + np.cumsum(rng.normal(0.0, LI_STEP_A, (n, int(li.sum()), 3)), axis=0)
            li_pos = walk[-1].copy()
            pos = np.empty((n, n_atoms, 3))
            pos[:, li] = walk
            pos[:, ~li] = sites[~li] + rng.normal(0.0, VIBRATION_A, (n, int((~li).sum()), 3))
            lines = format_block(prefix, pos)
            for f in range(n):
                header = (f"ITEM: TIMESTEP\n{(k0 + f) * FRAME_STEPS}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n"
                          f"ITEM: BOX BOUNDS pp pp pp\n0.0 {box}\n0.0 {box}\n0.0 {box}\n"
                          "ITEM: ATOMS id type xu yu zu\n").encode()
                fh.write(header)
                fh.write(lines[f].tobytes())
                written += len(header) + lines[f].nbytes
    return written


def run_rss(cmd: list[str]) -> dict:
    """Run ``cmd`` with its output in files; wall time and peak RSS (GiB) of that child alone."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text_out, text_err = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text_err[-3000:]}")
    rss = usage.ru_maxrss * 1024 / GIB                  # Linux: kilobytes
    return {"wall_s": wall, "peak_rss_GiB": rss, "stdout": text_out, "stderr": text_err}


def ingest(ugk: str, tmp: Path, a, figures: dict) -> Path:
    """Write the dump, ingest it (measured), remove the dump; the archive's path."""
    dump = tmp / "huge.lammpstrj"
    t0 = time.perf_counter()
    figures["dump_GB"] = write_dump(dump, a.frames) / 1e9
    figures["write_s"] = time.perf_counter() - t0
    print(f"dump: {figures['atoms']} atoms x {a.frames} frames, {figures['dump_GB']:.2f} GB of text "
          f"({figures['positions_GiB']:.2f} GiB of float64 positions), written in {figures['write_s']:.0f} s",
          flush=True)
    manifest = tmp / "campaign.toml"
    manifest.write_text(MANIFEST.format(traj=dump))
    archive = tmp / f"huge.{a.format}"
    ing = run_rss([ugk, "ingest", str(manifest), "-o", str(archive)])
    dump.unlink()                                   # room for the spool
    size = (sum(p.stat().st_size for p in archive.rglob("*") if p.is_file()) if archive.is_dir()
            else archive.stat().st_size)
    figures.update(ingest_s=ing["wall_s"], ingest_peak_rss_GiB=ing["peak_rss_GiB"], archive_GB=size / 1e9)
    print(f"ugk ingest:  {ing['wall_s']:7.0f} s, peak RSS {ing['peak_rss_GiB']:.2f} GiB "
          f"({ing['peak_rss_GiB'] / figures['positions_GiB']:.2f} x the positions); archive {size / 1e9:.2f} GB",
          flush=True)
    return archive


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300_000, help="frames of the run (default 300,000)")
    ap.add_argument("--dir", type=Path, default=None, help="scratch directory (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the dump, archive and results")
    ap.add_argument("--format", choices=("nc", "zarr"), default="nc", help="archive format (default nc)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--archive", type=Path, default=None,
                    help="analyse this archive of the benchmark's run (kept by an earlier --keep) instead of "
                         "writing and ingesting a new one (give its --frames)")
    ap.add_argument("--method", default=None, metavar="NAME",
                    help="estimator passed to ugk analyze --method (default: the package default)")
    a = ap.parse_args(argv)
    n_atoms = 8 * N_CELLS ** 3
    n_li = 3 * N_CELLS ** 3
    positions_bytes = 24 * n_atoms * a.frames
    base = Path(a.dir or tempfile.gettempdir())
    need = int((4 + 2 * COORD_WIDTH + 16) * n_atoms * a.frames * 1.1 + 0.5 * positions_bytes
               + 24 * n_li * a.frames) + GIB
    if a.archive is not None:                           # only the analysis spool
        need = 24 * n_li * a.frames + GIB
    free = shutil.disk_usage(base).free
    if need > free:
        print(f"needs ~{need / 1e9:.1f} GB of disk, {free / 1e9:.1f} GB free in {base}; use --dir", file=sys.stderr)
        return 1
    ugk = str(Path(sys.executable).with_name("ugk"))
    tmp = Path(tempfile.mkdtemp(prefix="ugk_bench_huge_", dir=base))
    env_tmp = {"TMPDIR": str(tmp)}                     # the analysis spool goes here too
    figures: dict = {"atoms": n_atoms, "frames": a.frames, "positions_GiB": positions_bytes / GIB,
                     "format": a.format}
    try:
        os.environ.update(env_tmp)
        if a.archive is not None:
            archive = a.archive
            print(f"analysing the existing archive {archive} (no dump written, no ingest)", flush=True)
        else:
            archive = ingest(ugk, tmp, a, figures)
        results, js = tmp / "results.nc", tmp / "results.json"
        method = ["--method", a.method] if a.method else []
        ana = run_rss([ugk, "analyze", str(archive), "-o", str(results), "--json", str(js),
                       "--include-flagged", "--seed", "0", *method])
        figures.update(analyze_s=ana["wall_s"], analyze_peak_rss_GiB=ana["peak_rss_GiB"],
                       method=a.method or "default")
        print(f"ugk analyze{' --method ' + a.method if a.method else ''}: {ana['wall_s']:7.0f} s, peak RSS {ana['peak_rss_GiB']:.2f} GiB "
              f"({ana['peak_rss_GiB'] / figures['positions_GiB']:.2f} x the positions)", flush=True)
        doc = json.loads(js.read_text())
        group = doc["groups"][0] if isinstance(doc.get("groups"), list) and doc["groups"] else {}
        d_tr = group.get("quantities", {}).get("D_tr", {})
        expected = LI_STEP_A ** 2 / (2 * FRAME_STEPS * 0.001) * 1e-4     # Å²/ps -> cm²/s
        figures["D_tr"] = d_tr
        figures["D_tr_expected_cm2_per_s"] = expected
        print(f"D* = {d_tr.get('median')} [{d_tr.get('lower')}, {d_tr.get('upper')}] {d_tr.get('units', '')} "
              f"({d_tr.get('regime', '')}); the random walk has {expected:.3g} cm^2/s")
        worst = max(figures.get("ingest_peak_rss_GiB", 0.0), figures["analyze_peak_rss_GiB"])
        print(f"peak RSS over both commands: {worst:.2f} GiB (target < 2 GB = {2e9 / GIB:.2f} GiB): "
              f"{'met' if worst * GIB < 2e9 else 'NOT met'}")
        if a.json:
            a.json.write_text(json.dumps(figures, indent=2, default=str))
    finally:
        if a.keep:
            print(f"kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
