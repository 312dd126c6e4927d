"""σ, σ_tr, H_R on known-answer synthetic systems; units; group checks; no-diffusion bounds."""

import numpy as np
import pytest

from uncertainty_gk import synthetic, units
from uncertainty_gk.analysis import analyse_group
from uncertainty_gk.conductivity import physical_samples
from uncertainty_gk.estimators.data import prepare_seed
from uncertainty_gk.settings import AnalysisSettings
from uncertainty_gk.errors import AnalysisError, CampaignError
from uncertainty_gk.estimators.series import correlation_strengths


def test_unit_conversions_by_hand():
    # σ_tr = N q² D / (V k_B T): 100 Li+ in 1000 Å³ at 1000 K with D = 1 Å²/ps = 1e-4 cm²/s
    V, T, N, D = 1000.0, 1000.0, 100, 1.0
    hand = N * (1.602176634e-19) ** 2 * (D * 1e-8) / ((V * 1e-30) * 1.380649e-23 * T) / 100.0  # S/m -> S/cm
    phys = physical_samples({"slope_tr": np.array([6 * D]), "slope_P_per_volume": np.array([6 * D * N / V])},
                            volume_A3=V, temperature_K=T, n_mobile=N, charge=1.0)
    assert phys["sigma_tr"][0] == pytest.approx(hand, rel=1e-12)
    assert phys["sigma"][0] == pytest.approx(hand, rel=1e-12)      # uncorrelated: σ = σ_tr
    assert phys["haven_ratio"][0] == pytest.approx(1.0)
    assert phys["D_tr"][0] == pytest.approx(1e-4)
    assert hand == pytest.approx(18.59, rel=1e-3)                   # e²/k_B = 1.8591e-15 C² K / J
    assert units.A2_PER_PS_TO_CM2_PER_S == pytest.approx(1e-4)


@pytest.mark.parametrize("haven", [1.0, 0.5])
def test_truth_inside_intervals(haven):
    system = synthetic.generate(n_mobile=48, n_frames=3000, n_seeds=3, haven_ratio=haven, rattle_amplitude=0.3,
                                rattle_time_ps=0.2, rng=11)
    res = analyse_group(system.runs, AnalysisSettings(seed=5, n_steps=1000, per_seed_steps=200))
    for key in ("D_tr", "sigma_tr", "sigma", "haven_ratio"):
        e = res.quantities[key]
        # one replica: use a 99.9 % interval so the test fails only when something is wrong
        # (coverage itself is tested over many replicas in test_calibration_fast.py)
        lo, hi = e.interval(0.999)
        assert lo < system.truth[key] < hi, (key, e, system.truth[key])
        assert e.lower <= e.median <= e.upper
    assert res.n_seeds == 3 and len(res.seeds) == 3
    assert res.diagnostics["converged"]
    # H_R comes from joint samples: same length as σ and σ_tr samples
    assert len(res.quantities["haven_ratio"].samples) == len(res.quantities["sigma"].samples)


def test_same_rng_same_numbers():
    system = synthetic.generate(n_mobile=24, n_frames=1500, n_seeds=2, rng=2)
    a = analyse_group(system.runs, AnalysisSettings(seed=7, n_steps=400, per_seed=False))
    b = analyse_group(system.runs, AnalysisSettings(seed=7, n_steps=400, per_seed=False))
    c = analyse_group(system.runs, AnalysisSettings(seed=8, n_steps=400, per_seed=False))
    assert a.quantities["sigma"].median == b.quantities["sigma"].median
    assert a.quantities["sigma"].median != c.quantities["sigma"].median


def test_correlation_strengths_detect_pairing():
    rng = np.random.default_rng(0)
    W, N = 400, 40
    ind = rng.normal(size=(W, N, 3))
    k1, c1 = correlation_strengths(ind, ind.sum(axis=1))
    paired = np.repeat(rng.normal(size=(W, N // 2, 3)), 2, axis=1)
    k2, c2 = correlation_strengths(paired, paired.sum(axis=1))
    assert k1 * N == pytest.approx(1.0, abs=0.15)
    assert k2 * N == pytest.approx(2.0, abs=0.3)
    assert c1 * N == pytest.approx(1.0, abs=0.3)


def test_inconsistent_seed_is_flagged():
    good = synthetic.generate(n_mobile=48, n_frames=2000, n_seeds=3, rng=4)
    fast = synthetic.generate(n_mobile=48, n_frames=2000, n_seeds=1, D=0.15, rng=99)
    runs = {f"s{i}": ds for i, ds in enumerate(good.runs)}
    runs["fast"] = fast.runs[0]
    res = analyse_group(runs, AnalysisSettings(seed=1, n_steps=600, per_seed_steps=150))
    flagged = [s.name for s in res.seeds if s.flagged]
    assert flagged == ["fast"]
    assert res.heterogeneity["tracer"]["p_value"] < 1e-3
    assert any("fast" in n for n in res.notes)


def test_no_diffusion_gives_upper_bound():
    system = synthetic.generate(n_mobile=24, n_frames=1500, n_seeds=2, D=1e-5, rng=5)
    res = analyse_group(system.runs, AnalysisSettings(seed=0, n_steps=300))
    assert not res.diffusion_detected
    assert np.isnan(res.quantities["D_tr"].median)
    assert res.quantities["D_tr"].upper >= system.truth["D_tr"]
    assert "no long-range diffusion detected" in res.notes[0]


def test_group_with_different_volumes_is_refused():
    a = synthetic.generate(n_mobile=24, n_frames=300, n_seeds=1, box_length=14.0, rng=1).runs[0]
    b = synthetic.generate(n_mobile=24, n_frames=300, n_seeds=1, box_length=15.0, rng=2).runs[0]
    with pytest.raises(CampaignError, match="volumes differing"):
        analyse_group({"a": a, "b": b}, AnalysisSettings(seed=0))


def test_several_mobile_species_need_a_choice():
    ds = synthetic.generate(n_mobile=24, n_frames=100, n_seeds=1, rng=1).runs[0]
    ds = ds.assign_coords(mobile=("atom", np.ones(ds.sizes["atom"], dtype=bool)))
    with pytest.raises(AnalysisError, match="several mobile species"):
        prepare_seed(ds)


def test_user_window_is_used():
    system = synthetic.generate(n_mobile=24, n_frames=1500, n_seeds=2, rng=2)
    res = analyse_group(system.runs, AnalysisSettings(window_ps=(5.0, 30.0), seed=0, n_steps=300, per_seed=False))
    assert res.window_ps == [5.0, 30.0]
    # the lags actually fitted span the window, for every seed
    for lags in res.fitted_lags_ps.values():
        assert lags[0] == pytest.approx(5.0, abs=0.1) and lags[-1] == pytest.approx(30.0, abs=0.1)
        assert len(lags) == 24
    with pytest.raises(AnalysisError, match="longest seed lasts"):
        analyse_group(system.runs, AnalysisSettings(window_ps=(5.0, 900.0), per_seed=False, seed=0))


def test_user_window_beyond_a_quarter_is_fitted_whole_and_said():
    """Regression: ``--window 5 100`` on 150 ps seeds fitted only lags up to 37.5 ps (a hidden
    max_fraction cut) while reporting [5, 100].  Now every lag of the window is fitted and the
    result says that the late lags rest on few independent windows."""
    system = synthetic.generate(n_mobile=24, n_frames=1501, n_seeds=2, rng=3)      # 150 ps seeds
    res = analyse_group(system.runs, AnalysisSettings(window_ps=(5.0, 100.0), seed=0, n_steps=300, per_seed=False))
    assert res.fitted_window_ps == pytest.approx([5.0, 100.0], abs=0.1)
    assert all(len(v) == 24 for v in res.fitted_lags_ps.values())
    assert any("beyond 0.25" in n for n in res.notes)


def test_short_seed_fitted_at_fewer_lags_is_reported():
    """A seed too short for part of a user window is fitted at the lags it reaches, and the
    result and its notes say which (never a silent cut)."""
    runs = synthetic.generate(n_mobile=24, n_frames=[1501, 801], rng=4).runs
    res = analyse_group(runs, AnalysisSettings(window_ps=(5.0, 100.0), seed=0, n_steps=300, per_seed=False))
    lags = sorted(res.fitted_lags_ps.values(), key=len)
    assert lags[0][-1] <= 80.0 + 1e-9 and len(lags[0]) < 24 and len(lags[1]) == 24
    assert any("ends before the window does" in n for n in res.notes)
