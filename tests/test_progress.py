"""Progress bars: shown on request, silent when not a terminal or with --quiet."""

import numpy as np

from uncertainty_gk import progress, synthetic
from uncertainty_gk.analysis import analyse_group
from uncertainty_gk.settings import AnalysisSettings


def _runs():
    return synthetic.generate(n_mobile=24, n_frames=600, n_seeds=2, D=0.05, rng=3).runs


def test_enabled_follows_switches(monkeypatch):
    assert progress.progress_enabled(True) is True
    assert progress.progress_enabled(False) is False
    monkeypatch.setattr(progress, "QUIET", True)
    assert progress.progress_enabled(None) is False


def test_sampling_bar_on_request_only(capsys):
    runs = _runs()
    a = analyse_group(runs, AnalysisSettings(method="bayes", n_steps=300, seed=1, per_seed=False), show_progress=True)
    err = capsys.readouterr().err
    assert "sample" in err and "300" in err
    b = analyse_group(runs, AnalysisSettings(method="bayes", n_steps=300, seed=1, per_seed=False), show_progress=False)
    assert capsys.readouterr().err == ""
    # the bar does not change the numbers: same rng, same samples
    assert np.array_equal(a.quantities["sigma"].samples, b.quantities["sigma"].samples)


def test_not_a_terminal_is_quiet(capsys):
    analyse_group(_runs(), AnalysisSettings(n_steps=300, seed=1, per_seed=False))   # pytest's stderr is not a tty
    assert capsys.readouterr().err == ""
