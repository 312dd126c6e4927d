"""Tests of uncertainty_gk.displacement: FFT vs direct MSD, invariances, chunking, lazy data."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import xarray as xr

from uncertainty_gk import synthetic
from uncertainty_gk.displacement import (direct_msd, framework_displacement, msd_fft, polarisation,
                                         polarisation_msd, tracer_msd)
from uncertainty_gk.errors import AnalysisError


@pytest.fixture(scope="module")
def system():
    return synthetic.generate(n_mobile=12, n_frames=[301, 200], haven_ratio=0.75, rattle_amplitude=0.2,
                              rattle_time_ps=0.3, drift_D=0.05, rng=42)


def translated(ds: xr.Dataset, shift: np.ndarray) -> xr.Dataset:
    """Copy of ``ds`` with ``shift`` (T, 3) added to every atom."""
    out = ds.copy()
    out["positions"] = ds["positions"] + xr.DataArray(shift, dims=("time", "xyz"))
    out["positions"].attrs = dict(ds["positions"].attrs)
    return out


# --------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("shape, axis, components_axis", [
    ((101, 5, 3), 0, -1),
    ((100, 4, 3), 0, -1),
    ((64, 3), 0, -1),
    ((65,), 0, None),
    ((2, 7, 3), 0, -1),
    ((3, 33, 2), 1, 0),      # time in the middle, components first
    ((4, 3, 50), -1, 1),
    ((40, 6), 0, None),      # scalar series, one per column
])
def test_fft_matches_direct(shape, axis, components_axis):
    rng = np.random.default_rng(sum(shape))
    walk = np.cumsum(rng.normal(size=shape), axis=axis) + rng.uniform(-50, 50)
    noise = rng.normal(size=shape) + 20.0
    for x in (walk, noise):
        fast = msd_fft(x, axis=axis, components_axis=components_axis)
        slow = direct_msd(x, axis=axis, components_axis=components_axis)
        assert fast.shape == slow.shape
        assert fast.shape[0] == shape[axis]
        np.testing.assert_allclose(fast[1:], slow[1:], rtol=1e-10, atol=0)
        assert np.all(fast[0] == 0)
        avg = msd_fft(x, axis=axis, components_axis=components_axis, average=True)
        np.testing.assert_allclose(avg, slow.reshape(len(slow), -1).mean(axis=1), rtol=1e-10, atol=1e-300)


def test_msd_fft_small_known_values():
    x = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [3, 1, 0]])
    # lag 1: (1 + 1 + 4)/3; lag 2: (2 + 5)/2; lag 3: 10
    np.testing.assert_allclose(msd_fft(x), [0, 2, 3.5, 10], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(direct_msd(x), [0, 2, 3.5, 10], rtol=1e-12, atol=1e-12)


def test_msd_fft_per_atom_and_average_shapes():
    x = np.random.default_rng(0).normal(size=(30, 4, 3))
    per_atom = msd_fft(x)
    assert per_atom.shape == (30, 4)
    for i in range(4):
        np.testing.assert_allclose(per_atom[:, i], msd_fft(x[:, i]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(msd_fft(x, average=True), per_atom.mean(axis=1), rtol=1e-12)


def test_msd_fft_rejects_same_axes():
    with pytest.raises(ValueError, match="same axis"):
        msd_fft(np.zeros((5, 3)), axis=0, components_axis=0)


# --------------------------------------------------------------------------- polarisation
def test_polarisation_msd_invariant_to_uniform_translation(system):
    ds = system.runs[0]
    shift = np.cumsum(np.random.default_rng(1).normal(scale=0.5, size=(ds.sizes["time"], 3)), axis=0) + 7.0
    a = polarisation_msd(ds)
    b = polarisation_msd(translated(ds, shift))
    np.testing.assert_allclose(b["msd"].values[1:], a["msd"].values[1:], rtol=1e-10)
    assert float(a["total_charge"]) == 0.0


def test_polarisation_matches_direct_sum(system):
    ds = system.runs[1]
    pos = ds["positions"].values
    q = ds["charge"].values
    p = np.einsum("tac,a->tc", pos - pos[0], q)
    np.testing.assert_allclose(polarisation(ds), p, rtol=1e-10, atol=1e-9)
    out = polarisation_msd(ds, chunk_atoms=5)
    np.testing.assert_allclose(out["msd"].values, direct_msd(p), rtol=1e-10, atol=1e-9)
    T = ds.sizes["time"]
    assert out["n_origins"].values.tolist() == [T - m for m in range(T)]
    assert out["n_independent"].values[0] == 0
    assert out["n_independent"].values[3] == (T - 1) // 3
    np.testing.assert_allclose(out["lag"].values[1], float(ds["time"][1] - ds["time"][0]))


# --------------------------------------------------------------------------- tracer
@pytest.mark.parametrize("reference", ["charge", "mass"])
def test_tracer_msd_unaffected_by_common_drift(system, reference):
    ds = system.runs[0]
    shift = np.cumsum(np.random.default_rng(2).normal(scale=1.0, size=(ds.sizes["time"], 3)), axis=0)
    a = tracer_msd(ds, reference=reference)
    b = tracer_msd(translated(ds, shift), reference=reference)
    np.testing.assert_allclose(b["msd"].values[:, 1:], a["msd"].values[:, 1:], rtol=1e-10)
    # without a reference the drift does show up
    c = tracer_msd(translated(ds, shift), reference="none")
    assert not np.allclose(c["msd"].values, a["msd"].values, rtol=1e-3)


def test_tracer_msd_matches_direct_framework_relative(system):
    ds = system.runs[1]
    pos = ds["positions"].values
    fw = ~ds["mobile"].values
    w = np.abs(ds["charge"].values[fw])
    centre = np.einsum("tac,a->tc", pos[:, fw], w) / w.sum()
    li = ds["species"].values == "Li"
    rel = pos[:, li] - centre[:, None, :]
    expected = direct_msd(rel, average=True)
    out = tracer_msd(ds)
    np.testing.assert_allclose(out["msd"].sel(species="Li").values[1:], expected[1:], rtol=1e-10)
    np.testing.assert_allclose(out["framework_displacement"].values, centre - centre[0], rtol=1e-10, atol=1e-10)
    mass = tracer_msd(ds, reference="mass")
    np.testing.assert_allclose(framework_displacement(ds, reference="mass"),
                               mass["framework_displacement"].values)


@pytest.mark.parametrize("chunk_atoms", [1, 2, 5, 1000])
def test_chunked_equals_unchunked(system, chunk_atoms):
    ds = system.runs[0]
    full = tracer_msd(ds, per_atom=True)
    part = tracer_msd(ds, chunk_atoms=chunk_atoms, per_atom=True)
    np.testing.assert_allclose(part["msd"].values, full["msd"].values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(part["msd_per_atom"].values, full["msd_per_atom"].values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(polarisation_msd(ds, chunk_atoms=chunk_atoms)["msd"].values,
                               polarisation_msd(ds)["msd"].values, rtol=1e-10, atol=1e-9)


def test_tracer_msd_output_layout(system):
    ds = system.runs[0]
    T = ds.sizes["time"]
    out = tracer_msd(ds, per_atom=True)
    assert out["msd"].dims == ("species", "lag")
    assert out["species"].values.tolist() == ["Li"]
    assert int(out["n_atoms"].sel(species="Li")) == 12
    np.testing.assert_allclose(out["msd_per_atom"].mean("atom").values, out["msd"].sel(species="Li").values,
                               rtol=1e-12, atol=1e-12)
    assert sorted(out["atom_species"].values.tolist()) == ["Li"] * 12
    assert out["n_independent"].sel(species="Li").values[5] == 12 * ((T - 1) // 5)
    assert out["n_origins"].values[-1] == 1
    for name in out.variables:
        assert "units" in out[name].attrs and "long_name" in out[name].attrs, name
    assert out["lag"].attrs["units"] == "ps"
    assert out.attrs["reference"] == "charge"


def test_tracer_msd_errors(system):
    ds = system.runs[1]
    with pytest.raises(ValueError, match="reference must be one of"):
        tracer_msd(ds, reference="centroid")
    with pytest.raises(ValueError, match="not in the run"):
        tracer_msd(ds, species="Na")
    uneven = ds.assign_coords(time=ds["time"].values ** 1.1)
    with pytest.raises(AnalysisError, match="evenly spaced"):
        tracer_msd(uneven)
    all_mobile = ds.assign_coords(mobile=("atom", np.ones(ds.sizes["atom"], dtype=bool)))
    with pytest.raises(AnalysisError, match="reference='none'"):
        tracer_msd(all_mobile)
    assert tracer_msd(all_mobile, reference="none")["msd"].sizes["species"] == 3


# --------------------------------------------------------------------------- lazy data
_HAS_DASK = importlib.util.find_spec("dask") is not None


@pytest.mark.parametrize("chunks", [
    None,   # lazily indexed backend array, no dask
    pytest.param({}, marks=pytest.mark.skipif(not _HAS_DASK, reason="dask not installed")),
])
def test_works_on_netcdf_opened_lazily(system, tmp_path, chunks):
    ds = system.runs[1]
    path = tmp_path / "run.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    kwargs = {} if chunks is None else {"chunks": chunks}
    with xr.open_dataset(path, engine="h5netcdf", **kwargs) as lazy:
        if chunks is not None:
            assert lazy["positions"].chunks is not None
        tr = tracer_msd(lazy, chunk_atoms=3, per_atom=True)
        po = polarisation_msd(lazy, chunk_atoms=4)
    np.testing.assert_allclose(tr["msd"].values, tracer_msd(ds)["msd"].values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(po["msd"].values, polarisation_msd(ds)["msd"].values, rtol=1e-10, atol=1e-9)


def test_polarisation_msd_warns_when_not_neutral(system):
    from uncertainty_gk.errors import UGKWarning

    ds = system.runs[1]
    charged = ds.assign_coords(charge=("atom", ds["charge"].values + 0.01))
    with pytest.warns(UGKWarning, match="total charge"):
        polarisation_msd(charged)
