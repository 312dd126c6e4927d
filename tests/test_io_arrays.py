"""Tests of uncertainty_gk.io.arrays (from_arrays) and uncertainty_gk.io.unwrap."""

from __future__ import annotations

import numpy as np
import pytest

from uncertainty_gk.errors import InputFormatError
from uncertainty_gk.io.arrays import from_arrays
from uncertainty_gk.io.unwrap import UnwrapState, cartesian_to_fractional, unwrap_fractional
from uncertainty_gk.schema import validate

CELL = np.diag([10.0, 10.0, 10.0])


def wrapped_two_atoms():
    """Li crosses +x (9.5 -> 0.5 -> 1.5), O crosses -x (1.0 -> 9.0 -> 9.5)."""
    return np.array([[[9.5, 5, 5], [1.0, 1, 1]],
                     [[0.5, 5, 5], [9.0, 1, 1]],
                     [[1.5, 5, 5], [9.5, 1, 1]]])


# ------------------------------------------------------------------ unwrap
def test_unwrap_by_hand():
    frac = wrapped_two_atoms() / 10.0
    pos, state = unwrap_fractional(frac, CELL)
    np.testing.assert_allclose(pos[:, 0, 0], [9.5, 10.5, 11.5])
    np.testing.assert_allclose(pos[:, 1, 0], [1.0, -1.0, -0.5])
    np.testing.assert_allclose(state.unwrapped[:, 0], [1.15, -0.05])
    np.testing.assert_allclose(state.wrapped[:, 0], [0.15, 0.95])


def test_unwrap_streaming_is_identical():
    rng = np.random.default_rng(0)
    steps = rng.normal(scale=0.05, size=(50, 7, 3))
    true = rng.random((7, 3)) + np.cumsum(steps, axis=0)
    frac = true % 1.0
    cell = np.array([[10.0, 0, 0], [3.0, 9.0, 0], [1.0, 2.0, 8.0]])  # triclinic
    whole, _ = unwrap_fractional(frac, cell)
    parts, state = [], None
    for start in range(0, 50, 8):
        p, state = unwrap_fractional(frac[start:start + 8], cell, previous=state, frame_offset=start)
        parts.append(p)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_allclose(whole, (true - np.floor(true[0]))[:, :, :] @ cell, atol=1e-9)


def test_unwrap_variable_cell_uses_each_frames_cell():
    frac = np.array([[[0.95, 0.5, 0.5]], [[0.05, 0.5, 0.5]]])
    cells = np.stack([np.eye(3) * 10.0, np.eye(3) * 11.0])
    pos, _ = unwrap_fractional(frac, cells)
    np.testing.assert_allclose(pos[:, 0, 0], [9.5, 1.05 * 11.0])


def test_unwrap_refuses_large_jumps():
    frac = np.array([[[0.1, 0.1, 0.1], [0.5, 0.5, 0.5]], [[0.1, 0.1, 0.1], [0.8, 0.5, 0.5]]])
    with pytest.raises(InputFormatError, match=r"dump.xyz frame 7: atom 1 moved .*\+0.3000.*too far apart "
                                              r"to unwrap.*write frames more often or provide unwrapped"):
        unwrap_fractional(frac, CELL, source="dump.xyz", frame_offset=6)
    pos, _ = unwrap_fractional(frac, CELL, max_fraction=0.4)
    np.testing.assert_allclose(pos[1, 1, 0], 8.0)


def test_unwrap_bad_cell_shape():
    with pytest.raises(InputFormatError, match=r"cell must have shape \(3, 3\) or \(2, 3, 3\)"):
        unwrap_fractional(np.zeros((2, 1, 3)), np.eye(2))


def test_unwrap_state_plain_array_accepted():
    frac = wrapped_two_atoms() / 10.0
    _, s1 = unwrap_fractional(frac[:2], CELL)
    p2, _ = unwrap_fractional(frac[2:], CELL, previous=np.asarray(s1.unwrapped))
    np.testing.assert_allclose(p2[0, :, 0], [11.5, -0.5])
    assert isinstance(s1, UnwrapState)


# ------------------------------------------------------------------ from_arrays
def test_from_arrays_basic():
    pos = np.array([[[0.0, 0, 0], [5, 5, 5]], [[0.1, 0, 0], [5, 5, 5.2]]])
    ds = from_arrays(pos, CELL, ["Li", "O"], frame_interval_ps=0.5, labels={"seed": 1}, temperature_K=600)
    validate(ds)
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.5])
    np.testing.assert_array_equal(ds["positions"].values, pos)
    assert ds["charge"].values.tolist() == [1.0, -2.0]
    assert ds.attrs["temperature_K"] == 600
    assert ds["mobile"].values.tolist() == [True, False]
    assert float(ds["volume"]) == pytest.approx(1000.0)


def test_from_arrays_wrapped_by_hand():
    ds = from_arrays(wrapped_two_atoms(), CELL, ["Li", "O"], frame_interval_ps=0.1, wrapped=True)
    np.testing.assert_allclose(ds["positions"].values[:, 0, 0], [9.5, 10.5, 11.5])
    np.testing.assert_allclose(ds["positions"].values[:, 1, 0], [1.0, -1.0, -0.5])


def test_from_arrays_per_frame_cell_velocities_steps():
    n = 3
    pos = np.zeros((n, 2, 3))
    cells = np.stack([np.eye(3) * (10 + k) for k in range(n)])
    vel = np.ones((n, 2, 3))
    ds = from_arrays(pos, cells, ["Li", "O"], frame_interval_ps=None, steps=[0, 10, 20], timestep_ps=0.002,
                     velocities=vel, forces=-vel, charges={"Li": 0.6, "O": -1.2}, masses=[7.0, 16.0])
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.02, 0.04])
    assert ds["cell"].dims == ("time", "cell_vector", "xyz")
    assert ds["charge"].values.tolist() == [0.6, -1.2]
    assert ds["mass"].values.tolist() == [7.0, 16.0]
    assert "velocities" in ds and "forces" in ds
    assert ds["step"].values.tolist() == [0, 10, 20]


def test_from_arrays_box_lengths():
    ds = from_arrays(np.zeros((1, 1, 3)), [10.0, 11.0, 12.0], ["Li"], frame_interval_ps=1.0)
    assert float(ds["volume"]) == pytest.approx(1320.0)


# ------------------------------------------------------------------ malformed input
def test_positions_wrong_ndim():
    with pytest.raises(InputFormatError, match=r"positions must be \(frames, atoms, 3\).*positions\[None\]"):
        from_arrays(np.zeros((4, 3)), CELL, ["Li"] * 4, frame_interval_ps=0.1)


def test_positions_wrong_last_axis():
    with pytest.raises(InputFormatError, match=r"positions must be \(frames, atoms, 3\), got shape \(2, 4, 2\)"):
        from_arrays(np.zeros((2, 4, 2)), CELL, ["Li"] * 4, frame_interval_ps=0.1)


def test_cell_wrong_shape():
    with pytest.raises(InputFormatError, match=r"cell must be \(3, 3\), \(2, 3, 3\)"):
        from_arrays(np.zeros((2, 1, 3)), np.zeros((3, 3, 3)), ["Li"], frame_interval_ps=0.1)


def test_cell_degenerate():
    with pytest.raises(InputFormatError, match="cell of frame 0 is degenerate"):
        from_arrays(np.zeros((2, 1, 3)), np.zeros((3, 3)), ["Li"], frame_interval_ps=0.1)


def test_species_length():
    with pytest.raises(InputFormatError, match=r"species must have one symbol per atom \(2\)"):
        from_arrays(np.zeros((2, 2, 3)), CELL, ["Li"], frame_interval_ps=0.1)


def test_nan_positions():
    pos = np.zeros((3, 2, 3))
    pos[2, 1, 0] = np.nan
    with pytest.raises(InputFormatError, match=r"positions contains 1 NaN/inf.*frame 2, atom 1, component 0"):
        from_arrays(pos, CELL, ["Li", "O"], frame_interval_ps=0.1)


def test_inf_velocities():
    vel = np.zeros((2, 1, 3))
    vel[0, 0, 2] = np.inf
    with pytest.raises(InputFormatError, match="velocities contains 1 NaN/inf"):
        from_arrays(np.zeros((2, 1, 3)), CELL, ["Li"], frame_interval_ps=0.1, velocities=vel)


def test_velocities_shape():
    with pytest.raises(InputFormatError, match=r"velocities must have the shape of positions \(2, 1, 3\)"):
        from_arrays(np.zeros((2, 1, 3)), CELL, ["Li"], frame_interval_ps=0.1, velocities=np.zeros((2, 3)))


def test_no_time_axis():
    with pytest.raises(InputFormatError, match="no time axis: give frame_interval_ps"):
        from_arrays(np.zeros((2, 1, 3)), CELL, ["Li"], frame_interval_ps=None)


def test_steps_not_increasing():
    with pytest.raises(InputFormatError, match="steps must increase strictly; frame 2 has step 5 after 10"):
        from_arrays(np.zeros((3, 1, 3)), CELL, ["Li"], frame_interval_ps=None, steps=[0, 10, 5],
                    timestep_ps=0.001)


def test_wrapped_jump_too_large():
    pos = np.array([[[1.0, 1, 1]], [[5.0, 1, 1]]])
    with pytest.raises(InputFormatError, match="<arrays> frame 1: atom 0 moved.*too far apart"):
        from_arrays(pos, CELL, ["Li"], frame_interval_ps=0.1, wrapped=True)


def test_cartesian_to_fractional_roundtrip():
    cell = np.array([[10.0, 0, 0], [3.0, 9.0, 0], [1.0, 2.0, 8.0]])
    frac = np.random.default_rng(1).random((2, 4, 3))
    np.testing.assert_allclose(cartesian_to_fractional(frac @ cell, cell), frac, atol=1e-12)
