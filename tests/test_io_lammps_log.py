"""Tests of uncertainty_gk.io.lammps_log (hand-written logs + real logs when available)."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from uncertainty_gk.errors import InputFormatError, LogEventWarning, SkippedFramesWarning, TruncatedInputWarning
from uncertainty_gk.io.lammps_log import parse_lammps_log, sanitize_column

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

LOG_OK = """\
LAMMPS (22 Jul 2025 - Update 4)
variable NSTEPS index 20
units metal
timestep 0.002    # 2 fs
thermo 10
minimize 0.0 1e-4 100 1000
Per MPI rank memory allocation (min/avg/max) = 7.163 | 7.163 | 7.163 Mbytes
   Step          Temp          E_pair         Press
         0   0             -10.5           100.0
         3   0             -11.0           50.0
Loop time of 0.01 on 1 procs for 3 steps with 2 atoms

WARNING: Energy due to 3 extra global DOFs will be included in minimizer energies
run ${NSTEPS}
run 20
   Step          Time           Temp          PotEng         c_msd[4]
         0   0              300           -11.0          0.0
        10   0.02           -nan          -10.9          inf
WARNING: Something odd happened (src/fix.cpp:1)
        20   0.04           310           -10.8          0.5
Loop time of 0.1 on 1 procs for 20 steps with 2 atoms

Total wall time: 0:00:01
"""

LOG_ERROR = """\
LAMMPS (22 Jul 2025 - Update 4)
units real
timestep 2.0
run 1000
   Step          Temp          PotEng
         0   300           -5.0
       100   1000          -4.0
       200   5000          -1.0
ERROR: Lost atoms: original 297 current 295 (src/thermo.cpp:526)
Last command: run 1000
"""


@pytest.fixture
def ok_log(tmp_path):
    p = tmp_path / "log.ok.lammps"
    p.write_text(LOG_OK)
    return p


@pytest.fixture
def error_log(tmp_path):
    p = tmp_path / "log.err.lammps"
    p.write_text(LOG_ERROR)
    return p


def test_blocks_columns_units_timestep(ok_log):
    log = parse_lammps_log(ok_log)
    assert log.units == "metal"
    assert log.timestep == pytest.approx(0.002)
    assert log.timestep_ps == pytest.approx(0.002)
    assert log.version.startswith("22 Jul 2025")
    assert len(log.blocks) == 2
    assert log.blocks[0].columns == ["Step", "Temp", "E_pair", "Press"]
    assert log.blocks[0].command == "minimize" and log.blocks[0].requested_steps == 100
    assert log.blocks[1].columns == ["Step", "Time", "Temp", "PotEng", "c_msd[4]"]
    assert log.run_lengths == [20]  # 'run ${NSTEPS}' and its echo 'run 20' count once
    assert log.steps_done == [3, 20]
    assert log.production_block == 1
    assert not log.ended_with_error
    b = log.blocks[1]
    assert b.n_rows == 3  # the WARNING inside the block does not end it
    assert np.isnan(b.rows[1, 2]) and np.isinf(b.rows[1, 4])  # -nan and inf kept
    assert list(b.steps) == [0, 10, 20]


def test_events_with_steps_and_lines(ok_log):
    log = parse_lammps_log(ok_log)
    assert [(e.kind, e.line, e.step) for e in log.events] == [("WARNING", 13, 3), ("WARNING", 19, 10)]
    assert log.events[1].message.startswith("WARNING: Something odd")


def test_to_dataset(ok_log):
    ds = parse_lammps_log(ok_log).to_dataset()
    assert ds.sizes["thermo"] == 5 and ds.sizes["event"] == 2
    assert ds["thermo_step"].dtype == np.int64
    assert list(ds["thermo_block"].values) == [0, 0, 1, 1, 1]
    # minimize block: Step x timestep; run block: Time column (metal: ps)
    np.testing.assert_allclose(ds["thermo_time"].values, [0.0, 0.006, 0.0, 0.02, 0.04])
    assert "thermo_c_msd_4" in ds and "thermo_Step" not in ds
    assert np.isnan(ds["thermo_E_pair"].values[2:]).all()  # block 1 lacks E_pair
    assert np.isnan(ds["thermo_PotEng"].values[:2]).all()
    np.testing.assert_allclose(ds["thermo_Temp"].values[[0, 2, 4]], [0, 300, 310])
    assert ds.attrs["units"] == "metal"
    assert ds.attrs["timestep_ps"] == pytest.approx(0.002)
    assert json.loads(ds.attrs["run_lengths"]) == [20]
    assert json.loads(ds.attrs["steps_done"]) == [3, 20]
    assert ds.attrs["ended_with_error"] == 0
    assert ds.attrs["path"].endswith("log.ok.lammps")
    assert list(ds["event_line"].values) == [13, 19]
    assert list(ds["event_step"].values) == [3, 10]
    assert ds["event_kind"].values.tolist() == ["WARNING", "WARNING"]
    for name in ds.variables:
        assert "units" in ds[name].attrs and "long_name" in ds[name].attrs, name
    assert ds["thermo_Temp"].attrs["units"] == "K"
    assert ds["thermo_time"].attrs["units"] == "ps"


def test_error_log_warns_and_records(error_log):
    with pytest.warns(LogEventWarning, match=r"line 9: .*ERROR: Lost atoms"):
        log = parse_lammps_log(error_log)
    assert log.ended_with_error
    assert log.units == "real"
    assert log.timestep_ps == pytest.approx(0.002)  # 2 fs in real units
    assert log.run_lengths == [1000] and log.steps_done == [200]
    assert log.blocks[0].ended_early and not log.blocks[0].completed
    assert log.errors[0].step == 200 and log.errors[0].line == 9
    ds = log.to_dataset()
    np.testing.assert_allclose(ds["thermo_time"].values, [0.0, 0.2, 0.4])  # step x 2 fs
    assert ds.attrs["ended_with_error"] == 1
    assert ds["event_kind"].values.tolist() == ["ERROR"]


def test_gzip_log(tmp_path):
    p = tmp_path / "log.lammps.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(LOG_OK)
    log = parse_lammps_log(p)
    assert len(log.blocks) == 2 and log.blocks[1].n_rows == 3


def test_variable_substitution_without_echo(tmp_path):
    p = tmp_path / "log.var"
    p.write_text("LAMMPS (x)\nvariable DT equal 0.005\nvariable N index 50\nunits metal\n"
                 "timestep ${DT}\nrun $N\n   Step   Temp\n   0   1.0\n  50  2.0\n"
                 "Loop time of 1 on 1 procs for 50 steps with 1 atoms\n")
    log = parse_lammps_log(p)
    assert log.timestep == pytest.approx(0.005)
    assert log.run_lengths == [50]
    assert any("resolved" in n for n in log.notes)


def test_crash_before_thermo_header(tmp_path):
    p = tmp_path / "log.crash"
    p.write_text("LAMMPS (x)\nunits metal\nrun 100\n   Step   Temp\n   0   1.0\n 100  2.0\n"
                 "Loop time of 1 on 1 procs for 100 steps with 1 atoms\nrun 500\n"
                 "ERROR: Out of range atoms - cannot compute PPPM (src/KSPACE/pppm.cpp:1)\n")
    with pytest.warns(LogEventWarning, match="Out of range atoms"):
        log = parse_lammps_log(p)
    assert log.run_lengths == [100, 500]
    assert log.steps_done == [100, 0]
    assert log.production_block == 0 and log.blocks[1].n_rows == 0
    assert log.ended_with_error and log.errors[0].step == 100


def test_sanitize_column():
    assert sanitize_column("c_msdLi[4]") == "c_msdLi_4"
    assert sanitize_column("v_a/b") == "v_a_b"
    assert sanitize_column("Temp") == "Temp"


def test_dataset_writes_netcdf(ok_log, tmp_path):
    pytest.importorskip("h5netcdf")
    import xarray as xr

    ds = parse_lammps_log(ok_log).to_dataset()
    out = tmp_path / "log.nc"
    ds.to_netcdf(out, engine="h5netcdf")
    back = xr.load_dataset(out, engine="h5netcdf")
    np.testing.assert_array_equal(back["thermo_step"].values, ds["thermo_step"].values)


def test_merge_into_run_dataset(ok_log):
    from uncertainty_gk.io.arrays import from_arrays
    from uncertainty_gk.schema import merge_log

    run = from_arrays(np.zeros((2, 1, 3)), np.eye(3) * 5, ["Li"], frame_interval_ps=0.1)
    merged = merge_log(run, parse_lammps_log(ok_log).to_dataset())
    assert merged.attrs["log_units"] == "metal"
    assert "thermo_Temp" in merged and merged.sizes["time"] == 2


# ------------------------------------------------------------------ malformed input
def test_empty_file(tmp_path):
    p = tmp_path / "log.empty"
    p.write_text("\n\n")
    with pytest.raises(InputFormatError, match="empty"):
        parse_lammps_log(p)


def test_not_a_lammps_log(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello world\nthis is a shopping list\n1 2 3\n")
    with pytest.raises(InputFormatError, match="not a LAMMPS log"):
        parse_lammps_log(p)


def test_missing_file(tmp_path):
    with pytest.raises(InputFormatError, match="not found"):
        parse_lammps_log(tmp_path / "nope.lammps")


def test_truncated_row_is_noted(tmp_path):
    p = tmp_path / "log.trunc"
    p.write_text("LAMMPS (x)\nunits metal\nrun 100\n   Step   Temp  Press\n   0   1.0  3.0\n  50  2.0\n")
    log = parse_lammps_log(p)
    assert log.blocks[0].n_rows == 1 and log.steps_done == [0]
    assert any("truncated" in n for n in log.notes)


def _long_log(n_rows=101):
    rows = "".join(f"  {100 * k}   {1000 + k % 7}.0   -3484.{k % 10}\n" for k in range(n_rows))
    return (f"LAMMPS (x)\nunits metal\ntimestep 0.001\nrun {100 * (n_rows - 1)}\n   Step   Temp   PotEng\n{rows}"
            f"Loop time of 1.0 on 1 procs for {100 * (n_rows - 1)} steps with 297 atoms\n")


@pytest.mark.parametrize("bad", ["  1900   1003.0   -3484.x", "  1900   ###   -3484.9", "  1900   1003.0"])
def test_one_corrupted_row_does_not_end_the_block(tmp_path, bad):
    """Finding 7: one non-numeric value ended the thermo block; 81 of 101 rows were dropped."""
    text = _long_log().replace("  1900   1005.0   -3484.9", bad)
    assert bad in text
    p = tmp_path / "log.lammps"
    p.write_text(text)
    with pytest.warns(SkippedFramesWarning, match=r"skipped 1 corrupted thermo row\(s\).*line 25"):
        log = parse_lammps_log(p)
    assert len(log.blocks) == 1
    assert log.blocks[0].n_rows == 100
    assert log.blocks[0].completed and log.steps_done == [10000]
    assert 1900 not in log.blocks[0].steps


def test_truncated_gzip_log_is_read_up_to_the_cut(tmp_path):
    raw = gzip.compress(_long_log(2000).encode())
    p = tmp_path / "log.lammps.gz"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.warns(TruncatedInputWarning, match="compressed stream ends early"):
        log = parse_lammps_log(p)
    assert 100 < log.blocks[0].n_rows < 2000
    assert not log.blocks[0].completed


# ------------------------------------------------------------------ real data
@pytest.mark.shared_data
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_real_lpso_logs(seed):
    p = DATA / "lammps" / "lpso_T1000" / f"log.T1000_s{seed}.lammps"
    if not p.exists():
        pytest.skip("shared data not available")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LogEventWarning)
        log = parse_lammps_log(p)
    assert len(log.blocks) == 3
    assert log.units == "metal" and log.timestep == pytest.approx(0.001)
    assert log.blocks[2].columns == ["Step", "Time", "Temp", "PotEng", "TotEng", "Press", "Volume",
                                     "c_msdLi[4]", "c_msdO[4]"]
    assert log.run_lengths == [10000, 100000]
    assert log.steps_done[1:] == [10000, 100000]
    assert log.production_block == 2 and not log.ended_with_error
    ds = log.to_dataset()
    nvt = ds.where(ds["thermo_block"] == 2, drop=True)
    assert nvt["thermo_time"].values[-1] == pytest.approx(100.0)
    assert np.all(np.isfinite(nvt["thermo_c_msdLi_4"].values))


@pytest.mark.shared_data
def test_real_failure_log_lost_atoms():
    p = DATA / "lammps" / "failures" / "log.bad_C1.5_T1000_s1.lammps"
    if not p.exists():
        pytest.skip("shared data not available")
    with pytest.warns(LogEventWarning, match=r"line \d+: .*ERROR: Lost atoms: original 297 current 295"):
        log = parse_lammps_log(p)
    assert log.ended_with_error
    assert log.errors[-1].step == 65
    assert log.run_lengths == [2000] and log.steps_done == [65]
    assert "c_rmin" in log.blocks[0].columns
    assert log.to_dataset().attrs["ended_with_error"] == 1
