"""Tests of uncertainty_gk.estimators.baselines (naive statsmodels fits)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.estimators import build_group_data
from uncertainty_gk.settings import AnalysisSettings
from uncertainty_gk.estimators.baselines import fit_line, ols_wls_gls

pytest.importorskip("statsmodels")


@pytest.fixture(scope="module")
def group():
    system = synthetic.generate(n_mobile=48, n_frames=3000, n_seeds=3, rng=4)
    data = build_group_data({f"s{i}": ds for i, ds in enumerate(system.runs)}, AnalysisSettings(seed=0))
    return system, data, data.lags


def test_keys_finite_and_json(group):
    system, seeds, lags = group
    out = ols_wls_gls(seeds, ci_prob=0.9)
    json.dumps(out)
    assert out["ci_prob"] == 0.9
    for m in ("ols", "wls", "gls"):
        for q in ("sigma", "sigma_tr"):
            d = out[m][q]
            assert d["units"] == "S/cm"
            assert np.isfinite([d["value"], d["naive_se"], d["lower"], d["upper"]]).all()
            assert d["lower"] < d["value"] < d["upper"]
            assert len(d["per_seed"]) == 3
            assert d["value"] == pytest.approx(np.mean(d["per_seed"]))
            # right physics and units: within 30 % of the truth
            assert d["value"] == pytest.approx(system.truth[q], rel=0.3)


def test_naive_ols_se_too_small(group):
    """The point of the baselines: OLS error bars are far below the seed-to-seed scatter."""
    _, seeds, lags = group
    d = ols_wls_gls(seeds, ci_prob=0.95)["ols"]["sigma"]
    assert d["naive_se"] < 0.5 * d["seed_scatter_se"]


def test_fit_line_exact_on_a_line():
    lags = np.arange(5, 50, 5)
    t = lags * 0.1
    y = 2.0 * t + 1.0 + 1e-9 * np.sin(lags)
    for m in ("ols", "wls", "gls"):
        f = fit_line(m, t, y, lags=lags, n_frames=1000)
        assert f["slope"] == pytest.approx(2.0, rel=1e-6)
    with pytest.raises(ValueError, match="unknown baseline"):
        fit_line("lasso", t, y, lags=lags, n_frames=1000)
