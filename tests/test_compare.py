"""compare(): two synthetic 'models' side by side, P(faster > slower); CLI handlers."""

import csv
import json
import warnings

import numpy as np
import pytest
from scipy import stats

from uncertainty_gk import synthetic
from uncertainty_gk.pipeline import analyse
from uncertainty_gk.settings import AnalysisSettings
from uncertainty_gk.archive import write_archive
from uncertainty_gk.campaign import Campaign
from uncertainty_gk.compare import compare, format_comparison, prob_greater
from uncertainty_gk.errors import AnalysisError


def _relabel(ds, **labels):
    ds = ds.copy()
    ds.attrs["labels"] = json.dumps(dict(json.loads(ds.attrs["labels"]), **labels), sort_keys=True)
    return ds


def two_models():
    runs = {}
    for model, D, seed in (("slow", 0.03, 1), ("fast", 0.09, 2)):
        system = synthetic.generate(n_mobile=24, n_frames=800, n_seeds=2, D=D, temperature_K=800.0, rng=seed)
        for i, ds in enumerate(system.runs):
            runs[f"{model}_seed{i}"] = _relabel(ds, model=model)
    return runs


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(Campaign(two_models()), AnalysisSettings(n_steps=400, per_seed_steps=150, seed=0),
                       show_progress=False)


def test_prob_greater_exact():
    assert prob_greater([2.0, 3.0], [1.0]) == 1.0
    assert prob_greater([1.0], [1.0]) == 0.5
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 4000), rng.normal(0, 1, 3000)
    assert prob_greater(a, b) == pytest.approx(0.760, abs=0.02)     # Φ(1/√2)
    assert prob_greater(a, b) + prob_greater(b, a) == pytest.approx(1.0)


def test_two_models_analysed(result):
    assert sorted(g.labels["model"] for g in result.groups) == ["fast", "slow"]


def test_faster_model_wins(result, tmp_path):
    cmp = compare(result, by="model")
    assert len(cmp.rows) == 1
    row = cmp.rows[0]
    assert row.labels == {"structure": "synthetic", "temperature_K": 800.0}
    assert [e.value for e in row.entries] == ["fast", "slow"]
    assert row.p("sigma_tr", "fast", "slow") > 0.99
    assert row.p("sigma", "fast", "slow") > 0.95
    assert row.p("sigma_tr", "slow", "fast") < 0.01
    # P(H_R[fast] > H_R[slow]) must equal scipy's Mann-Whitney U / (n_a n_b) on the two H_R
    # posteriors (an independent P(A > B) over all pairs, ties ½: catches the wrong quantity or
    # samples), its reverse must be 1 - P (catches a lost direction), and since both models have
    # the same true H_R (1) P is uniform over replicas for calibrated posteriors: (0.005, 0.995)
    # excludes it with probability 0.01, a degenerate 0/1 (medians compared) or ½ (one model twice) fails
    h = row.p("haven_ratio", "fast", "slow")
    assert 0.005 < h < 0.995 and h != 0.5
    assert row.p("haven_ratio", "slow", "fast") == pytest.approx(1 - h, abs=1e-12)
    est = {e.value: e.estimates["haven_ratio"].samples for e in row.entries}
    u = stats.mannwhitneyu(est["fast"], est["slow"]).statistic / (est["fast"].size * est["slow"].size)
    assert h == pytest.approx(u, abs=1e-9)
    text = format_comparison(cmp)
    assert "P(σ_tr[fast] > σ_tr[slow])" in text
    d = json.loads(json.dumps(cmp.to_dict()))
    assert d["rows"][0]["entries"][0]["quantities"]["sigma"]["units"] == "S/cm"
    cmp.to_csv(tmp_path / "c.csv")
    rows = list(csv.DictReader(open(tmp_path / "c.csv")))
    assert len(rows) == 6
    fast_tr = next(r for r in rows if r["model"] == "fast" and r["quantity"] == "sigma_tr")
    assert float(fast_tr["P(> slow)"]) > 0.99 and fast_tr["P(> fast)"] == ""
    cmp.to_json(tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["by"] == "model"


def test_flagged_runs_are_listed(result):
    g = result.groups[0]
    saved = g.run_status
    g.run_status = [dict(saved[0], status="failed", action="truncated")] + saved[1:]
    try:
        cmp = compare(result, by="model")
    finally:
        g.run_status = saved
    entry = next(e for e in cmp.rows[0].entries if e.value == g.labels["model"])
    assert entry.runs_truncated == [saved[0]["run"]]
    assert entry.runs_flagged == [f"{saved[0]['run']} (failed)"]
    assert "runs truncated" in format_comparison(cmp)


def test_compare_errors(result):
    with pytest.raises(AnalysisError, match="no group has the label 'potential'"):
        compare(result, by="potential")
    with pytest.raises(AnalysisError, match="nothing to compare"):
        compare(result, by="structure")


def _parser():
    from uncertainty_gk.cli import build_parser

    return build_parser()


def test_cli_compare_and_arrhenius(tmp_path, capsys):
    runs = two_models()
    for i, T in enumerate((600.0, 1000.0)):
        D = 0.03 * np.exp(-0.2 / 8.617e-5 * (1 / T - 1 / 800.0))
        system = synthetic.generate(n_mobile=24, n_frames=800, n_seeds=2, D=D, temperature_K=T, rng=20 + i)
        runs.update({f"slow_T{T:g}_{j}": _relabel(ds, model="slow") for j, ds in enumerate(system.runs)})
    archive = tmp_path / "c.nc"
    write_archive(runs, archive, show_progress=False)
    p = _parser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = p.parse_args(["compare", str(archive), "--by", "model", "-q", "--n-steps", "300",
                             "--per-seed-steps", "150", "--json", str(tmp_path / "c.json"), "--csv", str(tmp_path / "c.csv")])
        assert args.func(args) == 0
        out = capsys.readouterr().out
        assert "P(σ_tr[fast] > σ_tr[slow])" in out and (tmp_path / "c.csv").exists()
        args = p.parse_args(["arrhenius", str(archive), "--quantity", "sigma_tr", "-q", "--n-steps", "300",
                             "--per-seed-steps", "150", "--keep-going", "--json", str(tmp_path / "a.json")])
        code = args.func(args)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "E_a" in out and "σ(300 K)" in out
    fits = json.loads((tmp_path / "a.json").read_text())["fits"]
    # 'fast' has one temperature only: skipped with a warning; 'slow' has three
    assert [f["labels"]["model"] for f in fits] == ["slow"]
    assert len(fits[0]["points"]) == 3



def test_two_models_three_temperatures_known_answers():
    """compare + arrhenius on a 2-model x 3-temperature campaign with known E_a."""
    from uncertainty_gk.arrhenius import arrhenius_from_result

    models = {"fast": (0.25, 0.1), "slow": (0.35, 0.05)}
    runs, truth = synthetic.arrhenius_campaign(models, [800.0, 900.0, 1000.0], n_mobile=24, n_frames=800,
                                               n_seeds=2, rng=11)
    assert len(runs) == 12 and {json.loads(ds.attrs["labels"])["model"] for ds in runs.values()} == {"fast", "slow"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyse(Campaign(runs), AnalysisSettings(n_steps=400, per_seed_steps=150, seed=0), show_progress=False)
        fits = arrhenius_from_result(result, quantity="sigma_tr", rng=1)
    cmp = compare(result, by="model")
    assert len(cmp.rows) == 3                      # one row per temperature
    for row in cmp.rows:
        assert row.p("sigma_tr", "fast", "slow") > 0.95, row.labels
    by_model = {f.labels["model"]: f for f in fits}
    assert set(by_model) == {"fast", "slow"}
    for name, (e_a, _) in models.items():
        fit = by_model[name]
        assert fit.E_a.lower < e_a < fit.E_a.upper, (name, fit.E_a)
        assert fit.E_a.upper - fit.E_a.lower < 0.15
