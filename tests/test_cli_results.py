"""`ugk analyze -o results.nc` once, then every other command reads it without analysing again."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.archive import write_archive
from uncertainty_gk.cli import main
from uncertainty_gk.results import load_results


def _relabel(ds, **labels):
    ds = ds.copy()
    lab = json.loads(ds.attrs["labels"]) | labels
    ds.attrs["labels"] = json.dumps(lab)
    ds.attrs["run_name"] = "_".join(f"{v}" for v in lab.values())
    return ds


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_results")
    runs = {}
    for model, D, seed in (("fast", 0.06, 1), ("slow", 0.03, 2)):
        for i, ds in enumerate(synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, D=D, rng=seed).runs):
            ds = _relabel(ds, model=model, seed=i)
            runs[ds.attrs["run_name"]] = ds
    arch = tmp / "c.nc"
    write_archive(runs, arch, show_progress=False)
    res = tmp / "r.nc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["analyze", str(arch), "-o", str(res), "--n-steps", "300", "--per-seed-steps", "200",
                     "--seed", "3", "-q"]) == 0
    return tmp, arch, res


def test_results_file_feeds_every_command_without_analysing(analysed, capsys, monkeypatch):
    tmp, _, res = analysed
    capsys.readouterr()
    import uncertainty_gk.analysis as core

    def forbidden(*a, **k):
        raise AssertionError("the analysis ran again")

    monkeypatch.setattr(core, "analyse_runs", forbidden)
    monkeypatch.setattr(core, "analyse_group", forbidden)
    assert main(["compare", str(res), "--by", "model"]) == 0
    out = capsys.readouterr().out
    assert out.count("P(σ_tr[fast] > σ_tr[slow])") == 1          # each pair once
    assert main(["table", "results", str(res), "-o", str(tmp / "t.csv")]) == 0
    assert main(["plot", "msd", str(res), "--select", "model=fast", "-o", str(tmp / "m.png")]) == 0
    assert main(["plot", "running", str(res), "--group", "1", "-o", str(tmp / "r.png")]) == 0
    assert (tmp / "m.png").stat().st_size > 1000 and (tmp / "r.png").stat().st_size > 1000
    assert main(["report", str(res), "-o", str(tmp / "rep"), "--no-figures", "-q"]) == 0
    assert (tmp / "rep" / "report.html").exists()
    # `analyze` of a results file shows them as stored, and says that they were not recomputed
    capsys.readouterr()
    assert main(["analyze", str(res), "-q"]) == 0
    got = capsys.readouterr()
    assert "holds results computed before" in got.err and "not recomputed" in got.err
    assert "σ_tr" in got.out
    assert main(["compare", str(res), "--by", "model"]) == 0
    assert "computed before" not in capsys.readouterr().err          # reading results is what compare is for


def test_results_file_refuses_options_that_would_change_it(analysed, capsys):
    _, _, res = analysed
    assert main(["compare", str(res), "--window", "1", "5"]) == 2
    assert "cannot change them" in capsys.readouterr().err


def test_settings_from_reproduces_bit_for_bit(analysed, tmp_path):
    _, arch, res = analysed
    again = tmp_path / "again.nc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["analyze", str(arch), "--settings-from", str(res), "-o", str(again), "-q"]) == 0
    a, b = load_results(res), load_results(again)
    assert a.provenance["settings"] == b.provenance["settings"]
    for ga, gb in zip(a.groups, b.groups):
        for m in ga.draws:
            for k in ga.draws[m]:
                np.testing.assert_array_equal(ga.draws[m][k], gb.draws[m][k])


def test_programming_errors_are_not_dressed_as_bad_input(analysed, capsys, monkeypatch):
    """Only UGKError and OSError become one-line errors; a bug shows its traceback (exit 70)."""
    _, _, res = analysed
    import uncertainty_gk.compare as cmp

    monkeypatch.setattr(cmp, "compare", lambda *a, **k: {}["missing"])
    assert main(["compare", str(res)]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err and "please report" in err
