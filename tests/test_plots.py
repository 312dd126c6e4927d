"""Figures: content (labels, units, bands, seed lines, fitted slope), saving, the ugk plot command."""

import copy
import io
import json
import re
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
                                  report_figures, running_figure, save_figure, style, thermo_figure)
from uncertainty_gk.plots.groupdata import group_seeds, line_band, line_versus_seeds
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


def texts(fig) -> list[str]:
    """Every text the figure draws (titles, labels, ticks, legends, notes, annotations)."""
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


def outside_math(text: str) -> str:
    """``text`` without its mathtext (``$...$``) parts: what matplotlib draws literally."""
    return re.sub(r"(?<!\\)\$.*?(?<!\\)\$", "", text)


def assert_no_literal_subscripts(fig, allowed=()):
    """No "σ_tr", "H_R", "E_a", "t_max" ... drawn as plain text with an underscore, and the figure renders
    (a bad mathtext string raises when drawn)."""
    for t in texts(fig):
        plain = outside_math(t)
        for name in allowed:
            plain = plain.replace(name, "")
        assert "_" not in plain, f"literal underscore in figure text {t!r}"
        assert "=" not in re.sub(r" = ", "", plain), f"key=value label in figure text {t!r}"
    fig.savefig(io.BytesIO(), format="png", dpi=50)


# --------------------------------------------------------------------------- msd
def test_msd_figure_content(small):
    camp, result, _ = small
    g = result.groups[0]
    fig = msd_figure(result, 0, width="single")
    main = [ax for ax in fig.axes if ax.get_xlabel() == f"lag time {style.symbol('t')} (ps)"]
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
    # the seed mean: a thin dashed curve, the plain average of the seed curves
    _, curves = group_seeds(result, 0)
    (mean,) = by_gid(tr, "seed_mean_tr")
    t_mean, y_mean = mean.get_data()
    np.testing.assert_allclose(y_mean, np.mean([np.interp(t_mean, c.lag_ps, c.msd_tr) for c in curves], axis=0))
    assert mean.get_linestyle() != "-" and any("mean of the seed curves" in t for t in legend_texts(fig))


def shifted(result, which: str, direction: float):
    """A copy of ``result`` whose pooled ``which`` line is moved by ``direction`` × the largest seed MSD
    in the fit window: below (< 0) or above (> 0) every seed curve."""
    res = copy.deepcopy(result)
    g = res.groups[0]
    _, curves = group_seeds(res, 0)
    key, ys = ("intercept_tr", [c.msd_tr for c in curves]) if which == "tr" else \
        ("intercept_P_per_volume", [c.msd_P_per_ion * g.n_mobile * g.charges[g.species] ** 2 / g.volume_A3
                                    for c in curves])
    top = max(float(np.max(y[c.lag_ps <= g.window_ps[1]])) for y, c in zip(ys, curves))
    g.lines[key] = np.asarray(g.lines[key]) + direction * top
    return res


def test_msd_note_when_the_pooled_line_is_below_every_seed_curve(small):
    """The figure says why when the pooled line runs below all seed curves, and only then."""
    camp, result, _ = small
    fig = msd_figure(result, 0, width="single")
    assert not [a for ax in fig.axes for a in by_gid(ax, "note_")]           # the line runs through the curves
    low = shifted(result, "tr", -1.0)
    g, curves = group_seeds(low, 0)
    pos = line_versus_seeds(line_band(g, np.linspace(0, 40, 80), "tr"), curves, "tr", g.window_ps)
    assert pos.side == "below" and pos.fraction == 1.0
    for width in ("single", "double"):
        fig = msd_figure(low, 0, width=width)
        tr = fig.axes[0]
        (note,) = by_gid(tr, "note_tr")
        assert "pooled line below all seed curves" in note.get_text() and "covariance" in note.get_text()
        assert not by_gid(fig.axes[1], "note_P") or "below" not in by_gid(fig.axes[1], "note_P")[0].get_text()
    high = shifted(result, "P", +1.0)
    (note,) = [a for ax in msd_figure(high, 0).axes for a in by_gid(ax, "note_")]
    assert note.get_gid() == "note_P" and "above all seed curves" in note.get_text()
    # and the report caption says so too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (item,) = [i for i in report_figures(camp, low) if i.name.startswith("msd_")]
        (plain,) = [i for i in report_figures(camp, result) if i.name.startswith("msd_")]
    assert "in (a) below every seed curve over 100 % of the fit window" in item.caption
    assert "below every seed curve" not in plain.caption and "dashed seed mean" not in plain.caption
    assert "mean of the seed curves" in plain.caption


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
    assert axes[0].get_ylabel().startswith(style.symbol("sigma_tr") + " (")
    assert axes[1].get_ylabel().startswith(style.symbol("sigma") + " (")
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
    assert style.symbol("sigma_tr") in ax.get_xlabel() and "S/cm" in ax.get_xlabel()
    assert style.symbol("sigma") in ax.get_ylabel()
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
    assert "no long-range diffusion detected" in text and f"{style.symbol('haven_ratio')} not available" in text


# --------------------------------------------------------------------------- thermo
def failed_at_10ps(ds):
    end = float(ds["time"].values[-1])
    return RunDiagnosis.from_flags([Flag("min_distance", 10.0, 0.6, 1.0, "close contact", last_time_ps=20.0),
                                    Flag("rdf_drift", 5.0, 1.2, 1.0, "drift", severity="warning")],
                                   labels={}, thresholds={}, margin_ps=1.0, run_start_ps=0.0, run_end_ps=end)


def assert_no_empty_axes(fig):
    """Every visible axes draws data; the only other kind allowed is a hidden one holding a note."""
    for ax in fig.axes:
        if not ax.axison:
            assert ax.texts and not ax.lines
            continue
        assert any(len(ln.get_xdata()) > 1 for ln in ax.lines if (ln.get_gid() or "") in ("temperature",
                                                                                         "potential_energy")), ax


def vasp_like(tmp_path, n_frames=40):
    """A run read from an XDATCAR: positions only, no thermo log, no velocities."""
    from uncertainty_gk.io.vasp import read_xdatcar

    rng = np.random.default_rng(0)
    frac = (np.array([[0.1, 0.2, 0.3], [0.6, 0.5, 0.4]]) + np.cumsum(rng.normal(0, 0.01, (n_frames, 2, 3)), 0)) % 1
    text = "Li1 O1\n1.0\n10 0 0\n0 10 0\n0 0 10\nLi O\n1 1\n" + "".join(
        f"Direct configuration= {k + 1}\n" + "".join(" ".join(f"{x:.6f}" for x in row) + "\n" for row in f)
        for k, f in enumerate(frac))
    path = tmp_path / "XDATCAR"
    path.write_text(text)
    return read_xdatcar(path, frame_interval_ps=1.0, run_name="vasp_run1")


def test_thermo_figure_without_any_log_is_one_note(small, tmp_path):
    """VASP-like runs (no log, no velocities): one note naming the runs and their status, no empty axes."""
    camp, _, _ = small
    names = list(camp)
    runs = {**{n: camp[n] for n in names}, "vasp_run1": vasp_like(tmp_path)}
    assert not any(v.startswith("thermo") for ds in runs.values() for v in list(ds.data_vars) + list(ds.coords))
    for width in ("single", "double"):
        fig = thermo_figure(runs, {names[0]: failed_at_10ps(camp[names[0]])}, width=width, max_runs=2)
        assert len(fig.axes) == 1 and not fig.axes[0].axison
        assert_no_empty_axes(fig)
        text = " ".join(all_text(fig).split())                  # as read, whatever the line breaks
        assert "No thermo log and no velocities in any of the 4 runs" in text
        assert f"{names[0]}: failed at 10 ps, trusted until 9 ps; min_distance, rdf_drift" in text
        assert f"not diagnosed (3 runs): {names[1]}, {names[2]} and 1 more" in text   # max_runs = 2
        fig.savefig(io.BytesIO(), format="png", dpi=50)
    text = " ".join(all_text(thermo_figure(runs, {})).split())
    assert f"not diagnosed (4 runs): {', '.join(names)}, vasp_run1" in text


def with_velocities(ds, temperature_K, rng):
    """``ds`` with Maxwell-Boltzmann velocities (Å/ps) at ``temperature_K``."""
    from uncertainty_gk.units import BOLTZMANN_EV_PER_K

    eV_per_amu_in_A2_per_ps2 = 9648.533212
    m = np.asarray(ds["mass"].values, float)
    sd = np.sqrt(BOLTZMANN_EV_PER_K * temperature_K / m * eV_per_amu_in_A2_per_ps2)
    v = rng.normal(size=ds["positions"].shape) * sd[None, :, None]
    return ds.assign(velocities=(("time", "atom", "xyz"), v))


def test_thermo_figure_draws_only_runs_with_data(small):
    """Without a log the kinetic temperature from velocities is drawn; runs with neither are listed, not drawn."""
    from conftest import EXAMPLES
    from uncertainty_gk.archive import load_runs

    camp, _, _ = small
    names = list(camp)
    runs = {n: camp[n] for n in names}
    runs[names[1]] = with_velocities(camp[names[1]], 1000.0, np.random.default_rng(1))
    lammps = load_runs(EXAMPLES / "tiny" / "campaign.toml")
    runs.update({n: lammps[n] for n in lammps})
    diag = {names[1]: failed_at_10ps(camp[names[1]])}
    for width in ("single", "double"):
        fig = thermo_figure(runs, diag, width=width)
        assert_no_empty_axes(fig)
        kinetic = [ax for ax in fig.axes if "kinetic" in ax.get_ylabel()]
        assert len(kinetic) == 1                       # one panel spanning the row: no empty energy axes
        ax = kinetic[0]
        assert 900 < np.median(ax.lines[0].get_ydata()) < 1100
        assert by_gid(ax, "flag:failed") and by_gid(ax, "first_failure")[0].get_xdata()[0] == pytest.approx(10.0)
        assert by_gid(ax, "trusted_until")[0].get_xdata()[0] == pytest.approx(9.0)
        assert len(fig.axes) == 1 + 2 * len(lammps)    # LAMMPS runs: T and PE; the two bare runs: none
        head = " ".join(fig._suptitle.get_text().split())
        assert "Not drawn, no thermo log or velocities (2 runs)" in head
        assert f"{names[0]}: failed" not in head and f"not diagnosed (2 runs): {names[0]}, {names[2]}" in head
        assert names[1] not in head
        fig.savefig(io.BytesIO(), format="png", dpi=50)


def test_thermo_figure_with_log():
    from conftest import EXAMPLES
    from uncertainty_gk.archive import load_runs

    camp = load_runs(EXAMPLES / "tiny" / "campaign.toml")
    name = next(iter(camp))
    ok = RunDiagnosis.from_flags([], labels={}, thresholds={}, margin_ps=1.0, run_start_ps=0.0, run_end_ps=2.0)
    fig = thermo_figure(camp, {name: ok})
    labels = [ax.get_ylabel() for ax in fig.axes]
    T_label = f"{style.symbol('T')} (K)"
    assert T_label in labels and "PE (eV/atom)" in labels
    assert_no_empty_axes(fig)
    assert_no_literal_subscripts(fig, allowed=list(camp))        # run names are names
    T = next(ax for ax in fig.axes if ax.get_ylabel() == T_label).lines[0].get_ydata()
    assert 500 < np.median(T) < 1500


# --------------------------------------------------------------------------- arrhenius
def arrhenius_fits():
    rng = np.random.default_rng(0)
    T = np.array([600.0, 800.0, 1000.0])
    sig = 1e3 / T * np.exp(-0.3 / (BOLTZMANN_EV_PER_K * T))
    fit = arrhenius_fit((T, [s * np.exp(rng.normal(0, 0.05, 2000)) for s in sig]), rng=1)
    fit2 = arrhenius_fit((T, [s * 2 * np.exp(rng.normal(0, 0.05, 2000)) for s in sig]), quantity="sigma_tr", rng=1)
    fit3 = arrhenius_fit((T, [s * 1.1 * np.exp(rng.normal(0, 0.05, 2000)) for s in sig]), rng=2)
    return T, [fit, fit2, fit3]


def test_arrhenius_figure_line_has_the_fitted_activation_energy():
    T, (fit, fit2, _) = arrhenius_fits()
    fig = arrhenius_figure([fit, fit2], T_extrapolate=300, width="single")
    ax = fig.axes[0]
    assert ax.get_xlabel() == f"1000/{style.symbol('T')} (1/K)" and ax.get_yscale() == "log"
    assert ax.get_ylabel() == f"{style.symbol('sigma')}{style.symbol('T')} (S K/cm)"
    x, y = by_gid(ax, "fit:0")[0].get_data()
    slope = np.polyfit(x, np.log(y), 1)[0]               # d ln(σT) / d(1000/T) = -E_a/(1000 k_B)
    assert -slope * 1000 * BOLTZMANN_EV_PER_K == pytest.approx(fit.E_a.median, rel=0.02)
    texts_ = legend_texts(fig)
    assert any(f"{style.symbol('E_a')} = " in t and "eV" in t and f"{style.symbol('sigma')}(300 K)" in t
               for t in texts_)
    assert any(style.symbol("sigma_tr") in t for t in texts_) and any(CI in t for t in texts_)
    assert_no_literal_subscripts(fig)


def test_arrhenius_extrapolated_markers_sit_at_the_true_temperature():
    """Several series at 300 K: every marker exactly at 1000/300 (no sideways dodge), told apart by shape and a tag."""
    T, fits = arrhenius_fits()
    for width in ("single", "double"):
        fig = arrhenius_figure(fits, T_extrapolate=300, width=width)
        ax = fig.axes[0]
        markers = []
        for i in range(len(fits)):
            (ext,) = by_gid(ax, f"extrapolated:{i}")
            assert list(ext.get_xdata()) == [1000.0 / 300.0]          # exactly, not approximately
            markers.append(ext.get_marker())
            (tag,) = by_gid(ax, f"extrapolated_tag:{i}")
            assert tag.xy[0] == 1000.0 / 300.0 and tag.get_text()
        assert len(set(markers)) == len(fits)
        # measured points at their own temperatures, not offset
        points = [ln for ln in ax.lines if ln.get_marker() in markers and not (ln.get_gid() or "").startswith("ext")]
        for ln in points:
            assert set(np.round(1000.0 / np.asarray(ln.get_xdata()), 9)) <= set(T)
        # the extrapolation temperature is on the top axis
        top = [c for c in ax.child_axes] + [a for a in fig.axes if a is not ax]
        ticks = {float(t) for a in top for t in a.get_xticks()}
        assert 300.0 in ticks
        tag_boxes = [by_gid(ax, f"extrapolated_tag:{i}")[0].get_window_extent(fig.canvas.get_renderer())
                     for i in range(len(fits))]
        assert not any(a.overlaps(b) for k, a in enumerate(tag_boxes) for b in tag_boxes[k + 1:])
        assert_no_literal_subscripts(fig)


# --------------------------------------------------------------------------- forest
def test_forest_figure(multi):
    _, result = multi
    res = copy.deepcopy(result)
    res.groups[0].run_status[0].update(status="failed", action="truncated")
    fig = forest_figure(res, "sigma", "model")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() in (style.axis_label("sigma", "S/cm"), style.axis_label("sigma", "mS/cm"))
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks.count("a") == 2 and ticks.count("b") == 2 and ax.get_ylabel() == "model"
    headers = [t.get_text() for t in ax.texts]
    assert "800 K" in headers and "1000 K" in headers
    hollow = [ln for ln in ax.lines if ln.get_markerfacecolor() == "white"]
    assert len(hollow) == 1
    text = all_text(fig)
    assert "Hollow markers" in text and "truncated" in text
    assert any(CI in t for t in legend_texts(fig))


# --------------------------------------------------------------------------- symbols and labels
def test_display_labels_are_readable_and_slugs_unchanged():
    labels = {"model": "pedone", "structure": "lpso", "temperature_K": 1000.0, "seed": 2}
    assert style.display_labels(labels) == "pedone, lpso, 1000 K"
    assert style.display_labels({"charge_scale": 0.8, "pressure_GPa": 2}) == "charge scale 0.8, 2 GPa"
    assert style.display_labels({"model": "a$b"}) == r"a\$b"                 # no accidental mathtext
    assert style.display_labels({"model": "a$b"}, escape=False) == "a$b"
    assert style.label_slug(labels) == "model-pedone_structure-lpso_T1000"      # file names as before
    assert style.label_text(labels) == "model=pedone, structure=lpso, T = 1000 K"   # messages as before
    assert style.symbol("sigma_tr") == r"$\mathit{\sigma}_\mathrm{tr}$"
    assert style.symbol("haven_ratio") == r"$\mathit{H}_\mathrm{R}$" and style.symbol("D_tr") == r"$\mathit{D}^*$"
    with pytest.raises(UGKError, match="known: sigma"):
        style.symbol("sigma_T")
    assert style.visible_length(style.symbol("sigma_tr") + " (S/cm)") == len("σtr (S/cm)")


def test_every_figure_writes_symbols_in_mathtext_and_labels_as_text(small, multi):
    """No literal "σ_tr", "H_R", "E_a", "t_max", "key=value" in any text of any figure, at both widths."""
    _, result, _ = small
    _, four = multi
    for width in ("single", "double"):
        figs = {"msd": msd_figure(result, 0, width=width), "running": running_figure(result, 0, width=width),
                "haven": haven_figure(result, 0, width=width)}
        figs.update({f"forest_{q}": forest_figure(four, q, "model", width=width)
                     for q in ("sigma", "sigma_tr", "haven_ratio", "D_tr")})
        for name, fig in figs.items():
            assert_no_literal_subscripts(fig)
            drawn = "\n".join(texts(fig))
            assert "$" in drawn, name                                              # symbols are mathtext
        assert figs["msd"]._suptitle.get_text() == "synthetic, synthetic, 800 K"
        assert style.symbol("sigma_tr") in all_text(figs["running"])
        assert style.symbol("haven_ratio") in all_text(figs["haven"])
        assert style.symbol("haven_ratio") in figs["forest_haven_ratio"].axes[0].get_xlabel()
        assert style.symbol("D_tr") in figs["forest_D_tr"].axes[0].get_xlabel()


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


def test_every_format_keeps_the_layout_solved_for_the_first(small):
    """figure_files solves the constrained layout once: the axes stay where the layout put
    them (not at the default subplot parameters a figure without a layout engine has),
    every format is a real file, and the first is what figure_bytes makes of a fresh figure."""
    from uncertainty_gk.plots.save import figure_bytes, figure_files

    _, result, _ = small
    fresh = haven_figure(result, 0)
    first = figure_bytes(fresh, "png")                  # solves the layout, engine still on
    solved = [ax.get_position().bounds for ax in fresh.axes]
    fig = haven_figure(result, 0)
    files = figure_files(fig, ("png", "pdf", "svg"))
    assert files["png"] == first
    assert files["pdf"][:5] == b"%PDF-" and b"<svg" in files["svg"][:2000]
    kept = [ax.get_position().bounds for ax in fig.axes]
    assert np.allclose(kept, solved, atol=1e-12)
    unsolved = [ax.get_position().bounds for ax in haven_figure(result, 0).axes]   # never drawn: no layout yet
    assert not np.allclose(unsolved, solved, atol=1e-3)


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
    code = main(["plot", "msd", str(arch), "-q", "--n-steps", "300", "--per-seed-steps", "100", "--width", "single"])
    out, err = capsys.readouterr()
    written = list(tmp_path.glob("msd_*.png"))
    assert code == 0 and len(written) == 1 and f"wrote {written[0].name}" in out
    code = main(["plot", "msd", str(arch), "-q", "--n-steps", "300", "--per-seed-steps", "100", "-o", written[0].name])
    _, err = capsys.readouterr()
    assert code == 2 and "exists; pass overwrite=True (--overwrite)" in err
    code = main(["plot", "thermo", str(arch), "-q", "-o", "t.svg"])
    assert code == 0 and (tmp_path / "t.svg").exists()


def test_importing_plots_does_not_import_matplotlib():
    code = "import sys, uncertainty_gk.plots, uncertainty_gk.cli; print(json.dumps('matplotlib' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False
