"""The one-directory report: sections, self-contained HTML, numbers equal to results.json, safety."""

from __future__ import annotations

import json
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from uncertainty_gk.settings import AnalysisSettings

from uncertainty_gk.campaign import Campaign
from uncertainty_gk.errors import UGKError
from uncertainty_gk.report import REPORT_ENTRIES, write_report
from uncertainty_gk.synthetic import arrhenius_campaign
from uncertainty_gk.tables import round_uncertainty

pytestmark = pytest.mark.filterwarnings("ignore::uncertainty_gk.errors.UGKWarning")

SECTIONS = ("summary", "campaign", "diagnostics", "results", "seeds", "comparison", "arrhenius", "figures",
            "methods", "provenance")


def _fake_plots() -> types.ModuleType:
    """A stand-in for uncertainty_gk.plots with the same contract (one small figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    @dataclass
    class FigureItem:
        name: str
        title: str
        caption: str
        figure: object

    def report_figures(campaign, result, *, diagnoses=None, arrhenius=None, comparison=None, width="double",
                       max_thermo_runs=12):
        fig = Figure(figsize=(4, 2))
        FigureCanvasAgg(fig)
        fig.add_subplot().plot([g.quantities["sigma_tr"].median for g in result.groups], "o")
        return [FigureItem("sigma_tr", "Tracer conductivity <per group>", "Medians & intervals.", fig)]

    def save_figure(fig, path, formats=("png", "pdf", "svg"), overwrite=False):
        out = []
        for ext in formats:
            p = Path(f"{path}.{ext}")
            if p.exists() and not overwrite:
                raise FileExistsError(p)
            fig.savefig(p, dpi=50)
            out.append(p)
        return out

    m = types.ModuleType("uncertainty_gk.plots")
    m.FigureItem, m.report_figures, m.save_figure = FigureItem, report_figures, save_figure
    return m


def _campaign(models=None, temperatures=(600.0, 800.0, 1000.0), n_seeds=3) -> Campaign:
    models = models or {"small<i>": (0.3, 0.5), "medium&co": (0.35, 0.5)}
    runs, _ = arrhenius_campaign(models, temperatures, rng=1, n_frames=300, n_seeds=n_seeds, n_mobile=24)
    return Campaign(runs, source="synthetic test campaign")


def _real_plots_available() -> bool:
    try:
        from uncertainty_gk.plots import report_figures, save_figure  # noqa: F401
    except ImportError:
        return False
    return True


REAL_PLOTS = _real_plots_available()


def _use_stand_in_plots(mp) -> None:
    """Until uncertainty_gk.plots exists: the stand-in, plus an empty ``plots.cli`` for the ugk parser."""
    if REAL_PLOTS:
        return
    fake = _fake_plots()
    fake.__path__ = []
    cli = types.ModuleType("uncertainty_gk.plots.cli")
    cli.register_cli = lambda subparsers, common: None
    mp.setitem(sys.modules, "uncertainty_gk.plots", fake)
    mp.setitem(sys.modules, "uncertainty_gk.plots.cli", cli)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One report of 2 models × 3 temperatures × 2 seeds (real figures when uncertainty_gk.plots exists)."""
    mp = pytest.MonkeyPatch()
    _use_stand_in_plots(mp)
    out = tmp_path_factory.mktemp("rep") / "report"
    try:
        res = write_report(_campaign(n_seeds=2), out, AnalysisSettings(n_steps=300, per_seed_steps=150, seed=0),
                           show_progress=False)
    finally:
        mp.undo()
    return res


def test_files_and_sections(report):
    out = report.out_dir
    assert {p.name for p in out.iterdir()} == REPORT_ENTRIES
    for name in ("results", "seeds", "diagnostics", "campaign", "comparison", "arrhenius", "fits"):
        assert (out / "tables" / f"{name}.csv").exists() and (out / "tables" / f"{name}.tex").exists()
    assert report.figures, report.problems
    assert {p.name for p in (out / "figures").iterdir()} == \
        {f"{n}.{ext}" for n in report.figures for ext in ("png", "pdf", "svg")}
    page = report.html.read_text()
    md = report.markdown.read_text()
    for ident in SECTIONS:
        assert f'<section id="{ident}">' in page
        assert f'<a id="{ident}"></a>' in md
    assert report.comparison is not None and report.comparison.by == "model"
    assert len(report.arrhenius) == 2
    assert "McCluskey" in page and "Bullerjahn" in page and "Okabe" in page     # references
    assert f"](figures/{report.figures[0]}.png)" in md
    diag = json.loads((out / "diagnostics.json").read_text())
    assert len(diag["runs"]) == 12 and diag["parameters"]["n_steps"] == 300
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]     # no temporary directory left


def test_html_is_self_contained_and_escaped(report):
    page = report.html.read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(" not in page
    assert page.count('src="data:image/png;base64,') == len(report.figures) > 0
    # labels (and figure titles made from them) with HTML characters are escaped
    assert "small&lt;i&gt;" in page and "<i>" not in page and "medium&amp;co" in page


def test_headline_numbers_equal_results_json(report):
    page = report.html.read_text()
    data = json.loads((report.out_dir / "results.json").read_text())
    spans = re.findall(r'<span class="value" data-quantity="([^"]*)" data-median="([^"]*)" '
                       r'data-lower="([^"]*)" data-upper="([^"]*)">', page)
    symbols = {"σ": "sigma", "σ_tr": "sigma_tr", "H_R": "haven_ratio", "D*": "D_tr"}
    per_group = [s for s in spans if s[0] in symbols]
    assert len(per_group) == 4 * len(data["groups"])
    shown_values = iter(per_group)
    for g in data["groups"]:
        for sym, key in symbols.items():
            q, med, lo, hi = next(shown_values)
            assert q == sym
            j = g["quantities"][key]
            for shown, stored in ((med, j["median"]), (lo, j["lower"]), (hi, j["upper"])):
                if stored is None:
                    assert shown in ("nan", "inf", "-inf")
                else:
                    assert float(shown) == stored
            # the displayed text is the PDG rounding of the same numbers
            rounded = round_uncertainty(j["median"], j["lower"], j["upper"]).html()
            assert f'data-lower="{lo}" data-upper="{hi}">{rounded}</span>' in page


def test_refuses_non_empty_directory(report, tmp_path):
    with pytest.raises(UGKError, match=r"not empty; use --overwrite"):
        write_report(_campaign(), report.out_dir, AnalysisSettings(n_steps=300, seed=0), figures=False, show_progress=False)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(UGKError, match="not part of a report"):
        write_report(_campaign(), foreign, overwrite=True, figures=False, show_progress=False)
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_crash_leaves_no_half_report(tmp_path, monkeypatch):
    import uncertainty_gk.report as rep

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rep, "_write_outputs", boom)
    out = tmp_path / "r"
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(_campaign({"m": (0.3, 0.5)}, (1000.0,), n_seeds=2), out,
                     AnalysisSettings(n_steps=200, per_seed_steps=100, seed=0), figures=False,
                     show_progress=False)
    assert list(tmp_path.iterdir()) == []


def _report_args(tmp_path, n_frames: int) -> list[str]:
    """``ugk report`` arguments for two synthetic LAMMPS dumps written into tmp_path/runs."""
    from uncertainty_gk.synthetic import generate

    system = generate(n_mobile=24, n_frames=n_frames, n_seeds=2, D=0.3, rng=3)
    paths = [str(p) for p in system.write_lammps_dumps(tmp_path / "runs")]
    types_ = ",".join(f"{k}={v}" for k, v in system.types.items())
    return ["report", *paths, "-o", str(tmp_path / "rep"), "--types", types_, "--timestep-ps", "0.001",
            "--temperature-K", "800", "-q"]


def test_cli_report_end_to_end(tmp_path, capsys, monkeypatch):
    from uncertainty_gk.cli import main

    _use_stand_in_plots(monkeypatch)
    args = _report_args(tmp_path, 300) + ["--n-steps", "300", "--per-seed-steps", "150", "--include-flagged"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "report.html" in out
    page = (tmp_path / "rep" / "report.html").read_text()
    assert '<section id="diagnostics">' in page and "failed" in page         # overlapping walkers are flagged
    assert "included (--include-flagged)" in page
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--no-figures"]) == 0
    assert not (tmp_path / "rep" / "figures").exists()


def test_report_with_real_plots(report):
    """The figures of the real plotting module (skipped until uncertainty_gk.plots exists)."""
    pytest.importorskip("uncertainty_gk.plots", reason="uncertainty_gk.plots not available yet")
    if not REAL_PLOTS:
        pytest.skip("uncertainty_gk.plots has no report_figures/save_figure yet")
    names = set(report.figures)
    assert {"arrhenius", "forest_sigma", "forest_haven_ratio"} <= names, (names, report.problems)
    assert any(n.startswith("msd_") for n in names)
    page = report.html.read_text()
    for name in names:
        assert f'<figure id="fig-{name}">' in page


def test_cli_report_when_every_run_fails(tmp_path, capsys, monkeypatch):
    from uncertainty_gk.cli import main

    _use_stand_in_plots(monkeypatch)
    args = _report_args(tmp_path, 100) + ["--no-figures"]
    assert main(args) == 2                   # point walkers overlap: every run fails its diagnostics
    assert "--keep-going" in capsys.readouterr().err
    assert not (tmp_path / "rep").exists()
    assert main([*args, "--keep-going"]) == 1
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "diagnostics only" in page and "min_distance" in page
