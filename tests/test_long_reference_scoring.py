"""The scoring rule of the long-reference and side-by-side studies, and their generated docs.

``studies/long_reference/scoring.py`` widens a piece's interval by the reference's own
standard error; for independent log-normal estimates with correct intervals this must
cover at the nominal rate whatever the reference's precision, and ignoring the
reference's error must under-cover.  The two generated docs must be exactly what their
scripts make from the committed raw rows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "studies" / "long_reference"))

import scoring  # noqa: E402


def _rows(rng, n, s_piece, s_ref):
    """n independent (piece, reference) pairs around a true value 1, both log-normal with correct intervals."""
    z95, z68 = 1.959963984540054, 0.994457883209753
    m = np.exp(rng.normal(0.0, s_piece, n))
    r = np.exp(rng.normal(0.0, s_ref, n))
    pieces = pd.DataFrame({"length_ps": 50.0, "piece": np.arange(n), "quantity": "sigma", "method": "x",
                           "median": m, "lo95": m * np.exp(-z95 * s_piece), "hi95": m * np.exp(z95 * s_piece),
                           "lo68": m * np.exp(-z68 * s_piece), "hi68": m * np.exp(z68 * s_piece)})
    refs = pd.DataFrame({"length_ps": 50.0, "piece": np.arange(n), "quantity": "sigma", "median": r,
                         "lo68": r * np.exp(-z68 * s_ref), "hi68": r * np.exp(z68 * s_ref)})
    return pieces, refs


@pytest.mark.parametrize("s_ref", [0.02, 0.1])
def test_widened_coverage_is_nominal_and_raw_undercovers(s_ref):
    pieces, refs = _rows(np.random.default_rng(7), 4000, 0.1, s_ref)
    s = scoring.score(pieces, refs, by=["method", "quantity"]).iloc[0]
    assert abs(s.cov95 - 0.95) < 0.015 and abs(s.cov68 - 0.68) < 0.025
    if s_ref >= 0.1:                                  # reference as noisy as the piece: ignoring it under-covers
        assert s.cov95_raw < 0.88
    assert abs(s.ref_se - s_ref) < 1e-9


def test_linear_fallback_for_interval_reaching_zero():
    row = {"median": 0.2, "lo95": -0.1, "hi95": 0.5, "lo68": 0.05, "hi68": 0.35}
    assert scoring.covers(row, 0.45, 0.0, "95") and not scoring.covers(row, 0.6, 0.0, "95")
    assert scoring.covers(row, 0.6, 0.5, "95")        # the reference's error widens the interval


@pytest.mark.parametrize("script", ["studies/long_reference/make_doc.py", "studies/side_by_side/make_table.py"])
def test_generated_docs_are_up_to_date(script):
    if not (ROOT / "studies/long_reference/results_pieces.csv.gz").exists():
        pytest.skip("no raw rows committed yet")
    r = subprocess.run([sys.executable, str(ROOT / script), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_oracle_coverage_and_widening_match_a_simulation_scored_by_the_rule():
    """docs/long_reference.md's oracle (session 32): its analytic coverage of fixed references by estimates
    centred off them by b is what scoring.covers gives on simulated pieces, and the widening it reports
    for 0.90 makes the simulated pieces cover 0.90."""
    import make_doc

    rng = np.random.default_rng(11)
    n_pieces, reps = 12, 4000
    se_p = rng.uniform(0.05, 0.08, n_pieces)
    se_r = rng.uniform(0.03, 0.05, n_pieces)
    b = rng.uniform(0.05, 0.15, n_pieces)                  # an oracle above its references, as on the pieces
    z95, z68 = scoring.LEVELS["95"], scoring.LEVELS["68"]

    def simulated(widen):
        hits = 0
        for k in range(n_pieces):
            m = np.exp(b[k] + rng.normal(0.0, se_p[k], reps))
            w95, w68 = np.exp(z95 * widen * se_p[k]), np.exp(z68 * widen * se_p[k])
            for mk in m:
                hits += scoring.covers({"median": mk, "lo95": mk / w95, "hi95": mk * w95,
                                        "lo68": mk / w68, "hi68": mk * w68}, 1.0, se_r[k], "95")
        return hits / (n_pieces * reps)

    analytic = make_doc.oracle_coverage(b, se_p, se_r, z95)
    assert analytic < 0.90
    assert abs(simulated(1.0) - analytic) < 0.01               # s.e. of the simulation ~0.002
    f = make_doc.widening(b, se_p, se_r, 0.90)
    assert f > 1.05 and abs(simulated(f) - 0.90) < 0.01
    assert make_doc.widening(np.zeros(n_pieces), se_p, se_r, 0.90) == 1.0   # an unbiased oracle needs none
