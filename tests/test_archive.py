"""Archive round trip, laziness, atomic writes, label selection (in-memory runs)."""

import json

import numpy as np
import pytest
import xarray as xr

from uncertainty_gk.archive import open_archive, write_archive
from uncertainty_gk.errors import CampaignError, SchemaError, UGKError
from uncertainty_gk.schema import FrameChunk, RunHeader, RunInfo, assemble_dataset, validate


def make_run(n_frames=7, n_li=3, n_o=2, seed=1, labels=None, varying_cell=False, rng=0):
    rng = np.random.default_rng(rng)
    n = n_li + n_o
    pos = np.cumsum(rng.normal(size=(n_frames, n, 3)), axis=0)
    cell = np.broadcast_to(np.diag([10.0, 11.0, 12.0]), (n_frames, 3, 3)).copy()
    if varying_cell:
        cell *= (1 + 0.01 * np.arange(n_frames))[:, None, None]
    header = RunHeader(atom_id=np.arange(1, n + 1), species=np.array(["Li"] * n_li + ["O"] * n_o))
    chunk = FrameChunk(positions=pos, cell=cell, step=np.arange(n_frames) * 100)
    info = RunInfo(reader="test", sources=[], timestep_ps=0.001, temperature_K=1000.0)
    return assemble_dataset(header, [chunk], info, charges={"Li": 1, "O": -1.5},
                            labels=labels or {"structure": "s", "seed": seed}, run_name=f"s_seed{seed}")


def test_roundtrip_two_runs_of_different_sizes(tmp_path):
    a = make_run(n_frames=7, seed=1)
    b = make_run(n_frames=11, n_li=4, n_o=4, seed=2, labels={"structure": "t", "seed": 2}, rng=1)
    path = tmp_path / "c.nc"
    report = write_archive({"a": a, "b": b}, path)
    assert [r.n_frames for r in report.runs] == [7, 11]
    with open_archive(path) as camp:
        assert set(camp) == {"a", "b"}
        ra = camp["a"]
        np.testing.assert_array_equal(ra["positions"].values, a["positions"].values)
        np.testing.assert_array_equal(ra["time"].values, a["time"].values)
        np.testing.assert_array_equal(ra["step"].values, np.arange(7) * 100)
        assert list(ra["species"].values) == ["Li"] * 3 + ["O"] * 2
        assert ra["mobile"].values.tolist() == [True] * 3 + [False] * 2
        assert ra["cell"].dims == ("cell_vector", "xyz")
        assert float(ra["volume"]) == pytest.approx(1320.0)
        validate(ra, name="a")
        assert camp.labels("b") == {"structure": "t", "seed": 2}
        assert list(camp.select(structure="t")) == ["b"]
        with pytest.raises(CampaignError, match="no run matches"):
            camp.select(structure="zzz")


def test_archive_is_lazy(tmp_path):
    path = tmp_path / "c.nc"
    write_archive([make_run(n_frames=50)], path)
    with open_archive(path) as camp:
        ds = next(iter(camp.values()))
        assert not isinstance(ds["positions"].variable._data, np.ndarray)
        part = ds["positions"].isel(atom=slice(0, 2)).values
        assert part.shape == (50, 2, 3)


def test_varying_cell_keeps_time_dimension(tmp_path):
    path = tmp_path / "c.nc"
    run = make_run(varying_cell=True)
    assert run["cell"].dims == ("time", "cell_vector", "xyz")
    write_archive([run], path)
    with open_archive(path) as camp:
        ds = next(iter(camp.values()))
        assert ds["cell"].dims == ("time", "cell_vector", "xyz")
        np.testing.assert_allclose(ds["volume"].values, run["volume"].values)


def test_units_and_long_names_everywhere(tmp_path):
    path = tmp_path / "c.nc"
    write_archive([make_run()], path)
    with open_archive(path) as camp:
        ds = next(iter(camp.values()))
        for name in ds.variables:
            assert "units" in ds[name].attrs and "long_name" in ds[name].attrs, name
        assert ds["time"].attrs["units"] == "ps"
        assert ds["positions"].attrs["units"] == "angstrom"
        assert json.loads(ds.attrs["labels"])["seed"] == 1
        assert ds.attrs["uncertainty_gk_version"]


def test_existing_output_not_overwritten_without_consent(tmp_path):
    path = tmp_path / "c.nc"
    path.write_bytes(b"precious")
    with pytest.raises(UGKError, match="exists"):
        write_archive([make_run()], path)
    assert path.read_bytes() == b"precious"


def test_failed_write_leaves_nothing_behind(tmp_path):
    path = tmp_path / "c.nc"
    bad = make_run()
    bad = bad.assign_coords(time=("time", bad["time"].values[::-1].copy()))  # time decreasing
    bad["time"].attrs.update(units="ps", long_name="simulation time")
    with pytest.raises(SchemaError, match="time does not increase"):
        write_archive([bad], path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_open_archive_rejects_foreign_files(tmp_path):
    p = tmp_path / "x.nc"
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(p, engine="h5netcdf")
    with pytest.raises(UGKError, match="not an uncertainty_gk campaign archive"):
        open_archive(p)
    q = tmp_path / "y.nc"
    q.write_text("hello")
    with pytest.raises(UGKError, match="not a netCDF4/HDF5 archive"):
        open_archive(q)


def test_groups_exclude_seed(tmp_path):
    path = tmp_path / "c.nc"
    runs = {f"r{s}": make_run(seed=s, rng=s) for s in (1, 2, 3)}
    runs["other"] = make_run(seed=1, labels={"structure": "u", "seed": 1})
    write_archive(runs, path)
    with open_archive(path) as camp:
        groups = camp.groups()
        sizes = sorted(len(g) for g in groups.values())
        assert sizes == [1, 3]
