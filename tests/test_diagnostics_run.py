"""The diagnose() API, Flag / RunDiagnosis objects and their JSON form."""

from __future__ import annotations

import json

import pytest
import xarray as xr
from test_diagnostics_helpers import crystal_dataset, crystal_positions

from uncertainty_gk.diagnostics import DEFAULT_THRESHOLDS, THRESHOLD_DOCS, Flag, RunDiagnosis, collapse_flags, diagnose


def test_every_threshold_is_documented():
    assert set(THRESHOLD_DOCS) == set(DEFAULT_THRESHOLDS)


def test_flag_validates_severity():
    with pytest.raises(ValueError, match="severity"):
        Flag("x", 0.0, 1.0, 2.0, "m", severity="fatal")


def test_collapse_keeps_first_and_counts():
    flags = [Flag("min_distance", t, 0.5, 1.0, f"at {t}", subject="O-O", count=2) for t in (3.0, 1.0, 2.0)]
    flags.append(Flag("min_distance", 0.5, 0.9, 1.0, "other pair", subject="Li-O"))
    out = collapse_flags(flags)
    assert [f.subject for f in out] == ["Li-O", "O-O"]
    oo = out[1]
    assert oo.time_ps == 1.0 and oo.count == 6 and oo.last_time_ps == 3.0 and oo.message == "at 1.0"


def test_diagnosis_status_and_trusted_segment():
    warn = Flag("log_warning", 2.0, 0, float("nan"), "w", severity="warning")
    fail = Flag("temperature", 5.0, 2000.0, 1300.0, "hot")
    d = RunDiagnosis.from_flags([warn, fail], labels={"seed": 1}, thresholds={"a": 1}, margin_ps=1.0,
                                run_start_ps=0.0, run_end_ps=10.0)
    assert d.status == "failed" and d.first_flag_time_ps == 5.0 and d.trusted_until_ps == 4.0
    d = RunDiagnosis.from_flags([warn], labels={}, thresholds={}, margin_ps=1.0, run_start_ps=0.0, run_end_ps=10.0)
    assert d.status == "warning" and d.first_flag_time_ps is None and d.trusted_until_ps == 10.0
    d = RunDiagnosis.from_flags([Flag("x", 0.3, 1, 1, "m")], labels={}, thresholds={}, margin_ps=1.0,
                                run_start_ps=0.0, run_end_ps=10.0)
    assert d.trusted_until_ps == 0.0  # clipped at the run start: nothing trusted


def test_json_shape_round_trip():
    pos, species, cell = crystal_positions(100)
    pos[70:, 0] = pos[70:, 1] + [0.4, 0, 0]  # P onto O
    d = diagnose(crystal_dataset(100, positions=pos, labels={"seed": 1}))
    out = json.loads(d.to_json())
    assert {"labels", "status", "first_flag_time_ps", "trusted_until_ps", "flags", "thresholds"} <= set(out)
    assert out["labels"] == {"seed": 1} and out["status"] == "failed"
    assert out["first_flag_time_ps"] == pytest.approx(1.4)
    assert out["trusted_until_ps"] == pytest.approx(0.4)
    f0 = out["flags"][0]
    assert {"check", "time_ps", "value", "threshold", "message", "severity", "count"} <= set(f0)
    th = out["thresholds"]
    assert th["min_distance_fraction"] == DEFAULT_THRESHOLDS["min_distance_fraction"]
    assert "subsample" in th and "checks_skipped" in th
    again = RunDiagnosis.from_dict(out)
    assert again.status == d.status and len(again.flags) == len(d.flags)


def test_thresholds_are_keywords_echoed_and_validated():
    ds = crystal_dataset(40)
    d = diagnose(ds, min_distance_fraction=0.6, skip=("rdf_drift",), margin_ps=0.5)
    assert d.thresholds["min_distance_fraction"] == 0.6
    assert d.thresholds["skip"] == ["rdf_drift"] and d.thresholds["margin_ps"] == 0.5
    assert "rdf" not in d.thresholds["subsample"]
    with pytest.raises(TypeError, match="unknown threshold"):
        diagnose(ds, min_distanse_fraction=0.6)
    with pytest.raises(ValueError, match="unknown checks"):
        diagnose(ds, skip=("nope",))


def test_lazily_loaded_netcdf(tmp_path):
    pos, species, cell = crystal_positions(120)
    pos[90:, 2] = pos[90:, 3] + [0.3, 0.0, 0.0]
    crystal_dataset(120, positions=pos).to_netcdf(tmp_path / "run.nc")
    with xr.open_dataset(tmp_path / "run.nc") as lazy:
        assert lazy["positions"].variable._in_memory is False
        d = diagnose(lazy, stride=7)
    assert d.status == "failed" and d.first_flag_time_ps == pytest.approx(90 * 0.02)


def test_no_temperature_skips_thermal_limits_but_still_runs():
    d = diagnose(crystal_dataset(60, temperature_K=None))
    assert d.status == "ok"
    assert "jump (thermal limit)" in d.thresholds["checks_skipped"]
    assert d.thresholds["temperature_K"] is None


def test_onset_before_alarm_ends_the_trusted_segment_and_round_trips():
    alarm = Flag("energy_drift", 8.0, -6.0, -5.5, "drift", subject="PotEng", onset_ps=6.5)
    late = Flag("temperature", 9.0, 2000.0, 1300.0, "hot")
    d = RunDiagnosis.from_flags([late, alarm], labels={}, thresholds={}, margin_ps=1.0, run_start_ps=0.0,
                                run_end_ps=20.0)
    assert d.first_flag_time_ps == 6.5  # where it went wrong: the onset, not the alarm at 8.0
    assert d.trusted_until_ps == 5.5  # min(first flag, onset) - margin
    out = json.loads(d.to_json())
    assert out["flags"][0]["onset_ps"] == 6.5 and out["flags"][1]["onset_ps"] is None
    again = RunDiagnosis.from_dict(out)
    assert again.flags[0].onset_ps == 6.5 and again.flags[0].start_ps == 6.5
    # a warning-level onset does not end the trusted segment; add_flags recomputes the status
    d = RunDiagnosis.from_flags([], labels={}, thresholds={"margin_ps": 1.0}, margin_ps=1.0, run_start_ps=0.0,
                                run_end_ps=20.0)
    d.add_flags([Flag("seed_inconsistent", float("nan"), 4.0, 3.0, "m", severity="warning", subject="tracer")])
    assert d.status == "warning" and d.trusted_until_ps == 20.0 and d.first_flag_time_ps is None
    assert json.loads(d.to_json())["flags"][0]["time_ps"] is None


def test_screen_runs_reuses_given_diagnoses_and_truncates(monkeypatch):
    """``analyse``/``screen_runs`` take verdicts made before (``ugk report``) instead of diagnosing again."""
    import uncertainty_gk.diagnostics as diag
    from uncertainty_gk.pipeline import screen_runs

    runs = {"a": crystal_dataset(100), "b": crystal_dataset(100)}
    made = {"a": RunDiagnosis.from_flags([Flag("temperature", 1.5, 2000.0, 1300.0, "hot", onset_ps=1.3)],
                                         labels={}, thresholds={}, margin_ps=0.2, run_start_ps=0.0,
                                         run_end_ps=1.98)}
    calls = []
    real = diag.diagnose
    monkeypatch.setattr(diag, "diagnose", lambda ds, **kw: calls.append(1) or real(ds, **kw))
    from uncertainty_gk.analysis import cut_to_trusted

    rec = screen_runs(runs, diagnoses=made, show_progress=False)
    assert len(calls) == 1  # only "b" was diagnosed here
    assert rec["a"]["action"] == "truncated" and rec["a"]["first_flag_time_ps"] == 1.3
    kept = {n: cut_to_trusted(ds, rec[n]) for n, ds in runs.items()}
    assert float(kept["a"]["time"].values[-1]) <= 1.1 + 1e-9 and kept["b"].sizes["time"] == 100
    assert rec["b"]["action"] == "kept"
