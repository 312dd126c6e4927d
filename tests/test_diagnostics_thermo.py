"""Log-based failure checks: events, incomplete runs, NaN, temperature, energy drift, NVE."""

from __future__ import annotations

import numpy as np
import pytest
from test_diagnostics_helpers import canonical_thermo, crystal_dataset, log_dataset

from uncertainty_gk.diagnostics import diagnose
from uncertainty_gk.diagnostics.thermo import (
    canonical_temperature_sigma, check_energy_drift, check_nve_drift, check_temperature, energy_change_statistic,
    kinetic_temperature,
)

N_ATOMS = 64


def run_with_log(columns=None, *, times=None, n_frames=100, **log_kw):
    """A 2 ps crystal run (frames every 0.02 ps) with a thermo row every 0.01 ps."""
    times = np.arange(201) * 0.01 if times is None else times
    cols = canonical_thermo(times, n_atoms=N_ATOMS) if columns is None else columns
    return crystal_dataset(n_frames, log=log_dataset(times, cols, **log_kw))


def test_clean_run_with_log_is_ok():
    d = diagnose(run_with_log())
    assert d.status == "ok", d.summary()
    assert d.thresholds["temperature_K"] == 300.0
    assert d.thresholds["production_block"] == 0


def test_temperature_spike_in_thermo():
    t = np.arange(201) * 0.01
    cols = canonical_thermo(t, n_atoms=N_ATOMS)
    sigma = canonical_temperature_sigma(300.0, N_ATOMS)
    cols["Temp"][123] = 300.0 + 9 * sigma
    d = diagnose(run_with_log(cols, times=t))
    f = d.flags_of("temperature")
    assert len(f) == 1 and f[0].time_ps == pytest.approx(1.23) and f[0].count == 1
    assert f[0].threshold == pytest.approx(300.0 + 6 * sigma)
    assert f[0].onset_ps == pytest.approx(1.22)  # the last row before the excursion
    assert d.status == "failed" and d.first_flag_time_ps == pytest.approx(1.22)
    assert d.trusted_until_ps == pytest.approx(0.22)


def test_temperature_onset_walks_back_over_the_rising_rows():
    """A ramp seen at sparse rows: the alarm is the first row beyond 6 σ_T, the onset the
    last row before the rows beyond 3 σ_T that lead to it (the rise began after it)."""
    t = np.arange(0.0, 30.0, 1.0)
    sigma = canonical_temperature_sigma(1000.0, 297)
    temp = np.full(len(t), 1000.0) + 0.5 * sigma * np.random.default_rng(3).standard_normal(len(t))
    temp[12] = 1000.0 + 4.0 * sigma     # on the ramp: beyond 3 σ_T, below the 6 σ_T limit
    temp[13:] = 1000.0 + 8.0 * sigma
    f = check_temperature(t, temp, target_K=1000.0, n_atoms=297, sigma_multiple=6, ceiling_K=1e4)
    assert f[0].time_ps == 13.0 and f[0].onset_ps == 11.0 and "estimated onset 11 ps" in f[0].message
    # a cold excursion walks back over cold rows only; a hot row before it is not part of it
    temp2 = np.full(len(t), 1000.0)
    temp2[10], temp2[11], temp2[12:] = 1000.0 + 4 * sigma, 1000.0 - 4 * sigma, 1000.0 - 8 * sigma
    g = check_temperature(t, temp2, target_K=1000.0, n_atoms=297, sigma_multiple=6, ceiling_K=1e4)
    assert g[0].time_ps == 12.0 and g[0].onset_ps == 10.0
    # an excursion from the first row on has its onset at the run start
    h = check_temperature(t, np.full(len(t), 1000.0 + 7 * sigma), target_K=1000.0, n_atoms=297,
                          sigma_multiple=6, ceiling_K=1e4)
    assert h[0].time_ps == 0.0 and h[0].onset_ps == 0.0
    with pytest.raises(ValueError, match="temperature_onset_sigma"):
        diagnose(run_with_log(), temperature_onset_sigma=-1.0)


def test_temperature_ceiling_and_sigma_multiple_is_a_keyword():
    t = np.linspace(0, 1, 50)
    temp = np.full(50, 1000.0)
    temp[30:] = 2e4
    f = check_temperature(t, temp, target_K=1000.0, n_atoms=100, sigma_multiple=6, ceiling_K=1e4)
    assert {x.subject for x in f} == {"excursion", "ceiling"}
    assert all(x.time_ps == pytest.approx(t[30]) for x in f)
    d = diagnose(run_with_log(), temperature_sigma=1.0)  # absurdly strict: canonical noise now fails
    assert d.status == "failed" and d.thresholds["temperature_sigma"] == 1.0


SIGMA_U_300 = 8.617e-5 * 300 * np.sqrt(1.5 * 300)  # canonical σ_U of 300 atoms at 300 K (0.55 eV)


def _energy(t, rng, *, onset=None, rate=0.0, ar=0.0):
    """Canonical PotEng noise of 300 atoms at 300 K (AR(1) with lag-1 correlation ``ar``), ramp from ``onset``."""
    w = rng.standard_normal(len(t))
    x = np.empty(len(t))
    x[0] = w[0]
    for i in range(1, len(t)):
        x[i] = ar * x[i - 1] + np.sqrt(1 - ar * ar) * w[i]
    e = -1000 + SIGMA_U_300 * x
    if onset is not None:
        e += rate * np.maximum(t - onset, 0.0)
    return e


def _check(t, e, **kw):
    return check_energy_drift(t, e, column="PotEng", n_atoms=300, temperature_K=300.0, reference_ps=2.0,
                              drift_sigma=kw.pop("drift_sigma", 5.5), drift_eV_per_atom=0.005, **kw)


def test_energy_drift_alarm_is_causal_and_onset_is_estimated():
    t = np.arange(0, 20.0, 0.1)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        onset = float(rng.uniform(6.0, 12.0))
        e = _energy(t, rng, onset=onset, rate=-3.0)  # -3 eV/ps = 5.5 σ_U per ps
        f = _check(t, e)
        assert len(f) == 1
        assert f[0].time_ps >= onset  # the alarm: causal, never before the change
        assert f[0].time_ps <= onset + 2.0
        assert abs(f[0].onset_ps - onset) < 0.5 and f[0].onset_ps < f[0].time_ps
        assert "95 %" in f[0].message
        assert f[0].value < 0 and f[0].threshold == -5.5 and "change point" in f[0].message
        # the alarm only uses rows up to it: cutting the series after the alarm changes nothing
        k = int(np.searchsorted(t, f[0].time_ps))
        g = _check(t[:k + 1], e[:k + 1])
        assert g[0].time_ps == f[0].time_ps


def test_energy_onset_is_located_within_a_fraction_of_a_ps():
    """Off-line hinge onset of a slow drift (-1.5 eV/ps = 2.7 σ_U per ps, rows every 0.2 ps):
    the alarm comes ~1.5-2 ps late, the onset estimate is within 0.6 ps in 60 of 60 series
    and its 95 % interval covers the true onset in most of them."""
    from uncertainty_gk.diagnostics.thermo import refine_hinge_onset
    t = np.arange(0, 40.0, 0.2)
    errors, covered, late = [], 0, []
    for seed in range(60):
        rng = np.random.default_rng(1000 + seed)
        onset = float(rng.uniform(5.0, 30.0))
        e = _energy(t, rng, onset=onset, rate=-1.5)
        f = _check(t, e)
        assert len(f) == 1 and f[0].time_ps >= onset
        errors.append(f[0].onset_ps - onset)
        late.append(f[0].time_ps - onset)
        lo, hi = (float(x) for x in f[0].message.split("95 % ")[1].split(" ps")[0].split("-"))
        covered += lo <= onset <= hi
    assert np.max(np.abs(errors)) < 0.6 and abs(np.median(errors)) < 0.1
    assert np.median(late) > 1.0  # the alarm alone would be far off
    assert covered >= 50
    # the least-squares hinge itself on noise-free data is exact, between rows too
    tt = np.arange(0, 10.0, 0.5)
    on, lo, hi = refine_hinge_onset(tt, -2.0 * np.maximum(tt - 4.3, 0), lo=2, hi=len(tt) - 3, last=len(tt) - 1,
                                    sigma=0.01, subdivide=10)
    assert on == pytest.approx(4.3) and lo <= 4.3 <= hi


def test_energy_no_alarm_on_stationary_autocorrelated_noise():
    """Many rows of stationary noise with a realistic lag-1 correlation (0.3) never alarm."""
    t = np.arange(0, 400.0, 0.1)  # 4000 rows
    for seed in range(3):
        e = _energy(t, np.random.default_rng(100 + seed), ar=0.3)
        stats = {}
        assert _check(t, e, stats=stats) == []
        assert stats["energy_tau_int"] > 1.2  # the correlation was measured in the reference window
        assert stats["energy_PotEng_max_ratio"] < 1.0


def test_energy_change_statistic_is_standard_normal_on_white_noise():
    t = np.arange(0, 50.0, 0.2)
    z = [energy_change_statistic(t, _energy(t, np.random.default_rng(s)), scale=SIGMA_U_300, min_rows=10)[0]
         for s in range(20)]
    z = np.concatenate([x[20:] for x in z])
    assert 0.7 < np.std(z) < 1.6  # max over the candidate onsets: slightly above 1
    assert np.max(np.abs(z)) < 5.5


def test_energy_drift_through_diagnose_judges_production_block_only():
    t0 = np.arange(0, 1.0, 0.1)  # an NPT block whose energy is far away: must be ignored
    t1 = np.arange(0, 4.01, 0.01)
    c0 = canonical_thermo(t0, n_atoms=N_ATOMS, e0=-400.0)
    c1 = canonical_thermo(t1, n_atoms=N_ATOMS)
    c1["PotEng"][t1 >= 1.2] -= 5.0  # a 5 eV step (0.08 eV/atom) at 1.2 ps
    c1["TotEng"][t1 >= 1.2] -= 5.0
    cols = {k: np.concatenate([c0[k], c1[k]]) for k in c1}
    blocks = np.r_[np.zeros(len(t0)), np.ones(len(t1))]
    d = diagnose(run_with_log(cols, times=np.r_[t0, t1], blocks=blocks), margin_ps=0.1)
    f = d.flags_of("energy_drift")
    assert [x.subject for x in f] == ["PotEng"]  # PotEng is judged; TotEng only without it
    assert 1.2 <= f[0].time_ps <= 1.25  # the alarm: a 5 eV step is ~20 σ_U at N = 64
    assert 1.1 <= f[0].onset_ps < 1.2
    assert d.trusted_until_ps == pytest.approx(f[0].onset_ps - 0.1)  # the onset ends the trusted segment
    assert d.thresholds["production_block"] == 1
    assert d.to_dict()["flags"][0]["onset_ps"] == pytest.approx(f[0].onset_ps)


def test_lost_atoms_error_and_incomplete_run():
    t = np.arange(66) * 0.001
    cols = canonical_thermo(t, n_atoms=N_ATOMS)
    d = diagnose(run_with_log(cols, times=t, n_frames=4,
                              events=[("WARNING", "WARNING: Energy due to 3 extra global DOFs", -1),
                                      ("ERROR", "ERROR: Lost atoms: original 64 current 62", 65)],
                              requested_steps=[2000], steps_done=[65], ended_with_error=True))
    checks = {f.check: f for f in d.flags}
    assert checks["log_error"].time_ps == pytest.approx(0.065) and "Lost atoms" in checks["log_error"].message
    assert checks["incomplete_run"].value == 65 and checks["incomplete_run"].threshold == 2000
    assert "log_warning" not in checks  # set-up warning before the first thermo row is ignored
    assert d.thresholds["log_setup_warnings_ignored"]
    assert d.status == "failed"


def test_warning_events_severity():
    t = np.arange(201) * 0.01
    d = diagnose(run_with_log(times=t, events=[("WARNING", "WARNING: Out of range atoms - cannot compute PPPM", 1500),
                                               ("WARNING", "WARNING: Something harmless happened", 500)]))
    by = {f.severity: f for f in d.flags_of("log_warning")}
    assert by["failed"].time_ps == pytest.approx(1.5)
    assert by["warning"].time_ps == pytest.approx(0.5)
    assert d.status == "failed" and d.first_flag_time_ps == pytest.approx(1.5)


def test_nan_in_thermo():
    t = np.arange(201) * 0.01
    cols = canonical_thermo(t, n_atoms=N_ATOMS)
    cols["PotEng"][150:] = np.nan
    d = diagnose(run_with_log(cols, times=t))
    f = d.flags_of("thermo_nonfinite")
    assert len(f) == 1 and f[0].subject == "PotEng" and f[0].time_ps == pytest.approx(1.5)


def test_nve_total_energy_drift():
    t = np.arange(0, 10, 0.01)
    rng = np.random.default_rng(4)
    pot = -500 + 0.5 * rng.standard_normal(len(t))
    tot = -480 + 0.001 * rng.standard_normal(len(t)) + 0.05 * t  # 0.05 eV/ps for 100 atoms = 5e-4 eV/atom/ps
    f, ens = check_nve_drift(t, tot, pot, n_atoms=100, limit_eV_per_atom_ps=1e-4, tolerance_eV_per_atom=0.002,
                             ensemble="auto")
    assert ens == "nve" and len(f) == 1
    assert f[0].value == pytest.approx(5e-4, rel=0.01)
    # 0.2 eV (0.002 eV/atom) above the mean of the first 5 % of rows (0.0125 eV at 0.25 ps) at 4.25 ps
    assert f[0].time_ps == pytest.approx(4.25, abs=0.03)
    f, ens = check_nve_drift(t, pot + 20, pot, n_atoms=100, limit_eV_per_atom_ps=1e-4,
                             tolerance_eV_per_atom=0.002, ensemble="auto")
    assert ens == "not-nve" and f == []


def test_kinetic_temperature_from_velocities():
    rng = np.random.default_rng(0)
    ds0 = crystal_dataset(30)
    mass = ds0["mass"].values
    kb_amu = 8.617333262e-5 / 1.0364269656262175e-4  # k_B in amu Å²/ps² per K
    v = rng.standard_normal((30, ds0.sizes["atom"], 3)) * np.sqrt(kb_amu * 500.0 / mass)[None, :, None]
    v[20:] *= 3.0  # T x 9 from frame 20
    ds = crystal_dataset(30, velocities=v)
    t, temp = kinetic_temperature(ds)
    assert np.mean(temp[:20]) == pytest.approx(500.0, rel=0.05)
    d = diagnose(ds, temperature_K=500.0)
    f = d.flags_of("temperature")
    assert f and f[0].time_ps == pytest.approx(20 * 0.02) and "velocities" in f[0].message
