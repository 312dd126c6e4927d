"""Benchmark: tracer + polarisation MSD against a plain numpy per-atom rfft MSD.

Usage::

    python benchmarks/bench_msd.py                    # 500 atoms x 50,000 frames
    python benchmarks/bench_msd.py --frames 5000      # quick run

Prints

* the wall time of :func:`uncertainty_gk.displacement.tracer_msd` +
  :func:`~uncertainty_gk.displacement.polarisation_msd` on one synthetic run, as a
  ratio to a straightforward per-atom ``numpy.fft.rfft`` MSD over *all* atoms of the
  same data, timed in the same process (target: ratio <= 1.5);
* the peak memory allocated during the analysis (tracemalloc, in a separate pass so it
  does not perturb the timing) relative to the positions array, which is already in
  memory (target: peak <= positions + 1 GB), and the process ru_maxrss.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import numpy as np

from uncertainty_gk import synthetic
from uncertainty_gk.displacement import polarisation_msd, tracer_msd

GIB = 2**30


def numpy_reference_msd(positions: np.ndarray) -> np.ndarray:
    """Atom-averaged MSD over all origins: one numpy rfft per atom (the reference)."""
    n_t, n_atoms, _ = positions.shape
    n_fft = 2 * n_t
    total = np.zeros(n_t)
    norm = n_t - np.arange(n_t)
    for i in range(n_atoms):
        x = positions[:, i, :] - positions[0, i, :]
        f = np.fft.rfft(x, n=n_fft, axis=0)
        s2 = np.fft.irfft((f * f.conj()).real.sum(axis=1), n=n_fft)[:n_t]
        sq = (x * x).sum(axis=1)
        cs = np.concatenate([[0.0], np.cumsum(sq)])
        s1 = cs[n_t:0:-1] + (cs[n_t] - cs[:n_t])
        total += (s1 - 2.0 * s2) / norm
    return total / n_atoms


def composition(n_atoms: int) -> tuple[int, int]:
    """(n_mobile, n_framework) of a neutral Li/P/O cell with about 3/8 Li and n_atoms atoms."""
    for n_mobile in sorted(range(1, n_atoms), key=lambda n: abs(n - 3 * n_atoms / 8)):
        n_fw = n_atoms - n_mobile
        n_p = (2 * n_fw - n_mobile) / 7
        if n_p == int(n_p) and 0 <= n_p <= n_fw:
            return n_mobile, n_fw
    raise SystemExit(f"no neutral Li/P/O composition with {n_atoms} atoms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=500)
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--chunk-atoms", type=int, default=None, help="atoms per chunk (default: automatic)")
    parser.add_argument("--repeat", type=int, default=1, help="timing repetitions (best is reported)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    n_mobile, n_fw = composition(args.atoms)
    t0 = time.perf_counter()
    system = synthetic.generate(n_mobile=n_mobile, n_framework=n_fw, n_frames=args.frames, n_seeds=1,
                                rattle_amplitude=0.2, rattle_time_ps=0.2, rng=args.seed)
    ds = system.runs[0]
    positions = ds["positions"].values
    pos_bytes = positions.nbytes
    print(f"data: {args.atoms} atoms ({n_mobile} Li) x {args.frames} frames, positions "
          f"{pos_bytes / 2**20:.0f} MiB (generated in {time.perf_counter() - t0:.1f} s)")

    def ours():
        return tracer_msd(ds, chunk_atoms=args.chunk_atoms), polarisation_msd(ds, chunk_atoms=args.chunk_atoms)

    t_ref = t_ours = np.inf
    for _ in range(args.repeat):
        t = time.perf_counter()
        ref = numpy_reference_msd(positions)
        t_ref = min(t_ref, time.perf_counter() - t)
        t = time.perf_counter()
        tr, po = ours()
        t_ours = min(t_ours, time.perf_counter() - t)
    assert np.isfinite(ref).all() and np.isfinite(tr["msd"]).all() and np.isfinite(po["msd"]).all()
    # like-for-like: every atom through the chunked FFT path, no framework reference
    species = sorted(set(ds["species"].values.tolist()))
    t = time.perf_counter()
    every = tracer_msd(ds, species=species, reference="none", chunk_atoms=args.chunk_atoms)
    t_all = time.perf_counter() - t
    n_sp = every["n_atoms"].values
    mean_all = (every["msd"].values * n_sp[:, None]).sum(axis=0) / n_sp.sum()
    np.testing.assert_allclose(mean_all[1:], ref[1:], rtol=1e-8)

    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    ours()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    extra = peak - base
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux: KiB

    ratio = t_ours / t_ref
    print(f"numpy per-atom rfft MSD (all {args.atoms} atoms): {t_ref:.2f} s")
    print(f"tracer_msd + polarisation_msd:                {t_ours:.2f} s")
    print(f"time ratio (ours / numpy reference): {ratio:.2f}   target <= 1.5  "
          f"{'OK' if ratio <= 1.5 else 'MISSED'}")
    print(f"all {args.atoms} atoms via tracer_msd(reference='none'): {t_all:.2f} s, ratio {t_all / t_ref:.2f} "
          "(same work as the reference; agrees to 1e-8)")
    print(f"peak memory during analysis: positions + {extra / 2**20:.0f} MiB "
          f"= {(pos_bytes + extra) / pos_bytes:.2f} x positions   target <= positions + 1 GiB  "
          f"{'OK' if extra <= GIB else 'MISSED'}")
    print(f"process ru_maxrss (includes data generation): {maxrss / 2**20:.0f} MiB "
          f"= {maxrss / pos_bytes:.2f} x positions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
