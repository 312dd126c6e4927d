"""Archive size and read speed on the shared real runs (issue 14, item 5).

    python benchmarks/bench_archive_size.py ../shared/data [--keep DIR]

Makes the manifests of the shared data (studies/shared_data/make_manifests.py), ingests
every campaign, and prints, as ratios (not seconds, which depend on the machine):

* archive bytes / gzip-compressed text inputs (trajectories and logs; inputs already
  gzipped count as they are, plain ones are gzipped here at level 6) - the target is <= 1;
* archive bytes / raw float64 positions;
* time to read every run's positions from the archive (already open, and including
  ``open_archive``) / time to read the same arrays from uncompressed ``.npy`` files in the
  page cache (best of 3 each): the cost of decompression, decoding and checking;
* that every archive passes :func:`uncertainty_gk.archive.verify_archive`.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from uncertainty_gk.archive import ingest, open_archive, verify_archive  # noqa: E402


def gz_size(path: Path) -> int:
    data = path.read_bytes()
    return len(data) if data[:2] == b"\x1f\x8b" else len(gzip.compress(data, 6))


def inputs_of(manifest: Path) -> list[Path]:
    doc = tomllib.loads(manifest.read_text())
    base = manifest.parent
    out = []
    for run in doc["runs"]:
        if "glob" in run:
            import glob

            out += [Path(p) for p in sorted(glob.glob(str(base / run["glob"])))]
            continue
        traj = run["trajectory"]
        out += [base / t for t in ([traj] if isinstance(traj, str) else traj)]
        if run.get("log"):
            out.append(base / run["log"])
    return out


def best_of(fn, n=3) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="the shared data folder (../shared/data)")
    ap.add_argument("--keep", type=Path, help="write manifests and archives here instead of a temporary folder")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_archive_"))
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "studies" / "shared_data" / "make_manifests.py"), str(args.data),
                    str(work)], check=True, capture_output=True)
    manifests = sorted(work.glob("*.toml"))
    total_archive = total_gz = total_raw = 0
    n_runs = 0
    read_archive = read_only = read_npy = 0.0
    print(f"{'campaign':<14}{'runs':>5}{'archive MB':>12}{'gz inputs MB':>14}{'ratio':>8}{'/raw pos':>10}")
    for m in manifests:
        out = work / (m.stem + ".nc")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = ingest(m, out, overwrite=True)
        check = verify_archive(out)
        if not check.ok:
            print(check.summary())
            return 1
        gz = sum(gz_size(p) for p in inputs_of(m))
        arrays = {}
        with open_archive(out) as camp:
            for name, ds in camp.items():
                arrays[name] = ds["positions"].values
        raw = sum(a.nbytes for a in arrays.values())
        npy = work / f"{m.stem}_npy"
        npy.mkdir(exist_ok=True)
        for name, a in arrays.items():
            np.save(npy / f"{name}.npy", a)

        def from_archive(out=out):
            with open_archive(out) as camp:
                for ds in camp.values():
                    _ = ds["positions"].values

        camp = open_archive(out)

        def values_only(camp=camp):
            for ds in camp.values():
                _ = ds["positions"].values

        def from_npy(npy=npy):
            for p in npy.glob("*.npy"):
                np.load(p)

        read_archive += best_of(from_archive)
        read_only += best_of(values_only)
        camp.close()
        read_npy += best_of(from_npy)
        size = out.stat().st_size
        print(f"{m.stem:<14}{len(report.runs):>5}{size / 2**20:>12.1f}{gz / 2**20:>14.1f}{size / gz:>8.2f}"
              f"{size / raw:>10.2f}")
        total_archive += size
        total_gz += gz
        total_raw += raw
        n_runs += len(report.runs)
    print(f"{'all':<14}{n_runs:>5}{total_archive / 2**20:>12.1f}{total_gz / 2**20:>14.1f}"
          f"{total_archive / total_gz:>8.2f}{total_archive / total_raw:>10.2f}")
    print(f"archive / gzip-compressed text inputs: {total_archive / total_gz:.2f} (target <= 1)")
    print(f"archive / raw float64 positions: {total_archive / total_raw:.2f}")
    print(f"read time of all positions, archive already open / uncompressed .npy in the page cache: "
          f"{read_only / read_npy:.0f}")
    print(f"the same including open_archive (metadata of every run): {read_archive / read_npy:.0f}")
    print("every archive verified against its checksums")
    return 0 if total_archive <= total_gz else 1


if __name__ == "__main__":
    sys.exit(main())
