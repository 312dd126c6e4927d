"""Figures: content (labels, units, bands, seed lines, fitted slope), saving, the ugk plot command."""

import copy
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.pipeline import analyse
from uncertainty_gk.settings import AnalysisSettings
from uncertainty_gk.arrhenius import arrhenius_fit
from uncertainty_gk.campaign import Campaign
from uncertainty_gk.diagnostics import Flag, RunDiagnosis
from uncertainty_gk.errors import UGKError
from uncertainty_gk.plots import (FigureItem, arrhenius_figure, forest_figure, haven_figure, msd_figure,
                                  report_figures, running_figure, save_figure, thermo_figure)
from uncertainty_gk.units import A2_PER_PS_TO_CM2_PER_S, BOLTZMANN_EV_PER_K

CI = "95 % credible interval"


@pytest.fixture(scope="module")
def small():
    """Three short synthetic seeds of one group, analysed with a short chain."""
    system = synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=3, rng=3)
    camp = Campaign({ds.attrs["run_name"]: ds for ds in system.runs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyse(camp, AnalysisSettings(seed=0, n_steps=400, per_seed=False), show_progress=False)
    return camp, result, system


@pytest.fixture(scope="module")
def multi():
    """2 models × 2 temperatures (four groups), for forest and report figures."""
    runs, _ = synthetic.arrhenius_campaign({"a": (0.3, 0.08), "b": (0.4, 0.08)}, [800, 1000], rng=5,
                                           n_mobile=24, n_frames=900, n_seeds=2)
    camp = Campaign(runs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyse(camp, AnalysisSettings(seed=1, n_steps=300, per_seed=False), show_progress=False)
    return camp, result


def legend_texts(fig) -> list[str]:
    texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    for ax in fig.axes:
        if ax.get_legend() is not None:
            texts += [t.get_text() for t in ax.get_legend().get_texts()]
    return texts


def by_gid(ax, prefix):
    return [a for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]


def all_text(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))


# --------------------------------------------------------------------------- msd
def test_msd_figure_content(small):
    camp, result, _ = small
    g = result.groups[0]
    fig = msd_figure(result, 0, width="single")
    main = [ax for ax in fig.axes if ax.get_xlabel() == "lag time t (ps)"]
    assert len(main) == 2
    tr, pol = main
    assert tr.get_ylabel() == "MSD (Å²)" and "(Å²)" in pol.get_ylabel()
    for ax in main:
        assert len(by_gid(ax, "seed:")) == 3                      # one line per seed
        (win,) = by_gid(ax, "fit_window")                          # the fit window, shaded where it is
        x0, x1 = win.get_x(), win.get_x() + win.get_width()
        assert np.isclose(x0, g.window_ps[0]) and np.isclose(x1, g.window_ps[1])
    assert any(CI in t for t in legend_texts(fig))
    assert any(t.startswith("fit window") for t in legend_texts(fig))
    # the drawn line is the reported fit: slope = 6 D* (Å²/ps)
    (fit,) = by_gid(tr, "fit_tr")
    t, y = fit.get_data()
    slope = np.polyfit(t, y, 1)[0]
    expected = 6 * g.quantities["D_tr"].median / A2_PER_PS_TO_CM2_PER_S
    assert slope == pytest.approx(expected, rel=0.02)
    # log-log insets
    insets = [c for ax in main for c in ax.child_axes if c.get_xscale() == "log"]
    assert len(insets) == 2 and all(ax.get_yscale() == "log" for ax in insets)


def test_msd_truncated_run_drawn_over_trusted_segment_only(small):
    """The figure draws what the analysis used: a run cut by diagnostics shows only its trusted part."""
    from uncertainty_gk.analysis import analyse_runs

    camp, _, _ = small
    names = list(camp)
    end = float(camp[names[1]]["time"].values[-1])
    screening = {names[1]: {"run": names[1], "labels": {}, "action": "truncated", "status": "failed",
                            "trusted_until_ps": end / 2, "first_flag_time_ps": end / 2 + 1}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyse_runs(camp, AnalysisSettings(seed=0, n_steps=300, per_seed=False), screening=screening)
    fig = msd_figure(res, 0, collective=False, inset=False)
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in by_gid(ax, "seed:")}
    x_trunc = lines[f"seed:{names[1]}"].get_xdata().max()
    x_full = lines[f"seed:{names[0]}"].get_xdata().max()
    assert x_trunc <= 0.5 * end / 2 + 1e-9 < x_full
    assert any("truncated at" in t for t in legend_texts(fig))


def test_msd_band_of_a_method_without_intercept_draws_says_so(small):
    camp, result, _ = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyse(camp, AnalysisSettings(seed=0, method="bootstrap", n_boot=200, per_seed=False),
                      show_progress=False)
    fig = msd_figure(res, 0, collective=False)
    assert any("GLS intercept" in t and CI in t for t in legend_texts(fig))
    t, y = by_gid(fig.axes[0], "fit_tr")[0].get_data()
    expected = 6 * res.groups[0].quantities["D_tr"].median / A2_PER_PS_TO_CM2_PER_S
    assert np.polyfit(t, y, 1)[0] == pytest.approx(expected, rel=0.05)


def test_msd_figure_from_a_results_file(small, tmp_path):
    """Figures read results only: the same figure from the saved file, without the trajectories."""
    from uncertainty_gk.results import load_results, save_results

    _, result, _ = small
    back = load_results(save_results(result, tmp_path / "r.nc"))
    a = by_gid(msd_figure(result, 0).axes[0], "fit_tr")[0].get_ydata()
    b = by_gid(msd_figure(back, 0).axes[0], "fit_tr")[0].get_ydata()
    np.testing.assert_allclose(a, b)


def test_bad_group_index_names_the_groups(small):
    camp, result, _ = small
    with pytest.raises(UGKError, match="has 1 groups"):
        msd_figure(result, 5)


# --------------------------------------------------------------------------- running
def test_running_figure(small):
    camp, result, _ = small
    g = result.groups[0]
    fig = running_figure(result, 0, width="double")
    axes = [ax for ax in fig.axes if ax.get_xlabel().startswith("end of fit window")]
    assert len(axes) == 2
    assert axes[0].get_ylabel().startswith("σ_tr (") and axes[1].get_ylabel().startswith("σ (")
    assert all("S/cm" in ax.get_ylabel() for ax in axes)
    for ax, q in zip(axes, ("sigma_tr", "sigma")):
        assert len(by_gid(ax, "seed:")) == 3
        (avg,) = by_gid(ax, "average_")
        assert avg.get_linestyle() == "--"
        (end,) = by_gid(ax, "window_end")
        assert np.isclose(end.get_xdata()[0], g.window_ps[1])
    assert any(CI in t for t in legend_texts(fig))
    # the cheap pooled GLS at the chosen window end agrees with the reported σ_tr
    t, y = by_gid(axes[0], "average_")[0].get_data()
    unit = 1e3 if "mS/cm" in axes[0].get_ylabel() else 1.0
    at_end = np.interp(g.window_ps[1], t, y) / unit
    e = g.quantities["sigma_tr"]
    assert e.lower <= at_end <= e.upper


# --------------------------------------------------------------------------- haven
def test_haven_figure(small):
    _, result, _ = small
    fig = haven_figure(result, 0)
    ax, axh = fig.axes[:2]
    assert "σ_tr" in ax.get_xlabel() and "S/cm" in ax.get_xlabel() and "σ" in ax.get_ylabel()
    assert axh.get_xlabel().startswith("Haven ratio")
    assert {a.get_gid() for a in by_gid(ax, "guide:")} == {"guide:0.5", "guide:1", "guide:2"}
    assert by_gid(axh, "haven_median") and by_gid(axh, "haven_interval")
    med = by_gid(axh, "haven_median")[0].get_xdata()[0]
    assert med == pytest.approx(result.groups[0].quantities["haven_ratio"].median)
    assert sum(CI in t for t in legend_texts(fig)) >= 2


def test_haven_figure_unresolved_and_no_diffusion(small):
    from uncertainty_gk.analysis import _mark_unresolved
    from uncertainty_gk.results import Estimate

    _, result, _ = small
    res = copy.deepcopy(result)
    _mark_unresolved(res.groups[0].quantities, 1.2)
    text = all_text(haven_figure(res, 0, width="single"))
    assert "upper bound" in text and "lower bound" in text
    g = res.groups[0]
    g.diffusion_detected = False
    g.quantities = {k: Estimate(np.nan, 0.0, 0.01, 0.95, "S/cm", "upper_bound") for k in ("sigma", "sigma_tr")}
    text = all_text(haven_figure(res, 0))
    assert "no long-range diffusion detected" in text and "H_R not available" in text


# --------------------------------------------------------------------------- thermo
def test_thermo_figure_flags_and_missing_log(small):
    camp, _, _ = small
    names = list(camp)
    end = float(camp[names[0]]["time"].values[-1])
    bad = RunDiagnosis.from_flags([Flag("min_distance", 10.0, 0.6, 1.0, "close contact", last_time_ps=20.0),
                                   Flag("rdf_drift", 5.0, 1.2, 1.0, "drift", severity="warning")],
                                  labels={}, thresholds={}, margin_ps=1.0, run_start_ps=0.0, run_end_ps=end)
    fig = thermo_figure(camp, {names[0]: bad}, width="single", max_runs=2)
    text = all_text(fig)
    assert "no thermo log" in text and "2 of 3 runs shown" in text and "1 left out" in text
    ax = fig.axes[0]
    assert by_gid(ax, "flag:failed") and by_gid(ax, "flag:warning")
    assert by_gid(ax, "first_failure")[0].get_xdata()[0] == pytest.approx(10.0)
    assert by_gid(ax, "trusted_until")[0].get_xdata()[0] == pytest.approx(9.0)
    assert ax.get_xlabel() == "time (ps)"


def test_thermo_figure_with_log():
    from conftest import EXAMPLES
    from uncertainty_gk.archive import load_runs

    camp = load_runs(EXAMPLES / "tiny" / "campaign.toml")
    name = next(iter(camp))
    ok = RunDiagnosis.from_flags([], labels={}, thresholds={}, margin_ps=1.0, run_start_ps=0.0, run_end_ps=2.0)
    fig = thermo_figure(camp, {name: ok})
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert "T (K)" in labels and "PE (eV/atom)" in labels
    T = next(ax for ax in fig.axes if ax.get_ylabel() == "T (K)").lines[0].get_ydata()
    assert 500 < np.median(T) < 1500


# --------------------------------------------------------------------------- arrhenius
def test_arrhenius_figure_line_has_the_fitted_activation_energy():
    rng = np.random.default_rng(0)
    T = np.array([600.0, 800.0, 1000.0])
    sig = 1e3 / T * np.exp(-0.3 / (BOLTZMANN_EV_PER_K * T))
    fit = arrhenius_fit((T, [s * np.exp(rng.normal(0, 0.05, 2000)) for s in sig]), rng=1)
    fit2 = arrhenius_fit((T, [s * 2 * np.exp(rng.normal(0, 0.05, 2000)) for s in sig]), quantity="sigma_tr", rng=1)
    fig = arrhenius_figure([fit, fit2], T_extrapolate=300, width="single")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "1000/T (1/K)" and ax.get_ylabel() == "σT (S K/cm)" and ax.get_yscale() == "log"
    x, y = by_gid(ax, "fit:0")[0].get_data()
    slope = np.polyfit(x, np.log(y), 1)[0]               # d ln(σT) / d(1000/T) = -E_a/(1000 k_B)
    assert -slope * 1000 * BOLTZMANN_EV_PER_K == pytest.approx(fit.E_a.median, rel=0.02)
    texts = legend_texts(fig)
    assert any("E_a = " in t and "eV" in t and "σ(300 K)" in t for t in texts)
    assert any("σ_tr" in t for t in texts) and any(CI in t for t in texts)
    (ext,) = by_gid(ax, "extrapolated:0")
    assert ext.get_xdata()[0] == pytest.approx(1000 / 300, abs=0.05)


# --------------------------------------------------------------------------- forest
def test_forest_figure(multi):
    _, result = multi
    res = copy.deepcopy(result)
    res.groups[0].run_status[0].update(status="failed", action="truncated")
    fig = forest_figure(res, "sigma", "model")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "conductivity σ (S/cm)" or "mS/cm" in ax.get_xlabel()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks.count("model=a") == 2 and ticks.count("model=b") == 2
    headers = [t.get_text() for t in ax.texts]
    assert "T = 800 K" in headers and "T = 1000 K" in headers
    hollow = [ln for ln in ax.lines if ln.get_markerfacecolor() == "white"]
    assert len(hollow) == 1
    text = all_text(fig)
    assert "Hollow markers" in text and "truncated" in text
    assert any(CI in t for t in legend_texts(fig))


# --------------------------------------------------------------------------- saving
def test_save_figure_atomic_and_no_overwrite(small, tmp_path):
    _, result, _ = small
    fig = haven_figure(result, 0)
    paths = save_figure(fig, tmp_path / "h")
    assert [p.name for p in paths] == ["h.png", "h.pdf", "h.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in paths[2].read_bytes()[:2000]
    before = paths[0].read_bytes()
    with pytest.raises(UGKError, match="exists; pass overwrite=True"):
        save_figure(fig, tmp_path / "h.png", formats=("png",))
    assert paths[0].read_bytes() == before
    save_figure(fig, tmp_path / "h.png", formats=("png",), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.pdf", "h.png", "h.svg"]   # no temporary files left
    with pytest.raises(UGKError, match="choose from png, pdf, svg"):
        save_figure(fig, tmp_path / "x", formats=("jpg",))


# --------------------------------------------------------------------------- report
def test_report_figures(multi):
    camp, result = multi
    items = report_figures(camp, result, width="single")
    assert all(isinstance(i, FigureItem) for i in items)
    names = [i.name for i in items]
    assert sum(n.startswith("msd_") for n in names) == 4 and sum(n.startswith("running_") for n in names) == 4
    assert "forest_sigma" in names and "thermo" not in names       # synthetic runs carry no diagnoses
    assert len(set(names)) == len(names)
    for i in items:
        assert i.caption.endswith(".") and i.title
        assert "credible interval" in i.caption


# --------------------------------------------------------------------------- CLI and import cost
def test_cli_plot_msd_writes_file(small, tmp_path, capsys, monkeypatch):
    from uncertainty_gk.archive import write_archive
    from uncertainty_gk.cli import main

    _, _, system = small
    arch = tmp_path / "s.nc"
    write_archive(system.runs, arch)
    monkeypatch.chdir(tmp_path)
    code = main(["plot", "msd", str(arch), "-q", "--n-steps", "300", "--width", "single"])
    out, err = capsys.readouterr()
    written = list(tmp_path.glob("msd_*.png"))
    assert code == 0 and len(written) == 1 and f"wrote {written[0].name}" in out
    code = main(["plot", "msd", str(arch), "-q", "--n-steps", "300", "-o", written[0].name])
    _, err = capsys.readouterr()
    assert code == 2 and "exists; pass overwrite=True (--overwrite)" in err
    code = main(["plot", "thermo", str(arch), "-q", "-o", "t.svg"])
    assert code == 0 and (tmp_path / "t.svg").exists()


def test_importing_plots_does_not_import_matplotlib():
    code = "import sys, uncertainty_gk.plots, uncertainty_gk.cli; print(json.dumps('matplotlib' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False
