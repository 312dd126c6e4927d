"""Write a netCDF-4 group of plain numpy variables with h5netcdf, as xarray would, without xarray objects.

The archive writer creates each run's group (dimensions, coordinates, attributes and
the first frame) before it streams the frames into it.  Done with
``xarray.Dataset.to_netcdf``, that costs more than the writing itself when dask is
installed: the first xarray Variable imports ``dask.array`` and the first write
``distributed`` (about 1.5 s of CPU, a third of ingesting a 150 MB dump on two cores).
:func:`write_group` issues the same h5netcdf calls in the same order as xarray's
h5netcdf backend for the kinds of variables a run skeleton holds, so the file has the
same dimensions, variables, types, fill values, filters, chunks and attributes
(``tests/test_ingest_pipeline.py`` compares the two, object by object):

* dimensions: the unlimited ones first, then in order of appearance in the variables;
* float variables get ``_FillValue = NaN`` unless their encoding says ``_FillValue: None``;
* booleans are stored as int8 with the attribute ``dtype = "bool"``; strings as
  variable-length UTF-8;
* ``scale_factor`` (encoding) is written as an attribute and the data divided by it,
  rounded to the stored integer type;
* every data variable gets a ``coordinates`` attribute naming (sorted) the
  non-dimension coordinates whose dimensions it spans.

Anything else (thermo logs with their own dimensions, ``add_offset``, string
encodings...) is refused with :class:`ValueError`; the caller writes such groups with
xarray.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PlainVariable", "write_group"]

_ENCODING_KEYS = {"chunksizes", "compression", "compression_opts", "shuffle", "dtype", "scale_factor", "_FillValue"}


@dataclass
class PlainVariable:
    """One variable: dimension names, values (numpy) and attributes."""

    dims: tuple
    data: np.ndarray
    attrs: dict = field(default_factory=dict)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim


def _encode(name: str, var: PlainVariable, enc: Mapping) -> tuple[np.ndarray, object, object, dict]:
    """(data as stored, h5 dtype, fill value or None, attributes) of one variable."""
    import h5py

    unknown = set(enc) - _ENCODING_KEYS
    if unknown:
        raise ValueError(f"{name}: encoding keys {sorted(unknown)} are not supported here")
    data, attrs = var.data, dict(var.attrs)
    kind = data.dtype.kind
    if kind in "US":
        if "dtype" in enc or "scale_factor" in enc:
            raise ValueError(f"{name}: string variables take no dtype or scale_factor encoding")
        return data, h5py.special_dtype(vlen=str), None, attrs
    if kind == "b":
        if "dtype" in enc or "scale_factor" in enc:
            raise ValueError(f"{name}: boolean variables take no dtype or scale_factor encoding")
        attrs["dtype"] = "bool"
        return data.astype("i1"), np.dtype("i1"), None, attrs
    if kind not in "iuf":
        raise ValueError(f"{name}: values of type {data.dtype} are not supported here")
    fill = None
    if "_FillValue" in enc:
        if enc["_FillValue"] is not None:
            raise ValueError(f"{name}: only _FillValue None is supported in the encoding")
    elif kind == "f":
        fill = np.float64(np.nan) if data.dtype == np.float64 else data.dtype.type(np.nan)
    if "scale_factor" in enc:
        data = data.astype(np.float64, copy=True)
        data /= enc["scale_factor"]
        attrs["scale_factor"] = enc["scale_factor"]
    if "dtype" in enc:
        dtype = np.dtype(enc["dtype"])
        if dtype.kind in "iu":
            data = np.around(data)
        data = data.astype(dtype)
    return data, data.dtype, fill, attrs


def write_group(path, group: str, data_vars: Mapping[str, PlainVariable], coords: Mapping[str, PlainVariable],
                attrs: Mapping, *, encoding: Mapping[str, Mapping] | None = None,
                unlimited_dims: Iterable[str] = (), mode: str = "a") -> None:
    """Create group ``group`` of the netCDF-4 file ``path`` (``mode`` "w": a new file)
    holding ``data_vars`` and ``coords`` with their ``encoding`` (xarray's keys:
    chunksizes, compression, compression_opts, shuffle, dtype, scale_factor, _FillValue None)."""
    import h5netcdf

    encoding = dict(encoding or {})
    variables = {**data_vars, **coords}
    if len(variables) != len(data_vars) + len(coords):
        raise ValueError(f"names used both as data variable and coordinate: {sorted(set(data_vars) & set(coords))}")
    unlimited = list(unlimited_dims)
    dims: dict = {d: None for d in unlimited}
    for var in variables.values():
        if len(var.dims) != var.data.ndim:
            raise ValueError(f"dimensions {var.dims} do not match values of shape {var.data.shape}")
        for d, n in zip(var.dims, var.data.shape):
            if dims.get(d) not in (None, n):
                raise ValueError(f"dimension {d!r} has lengths {dims[d]} and {n}")
            dims[d] = n
    dim_coords = {name for name, var in coords.items() if var.dims == (name,)}
    extra = {name: var for name, var in coords.items() if name not in dim_coords}
    used: set = set()
    var_attrs = {}
    for name, var in data_vars.items():
        names = sorted(c for c, cv in extra.items() if set(cv.dims) <= set(var.dims))
        used.update(names)
        var_attrs[name] = {**var.attrs, "coordinates": " ".join(names)} if names else dict(var.attrs)
    if set(extra) - used:
        raise ValueError(f"coordinates {sorted(set(extra) - used)} belong to no data variable")
    with h5netcdf.File(path, mode=mode, invalid_netcdf=None, decode_vlen_strings=True, driver=None,
                       format="NETCDF4") as f:
        g = f.create_group(group)
        for key, value in attrs.items():
            g.attrs[key] = value
        for d, n in dims.items():
            if d in unlimited:
                g.dimensions[d] = None
                g.resize_dimension(d, n)
            else:
                g.dimensions[d] = n
        for name, var in variables.items():
            enc = dict(encoding.get(name, {}))
            data, dtype, fill, v_attrs = _encode(name, PlainVariable(var.dims, var.data, var_attrs.get(name, var.attrs)),
                                                 enc)
            kwargs = {}
            if data.ndim:
                if enc.get("chunksizes") is not None:
                    kwargs["chunks"] = tuple(enc["chunksizes"])
                for key in ("compression", "compression_opts", "shuffle"):
                    if key in enc:
                        kwargs[key] = enc[key]
            v = g.create_variable(name, dimensions=var.dims, dtype=dtype, fillvalue=fill, **kwargs)
            for key, value in v_attrs.items():
                v.attrs[key] = value
            v[...] = data
