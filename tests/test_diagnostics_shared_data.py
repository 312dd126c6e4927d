"""diagnose() on the shared real data: clean runs pass, failing runs fail near their true failure time.

Skipped when ../shared/data or the readers are absent.  The true failure times are read
off the data in studies/diagnostics_calibration/README.md.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
pytestmark = [pytest.mark.shared_data,
              pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data folder {DATA} not present")]

TYPES = {1: "Li", 2: "P", 3: "O", 4: "Si"}


def lammps_run(folder: str, tag: str):
    dump_mod = pytest.importorskip("uncertainty_gk.io.lammps_dump")
    log_mod = pytest.importorskip("uncertainty_gk.io.lammps_log")
    from uncertainty_gk.schema import merge_log

    base = DATA / "lammps" / folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dump_mod.read_lammps_dump(base / f"dump.{tag}.lammpstrj", types=TYPES, timestep_ps=0.001,
                                       labels={"temperature_K": 1000.0})
        return merge_log(ds, log_mod.parse_lammps_log(base / f"log.{tag}.lammps", warn=False).to_dataset())


def test_clean_lammps_seed_is_ok():
    from uncertainty_gk.diagnostics import diagnose

    d = diagnose(lammps_run("lpso_T1000", "T1000_s1"))
    assert d.status == "ok", d.summary()
    assert d.trusted_until_ps == pytest.approx(100.0)
    assert d.thresholds["production_block"] == 2


@pytest.mark.parametrize("tag, latest_first_flag_ps", [("bad_C1.5_T1000_s1", 0.065), ("bad_C1_T1000_s1", 0.2)])
def test_failing_lammps_runs(tag, latest_first_flag_ps):
    from uncertainty_gk.diagnostics import diagnose

    d = diagnose(lammps_run("failures", tag))
    assert d.status == "failed"
    # the first alarm comes at the first rows/frames that show the failure; the onset
    # (the run's first flagged time) is the last row before it: the run start
    alarm = min(f.time_ps for f in d.flags if f.severity == "failed")
    assert 0.0 < alarm <= latest_first_flag_ps
    assert 0.0 <= d.first_flag_time_ps <= alarm
    assert d.trusted_until_ps == 0.0  # broken within the first ps: nothing is trusted


@pytest.mark.parametrize("name", ["Li6PS5Cl_0p_run1", "Li6PS5Cl_100p_run5"])
def test_argyrodite_aimd_is_ok(name):
    vasp = pytest.importorskip("uncertainty_gk.io.vasp")
    from uncertainty_gk.diagnostics import diagnose

    ds = vasp.read_xdatcar(DATA / "vasp" / "argyrodite_Li6PS5Cl" / f"{name}.XDATCAR.gz", frame_interval_ps=0.1,
                           temperature_K=500.0)
    d = diagnose(ds)
    assert d.status == "ok", d.summary()


def test_allegro_run_fails_early_and_leaves_training_domain():
    extxyz = pytest.importorskip("uncertainty_gk.io.extxyz")
    from uncertainty_gk.diagnostics import diagnose

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = extxyz.read_extxyz(DATA / "mlip" / "md_ep3_T1000.xyz.gz", frame_interval_ps=0.02, temperature_K=1000.0)
    d = diagnose(ds, training=DATA / "mlip" / "train_1000K.xyz")
    assert d.status == "failed"
    assert d.first_flag_time_ps <= 0.12  # SiO4 break at 0.06 ps, O-O collapse by 0.12 ps
    assert d.flags_of("domain_distance") and d.flags_of("domain_distance")[0].time_ps <= 0.12
