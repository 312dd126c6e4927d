"""The run skeleton written without xarray objects (uncertainty_gk.nc_group) gives the same
netCDF file as xarray's to_netcdf: every dataset, dimension scale, fill value, filter,
chunk shape, attribute and value, and the same checksums; and the ingest of a dump
without a log imports neither xarray nor dask (their imports cost more CPU than writing
the run)."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from uncertainty_gk import archive
from uncertainty_gk.archive import ingest, open_archive, verify_archive
from uncertainty_gk.nc_group import PlainVariable, write_group

N_ATOMS = 12

MANIFEST = """[defaults]
types = {{1 = "Li", 2 = "O"}}
mobile = ["Li"]
timestep_ps = 0.002
{extra}

[[runs]]
trajectory = "{traj}"
labels = {{seed = 3}}
"""


def write_dump(path, n_frames, *, columns="id type xu yu zu", fmt=".4f", seed=23):
    """``dump custom`` text; ``columns`` beyond ``id type xu yu zu`` get random values."""
    rng = np.random.default_rng(seed)
    names = columns.split()
    pos = rng.uniform(0.0, 9.0, (N_ATOMS, 3))
    lines = []
    for k in range(n_frames):
        pos = pos + rng.normal(0.0, 0.03, pos.shape)
        lines += ["ITEM: TIMESTEP", str(5 * k), "ITEM: NUMBER OF ATOMS", str(N_ATOMS),
                  "ITEM: BOX BOUNDS pp pp pp", "0.0 9.0", "0.0 9.0", "0.0 9.0", f"ITEM: ATOMS {columns}"]
        for i in range(N_ATOMS):
            row = {"id": str(i + 1), "type": str(1 + i % 3 // 2),
                   **{c: format(v, fmt) for c, v in zip(("xu", "yu", "zu"), pos[i])}}
            row.update({c: format(float(rng.normal()), fmt) for c in names if c not in row})
            lines.append(" ".join(row[c] for c in names))
    path.write_text("\n".join(lines) + "\n")
    return path


def _value(v):
    if isinstance(v, h5py.Reference):
        return "<ref>"
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "O":
            return [_value(x) for x in v.tolist()]
        if v.dtype.names:
            return [tuple(_value(x) for x in row) for row in v.tolist()]
        return (v.dtype.str, v.tolist())
    if isinstance(v, np.generic):
        return (v.dtype.str, v.item())
    return v


def describe(path):
    """Everything HDF5 holds about each object of the file (object references as '<ref>')."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = {k: _value(obj.attrs[k]) for k in obj.attrs if k not in ("created", "manifest")}
            entry = {"attrs": json.dumps(attrs, sort_keys=True, default=str)}
            if isinstance(obj, h5py.Dataset):
                values = obj.asstr()[()] if h5py.check_string_dtype(obj.dtype) else obj[()]
                entry.update(dtype=obj.dtype.str, shape=obj.shape, maxshape=obj.maxshape, chunks=obj.chunks,
                             compression=obj.compression, opts=obj.compression_opts, shuffle=obj.shuffle,
                             fill=repr(obj.fillvalue), values=json.dumps(_value(np.asarray(values)), default=str))
            out[name] = entry
        f.visititems(visit)
    return out


def ingest_both(tmp_path, monkeypatch, dump, manifest_text=None):
    """The archive of ``dump`` written with the plain skeleton and with xarray's to_netcdf."""
    manifest = tmp_path / "campaign.toml"
    manifest.write_text(manifest_text or MANIFEST.format(traj=dump, extra=""))
    plain = tmp_path / "plain.nc"
    ingest(manifest, plain, show_progress=False)
    real_skeleton = archive._skeleton

    def xarray_skeleton(header, species, first, info, **kw):
        return real_skeleton(header, species, first, info, log_ds=None, **kw)

    monkeypatch.setattr(archive, "_PlainSkeleton", xarray_skeleton)
    with_xarray = tmp_path / "xarray.nc"
    ingest(manifest, with_xarray, show_progress=False)
    return plain, with_xarray


@pytest.mark.parametrize("case", [
    dict(columns="id type xu yu zu", fmt=".4f"),                                   # decimal int64 + scale_factor
    dict(columns="id type xu yu zu vx vy vz fx fy fz", fmt=".6f"),                 # velocities and forces
    dict(columns="id type xu yu zu", fmt=".17g"),                                  # float64 (no decimals)
    dict(columns="id type q xu yu zu", fmt=".3f"),                                 # charges from the dump
])
def test_plain_skeleton_writes_the_same_file_as_xarray(tmp_path, monkeypatch, case):
    kw = dict(case)
    dump = write_dump(tmp_path / "dump.lammpstrj", 37, columns=kw.pop("columns"), fmt=kw.pop("fmt"))
    plain, with_xarray = ingest_both(tmp_path, monkeypatch, dump)
    a, b = describe(plain), describe(with_xarray)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name
    assert verify_archive(plain).ok
    ds = open_archive(plain)["seed3"]
    assert ds["mobile"].dtype == bool and ds["species"].dtype.kind in "UO"
    assert ds["positions"].shape == (37, N_ATOMS, 3)


def test_plain_skeleton_of_fractional_positions_without_steps_or_types(tmp_path, monkeypatch):
    """XDATCAR: positions stored as integer fractional coordinates, no step axis, no LAMMPS types."""
    from test_archive_integrity import _xdatcar

    p = _xdatcar(tmp_path / "XDATCAR", n_frames=23)
    text = f'[defaults]\nframe_interval_ps = 0.1\n[[runs]]\ntrajectory = "{p}"\nlabels = {{seed = 3}}\n'
    plain, with_xarray = ingest_both(tmp_path, monkeypatch, p, text)
    a, b = describe(plain), describe(with_xarray)
    assert a == b
    assert "seed3/positions" in a and "ugk_encoding" in a["seed3/positions"]["attrs"] and "fractional" in \
        a["seed3/positions"]["attrs"]
    assert "seed3/lammps_type" not in a
    assert verify_archive(plain).ok


def test_ingest_without_a_log_imports_neither_xarray_nor_dask(tmp_path):
    pytest.importorskip("dask")
    dump = write_dump(tmp_path / "dump.lammpstrj", 5)
    manifest = tmp_path / "campaign.toml"
    manifest.write_text(MANIFEST.format(traj=dump, extra=""))
    code = ("import sys; from uncertainty_gk.archive import ingest; "
            f"ingest({str(manifest)!r}, {str(tmp_path / 'out.nc')!r}, show_progress=False); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('xarray', 'dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_write_group_refuses_what_it_cannot_write_like_xarray(tmp_path):
    path = tmp_path / "x.nc"
    pos = PlainVariable(("time", "atom"), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="add_offset"):
        write_group(path, "g", {"p": pos}, {}, {}, encoding={"p": {"add_offset": 1.0}}, mode="w")
    with pytest.raises(ValueError, match="belong to no data variable"):
        write_group(path, "g", {"p": pos}, {"e": PlainVariable(("energy",), np.zeros(3))}, {}, mode="w")
    with pytest.raises(ValueError, match="dimension 'atom' has lengths"):
        write_group(path, "g", {"p": pos}, {"q": PlainVariable(("atom",), np.zeros(3))}, {}, mode="w")
