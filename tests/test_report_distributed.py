"""`ugk report` with its figures drawn on a real dask LocalCluster of 2 worker processes (no
mocks): the workers return each figure's bytes, the parent writes them; the report holds the
same figure files, byte for byte, as the single-process report."""

from __future__ import annotations

import base64
import re
import warnings

import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.campaign import Campaign
from uncertainty_gk.pipeline import analyse
from uncertainty_gk.report import write_report
from uncertainty_gk.results import save_results
from uncertainty_gk.settings import AnalysisSettings

dd = pytest.importorskip("dask.distributed")
pytest.importorskip("matplotlib")

SETTINGS = AnalysisSettings(seed=7321, n_steps=300, per_seed=False)


@pytest.fixture(scope="module")
def client():
    from uncertainty_gk.execution import local_client

    with local_client(2) as c:
        yield c


@pytest.fixture(scope="module")
def campaign():
    """One model at three temperatures, two seeds each: per-group, forest and Arrhenius figures."""
    runs, _ = synthetic.arrhenius_campaign({"a": (0.3, 0.08)}, [700, 850, 1000], rng=7322, n_mobile=24,
                                           n_frames=600, n_seeds=2)
    return Campaign(runs, source="distributed report test")


@pytest.fixture(scope="module")
def result(campaign):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(campaign, SETTINGS, show_progress=False)


def figure_files(out) -> dict:
    return {p.name: p.read_bytes() for p in sorted((out / "figures").iterdir())}


def embedded_pngs(out) -> list:
    page = (out / "report.html").read_text()
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_figures_on_workers_are_the_single_process_files(tmp_path, campaign, client):
    """The whole report (diagnoses, groups and figures) on the workers: the same figure
    files, byte for byte in PNG, PDF and SVG, in the same order on the page."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        here = write_report(campaign, tmp_path / "here", SETTINGS, show_progress=False)
        there = write_report(campaign, tmp_path / "there", SETTINGS, show_progress=False, client=client)
    assert here.figures == there.figures and len(here.figures) >= 10, (here.problems, there.problems)
    assert {"arrhenius", "forest_sigma"} <= set(here.figures)
    assert not there.problems
    a, b = figure_files(here.out_dir), figure_files(there.out_dir)
    assert set(a) == set(b) == {f"{n}.{ext}" for n in here.figures for ext in ("png", "pdf", "svg")}
    for name in a:
        assert a[name] == b[name], name
    assert embedded_pngs(here.out_dir) == embedded_pngs(there.out_dir)
    assert len(embedded_pngs(here.out_dir)) == len(here.figures)
    assert b"CreationDate" not in a[f"{here.figures[0]}.pdf"]        # reproducible: no date in the PDF
    assert (here.out_dir / "results.json").read_bytes() == (there.out_dir / "results.json").read_bytes()


def test_a_failed_figure_task_is_named_and_the_report_completes(tmp_path, result, client, monkeypatch):
    """A figure task that raises on a worker is listed with its group; every other figure is
    made and the report is written."""
    from uncertainty_gk.plots import report_items

    real = report_items.figure_tasks

    def with_a_broken_task(*args, **kwargs):
        tasks = real(*args, **kwargs)
        broken = next(t for t in tasks if t.kind == "running")
        broken.group = len(result.groups) + 5          # no such group: IndexError on the worker
        return tasks

    monkeypatch.setattr(report_items, "figure_tasks", with_a_broken_task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = write_report(result, tmp_path / "rep", show_progress=False, client=client)
    failed = [p for p in out.problems if p.startswith("figure running_")]
    assert len(failed) == 1 and "(group " in failed[0] and "IndexError" in failed[0]
    label = re.search(r"\(group ([^)]*)\)", failed[0]).group(1)
    assert any(label == report_items.style.label_text(g.labels) for g in result.groups)
    assert "arrhenius" in out.figures and sum(n.startswith("running_") for n in out.figures) == 2
    assert out.html.exists() and set(figure_files(out.out_dir)) == \
        {f"{n}.{ext}" for n in out.figures for ext in ("png", "pdf", "svg")}


def test_cli_report_from_results_on_a_running_scheduler(tmp_path, result, client, capsys):
    from uncertainty_gk.cli import main

    from uncertainty_gk.results import AnalysisResult

    one = AnalysisResult(result.groups[:1], result.provenance)      # one group: 3 figures
    save_results(one, tmp_path / "res.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["report", str(tmp_path / "res.nc"), "-o", str(tmp_path / "a"), "-q"]) == 0
        assert main(["report", str(tmp_path / "res.nc"), "-o", str(tmp_path / "b"), "-q",
                     "--scheduler", client.scheduler.address]) == 0
    out = capsys.readouterr().out
    assert "figures" in out
    assert figure_files(tmp_path / "a") == figure_files(tmp_path / "b")
    assert main(["report", str(tmp_path / "res.nc"), "-o", str(tmp_path / "c"), "--workers", "2",
                 "--scheduler", client.scheduler.address]) == 2
    assert "not both" in capsys.readouterr().err


def test_thermo_figure_is_drawn_on_a_worker_from_series_read_here(client):
    """The thermo figure needs the runs' logs, which a worker may not be able to open: the
    series are read here (ThermoData) and the figure drawn on a worker, with no campaign;
    the files are the bytes of the figure drawn here from the campaign."""
    from dataclasses import replace

    from conftest import EXAMPLES

    from uncertainty_gk.diagnostics import diagnose
    from uncertainty_gk.archive import load_runs
    from uncertainty_gk.plots.report_items import figure_inputs, figure_tasks, render_figure
    from uncertainty_gk.plots.thermo import thermo_data

    camp = load_runs(EXAMPLES / "lpso_T1000" / "campaign.toml")
    diag = {name: diagnose(ds) for name, ds in camp.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyse(camp, SETTINGS, show_progress=False)
    (task,) = [t for t in figure_tasks(camp, res, diagnoses=diag) if t.kind == "thermo"]
    inputs = figure_inputs(camp, res, diagnoses=diag)
    here = render_figure(task, inputs)
    remote = replace(inputs, campaign=None, thermo=thermo_data(camp, diag, max_runs=task.max_runs))
    there = client.submit(render_figure, task, remote, pure=False).result()
    assert there.left_out is None and set(there.files) == {"png", "pdf", "svg"}
    assert there.files == here.files
    with pytest.raises(AttributeError):            # and the worker really had no campaign to read
        render_figure(task, replace(inputs, campaign=None))
