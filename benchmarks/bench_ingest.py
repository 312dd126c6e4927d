"""Benchmark: streaming LAMMPS dump ingestion vs a plain ``numpy.loadtxt`` of the atom lines.

Generates a synthetic ``dump custom`` file (``id type xu yu zu``, ``%.5f``), then prints

* the file size,
* MB/s of :class:`uncertainty_gk.io.lammps_dump.LammpsDumpReader` iterating all chunks
  (measured in a fresh subprocess so that its peak memory is not polluted),
* MB/s of ``numpy.loadtxt`` parsing only the atom lines of the same file (written to a
  temporary file first, so that the reference does not have to skip headers),
* the ratio of the two, and the peak memory (max RSS and tracemalloc peak) of the streaming pass.

Usage::

    python benchmarks/bench_ingest.py                      # 1000 atoms x 2000 frames
    python benchmarks/bench_ingest.py --atoms 297 --frames 501 --gz
    python benchmarks/bench_ingest.py --file some/dump.lammpstrj   # benchmark an existing file

Numbers are printed, not asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_dump(path: Path, n_atoms: int, n_frames: int, *, gz: bool = False, seed: int = 0) -> None:
    """A random-walk trajectory in an orthogonal box, as a LAMMPS ``dump custom`` text file."""
    rng = np.random.default_rng(seed)
    box = np.array([20.0, 21.0, 22.0])
    pos = rng.uniform(0, 1, (n_atoms, 3)) * box
    types = rng.integers(1, 4, n_atoms)
    ids = np.arange(1, n_atoms + 1)
    line_fmt = "%d %d %.5f %.5f %.5f\n" * n_atoms
    opener = gzip.open if gz else open
    with opener(path, "wt", **({"compresslevel": 1} if gz else {})) as fh:
        for k in range(n_frames):
            pos += rng.normal(0, 0.05, pos.shape)
            fh.write(f"ITEM: TIMESTEP\n{k * 100}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n"
                     f"ITEM: BOX BOUNDS pp pp pp\n0.0 {box[0]}\n0.0 {box[1]}\n0.0 {box[2]}\n"
                     "ITEM: ATOMS id type xu yu zu\n")
            table = np.empty((n_atoms, 5), dtype=object)
            table[:, 0] = ids
            table[:, 1] = types
            table[:, 2:] = pos
            fh.write(line_fmt % tuple(table.ravel()))


def atom_lines_only(path: Path, out: Path) -> int:
    """Copy just the atom lines of a dump to ``out``; returns their byte count."""
    n = 0
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as src, open(out, "wb") as dst:
        atoms_left = 0
        for line in src:
            if atoms_left:
                dst.write(line)
                n += len(line)
                atoms_left -= 1
                continue
            if line.startswith(b"ITEM: NUMBER OF ATOMS"):
                n_atoms = int(next(src))
            elif line.startswith(b"ITEM: ATOMS"):
                atoms_left = n_atoms
    return n


def uncompressed_size(path: Path) -> int:
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return os.path.getsize(path)
    total = 0
    with gzip.open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            total += len(block)
    return total


def child_stream(path: str) -> None:
    """Run in a fresh interpreter: time one full streaming pass, then its tracemalloc peak."""
    import tracemalloc

    import pandas  # noqa: F401  (imported before timing, like numpy for loadtxt)

    from uncertainty_gk.io.lammps_dump import LammpsDumpReader

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    reader = LammpsDumpReader(path)
    n = 0
    n_chunks = 0
    for chunk in reader.iter_chunks():
        n += chunk.n_frames
        n_chunks += 1
    dt = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    for chunk in LammpsDumpReader(path).iter_chunks():
        del chunk
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"seconds": dt, "frames": n, "chunks": n_chunks, "rss_before_kb": rss0,
                      "maxrss_kb": rss1, "tracemalloc_peak": peak}))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--atoms", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--gz", action="store_true", help="gzip the generated dump")
    ap.add_argument("--file", help="benchmark this existing dump instead of generating one")
    ap.add_argument("--repeat", type=int, default=1, help="streaming passes (best is reported)")
    ap.add_argument("--no-loadtxt", action="store_true", help="skip the numpy.loadtxt reference")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        child_stream(args._child)
        return

    with tempfile.TemporaryDirectory(prefix="ugk_bench_") as tmp:
        tmp = Path(tmp)
        if args.file:
            path = Path(args.file)
        else:
            path = tmp / ("dump.lammpstrj.gz" if args.gz else "dump.lammpstrj")
            t0 = time.perf_counter()
            write_dump(path, args.atoms, args.frames, gz=args.gz)
            print(f"generated {args.atoms} atoms x {args.frames} frames in {time.perf_counter() - t0:.1f} s")
        size = os.path.getsize(path)
        text_size = uncompressed_size(path)
        print(f"file: {path.name}  {size / 1e6:.1f} MB on disk, {text_size / 1e6:.1f} MB of text")

        runs = []
        for _ in range(max(1, args.repeat)):
            out = subprocess.run([sys.executable, __file__, "--_child", str(path)], check=True,
                                 capture_output=True, text=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        best = min(runs, key=lambda r: r["seconds"])
        stream_mbs = text_size / 1e6 / best["seconds"]
        print(f"LammpsDumpReader.iter_chunks: {best['frames']} frames in {best['chunks']} chunk(s), "
              f"{best['seconds']:.2f} s = {stream_mbs:.0f} MB/s of text")
        print(f"  peak memory: max RSS {best['maxrss_kb'] / 1024:.0f} MB (interpreter + imports "
              f"{best['rss_before_kb'] / 1024:.0f} MB, so the pass added "
              f"{(best['maxrss_kb'] - best['rss_before_kb']) / 1024:.0f} MB); "
              f"tracemalloc peak {best['tracemalloc_peak'] / 1e6:.0f} MB")
        positions_mb = best["frames"] * (args.atoms if not args.file else 0) * 24 / 1e6
        if positions_mb:
            print(f"  (the positions alone are {positions_mb:.0f} MB; default chunk budget 64 MB)")

        if not args.no_loadtxt:
            atoms_file = tmp / "atoms.txt"
            n_bytes = atom_lines_only(path, atoms_file)
            t0 = time.perf_counter()
            arr = np.loadtxt(atoms_file)
            dt = time.perf_counter() - t0
            ref_mbs = n_bytes / 1e6 / dt
            print(f"numpy.loadtxt of the atom lines only: {n_bytes / 1e6:.1f} MB, {dt:.2f} s = {ref_mbs:.0f} MB/s "
                  f"({arr.shape[0]} rows)")
            print(f"ratio streaming reader / loadtxt: {stream_mbs / ref_mbs:.2f}x")


if __name__ == "__main__":
    main()
