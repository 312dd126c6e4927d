"""Results do not depend on where the work runs: one process, or a real dask LocalCluster
of 2 worker processes (no mocks), in whatever order the tasks complete."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.archive import open_archive, write_archive
from uncertainty_gk.pipeline import analyse
from uncertainty_gk.settings import AnalysisSettings

pytest.importorskip("dask.distributed")


def _campaign(tmp_path):
    runs = {}
    for T, D, seed in ((800.0, 0.03, 1), (1000.0, 0.05, 2), (1200.0, 0.07, 3)):
        for i, ds in enumerate(synthetic.generate(n_mobile=24, n_frames=900, n_seeds=2, D=D, temperature_K=T,
                                                  rng=seed).runs):
            runs[f"T{T:g}_s{i}"] = ds
    write_archive(runs, tmp_path / "c.nc", show_progress=False)
    return tmp_path / "c.nc"


def test_two_workers_give_the_single_process_numbers(tmp_path):
    from uncertainty_gk.execution import local_client

    arch = _campaign(tmp_path)
    st = AnalysisSettings(seed=5, n_steps=200, per_seed_steps=100, n_boot=100, method="all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_archive(arch) as camp:
            here = analyse(camp, st, show_progress=False)
            with local_client(2) as client:
                there = analyse(camp, st, show_progress=False, client=client)
    assert [g.key for g in here.groups] == [g.key for g in there.groups]
    for a, b in zip(here.groups, there.groups):
        for m in a.draws:
            for k in a.draws[m]:
                np.testing.assert_array_equal(a.draws[m][k], b.draws[m][k])
        assert json.dumps(a.to_dict(), sort_keys=True, default=str) == json.dumps(b.to_dict(), sort_keys=True,
                                                                                      default=str)


def test_cli_workers_and_the_cluster_example(tmp_path, capsys):
    """`ugk analyze --workers 2` and the SLURM example script with its LocalCluster stand-in give
    the single-process numbers."""
    import runpy
    from pathlib import Path

    from uncertainty_gk.cli import main
    from uncertainty_gk.results import load_results

    arch = _campaign(tmp_path)
    opts = ["--seed", "2", "--n-steps", "200", "--per-seed-steps", "100", "-q"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["analyze", str(arch), "-o", str(tmp_path / "one.nc"), *opts]) == 0
        assert main(["analyze", str(arch), "-o", str(tmp_path / "two.nc"), "--workers", "2", *opts]) == 0
    one, two = load_results(tmp_path / "one.nc"), load_results(tmp_path / "two.nc")
    for a, b in zip(one.groups, two.groups):
        np.testing.assert_array_equal(a.draws[a.method]["sigma"], b.draws[b.method]["sigma"])
    script = Path(__file__).resolve().parents[1] / "examples" / "cluster" / "analyse_on_cluster.py"
    mod = runpy.run_path(str(script))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert mod["main"]([str(arch), str(tmp_path / "ex.nc"), "--local", "2", "--seed", "0",
                            "--n-steps", "200", "--per-seed-steps", "100"]) == 0
    assert len(load_results(tmp_path / "ex.nc").groups) == 3
