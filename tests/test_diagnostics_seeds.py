"""Across-seed check: a seed whose σ_tr or σ disagrees with its siblings gets a seed_inconsistent warning."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from uncertainty_gk.diagnostics import RunDiagnosis
from uncertainty_gk.diagnostics.seeds import apply_seed_flags, check_seed_consistency
from uncertainty_gk.synthetic import generate


def _group(rng, n_seeds=3, n_frames=800, odd_D=None):
    runs = {f"s{i}": ds for i, ds in enumerate(generate(n_seeds=n_seeds, n_frames=n_frames, rng=rng).runs)}
    if odd_D is not None:
        odd = generate(n_seeds=1, n_frames=n_frames, D=odd_D, rng=rng + 1000).runs[0].copy()
        odd.attrs = dict(runs[f"s{n_seeds - 1}"].attrs)  # same labels (seed included): a sibling
        runs[f"s{n_seeds - 1}"] = odd
    return runs


def _check(runs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_seed_consistency(runs, **kw)


def test_odd_seed_is_flagged_as_warning_and_status_becomes_warning():
    runs = _group(1, n_seeds=4, odd_D=0.1)  # the siblings have D = 0.05 Å²/ps
    flags, groups = _check(runs)
    assert [n for n, f in flags.items() if f] == ["s3"]
    f = flags["s3"][0]
    assert f.check == "seed_inconsistent" and f.severity == "warning" and f.subject == "tracer"
    assert f.value > abs(f.threshold) > 2.5 and "siblings" in f.message
    assert groups[0]["per_seed"]["s3"]["tracer"]["flagged"]
    # applied to ok diagnoses: warning, trusted segment unchanged, JSON carries the flag
    diag = {n: RunDiagnosis.from_flags([], labels={"seed": i}, thresholds={"margin_ps": 1.0}, margin_ps=1.0,
                                       run_start_ps=0.0, run_end_ps=79.9) for i, n in enumerate(runs)}
    apply_seed_flags(diag, flags)
    assert diag["s3"].status == "warning" and diag["s0"].status == "ok"
    assert diag["s3"].trusted_until_ps == 79.9
    out = json.loads(diag["s3"].to_json())
    assert out["flags"][0]["check"] == "seed_inconsistent" and out["flags"][0]["time_ps"] is None


def test_trusted_segment_is_used_and_single_seeds_are_skipped():
    runs = _group(2, n_seeds=3, n_frames=600)
    d_short = RunDiagnosis.from_flags([], labels={}, thresholds={}, margin_ps=1.0, run_start_ps=0.0, run_end_ps=59.9)
    d_short.trusted_until_ps = 1.0  # 11 frames trusted: too few, the seed is left out
    d_short.status = "failed"
    flags, groups = _check(runs, diagnoses={"s0": d_short})
    assert groups[0]["seeds_used"] == ["s1", "s2"]
    single = {"s0": runs["s0"]}
    flags, groups = _check(single)
    assert flags == {"s0": []} and "skipped" in groups[0]


def _false_flag_rate(n_replicas):
    flagged = 0
    for r in range(n_replicas):
        flags, _ = _check(_group(100 + r, n_seeds=3))
        flagged += any(flags.values())
    return flagged / n_replicas


def test_homogeneous_groups_rarely_flagged_fast():
    assert _false_flag_rate(4) <= 0.25  # 4 replicas: at most one flagged group


@pytest.mark.slow
def test_homogeneous_groups_false_flag_rate():
    """40 homogeneous 3-seed groups: nominal family-wise level 1 % per quantity, ≤ ~5 % flagged."""
    assert _false_flag_rate(40) <= 0.075


def test_cli_diagnose_seed_check(tmp_path):
    pytest.importorskip("uncertainty_gk.cli")
    from uncertainty_gk.cli import build_parser

    p = build_parser()
    a = p.parse_args(["diagnose", "x.nc", "--no-seed-check"])
    assert a.no_seed_check and a.seed_alpha == 0.01
    a = p.parse_args(["diagnose", "x.nc", "--seed-alpha", "0.05"])
    assert not a.no_seed_check and a.seed_alpha == 0.05
    from uncertainty_gk.cli.options import settings_from_args

    assert np.isfinite(settings_from_args(a).margin_ps)
