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
