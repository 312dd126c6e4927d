"""Tables: the PDG rounding rule, the table formats, and ``ugk table``."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from uncertainty_gk.errors import UGKError
from uncertainty_gk.results import AnalysisResult, Estimate, GroupResult, SeedResult
from uncertainty_gk.tables import (Column, Table, arrhenius_table, comparison_table, diagnostics_table,
                                   latex_escape, results_table, round_uncertainty, seeds_table)


def sym(value, err):
    return round_uncertainty(value, value - err, value + err)


# --------------------------------------------------------------------------- PDG rule
@pytest.mark.parametrize("value, err, expected", [
    (0.8273, 0.0127, "0.827 ± 0.013"),      # leading digits 127: two significant digits
    (1.2345, 0.0456, "1.23 ± 0.05"),        # 456: one digit
    (1.2345, 0.0354, "1.235 ± 0.035"),      # 354: still two digits
    (1.2345, 0.0355, "1.23 ± 0.04"),        # 355: one digit
    (1.2345, 0.0949, "1.23 ± 0.09"),        # 949: one digit
    (1.2345, 0.0950, "1.23 ± 0.10"),        # 950: rounded up to 1000, two digits
    (1.2345, 0.0996, "1.23 ± 0.10"),
    (1234.5, 45.6, "1230 ± 50"),
    (1234.5, 12.3, "1235 ± 12"),           # value rounded half up
    (0.0, 0.0123, "0.000 ± 0.012"),
    (-0.5, 0.123, "−0.50 ± 0.12"),
])
def test_pdg_rule_symmetric(value, err, expected):
    assert sym(value, err).text() == expected


def test_pdg_rule_asymmetric_uses_smaller_half_width():
    r = round_uncertainty(0.27, 0.15, 0.47)             # half-widths 0.12 (two digits) and 0.20
    assert r.text() == "0.27 (+0.20/−0.12)"
    assert r.latex() == "$0.27^{+0.20}_{-0.12}$"
    # the smaller half-width decides the place even when it is the upper one
    assert round_uncertainty(2.0, 1.9, 2.0123).text() == "2.000 (+0.012/−0.100)"


def test_small_values_use_a_common_power_of_ten():
    r = round_uncertainty(1.15e-5, 1.09e-5, 1.20e-5)
    assert r.text() == "1.15 (+0.05/−0.06) × 10⁻⁵"
    assert r.latex() == r"$1.15^{+0.05}_{-0.06} \times 10^{-5}$"
    assert "10<sup>−5</sup>" in r.html()
    assert sym(2.7e-4, 1.2e-5).text() == "(2.70 ± 0.12) × 10⁻⁴"
    assert sym(2.7e-4, 1.2e-5).latex() == r"$(2.70 \pm 0.12) \times 10^{-4}$"
    assert sym(3.0e5, 1.2e4).text() == "(3.00 ± 0.12) × 10⁵"
    assert sym(0.0123, 0.0011).text() == "0.0123 ± 0.0011"      # 10^-2 stays plain


def test_bounds_only_and_missing():
    assert round_uncertainty(float("nan"), 0.0, 0.36758).text() == "< 0.37"      # unresolved σ
    assert round_uncertainty(None, 0.3589, float("inf")).text() == "> 0.36"      # H_R lower bound
    assert round_uncertainty(None, None, 2.367e-5).latex() == r"$< 2.4 \times 10^{-5}$"
    assert round_uncertainty(None, None, None).text() == "–"
    assert round_uncertainty(0.5, None, 0.7).text() == "0.50 (+0.20/−∞)"


def test_zero_width_and_no_interval():
    assert round_uncertainty(1.0, 1.0, 1.0).text() == "1.00 ± 0"
    assert round_uncertainty(0.27123, None, None).text() == "0.271"
    # one zero half-width: the other decides
    assert round_uncertainty(1.0, 1.0, 1.0123).text() == "1.000 (+0.012/−0.000)"


def test_skewed_interval_shown_as_bounds():
    r = round_uncertainty(2.3e-8, 1.0e-10, 1.98896e-4)
    assert r.kind == "range"
    assert r.text() == "2.3 × 10⁻⁸ [1.0 × 10⁻¹⁰, 2.0 × 10⁻⁴]"
    assert r.latex().startswith(r"$2.3 \times 10^{-8}\ [")


def test_value_outside_interval_is_not_hidden():
    r = round_uncertainty(1.0, 1.2, 1.5)
    assert r.kind == "range" and r.text() == "1.00 [1.20, 1.50]"


# --------------------------------------------------------------------------- tables
def _estimate(med, lo, hi, units="S/cm"):
    return Estimate(med, lo, hi, 0.95, units, "bayes", samples=np.linspace(lo, hi, 50))


def _result():
    runs = [{"run": f"r{m}{s}", "labels": {"model": m, "seed": s, "temperature_K": 800.0}, "status": st,
             "first_flag_time_ps": t, "trusted_until_ps": None if t is None else t - 1, "action": act,
             "flags": [] if t is None else [{"check": "min_distance", "subject": "Li-O", "severity": "failed",
                                             "time_ps": t, "message": "Li-O 0.4 Å < 1.0 Å", "count": 2}]}
            for m in ("a_b", "c") for s, st, t, act in ((1, "ok", None, "kept"), (2, "failed", 12.5, "truncated"))]
    groups = []
    for i, m in enumerate(("a_b", "c")):
        q = {"sigma": _estimate(0.27 + i, 0.15 + i, 0.47 + i), "sigma_tr": _estimate(0.2721, 0.2602, 0.2853),
             "haven_ratio": Estimate(float("nan"), 0.36, float("inf"), 0.95, "1", "bayes"),
             "D_tr": _estimate(1.15e-5, 1.09e-5, 1.20e-5, "cm^2/s")}
        seeds = [SeedResult(f"r{m}{s}", {"seed": s}, {k: q[k] for k in ("sigma", "sigma_tr", "D_tr")},
                            flagged=(s == 2), z_scores={"tracer": 0.5 * s, "polarisation": -0.2})
                 for s in (1, 2)]
        groups.append(GroupResult(labels={"model": m, "temperature_K": 800.0}, n_seeds=2, window_ps=[3.32, 10.0],
                                  method="bayes", quantities=q, seeds=seeds,
                                  run_status=[r for r in runs if r["labels"]["model"] == m]))
    return AnalysisResult(groups, provenance={"diagnostics": runs})


def test_results_table_formats():
    t = results_table(_result())
    md = t.to_markdown()
    assert "| model | T (K) | seeds | window (ps) | σ (S/cm) |" in md
    assert "0.27 (+0.20/−0.12)" in md and "< 0.37" not in md and "> 0.36" in md
    assert "1.15 (+0.05/−0.06) × 10⁻⁵" in md and "a_b" in md
    tex = t.to_latex()
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"$\sigma$ (S/cm)",
                  r"$D^*$ (cm$^{2}$/s)", r"$0.27^{+0.20}_{-0.12}$", r"a\_b"):
        assert token in tex
    assert tex.count(r" \\") == 1 + len(t.rows)
    assert "<table>" in t.to_html() and "status" not in t.to_html()


def test_csv_round_trips_full_precision():
    res = _result()
    rows = list(csv.DictReader(io.StringIO(results_table(res).to_csv())))
    assert len(rows) == 2
    for row, g in zip(rows, res.groups):
        for key in ("sigma", "sigma_tr", "D_tr"):
            unit = g.quantities[key].units
            e = g.quantities[key]
            assert float(row[f"{key} ({unit})"]) == e.median
            assert float(row[f"{key}_lower ({unit})"]) == e.lower
            assert float(row[f"{key}_upper ({unit})"]) == e.upper
        assert row["haven_ratio"] == "" and row["haven_ratio_upper"] == "inf"
        assert float(row["window_start (ps)"]) == 3.32
        assert row["runs_truncated"] == "1"


def test_seeds_and_diagnostics_tables():
    res = _result()
    st = seeds_table(res)
    assert len(st.rows) == 4
    md = st.to_markdown()
    assert "z (polarisation)" in md and "+1.00" in md and "| yes |" in md
    assert "| run |" not in md and "ra_b2" not in md          # run names: CSV only
    assert "ra_b2" in st.to_csv()
    dt = diagnostics_table(res.provenance["diagnostics"])
    md = dt.to_markdown()
    assert "min_distance [Li-O] (failed) at 12.5 ps" in md and "truncated" in md
    assert "status-failed" in dt.to_html()


def test_comparison_and_arrhenius_tables():
    from uncertainty_gk.arrhenius import arrhenius_fit
    from uncertainty_gk.compare import compare
    from uncertainty_gk.units import BOLTZMANN_EV_PER_K

    res = _result()
    cmp = compare(res, by="model")
    t = comparison_table(cmp)
    assert len(t.rows) == 6 and "P(> c)" in t.to_markdown()
    header = t.to_csv().splitlines()[0]
    assert "estimate_lower" in header and "P_greater_c" in header

    rng = np.random.default_rng(0)
    T = np.array([600.0, 800.0, 1000.0])
    sig = 1e3 / T * np.exp(-0.3 / (BOLTZMANN_EV_PER_K * T))
    fit = arrhenius_fit((T, [s * np.exp(rng.normal(0, 0.05, 2000)) for s in sig]), rng=1, labels={"model": "x"})
    at = arrhenius_table([fit], refused=[({"model": "y"}, "curved")])
    md = at.to_markdown()
    assert "E_a (eV)" in md and "not credible" in md and "refused: curved" in md
    assert r"$E_a$ (eV)" in at.to_latex()


def test_latex_escape():
    assert latex_escape("a_b & 50% #1 {x} ~^\\") == \
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    assert latex_escape("σ ≥ 2 Å") == r"$\sigma$ $\ge$ 2 \AA{}"


def test_write_by_suffix_and_refuse_overwrite(tmp_path):
    t = Table([Column("x", "x", "K", "number"), Column("y", "y", kind="interval")],
              [[1.5, (0.27, 0.15, 0.47)]], caption="c", notes=["n"])
    for ext, marker in ((".csv", "x (K),y,y_lower,y_upper"), (".md", "**c**"), (".tex", r"\toprule")):
        p = t.write(tmp_path / f"t{ext}")
        assert marker in p.read_text()
    with pytest.raises(UGKError, match="already exists.*overwrite"):
        t.write(tmp_path / "t.csv")
    t.write(tmp_path / "t.csv", overwrite=True)
    with pytest.raises(UGKError, match="unknown table format"):
        t.write(tmp_path / "t.xlsx")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]     # no temporary files left


def test_cli_table(tmp_path, capsys):
    from uncertainty_gk.cli import main
    from uncertainty_gk.synthetic import generate

    system = generate(n_mobile=24, n_frames=300, n_seeds=2, D=0.3, rng=3)
    paths = system.write_lammps_dumps(tmp_path)
    types = ",".join(f"{k}={v}" for k, v in system.types.items())
    common = ["--types", types, "--timestep-ps", "0.001", "--temperature-K", "800", "--n-steps", "300",
              "--per-seed-steps", "100", "-q", "--include-flagged"]     # point walkers overlap: diagnostics would fail them
    out = tmp_path / "res.csv"
    assert main(["table", "results", *map(str, paths), "-o", str(out), *common]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and math.isfinite(float(rows[0]["sigma_tr (S/cm)"]))
    assert main(["table", "results", *map(str, paths), "-o", str(out), *common]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["table", "diagnostics", *map(str, paths), *common]) == 0
    assert "| run |" in capsys.readouterr().out
