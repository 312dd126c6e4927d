"""Benchmark: peak memory and speed of ``uncertainty_gk.archive.ingest`` on large LAMMPS dumps.

The target (issue): a 1000-atom x 300,000-frame run (about 7 GB of float64 positions)
ingests with peak memory under 2 GB.  This writes, for every ``--frames`` value, a plain
text dump (``id type xu yu zu``, ``%.5f``, 1000 atoms, types 1 = Li and 2 = O) and a
manifest (timestep 0.001 ps) into a temporary directory, runs ``archive.ingest`` in a
fresh subprocess and reports

* the subprocess's peak RSS (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a
  child that does nothing else; the interpreter and imports alone are measured too),
* the ingest speed in MB/s of dump text, and the archive size,
* the ratio peak RSS / size of the float64 positions, to show whether memory grows
  with the number of frames.

Usage::

    python benchmarks/bench_ingest_archive.py                        # 20,000 frames
    python benchmarks/bench_ingest_archive.py --frames 5000,20000,60000
    python benchmarks/bench_ingest_archive.py --frames 300000 --dir /big/scratch

Needs about (1 + 0.9) x 48 bytes x atoms x frames of free disk (text + archive); sizes
that do not fit are refused.  Numbers are printed (and optionally written as JSON), not
asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Bytes of one atom line ``"%d %d %.5f %.5f %.5f\n"`` for coordinates of 2-3 integer digits.
LINE_BYTES_EST = 34

CHILD = r"""
import json, resource, sys, time
mode, manifest, out = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
import numpy, xarray, h5netcdf, h5py  # noqa: F401  (the baseline: interpreter + imports)
from uncertainty_gk import archive
t1 = time.perf_counter()
if mode == "ingest":
    archive.ingest(manifest, out, show_progress=False)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "ingest_s": t2 - t1,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_dump(path: Path, n_atoms: int, n_frames: int, *, seed: int = 0, block: int = 200) -> int:
    """Random walk in an orthogonal 30 Å box as ``dump custom`` text; returns bytes written.

    Frames are formatted ``block`` at a time with numpy (fast, bounded memory).
    """
    rng = np.random.default_rng(seed)
    box = 30.0
    pos = rng.uniform(0.0, box, (n_atoms, 3))
    types = np.where(np.arange(n_atoms) % 3 == 0, 1, 2)
    ids = np.arange(1, n_atoms + 1)
    written = 0
    with open(path, "w") as fh:
        for k0 in range(0, n_frames, block):
            parts = []
            for k in range(k0, min(n_frames, k0 + block)):
                pos += rng.normal(0.0, 0.05, pos.shape)
                parts.append(f"ITEM: TIMESTEP\n{k * 100}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n"
                             f"ITEM: BOX BOUNDS pp pp pp\n0.0 {box}\n0.0 {box}\n0.0 {box}\n"
                             "ITEM: ATOMS id type xu yu zu\n")
                body = np.char.add(np.char.add(ids.astype(str), " "), types.astype(str))
                xyz = np.char.mod("%.5f", pos)
                lines = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(body, " "), xyz[:, 0]), " "),
                                                np.char.add(xyz[:, 1], " ")), xyz[:, 2])
                parts.append("\n".join(lines.tolist()) + "\n")
            text = "".join(parts)
            fh.write(text)
            written += len(text)
    return written


MANIFEST = """[defaults]
types = {{1 = "Li", 2 = "O"}}
charges = {{Li = 1, O = -0.5}}
mobile = ["Li"]
timestep_ps = 0.001
temperature_K = 1000

[[runs]]
trajectory = "{traj}"
labels = {{seed = 1}}
"""


def child(mode: str, manifest: Path, out: Path) -> dict:
    """Run the ingest (or only the imports) in a fresh interpreter; its peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(manifest), str(out)], capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    # RUSAGE_CHILDREN is the max over all waited-for children so far: also report the child's own
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res["children_maxrss_kb"] = after
    res["children_maxrss_before_kb"] = before
    res["wall_s"] = wall
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", default="20000", help="comma-separated frame counts (default 20000)")
    ap.add_argument("--atoms", type=int, default=1000)
    ap.add_argument("--dir", type=Path, default=None, help="scratch directory (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the dump and archive")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = ap.parse_args(argv)
    frames = [int(x) for x in a.frames.split(",") if x.strip()]
    base = Path(a.dir or tempfile.gettempdir())
    rows = []
    for n_frames in frames:
        need = int(1.1 * (LINE_BYTES_EST * a.atoms * n_frames + 24 * a.atoms * n_frames * 1.05)) + 2**28
        free = shutil.disk_usage(base).free
        if need > free:
            print(f"{n_frames} frames: needs ~{need / 1e9:.1f} GB of disk, {free / 1e9:.1f} GB free in {base}; "
                  "skipped", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(dir=base, prefix="bench_ingest_archive_") as tmp:
            tmp = Path(tmp)
            dump = tmp / "dump.lammpstrj"
            t0 = time.perf_counter()
            nbytes = write_dump(dump, a.atoms, n_frames)
            t_write = time.perf_counter() - t0
            manifest = tmp / "campaign.toml"
            manifest.write_text(MANIFEST.format(traj=dump))
            out = tmp / "campaign.nc"
            baseline = child("imports", manifest, out)
            res = child("ingest", manifest, out)
            pos_bytes = 24 * a.atoms * n_frames
            row = {"frames": n_frames, "atoms": a.atoms, "text_GB": nbytes / 1e9, "positions_GB": pos_bytes / 1e9,
                   "write_dump_s": t_write, "ingest_s": res["ingest_s"], "MB_per_s": nbytes / 1e6 / res["ingest_s"],
                   "peak_rss_MB": res["maxrss_kb"] / 1024, "baseline_rss_MB": baseline["maxrss_kb"] / 1024,
                   "archive_GB": out.stat().st_size / 1e9}
            row["peak_over_positions"] = res["maxrss_kb"] * 1024 / pos_bytes
            rows.append(row)
            print(f"{n_frames} frames: {row['text_GB']:.2f} GB text, ingest {row['ingest_s']:.1f} s "
                  f"({row['MB_per_s']:.0f} MB/s), peak RSS {row['peak_rss_MB']:.0f} MB "
                  f"(imports alone {row['baseline_rss_MB']:.0f} MB), archive {row['archive_GB']:.2f} GB",
                  file=sys.stderr, flush=True)
            if a.keep:
                keep = base / f"bench_ingest_archive_{n_frames}"
                shutil.copytree(tmp, keep)
    print()
    print("| frames | positions GB | text GB | peak RSS MB | imports-only RSS MB | peak / positions | "
          "ingest MB/s | archive GB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['frames']} | {r['positions_GB']:.2f} | {r['text_GB']:.2f} | {r['peak_rss_MB']:.0f} | "
              f"{r['baseline_rss_MB']:.0f} | {r['peak_over_positions']:.2f} | {r['MB_per_s']:.0f} | "
              f"{r['archive_GB']:.2f} |")
    if len(rows) >= 2:
        r0, r1 = rows[0], rows[-1]
        slope = (r1["peak_rss_MB"] - r0["peak_rss_MB"]) / max(1, r1["frames"] - r0["frames"])
        print(f"\npeak RSS growth: {slope * 1000:.3f} MB per 1000 frames "
              f"(extrapolated to 300,000 frames: {r0['peak_rss_MB'] + slope * (300_000 - r0['frames']):.0f} MB)")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
