"""Numbers must not depend on how many threads the BLAS library uses: a dask worker runs
with one (dask sets OPENBLAS_NUM_THREADS=1 and friends), this process with one per core.
Checked in fresh interpreters, since the BLAS thread count is fixed when numpy loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPT = r"""
import hashlib
import numpy as np
from uncertainty_gk import synthetic
from uncertainty_gk.displacement import framework_displacement, polarisation, polarisation_msd, tracer_msd
ds = synthetic.generate(n_mobile=150, framework={"O": 300, "P": 90}, n_frames=400, n_seeds=1, rng=3).runs[0]
h = hashlib.sha256()
for a in (polarisation(ds), framework_displacement(ds), polarisation_msd(ds)["msd"].values,
          tracer_msd(ds)["msd"].values):
    h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
print(h.hexdigest())
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: BLAS runs one thread anyway")
def test_displacements_do_not_depend_on_the_blas_thread_count():
    digests = []
    for threads in ("1", str(min(4, os.cpu_count() or 2))):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                   PYTHONPATH=str(ROOT))
        proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.append(proc.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1]
