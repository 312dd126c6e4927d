"""Arrhenius fits: interval coverage on known-answer data, curvature refusal, end to end."""

import json
import warnings

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.pipeline import analyse
from uncertainty_gk.settings import AnalysisSettings
from uncertainty_gk.arrhenius import (ArrheniusPoint, arrhenius_fit, arrhenius_from_result, format_arrhenius,
                                      points_from_result)
from uncertainty_gk.campaign import Campaign
from uncertainty_gk.errors import AnalysisError, AnalysisWarning
from uncertainty_gk.units import BOLTZMANN_EV_PER_K as KB
from zscores import assert_mean_z2_in_band, band_power, chi2_band, z_from_interval

TEMPS = np.array([500.0, 600.0, 700.0, 800.0, 1000.0])
EA, LNA = 0.35, np.log(3e3)


def sigma_true(T):
    return np.exp(LNA - EA / (KB * np.asarray(T))) / np.asarray(T)


def replica_points(rng, n_samples=1000):
    """Posteriors like real ones: lognormal, 5-20 % relative error, centred on a noisy observation."""
    s = rng.uniform(0.05, 0.20, TEMPS.size)
    obs = np.log(sigma_true(TEMPS)) + rng.normal(0.0, s)
    return TEMPS, [np.exp(o + rng.normal(0.0, si, n_samples)) for o, si in zip(obs, s)]


def z_scores(n_replicas, seed):
    """Standardised errors of E_a and ln σ(300 K): (median - truth) / s, with s the
    standard deviation the 95 % interval implies (on the log scale for σ).  The points'
    posteriors are exact (Gaussian in ln σ, centred on the observation), so for a
    correct fit z ~ N(0, 1).  Also whether each 95 % interval holds the truth."""
    rng = np.random.default_rng(seed)
    z_e, z_s, hits = [], [], []
    for _ in range(n_replicas):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)
            # force: the curvature gate (1 % false alarms on straight lines) is tested separately
            res = arrhenius_fit(replica_points(rng), rng=rng, force=True, n_draws=2000)
        e, s = res.E_a, res.sigma_target
        z_e.append(z_from_interval(e.median, EA, e.lower, e.upper, log=False))
        z_s.append(z_from_interval(s.median, sigma_true(300.0), s.lower, s.upper))
        hits.append((e.contains(EA), s.contains(sigma_true(300.0))))
    return (np.array(z_e), np.array(z_s)), np.array(hits)


def test_coverage_fast():
    """300 replicas, two-sided for E_a and σ(300 K) separately: mean(z²) within the 1 %
    and 99.5 % points of χ²_300/300, [0.820, 1.223], and the 95 % coverage within
    0.95 ± 3 binomial s.e. (0.912-0.988).  Intervals 15 % too narrow (half-widths × 0.85)
    fail the z² band with probability 0.93, 15 % too wide (× 1.15) with 0.85, 25 % too
    wide with > 0.99; a calibrated fit passes with probability 0.985."""
    n = 300
    assert chi2_band(n) == pytest.approx((0.820, 1.223), abs=5e-4)
    assert band_power(n, 0.85) == pytest.approx(0.93, abs=0.01) and band_power(n, 1.15) == pytest.approx(0.85, abs=0.01)
    assert band_power(n, 1.25) > 0.99
    se = np.sqrt(0.95 * 0.05 / n)
    zs, hits = z_scores(n, seed=11)
    for name, z, cov in zip(("E_a", "σ(300 K)"), zs, hits.mean(axis=0)):
        assert_mean_z2_in_band(z, name)
        assert 0.95 - 3 * se <= cov <= 0.95 + 3 * se, f"{name}: 95 % coverage {cov:.3f}"


@pytest.mark.slow
def test_coverage_slow():
    zs, hits = z_scores(3000, seed=2024)
    for name, z, cov in zip(("E_a", "σ(300 K)"), zs, hits.mean(axis=0)):
        assert 0.93 <= cov <= 0.97, (name, cov)
        assert 0.92 <= np.mean(z**2) <= 1.08, (name, np.mean(z**2))      # χ²_3000/3000: s.d. 0.026


def test_recovers_parameters_with_tiny_errors():
    rng = np.random.default_rng(0)
    samples = [sigma_true(T) * np.exp(rng.normal(0, 0.01, 3000)) for T in TEMPS]
    res = arrhenius_fit((TEMPS, samples), rng=1)
    assert res.E_a.median == pytest.approx(EA, abs=0.01)
    assert res.ln_A.median == pytest.approx(LNA, abs=0.2)
    assert res.sigma_target.contains(sigma_true(300.0))
    assert res.curvature["checked"] and not res.curvature["credible"]
    assert res.extrapolated and res.T_target == 300.0
    d = json.loads(json.dumps(res.to_dict()))
    assert d["E_a"]["units"] == "eV" and len(d["points"]) == 5
    assert "E_a" in format_arrhenius([res])


def test_interval_carries_slope_intercept_covariance():
    """σ(300 K) interval from draws matches the GLS prediction variance (incl. covariance)."""
    rng = np.random.default_rng(5)
    s = np.full(TEMPS.size, 0.1)
    samples = [sigma_true(T) * np.exp(rng.normal(0, 0.1, 20000)) for T in TEMPS]
    res = arrhenius_fit((TEMPS, samples), rng=2, n_draws=20000)
    x = 1 / (KB * TEMPS)
    X = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(X.T @ (X / s[:, None] ** 2))
    xt = np.array([1.0, 1 / (KB * 300.0)])
    sd_pred = np.sqrt(xt @ cov @ xt)
    sd_independent = np.sqrt(cov[0, 0] + xt[1] ** 2 * cov[1, 1])   # ignoring the covariance
    sd_draws = np.std(np.log(res.sigma_target.samples))
    assert sd_draws == pytest.approx(sd_pred, rel=0.05)
    assert sd_independent > 1.5 * sd_pred


def vtf_points(rng, rel=0.03):
    T = np.array([450.0, 550.0, 700.0, 850.0, 1000.0])
    sigma = 50.0 * np.exp(-800.0 / (T - 300.0)) / T     # Vogel-Tammann-Fulcher: strongly curved
    return T, [sg * np.exp(rng.normal(0, rel, 2000)) for sg in sigma]


def test_curvature_refuses_extrapolation():
    rng = np.random.default_rng(3)
    pts = vtf_points(rng)
    with pytest.raises(AnalysisError, match="curved.*force"):
        arrhenius_fit(pts, rng=0)
    with pytest.warns(AnalysisWarning, match="curved"):
        res = arrhenius_fit(pts, rng=0, force=True)
    assert res.curvature["credible"]
    assert any("force" in n for n in res.notes)
    # interpolation inside the fitted range warns but is allowed
    with pytest.warns(AnalysisWarning, match="curved"):
        inside = arrhenius_fit(pts, rng=0, T_target=600.0)
    assert not inside.extrapolated


def test_straight_line_rarely_flagged():
    rng = np.random.default_rng(8)
    flagged = 0
    for _ in range(100):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)
            flagged += arrhenius_fit(replica_points(rng), rng=rng, force=True, n_draws=1000).curvature["credible"]
    assert flagged <= 6


def test_needs_two_temperatures_and_notes_curvature_unchecked():
    rng = np.random.default_rng(1)
    with pytest.raises(AnalysisError, match="at least 2 temperatures"):
        arrhenius_fit(([800.0], [np.exp(rng.normal(0, 0.1, 100))]))
    res = arrhenius_fit(([600.0, 900.0], [sigma_true(T) * np.exp(rng.normal(0, 0.1, 500)) for T in (600, 900)]),
                        rng=0)
    assert not res.curvature["checked"]
    assert any("at least 3 temperatures" in n for n in res.notes)


def test_unresolved_sigma_is_refused():
    rng = np.random.default_rng(2)
    pts = [ArrheniusPoint(T, sigma_true(T) * np.exp(rng.normal(0, 0.1, 500))) for T in (600.0, 800.0)]
    pts.append(ArrheniusPoint(1000.0, rng.normal(0.0, 1e-3, 500)))
    with pytest.raises(AnalysisError, match="not resolved"):
        arrhenius_fit(pts)


def test_end_to_end_synthetic_md():
    ea = 0.3
    runs = {}
    for i, T in enumerate([600.0, 800.0, 1000.0]):
        D = 0.05 * np.exp(-ea / KB * (1 / T - 1 / 800.0))       # Å²/ps; σT ∝ D
        system = synthetic.generate(n_mobile=24, n_frames=800, n_seeds=2, D=D, temperature_K=T, rng=10 + i)
        runs.update({ds.attrs["run_name"]: ds for ds in system.runs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyse(Campaign(runs), AnalysisSettings(n_steps=400, per_seed_steps=150, seed=0), show_progress=False)
        pts = points_from_result(result, "sigma_tr")
        assert len(pts) == 1 and len(next(iter(pts.values()))) == 3
        (tr,) = arrhenius_from_result(result, quantity="sigma_tr", rng=0)
        (sg,) = arrhenius_from_result(result, quantity="sigma", rng=0)
    assert tr.labels == {"model": "synthetic", "structure": "synthetic"}
    assert tr.E_a.median == pytest.approx(ea, rel=0.3)
    lo, hi = tr.E_a.interval(0.999)
    assert lo <= ea <= hi
    lo, hi = sg.E_a.interval(0.999)
    assert lo <= ea <= hi


def test_points_from_result_leaves_out_unresolved_sigma():
    """A group whose σ is only an upper bound (not resolved from zero) is not an Arrhenius point."""
    from uncertainty_gk.analysis import _mark_unresolved
    from uncertainty_gk.results import AnalysisResult, Estimate, GroupResult

    rng = np.random.default_rng(3)
    groups = []
    for T in (600.0, 800.0, 1000.0):
        q = {}
        for name in ("sigma", "sigma_tr", "haven_ratio", "D_tr"):
            s = np.exp(rng.normal(np.log(T / 1000), 0.05, 2000))
            q[name] = Estimate.from_samples(s, ci_prob=0.95, units="S/cm", method="bayes")
        if T == 600.0:
            _mark_unresolved(q, z=1.2)
        groups.append(GroupResult(labels={"model": "m", "temperature_K": T}, n_seeds=3, window_ps=[1.0, 5.0],
                                  method="bayes", quantities=q))
    result = AnalysisResult(groups=groups)
    skipped = []
    pts = points_from_result(result, "sigma", skipped=skipped)
    (series,) = pts.values()
    assert [p.temperature_K for p in series] == [800.0, 1000.0]
    assert len(skipped) == 1 and "not resolved" in skipped[0][2]
    (series_tr,) = points_from_result(result, "sigma_tr").values()
    assert len(series_tr) == 3
