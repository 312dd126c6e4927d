"""Periodic neighbour lists: exact against brute force, and the diagnostics built on them
unchanged against the pre-issue-13 implementation (benchmarks/reference_structure_c84a6c9.py)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from test_diagnostics_helpers import crystal_dataset, crystal_positions

from uncertainty_gk.diagnostics import diagnose
from uncertainty_gk.diagnostics import neighbours as nb
from uncertainty_gk.diagnostics import structure
from uncertainty_gk.diagnostics.neighbours import cell_heights, iter_block_pairs, pairs_involving, periodic_pairs

CELLS = {
    "orthogonal": np.diag([7.0, 8.0, 9.0]),
    "triclinic": np.array([[7.0, 0.0, 0.0], [2.0, 7.5, 0.0], [1.0, 1.5, 8.0]]),
    "strongly skewed": np.array([[6.0, 0.0, 0.0], [5.5, 3.0, 0.0], [4.0, 2.5, 2.5]]),  # 66° / 73° tilts
    "skewed, negative tilts": np.array([[6.5, 0.0, 0.0], [-5.0, 4.0, 0.0], [-2.0, -3.5, 3.0]]),
}
RADIUS_FRACTIONS = (0.3, 0.49, 0.8, 1.7)  # of the smallest cell width: below, at, beyond half; beyond one


def brute_force(pos, cell, r_max):
    """Every (i <= j, lattice shift) with |x_j + n·cell - x_i| <= r_max, by looping over all shifts.

    Keeps (i, j, n) for i < j and, for i == j, one of n and -n; returns sorted (i, j, d).
    """
    inv = np.linalg.inv(cell)
    frac = pos @ inv
    wrapped = (frac - np.floor(frac)) @ cell
    k = np.ceil(r_max / cell_heights(cell)).astype(int) + 1
    shifts = np.array(list(itertools.product(*[range(-m, m + 1) for m in k])))
    out = []
    for i in range(len(pos)):
        for j in range(i, len(pos)):
            d = np.linalg.norm(wrapped[j] + shifts @ cell - wrapped[i], axis=1)
            for s, dd in zip(shifts, d):
                if dd <= r_max and (j > i or tuple(s) > (0, 0, 0)):
                    out.append((i, j, float(dd)))
    return sorted(out)


def assert_same_pairs(got, expected):
    """Same (i, j) multiset and distances within 1e-9 Å (no rounding-boundary flukes)."""
    a, b = sorted(zip(*[x.tolist() for x in got])), sorted(zip(*[x.tolist() for x in expected]))
    assert [x[:2] for x in a] == [x[:2] for x in b]
    np.testing.assert_allclose([x[2] for x in a], [x[2] for x in b], rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("fraction", RADIUS_FRACTIONS)
def test_periodic_pairs_equal_brute_force(name, fraction):
    cell = CELLS[name]
    rng = np.random.default_rng(11)
    pos = rng.uniform(-12, 20, size=(24, 3))  # unwrapped, several cells away on purpose
    r_max = fraction * cell_heights(cell).min()
    i, j, d, n = periodic_pairs(pos, cell, r_max, return_shifts=True)
    expected = brute_force(pos, cell, r_max)
    assert_same_pairs((i, j, d), tuple(np.array(x) for x in zip(*expected)))
    assert np.all(i <= j)
    # the shifts refer to the given (unwrapped) positions
    np.testing.assert_allclose(np.linalg.norm(pos[j] - pos[i] + n @ cell, axis=1), d, rtol=0, atol=1e-9)
    if fraction > 0.5:  # several images of one pair, and atoms seeing their own images
        keys = list(zip(i.tolist(), j.tolist()))
        assert len(keys) > len(set(keys))
    if fraction > 1.0:
        assert np.any(i == j)


def test_periodic_pairs_distances_match_minimum_image_below_half_the_cell():
    cell = CELLS["orthogonal"]
    pos = np.random.default_rng(2).uniform(0, 7, size=(30, 3))
    i, j, d = periodic_pairs(pos, cell, 3.0)
    diff = pos[j] - pos[i]
    diff -= np.round(diff / np.diag(cell)) * np.diag(cell)
    np.testing.assert_allclose(np.linalg.norm(diff, axis=1), d, rtol=0, atol=1e-12)


def test_periodic_pairs_rejects_bad_input():
    with pytest.raises(ValueError, match="non-finite"):
        periodic_pairs(np.array([[0.0, 0.0, np.nan], [1.0, 1.0, 1.0]]), np.eye(3) * 5.0, 2.0)
    with pytest.raises(ValueError, match="degenerate cell"):
        periodic_pairs(np.zeros((2, 3)), np.array([[5.0, 0, 0], [5.0, 0, 0], [0, 0, 5.0]]), 2.0)
    i, j, d = periodic_pairs(np.zeros((0, 3)), np.eye(3) * 5.0, 2.0)
    assert len(i) == len(j) == len(d) == 0


@pytest.mark.parametrize("name", ["orthogonal", "strongly skewed"])
@pytest.mark.parametrize("fraction", [0.3, 0.8, 1.7])
@pytest.mark.parametrize("method", ["direct", "tree"])
def test_pairs_involving_is_the_subset_of_all_pairs(name, fraction, method, monkeypatch):
    if method == "tree":
        monkeypatch.setattr(nb, "_BRUTE_FORCE_LIMIT", 0)
    cell = CELLS[name]
    pos = np.random.default_rng(4).uniform(-5, 15, size=(30, 3))
    r_max = fraction * cell_heights(cell).min()
    atoms = np.array([2, 5, 6, 20])
    i, j, d, n = pairs_involving(pos, cell, r_max, atoms)
    ai, aj, ad, an = periodic_pairs(pos, cell, r_max, return_shifts=True)
    m = np.isin(ai, atoms) | np.isin(aj, atoms)

    def records(i, j, n, d):
        return sorted(zip(i.tolist(), j.tolist(), map(tuple, n.tolist()), d.tolist()))

    got, expected = records(i, j, n, d), records(ai[m], aj[m], an[m], ad[m])
    assert [x[:3] for x in got] == [x[:3] for x in expected]
    np.testing.assert_allclose([x[3] for x in got], [x[3] for x in expected], rtol=0, atol=1e-9)


def vibrating_trajectory(cell, *, n_atoms=40, n_frames=30, rng=0):
    """Vibrating sites, one atom drifting 4 Å, one jumping 6 Å, all randomly unwrapped by lattice vectors."""
    rng = np.random.default_rng(rng)
    sites = rng.uniform(0, 1, (n_atoms, 3)) @ cell
    traj = sites[None] + 0.15 * rng.standard_normal((n_frames, n_atoms, 3))
    traj[:, 3] += np.linspace(0, 4, n_frames)[:, None] * np.array([1.0, 0.5, 0.0])
    traj[n_frames // 3:, 7] += 6.0
    traj += rng.integers(-2, 3, (n_frames, n_atoms, 3)) @ cell
    return traj


@pytest.mark.parametrize("name", ["orthogonal", "triclinic", "strongly skewed"])
@pytest.mark.parametrize("fraction", [0.3, 0.45, 1.3])
@pytest.mark.parametrize("max_skin", [None, 0.05])  # 0.05 Å forces splitting down to single frames
def test_block_pairs_equal_per_frame_pairs(name, fraction, max_skin):
    cell = CELLS[name]
    r_max = fraction * cell_heights(cell).min()
    traj = vibrating_trajectory(cell)
    seen = []
    for block in iter_block_pairs(traj, cell, r_max, max_skin=max_skin, block_frames=16):
        seen.extend(block.frames.tolist())
        d = block.distances()  # (P, F)
        assert d.shape == (len(block.i), len(block.frames))
        # the bounds hold in every frame
        assert np.all(d >= (block.centre_distance - block.slack)[:, None] - 1e-12)
        assert np.all(d <= (block.centre_distance + block.slack)[:, None] + 1e-12)
        for k, f in enumerate(block.frames):
            m = d[:, k] <= r_max
            assert_same_pairs((block.i[m], block.j[m], d[m, k]), periodic_pairs(traj[f], cell, r_max))
    assert seen == list(range(len(traj)))


def test_bin_index_equals_numpy_histogram():
    edges = np.arange(0.0, 6.0 + 0.05, 0.1)
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(0, 6.5, 5000), edges, np.nextafter(edges, -1)[1:],
                             np.nextafter(edges, 7), [6.0, 6.0 + 1e-12]])
    k = nb.bin_index(values, edges, 6.0)
    within = values <= 6.0
    expected = np.histogram(values[within], bins=edges)[0]
    assert np.array_equal(np.bincount(k[k < len(edges) - 1], minlength=len(edges) - 1), expected)
    assert np.all(k[~within] == len(edges) - 1)


# --------------------------------------------------------------------------- against c84a6c9
def _reference_module():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "reference_structure_c84a6c9.py"
    if not path.exists():
        pytest.skip("benchmarks/reference_structure_c84a6c9.py not present")
    name = "reference_structure_c84a6c9"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while being defined
        spec.loader.exec_module(module)
    return sys.modules[name]


def _fixtures():
    pos, species, cell = crystal_positions(60, amplitude=0.12)
    pos[:, 5] += np.linspace(0.0, 3.0, 60)[:, None] * np.array([1.0, 0.3, 0.0])  # an ion wandering off
    skew = np.array([[1.0, 0.0, 0.0], [0.35, 1.0, 0.0], [0.2, -0.25, 1.0]])
    tri_cell = cell @ skew
    tri_pos = pos @ np.linalg.inv(cell) @ tri_cell
    nan_pos = pos.copy()
    nan_pos[17, 3] = np.nan
    return {
        "orthogonal": crystal_dataset(60, positions=pos, cell=cell),
        "triclinic": crystal_dataset(60, positions=tri_pos, cell=tri_cell),
        "with a NaN frame": crystal_dataset(60, positions=nan_pos, cell=cell),
    }


@pytest.mark.parametrize("fixture", ["orthogonal", "triclinic", "with a NaN frame"])
def test_rdf_and_neighbour_scan_equal_the_old_implementation(fixture):
    old = _reference_module()
    ds = _fixtures()[fixture]
    frames = np.union1d(np.arange(0, 60, 3), [17])  # 17 is the NaN frame of that fixture
    r_max = 0.5 * cell_heights(np.asarray(ds["cell"].values)).min()
    g_new = structure.rdf_window(ds, frames, r_max=r_max, dr=0.1)
    g_old = old.rdf_window(ds, frames, r_max=r_max, dr=0.1)
    np.testing.assert_allclose(g_new, g_old, rtol=1e-12, atol=0)
    assert np.isfinite(g_new).all() and g_new.max() > 1.0
    scan_new = structure.scan_neighbours(ds, np.arange(60), r_search=4.0, bond_factor=1.2)
    scan_old = old.scan_neighbours(ds, np.arange(60), r_search=4.0, bond_factor=1.2)
    assert np.array_equal(scan_new.counts, scan_old.counts)
    np.testing.assert_allclose(scan_new.min_distance, scan_old.min_distance, rtol=0, atol=1e-9)
    kw = dict(reference_ps=0.2, window_ps=0.2, r_max=r_max, dr=0.1, threshold=1.0, frames_per_window=4,
              max_windows=3)
    (flags_new, info_new), (flags_old, info_old) = structure.check_rdf_drift(ds, **kw), old.check_rdf_drift(ds, **kw)
    assert info_new["rdf_drift_max"] == pytest.approx(info_old["rdf_drift_max"], rel=1e-12)
    assert [f.to_dict() for f in flags_new] == [f.to_dict() for f in flags_old]


def test_diagnose_verdicts_equal_the_old_implementation_on_injected_failures():
    from unittest import mock

    from uncertainty_gk.diagnostics import run as run_module

    old = _reference_module()
    pos, species, cell = crystal_positions(200, amplitude=0.05)
    pos[120:, 1] = pos[120:, 0] + [0.6, 0.0, 0.0]  # an O collapses onto its P at 2.4 ps
    pos[150:] = np.random.default_rng(3).uniform(0, cell[0, 0], size=(50, pos.shape[1], 3))  # melts at 3 ps
    ds = crystal_dataset(200, positions=pos, cell=cell)
    new = diagnose(ds, stride=4)
    with mock.patch.object(run_module, "_structure", old):
        ref = diagnose(ds, stride=4)
    assert new.status == ref.status == "failed"

    def key(d):
        return sorted((f.check, f.subject, f.time_ps, f.count, f.value) for f in d.flags)

    assert [k[:4] for k in key(new)] == [k[:4] for k in key(ref)]
    np.testing.assert_allclose([k[4] for k in key(new)], [k[4] for k in key(ref)], rtol=1e-9)
    assert {f.check for f in new.flags} >= {"min_distance", "coordination", "rdf_drift"}


def test_diagnose_states_every_subsampling():
    d = diagnose(crystal_dataset(400), stride=3)
    sub = d.thresholds["subsample"]
    assert sub["neighbour_stride"] == 3 and sub["neighbour_frames"] < 400
    rdf = sub["rdf"]
    assert rdf["rdf_frames_per_window"] == 10
    assert rdf["rdf_frames_examined"] < 400
    assert rdf["rdf_windows_examined"] == rdf["rdf_windows"] == 8
    assert sub["full_pass_checks"] == ["nan_positions", "jump", "framework"]
    assert "every 3rd frame" in sub["statement"] and "10 frames per 1 ps window" in sub["statement"]


# --------------------------------------------------------------------------- RDF histograms from the block lists
def test_distance_bins_of_squared_distances_equal_binning_the_distances():
    """The d² lookup gives exactly the bin of sqrt(d²) (bin_index, i.e. np.histogram), also
    next to every edge, at r_max and beyond, for bins that are finer than the lookup cells."""
    rng = np.random.default_rng(7301)
    for r_max, dr in ((6.0, 0.1), (6.115, 0.1), (3.0, 0.004)):
        edges = np.arange(0.0, r_max + 0.5 * dr, dr)
        bins = nb.DistanceBins(edges, r_max)
        d = np.concatenate([rng.uniform(0, 1.6 * r_max, 20000), edges, np.nextafter(edges, -1)[1:],
                            np.nextafter(edges, 99), [r_max, np.nextafter(r_max, 99), 0.0, 50.0]])
        d2 = np.concatenate([d * d, np.nextafter(d * d, 0), np.nextafter(d * d, 9999)])
        expected = nb.bin_index(np.sqrt(d2), edges, r_max)
        assert np.array_equal(bins.of_squared(d2.reshape(3, -1)), expected.reshape(3, -1))
        assert np.array_equal(bins.of_distance(d), nb.bin_index(d, edges, r_max))


def brute_force_histogram(pos, cell, r_max, edges):
    """Pair-distance histogram of one frame: every atom pair (and atom-own-image pair) over
    every lattice shift, one by one."""
    d = np.array([x[2] for x in brute_force(pos, cell, r_max)])
    return np.histogram(d, bins=edges)[0]


def _moving_crystal(cell_kind: str):
    """An 8-atom crystal (one cell) vibrating, an ion drifting 3 Å and one hopping 2.5 Å,
    randomly unwrapped by lattice vectors; orthogonal or triclinic."""
    from test_diagnostics_helpers import crystal_positions

    rng = np.random.default_rng(7302)
    pos, _, cell = crystal_positions(36, n_cells=1, rng=7303, amplitude=0.12)
    pos[:, 6] += np.linspace(0, 3.0, len(pos))[:, None] * np.array([1.0, 0.4, 0.2])
    pos[20:, 7] += np.array([2.5, 0.0, 0.0])
    if cell_kind == "triclinic":
        skew = np.array([[1.0, 0.0, 0.0], [0.3, 1.0, 0.0], [0.25, -0.2, 1.0]])
        pos, cell = pos @ np.linalg.inv(cell) @ (cell @ skew), cell @ skew
    pos += rng.integers(-2, 3, pos.shape) @ cell
    return pos, cell


@pytest.mark.parametrize("cell_kind", ["orthogonal", "triclinic"])
@pytest.mark.parametrize("fraction", [0.45, 0.8, 1.4])    # of the smallest width: below and beyond half, beyond one
def test_rdf_histograms_equal_brute_force_all_pairs(cell_kind, fraction):
    from test_diagnostics_helpers import crystal_dataset

    pos, cell = _moving_crystal(cell_kind)
    ds = crystal_dataset(len(pos), n_cells=1, positions=pos, cell=cell)
    r_max = fraction * cell_heights(cell).min()
    frames = np.array([0, 1, 2, 5, 9, 14, 20, 21, 27, 35])
    # bins of 0.07 Å: no edge at a lattice length (an atom and its own image), where rounding
    # in the last digit would decide the bin
    edges, counts, volume = structure.rdf_histograms(ds, frames, r_max=r_max, dr=0.07)
    expected = np.array([brute_force_histogram(pos[f], cell, r_max, edges) for f in frames])
    assert np.array_equal(counts, expected)
    np.testing.assert_allclose(volume, abs(np.linalg.det(cell)), rtol=1e-12)
    if fraction > 0.5:    # the image count matters: more pairs than the minimum images alone
        assert counts.sum(axis=1).min() > len(pos[0]) * (len(pos[0]) - 1) // 2
    # g(r) of the window is the brute-force histogram normalised
    g = structure.rdf_window(ds, frames, r_max=r_max, dr=0.07)
    n = pos.shape[1]
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    ideal = 0.5 * n * (n / abs(np.linalg.det(cell))) * shell * len(frames)
    np.testing.assert_allclose(g, expected.sum(axis=0) / ideal, rtol=1e-12)
