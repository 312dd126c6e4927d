"""The analysis core: settings as a value, per-group random streams, one temperature,
convergence kept, results that round-trip and reproduce themselves."""

from __future__ import annotations

import json

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.analysis import analyse_group, analyse_runs, format_table
from uncertainty_gk.errors import AnalysisError
from uncertainty_gk.estimators import JointSamples, available, build_group_data, create, register
from uncertainty_gk.results import AnalysisResult, load_results, save_results
from uncertainty_gk.settings import AnalysisSettings, SettingsError

FAST = dict(n_steps=300, per_seed=False)


def _campaign():
    """Two temperatures of the same synthetic system (two groups)."""
    runs = {}
    for T, D, seed in ((800.0, 0.03, 1), (1000.0, 0.05, 2)):
        for i, ds in enumerate(synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, D=D, temperature_K=T,
                                                  rng=seed).runs):
            runs[f"T{T:g}_s{i}"] = ds
    return runs


def test_settings_round_trip_and_validation():
    s = AnalysisSettings(window_ps=(10, 25), seed=3, thresholds={"temperature_sigma": 8})
    assert AnalysisSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    with pytest.raises(SettingsError, match="window_ps"):
        AnalysisSettings(window_ps=(30, 10))
    with pytest.raises(SettingsError, match="unknown analysis settings"):
        AnalysisSettings.from_dict({"windw": [1, 2]})
    assert AnalysisSettings().resolved().seed is not None
    # the spectral estimator's options: Python values in, JSON-exact round trip, kept by replace
    s = AnalysisSettings(seed=3, spectral_options={"first_step": True, "first_step_prior": (0.8, 0.1),
                                                    "order_window": {"tr": 8, "P": 3}})
    assert AnalysisSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert s.replace(ci_prob=0.9).spectral_option_dict == {"first_step": True, "first_step_prior": [0.8, 0.1],
                                                           "order_window": {"P": 3, "tr": 8}}
    with pytest.raises(SettingsError, match="not a plain value"):
        AnalysisSettings(spectral_options={"first_step": object()})
    with pytest.raises(SettingsError, match="give a mapping"):
        AnalysisSettings(spectral_options=(("first_step", "True"),))


def test_spectral_options_reach_the_estimator_and_are_checked_first():
    """``spectral_options`` go to fit_spectral: ``first_step`` changes the tracer's draws and
    leaves σ's; an invalid option is a SettingsError when the estimator is built, before
    any data are read."""
    from uncertainty_gk.estimators import create

    runs = synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, rng=4).runs
    base = analyse_group(runs, AnalysisSettings(seed=5, per_seed=False, spectral_options={"first_step": False}))
    step = analyse_group(runs, AnalysisSettings(seed=5, per_seed=False,
                                                spectral_options={"first_step": True, "first_step_prior": [0.5, 0.1]}))
    d0, d1 = base.draws["spectral"], step.draws["spectral"]
    np.testing.assert_array_equal(d0["sigma"], d1["sigma"])
    assert not np.array_equal(d0["D_tr"], d1["D_tr"]) and np.all(d1["D_tr"] <= d0["D_tr"] * (1 + 1e-12))
    with pytest.raises(SettingsError, match="first_step must be True or False"):
        create("spectral", AnalysisSettings(spectral_options={"first_step": 1}))
    with pytest.raises(SettingsError, match="unknown model options"):
        create("spectral", AnalysisSettings(spectral_options={"frist_step": True}))


def test_group_result_does_not_depend_on_other_groups():
    """Regression: one random stream shared by all groups made σ(1000 K) depend on whether an
    800 K group was analysed too.  Each group now draws from its own stream."""
    runs = _campaign()
    st = AnalysisSettings(seed=7, **FAST)
    both = analyse_runs(runs, st)
    alone = analyse_runs({k: v for k, v in runs.items() if k.startswith("T1000")}, st)
    g_both = [g for g in both.groups if g.temperature_K == 1000.0][0]
    g_alone = alone.groups[0]
    for q in ("sigma", "sigma_tr", "haven_ratio"):
        np.testing.assert_array_equal(g_both.draws[g_both.method][q], g_alone.draws[g_alone.method][q])
    reordered = analyse_runs(dict(reversed(list(runs.items()))), st)
    assert [g.quantities["sigma"].median for g in reordered.groups] == [g.quantities["sigma"].median
                                                                         for g in both.groups]


def test_disagreeing_temperatures_raise_naming_both():
    ds = synthetic.generate(n_mobile=24, n_frames=400, n_seeds=1, temperature_K=1050.0, rng=1).runs[0]
    labels = json.loads(ds.attrs["labels"])
    labels["temperature_K"] = 1000
    ds.attrs["labels"] = json.dumps(labels)
    with pytest.raises(AnalysisError, match=r"1050 K.*1000 K"):
        build_group_data({"a": ds}, AnalysisSettings(seed=0))


def test_log_temperature_disagreeing_with_the_manifest_raises():
    ds = synthetic.generate(n_mobile=24, n_frames=400, n_seeds=1, temperature_K=1000.0, rng=1).runs[0]
    ds = ds.assign_coords(thermo_time=("thermo", np.arange(5.0)), thermo_block=("thermo", np.zeros(5, int)))
    ds["thermo_Temp"] = ("thermo", np.full(5, 600.0))
    with pytest.raises(AnalysisError, match=r"600\.0 K"):
        build_group_data({"a": ds}, AnalysisSettings(seed=0))


def test_non_converged_per_seed_fit_is_reported():
    system = synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, rng=5)
    res = analyse_group(system.runs, AnalysisSettings(method="bayes", seed=0, n_steps=300, per_seed_steps=12, per_seed_burn=2))
    assert all(s.convergence.get("converged") is False for s in res.seeds)
    assert sum("its own fit did not converge" in n for n in res.notes) == 2


def test_result_round_trips_and_reproduces_from_its_own_settings(tmp_path):
    runs = _campaign()
    res = analyse_runs(runs, AnalysisSettings(seed=11, **FAST))
    path = save_results(res, tmp_path / "r.nc")
    back = load_results(path)
    again = analyse_runs(runs, back.settings)
    for g0, g1, g2 in zip(res.groups, back.groups, again.groups):
        for q in ("sigma", "sigma_tr", "haven_ratio", "D_tr"):
            assert g1.quantities[q].median == g0.quantities[q].median
            np.testing.assert_array_equal(g1.draws[g0.method][q], g0.draws[g0.method][q])
            np.testing.assert_array_equal(g2.draws[g0.method][q], g0.draws[g0.method][q])
        assert g1.fitted_lags_ps == g0.fitted_lags_ps
        assert g1.charges == g0.charges and g1.temperature_K == g0.temperature_K
    with pytest.raises(Exception, match="exists"):
        save_results(res, path)


def test_every_estimate_has_a_monte_carlo_error():
    res = analyse_group(synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, rng=6).runs,
                        AnalysisSettings(seed=0, **FAST))
    for e in res.quantities.values():
        assert set(e.mcse) == {"median", "lower", "upper"}
        assert all(np.isfinite(v) and v > 0 for v in e.mcse.values())
        # MCSE of a median from ~10^4 correlated draws is a small fraction of the interval width
        assert e.mcse["median"] < 0.1 * (e.upper - e.lower)


def test_estimators_are_a_family_that_does_not_mutate_its_input():
    system = synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, rng=8)
    st = AnalysisSettings(seed=0, n_steps=200, n_boot=100)
    data = build_group_data(system.runs, st)
    before = [(s.noise_intercepts, s.inflation, s.theta_hat.copy()) for s in data.summaries]
    for name in available():
        js = create(name, st).fit(data, data.rng(name))
        assert isinstance(js, JointSamples) and js.draws["slope_tr"].ndim == 2
    after = [(s.noise_intercepts, s.inflation, s.theta_hat) for s in data.summaries]
    for (a, b, c), (x, y, z) in zip(before, after):
        assert a == x and b == y and np.array_equal(c, z)


def test_a_new_estimator_is_one_registration():
    class Fixed:
        name, kind = "fixed_test", "interval"

        def __init__(self, settings):
            self.n = settings.n_boot

        def fit(self, data, rng):
            return JointSamples(self.name, {"slope_tr": 0.3 + 0.01 * rng.standard_normal(self.n),
                                            "slope_P_per_volume": 0.01 + 1e-4 * rng.standard_normal(self.n)},
                                independent=True)

    from uncertainty_gk.estimators.base import _KINDS, _REGISTRY

    register("fixed_test", Fixed, replace=True)
    try:
        res = analyse_group(synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, rng=9).runs,
                            AnalysisSettings(seed=0, method="fixed_test", per_seed=False, n_boot=200))
    finally:                 # leave the registry as we found it
        _REGISTRY.pop("fixed_test", None)
        _KINDS.pop("fixed_test", None)
    assert res.method == "fixed_test"
    assert res.quantities["D_tr"].median == pytest.approx(0.3 / 6 * 1e-4, rel=0.01)


def test_every_method_gives_inference_data_with_chains():
    import arviz as az

    res = analyse_group(synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, rng=10).runs,
                        AnalysisSettings(seed=0, method="all", n_steps=200, n_boot=100, per_seed=False))
    assert res.method == AnalysisSettings().method == "spectral"        # "all": the default is the headline
    assert sorted(res.by_method) == ["bayes", "block", "bootstrap", "spectral"]
    for m in ("spectral", "bayes", "bootstrap", "block"):
        idata = res.to_inference_data(m)
        post = idata.posterior
        assert {"chain", "draw"} <= set(post.sizes) and "sigma" in post and "haven_ratio" in post
        assert float(az.ess(idata, var_names=["sigma_tr"])["sigma_tr"]) > 10
    assert res.to_inference_data("bayes").posterior.sizes["chain"] == AnalysisSettings().n_walkers


def test_spectral_estimator_through_the_core():
    """The spectral estimator is a registry member: known answer, efficiency and regime reported."""
    system = synthetic.generate(n_mobile=48, n_frames=3000, n_seeds=3, haven_ratio=0.5, rattle_amplitude=0.3,
                                rattle_time_ps=0.2, rng=21)
    res = analyse_group(system.runs, AnalysisSettings(seed=0, method="spectral", per_seed=False))
    assert res.method == "spectral"
    for q in ("D_tr", "sigma_tr", "sigma", "haven_ratio"):
        lo, hi = res.quantities[q].interval(0.999)
        assert lo < system.truth[q] < hi, (q, res.quantities[q], system.truth[q])
        assert res.quantities[q].regime in ("diffusive", "provisional")
    ratio = res.diagnostics["efficiency"]["spectral"]["width_over_crb"]
    assert all(r >= 0.9 for r in ratio.values() if np.isfinite(r))
    # principal values in physical units: the three average to σ and D* (isotropic formula per axis)
    pv = res.diagnostics["principal_values"]["spectral"]
    assert len(pv["sigma"]) == 3 and len(pv["D_tr"]) == 3
    assert np.mean([m for m, _, _ in pv["sigma"]]) == pytest.approx(res.quantities["sigma"].median, rel=0.1)
    assert np.mean([m for m, _, _ in pv["D_tr"]]) == pytest.approx(res.quantities["D_tr"].median, rel=0.05)
    assert "principal axes: σ" in format_table(AnalysisResult(groups=[res]))
    # the numbers behind the regime, in the result and in its summary (session 32)
    rc = res.diagnostics["regime_checks"]["spectral"]
    assert set(rc) == {"D_tr", "sigma"} and {"lowest", "first", "half_band"} <= set(rc["sigma"])
    assert 0.7 < rc["D_tr"]["first"]["ratio"] < 1.3 and abs(rc["D_tr"]["lowest"]["z"]) < 4
    assert f"lowest alone {rc['D_tr']['first']['ratio']:.2f}" in format_table(AnalysisResult(groups=[res]))


def test_spectral_uses_a_seed_too_short_for_the_msd_window():
    """A seed shorter than the fit window is left out of the MSD fits (with a note), but the
    spectral estimator needs no window: it fits every seed, reports it per seed, and its σ
    differs from the fit of the long seeds alone."""
    system = synthetic.generate(n_mobile=24, n_frames=[3000, 3000, 150], D=0.05, rng=31)
    runs = {ds.attrs["run_name"]: ds for ds in system.runs}
    short = system.runs[2].attrs["run_name"]
    st = dict(seed=4, window_ps=(20.0, 60.0), n_steps=300)
    bayes = analyse_group(runs, AnalysisSettings(method="bayes", per_seed=False, **st))
    assert bayes.n_seeds == 2
    assert any(f"seed {short} left out of the MSD fits" in n for n in bayes.notes)
    spec = analyse_group(runs, AnalysisSettings(method="spectral", per_seed=True, **st))
    assert spec.n_seeds == 3
    assert [s.name for s in spec.seeds] == list(runs)
    assert np.isfinite(spec.seeds[2].quantities["D_tr"].median)
    assert spec.diagnostics["seed_consistency"]["spectral"]["tracer"]["dof"] == 2
    long_only = analyse_group({k: v for k, v in runs.items() if k != short},
                              AnalysisSettings(method="spectral", per_seed=False, **st))
    assert spec.quantities["sigma"].median != long_only.quantities["sigma"].median
    for q in ("D_tr", "sigma"):
        lo, hi = spec.quantities[q].interval(0.999)
        assert lo < system.truth[q] < hi


def test_spectral_seed_consistency_flags_a_seed_from_another_system():
    """The per-seed z-scores of the spectral headline come from its own per-seed ln slopes:
    a fourth seed whose ions diffuse twice as fast is flagged, its siblings are not."""
    runs = {ds.attrs["run_name"]: ds for ds in synthetic.generate(n_mobile=24, n_frames=2000, n_seeds=3, D=0.05,
                                                                  rng=41).runs}
    odd = synthetic.generate(n_mobile=24, n_frames=2000, n_seeds=1, D=0.1, rng=42).runs[0].copy()
    labels = json.loads(odd.attrs["labels"])
    labels["seed"] = 3
    odd.attrs.update(labels=json.dumps(labels), run_name="odd")
    runs["odd"] = odd
    res = analyse_group(runs, AnalysisSettings(seed=5, method="spectral", per_seed=True))
    flags = {s.name: s.flagged for s in res.seeds}
    assert flags == {**{k: False for k in runs if k != "odd"}, "odd": True}
    z = {s.name: s.z_scores["tracer"] for s in res.seeds}
    assert z["odd"] > 4 and all(abs(v) < 3 for k, v in z.items() if k != "odd")
    assert res.diagnostics["seed_consistency"]["spectral"]["tracer"]["p_value"] < 1e-4
    assert any("seed odd is inconsistent" in n for n in res.notes)
