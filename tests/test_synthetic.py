"""Tests of uncertainty_gk.synthetic: known answers, reproducibility, dump files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from uncertainty_gk import synthetic, units
from uncertainty_gk.displacement import polarisation_msd, tracer_msd
from uncertainty_gk.schema import labels_of, validate


def slope(lag, msd, lo, hi):
    sel = (lag >= lo) & (lag <= hi)
    return np.polyfit(lag[sel], msd[sel], 1)[0]


def mean_msds(system):
    tr = np.mean([tracer_msd(ds)["msd"].sel(species="Li").values for ds in system.runs], axis=0)
    po = np.mean([polarisation_msd(ds)["msd"].values for ds in system.runs], axis=0)
    lag = tracer_msd(system.runs[0], chunk_atoms=1)["lag"].values
    return lag, tr, po


# --------------------------------------------------------------------------- structure
def test_runs_follow_schema_and_are_neutral():
    system = synthetic.generate(n_mobile=24, n_frames=[30, 20, 25], temperature_K=650.0, box_length=12.0, rng=0)
    assert [ds.sizes["time"] for ds in system.runs] == [30, 20, 25]
    for seed, ds in enumerate(system.runs):
        validate(ds, name=f"seed {seed}")
        assert ds.attrs["reader"] == "synthetic"
        assert ds.attrs["temperature_K"] == 650.0
        assert json.loads(ds.attrs["sources"]) == []
        assert labels_of(ds)["seed"] == seed
        assert abs(float(ds["charge"].sum())) < 1e-12
        assert int(ds["mobile"].sum()) == 24
        assert set(ds["species"].values[ds["mobile"].values]) == {"Li"}
        np.testing.assert_allclose(float(ds["volume"]), 12.0**3)
        np.testing.assert_allclose(np.diff(ds["time"].values), 0.1)
    counts = {s: int((system.runs[0]["species"] == s).sum()) for s in ("Li", "P", "O")}
    assert counts == {"Li": 24, "P": 8, "O": 32}
    # all seeds share the structure (same atoms, same start)
    np.testing.assert_array_equal(system.runs[0]["species"].values, system.runs[1]["species"].values)
    np.testing.assert_array_equal(system.runs[0]["positions"].values[0, system.runs[0]["mobile"].values],
                                  system.runs[1]["positions"].values[0, system.runs[1]["mobile"].values])


def test_framework_options():
    s = synthetic.generate(n_mobile=9, n_framework=15, n_frames=5, n_seeds=1, rng=0)
    assert s.params["framework"] == {"P": 3, "O": 12}
    s = synthetic.generate(n_mobile=4, framework={"S": 2}, n_frames=5, n_seeds=1, rng=0)
    assert abs(float(s.runs[0]["charge"].sum())) < 1e-12
    with pytest.raises(ValueError, match="nearby valid values"):
        synthetic.generate(n_mobile=9, n_framework=16, n_frames=5, rng=0)
    with pytest.raises(ValueError, match="not neutral"):
        synthetic.generate(n_mobile=4, framework={"O": 3}, n_frames=5, rng=0)
    with pytest.raises(ValueError, match="haven_ratio"):
        synthetic.generate(haven_ratio=0.3, rng=0)
    with pytest.raises(ValueError, match="n_seeds"):
        synthetic.generate(n_frames=[10, 10], n_seeds=3, rng=0)


def test_same_seed_same_numbers():
    kw = dict(n_mobile=12, n_frames=[40, 30], haven_ratio=0.5, rattle_amplitude=0.1, rattle_time_ps=0.2)
    a = synthetic.generate(**kw, rng=7)
    b = synthetic.generate(**kw, rng=np.random.default_rng(7))
    c = synthetic.generate(**kw, rng=8)
    for x, y in zip(a.runs, b.runs):
        np.testing.assert_array_equal(x["positions"].values, y["positions"].values)
    assert not np.array_equal(a.runs[0]["positions"].values, c.runs[0]["positions"].values)
    # seeds are different realisations
    assert not np.array_equal(a.runs[0]["positions"].values[1:30], a.runs[1]["positions"].values[1:30])


# --------------------------------------------------------------------------- truth
def test_truth_formulas():
    s = synthetic.generate(n_mobile=48, n_frames=5, temperature_K=700.0, box_length=15.0, D=0.08, rng=0)
    t = s.truth
    # independent SI computation of Nernst-Einstein
    n, q, D = 48, 1.0, 0.08
    V = (15.0e-10) ** 3
    sigma_tr_SI = n * (q * units.ELEMENTARY_CHARGE_C) ** 2 * (D * 1e-20 / 1e-12) / (V * units.BOLTZMANN_J_PER_K * 700.0)
    np.testing.assert_allclose(t["sigma_tr"], sigma_tr_SI / 100.0, rtol=1e-12)
    np.testing.assert_allclose(t["D_tr"], 0.08e-4, rtol=1e-12)
    assert t["haven_ratio"] == 1.0
    np.testing.assert_allclose(t["sigma"], t["sigma_tr"], rtol=1e-12)
    np.testing.assert_allclose(t["msd_slope"], 6 * 0.08)
    np.testing.assert_allclose(t["polarisation_msd_slope"], 6 * 0.08 * 48)


@pytest.mark.parametrize("requested, paired, expected", [(1.0, 0, 1.0), (0.5, 48, 0.5),
                                                         (2 / 3, 24, 2 / 3), (0.8, 12, 0.8)])
def test_haven_ratio_truth(requested, paired, expected):
    s = synthetic.generate(n_mobile=48, n_frames=3, haven_ratio=requested, rng=0)
    t = s.truth
    assert t["n_paired"] == paired
    f = paired / 48
    np.testing.assert_allclose(t["haven_ratio"], 1 / (1 + f), rtol=1e-12)
    np.testing.assert_allclose(t["haven_ratio"], expected, rtol=1e-12)
    np.testing.assert_allclose(t["sigma_tr"] / t["sigma"], t["haven_ratio"], rtol=1e-12)
    np.testing.assert_allclose(t["D_sigma"], t["D_tr"] / t["haven_ratio"], rtol=1e-12)


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("haven_ratio", [1.0, 0.5])
def test_sample_slopes_match_truth(haven_ratio):
    s = synthetic.generate(n_mobile=48, n_frames=8000, n_seeds=3, haven_ratio=haven_ratio, rattle_amplitude=0.3,
                           rattle_time_ps=0.2, drift_D=0.05, rng=11)
    lag, tr, po = mean_msds(s)
    assert slope(lag, tr, 1.0, 5.0) == pytest.approx(s.truth["msd_slope"], rel=0.10)
    assert slope(lag, po, 1.0, 5.0) == pytest.approx(s.truth["polarisation_msd_slope"], rel=0.10)
    # the Haven ratio from the sample slopes: tracer slope * N / collective slope
    ratio = slope(lag, tr, 1.0, 5.0) * 48 / slope(lag, po, 1.0, 5.0)
    assert ratio == pytest.approx(s.truth["haven_ratio"], rel=0.10)
    # short-time (rattle + vibration) regime follows the exact expectation
    k = slice(1, 30)
    np.testing.assert_allclose(tr[k], s.expected_tracer_msd(lag[k]), rtol=0.03)
    np.testing.assert_allclose(po[k], s.expected_polarisation_msd(lag[k]), rtol=0.05)


def test_rattle_makes_short_time_msd_nonlinear():
    s = synthetic.generate(n_mobile=48, n_frames=3000, n_seeds=1, rattle_amplitude=0.4, rattle_time_ps=0.3, rng=3)
    lag, tr, _ = mean_msds(s)
    short = tr[1] / lag[1]
    assert short > 3 * s.truth["msd_slope"]          # steep cage regime
    assert slope(lag, tr, 2.0, 10.0) == pytest.approx(s.truth["msd_slope"], rel=0.10)


def test_lattice_hops_give_the_same_D():
    s = synthetic.generate(n_mobile=48, n_frames=6000, n_seeds=2, walk="lattice", hop_length=2.0, rng=5)
    lag, tr, po = mean_msds(s)
    assert slope(lag, tr, 1.0, 5.0) == pytest.approx(s.truth["msd_slope"], rel=0.10)
    assert slope(lag, po, 1.0, 5.0) == pytest.approx(s.truth["polarisation_msd_slope"], rel=0.15)
    steps = np.abs(np.diff(s.runs[0]["positions"].values[:, s.runs[0]["mobile"].values], axis=0))
    assert steps.max() < 2.0 + 1.0                  # hops plus drift, no Gaussian tails


def test_framework_drifts_in_raw_positions():
    s = synthetic.generate(n_mobile=12, n_frames=2000, n_seeds=1, drift_D=0.05, rng=2)
    ds = s.runs[0]
    fw = ~ds["mobile"].values
    centre = ds["positions"].values[:, fw].mean(axis=1)
    assert np.linalg.norm(centre[-1] - centre[0]) > 1.0   # the analysis must remove this


# --------------------------------------------------------------------------- dump files
def test_write_lammps_dumps(tmp_path):
    s = synthetic.generate(n_mobile=6, n_frames=[4, 3], rng=1)
    paths = s.write_lammps_dumps(tmp_path, prefix="run")
    assert [p.name for p in paths] == ["run_seed0.lammpstrj", "run_seed1.lammpstrj"]
    assert s.types == {1: "Li", 2: "O", 3: "P"}
    lines = paths[1].read_text().splitlines()
    n_atoms = s.runs[1].sizes["atom"]
    assert lines[0] == "ITEM: TIMESTEP" and lines[3] == str(n_atoms)
    assert lines[8] == "ITEM: ATOMS id type xu yu zu"
    assert len(lines) == 3 * (9 + n_atoms)
    frame1 = lines[9 + n_atoms:2 * (9 + n_atoms)]
    assert int(frame1[1]) == int(s.runs[1]["step"][1])
    table = np.loadtxt(frame1[9:])
    ds = s.runs[1]
    np.testing.assert_array_equal(table[:, 0], ds["atom_id"].values)
    to_type = {v: k for k, v in s.types.items()}
    np.testing.assert_array_equal(table[:, 1], [to_type[x] for x in ds["species"].values])
    np.testing.assert_allclose(table[:, 2:], ds["positions"].values[1], atol=1e-8)
    box = np.loadtxt(frame1[5:8])
    np.testing.assert_allclose(box[:, 1], 14.0)


def test_arrhenius_campaign_truth_follows_arrhenius():
    from uncertainty_gk.units import BOLTZMANN_EV_PER_K

    runs, truth = synthetic.arrhenius_campaign({"a": (0.3, 0.05)}, [600.0, 1200.0], n_mobile=12,
                                               n_frames=20, n_seeds=2, rng=4)
    assert len(runs) == 4
    t600, t1200 = truth["a"][600.0], truth["a"][1200.0]
    # sigma*T ∝ exp(-E_a/kT): recover E_a from the exact answers
    e_a = -BOLTZMANN_EV_PER_K * np.log((t1200["sigma_tr"] * 1200) / (t600["sigma_tr"] * 600)) / (1 / 1200 - 1 / 600)
    assert abs(e_a - 0.3) < 1e-9
    labels = [json.loads(ds.attrs["labels"]) for ds in runs.values()]
    assert {(lab["model"], lab["temperature_K"]) for lab in labels} == {("a", 600.0), ("a", 1200.0)}
    with pytest.raises(ValueError, match="at least one model"):
        synthetic.arrhenius_campaign({}, [600.0])
