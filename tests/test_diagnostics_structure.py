"""Trajectory-only failure checks on synthetic crystals with injected, known failures."""

from __future__ import annotations

import numpy as np
import pytest
from test_diagnostics_helpers import crystal_dataset, crystal_positions

from uncertainty_gk.diagnostics import diagnose
from uncertainty_gk.diagnostics.structure import (
    cell_heights, check_framework, check_jumps, check_nan_positions, periodic_pairs, rdf_window,
)


def brute_force_pairs(pos, cell, r_max):
    """All (i <= j, image) pairs closer than r_max by looping over 5^3 images (reference)."""
    inv = np.linalg.inv(cell)
    frac = pos @ inv
    frac -= np.floor(frac)
    wrapped = frac @ cell
    out = []
    rng = range(-2, 3)
    shifts = np.array([(a, b, c) for a in rng for b in rng for c in rng]) @ cell
    n = len(pos)
    for i in range(n):
        for j in range(i, n):
            d = np.linalg.norm(wrapped[j] + shifts - wrapped[i], axis=1)
            for dd in d:
                if 1e-9 < dd < r_max:
                    out.append((i, j, round(float(dd), 9)))
    # each self-image and each i<j image appears once per image vector; self-images twice (n, -n)
    res = {}
    for i, j, dd in out:
        res[(i, j, dd)] = res.get((i, j, dd), 0) + 1
    return sorted((i, j, dd) for (i, j, dd), c in res.items() for _ in range(c if i != j else c // 2))


@pytest.mark.parametrize("cell", [
    np.diag([7.0, 8.0, 9.0]),
    np.array([[7.0, 0.0, 0.0], [2.0, 7.5, 0.0], [1.0, 1.5, 8.0]]),  # triclinic
])
def test_periodic_pairs_match_brute_force(cell):
    rng = np.random.default_rng(3)
    pos = rng.uniform(-5, 15, size=(40, 3))  # unwrapped, outside the cell on purpose
    r_max = 0.95 * cell_heights(cell).min() / 2
    i, j, d = periodic_pairs(pos, cell, r_max)
    got = sorted(zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), np.round(d, 9).tolist()))
    assert got == brute_force_pairs(pos, cell, r_max)


def test_periodic_pairs_handles_radius_larger_than_cell():
    # two atoms 2.5 Å apart in a 5 Å cube, radius 5.6 Å: each atom sees its 6 face images (3 pairs
    # each, n and -n being one pair), the pair appears at 2.5 Å twice and at sqrt(2.5² + 5²) 8 times
    i, j, d = periodic_pairs(np.array([[0.0, 0.0, 0.0], [2.5, 0.0, 0.0]]), np.eye(3) * 5.0, 5.6)
    assert sorted(np.round(d, 9).tolist()) == [2.5, 2.5] + [5.0] * 6 + [np.hypot(2.5, 5.0).round(9)] * 8


def test_clean_crystal_is_ok():
    d = diagnose(crystal_dataset(120))
    assert d.status == "ok", d.summary()
    assert d.first_flag_time_ps is None
    assert d.trusted_until_ps == pytest.approx(119 * 0.02)


def test_close_contact_flagged_at_its_frame():
    pos, species, cell = crystal_positions(150)
    li = np.nonzero(species == "Li")[0][0]
    o = np.nonzero(species == "O")[0][0]
    k = 97
    pos[k:, li] = pos[k:, o] + [0.55, 0.0, 0.0]  # Li sits 0.55 Å from an O from frame 97 on
    ds = crystal_dataset(150, positions=pos)
    # stride 8 + refinement must still find the exact first frame
    d = diagnose(ds, stride=8)
    assert d.status == "failed"
    f = [x for x in d.flags_of("min_distance") if x.subject == "Li-O"]
    assert f  # (the moved Li may also come close to other atoms, flagged at the same frame)
    assert f[0].time_ps == pytest.approx(k * 0.02)
    assert f[0].value == pytest.approx(0.55, abs=0.01)
    assert d.first_flag_time_ps == pytest.approx(k * 0.02)
    assert d.trusted_until_ps == pytest.approx(k * 0.02 - 1.0)
    assert d.thresholds["subsample"]["neighbour_stride"] == 8
    assert d.thresholds["subsample"]["refined_frames"] > 0


def test_broken_tetrahedron_flagged():
    pos, species, cell = crystal_positions(120)
    p = np.nonzero(species == "P")[0][0]
    o = p + 1  # the first O of that tetrahedron
    k = 60
    direction = pos[0, o] - pos[0, p]
    pos[k:, o] += 1.0 * direction / np.linalg.norm(direction)  # P-O 1.55 -> 2.55 Å, cutoff 2.08
    d = diagnose(crystal_dataset(120, positions=pos))
    f = d.flags_of("coordination")
    assert f and f[0].subject == "PO"
    assert f[0].time_ps == pytest.approx(k * 0.02)
    assert f[0].value == 1
    assert d.status == "failed"


def test_drifting_framework_atom():
    pos, species, cell = crystal_positions(200)
    p = np.nonzero(species == "P")[0][3]
    k = 50
    pos[k:, p] += np.outer(np.arange(200 - k) * 0.05, [1.0, 0.0, 0.0])  # 0.05 Å per frame from frame 50
    ds = crystal_dataset(200, positions=pos)
    flags = check_framework(ds, displacement_A=5.0, msd_A2=1.0)
    disp = [f for f in flags if f.check == "framework_displacement"]
    assert disp
    # 5 Å after 100 frames of drift (plus the centroid correction of 1/24 of it)
    assert disp[0].time_ps == pytest.approx((k + 100) * 0.02, abs=6 * 0.02)
    assert "P" in disp[0].message
    assert diagnose(ds).status == "failed"


def test_framework_msd_growth_above_plateau():
    """A framework that starts to diffuse mid-run is caught by its MSD growth above the vibrational plateau."""
    pos, species, cell = crystal_positions(300)
    rng = np.random.default_rng(3)
    fw = np.nonzero(species != "Li")[0]
    k = 150  # frame 150 = 3 ps; D = 0.1 Å²/ps random walk of every framework atom from there
    steps = rng.standard_normal((300 - k, len(fw), 3)) * np.sqrt(2 * 0.1 * 0.02)
    pos[k:, fw] += np.cumsum(steps, axis=0)
    ds = crystal_dataset(300, positions=pos)
    stats = {}
    flags = check_framework(ds, displacement_A=5.0, msd_A2=1.0, growth_A2=0.35, reference_frames=50, stats=stats)
    growth = [f for f in flags if f.subject == "growth"]
    assert growth and growth[0].check == "framework_msd"
    # MSD grows by 0.6 Å²/ps: +0.35 Å² after ~0.6 ps
    assert k * 0.02 < growth[0].time_ps < k * 0.02 + 1.0
    assert not [f for f in flags if f.subject == "framework" and f.check == "framework_msd"
                and f.time_ps < growth[0].time_ps]  # the absolute check is slower
    assert stats["framework_msd_plateau_A2"] < 0.02
    # the clean crystal: growth stays near zero
    clean = crystal_dataset(300)
    stats = {}
    assert check_framework(clean, displacement_A=5.0, msd_A2=1.0, growth_A2=0.35, reference_frames=50,
                           stats=stats) == []
    assert stats["framework_max_msd_growth_A2"] < 0.01


def test_nan_positions():
    pos, species, cell = crystal_positions(80)
    pos[33:, 5, 1] = np.nan
    ds = crystal_dataset(80, positions=pos)
    f = check_nan_positions(ds, chunk_frames=10)
    assert len(f) == 1 and f[0].time_ps == pytest.approx(33 * 0.02) and f[0].count == 80 - 33
    d = diagnose(ds)
    assert d.status == "failed" and d.first_flag_time_ps == pytest.approx(33 * 0.02)


def test_unphysical_jump():
    pos, species, cell = crystal_positions(80)
    pos[40:, 0] += [2.0, 0.0, 0.0]  # a P teleports 2 Å in 20 fs
    ds = crystal_dataset(80, positions=pos)
    f = check_jumps(ds, temperature_K=300.0, jump_factor=10.0, chunk_frames=7)  # chunk edge handling
    assert len(f) == 1 and f[0].time_ps == pytest.approx(40 * 0.02) and f[0].value == pytest.approx(2.0, abs=0.2)
    assert check_jumps(crystal_dataset(80), temperature_K=300.0, jump_factor=10.0) == []


def test_rdf_is_one_for_an_ideal_gas_and_drift_flags_melting():
    rng = np.random.default_rng(5)
    cell = np.eye(3) * 12.0
    gas = rng.uniform(0, 12, size=(40, 300, 3))
    ds_gas = crystal_dataset(40, positions=gas[:, :64], cell=cell)
    g = rdf_window(ds_gas, np.arange(40), r_max=6.0, dr=0.5)
    assert np.mean(g[4:]) == pytest.approx(1.0, abs=0.1)
    # a crystal that becomes a random gas after 2 ps: the RDF drift check must fire
    pos, species, cell2 = crystal_positions(200)
    pos[100:] = rng.uniform(0, 11, size=(100, pos.shape[1], 3))
    d = diagnose(crystal_dataset(200, positions=pos), skip=("min_distance", "coordination", "jump",
                                                            "framework"))
    f = d.flags_of("rdf_drift")
    assert f and f[0].time_ps == pytest.approx(2.0, abs=1e-9) and f[0].value > 1.0
