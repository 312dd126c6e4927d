"""Choose the reader for a run and give every reader one interface.

Every reader object has ``header() -> RunHeader``, ``iter_chunks(max_frames) ->
Iterator[FrameChunk]`` and ``info() -> RunInfo`` (see :mod:`uncertainty_gk.schema`).
:class:`DatasetReader` gives an in-memory Dataset (synthetic data, arrays) the
same interface, so that the archive writer treats all runs alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

from ..errors import InputFormatError, ManifestError
from ..schema import FrameChunk, RunHeader, RunInfo, labels_of


class DatasetReader:
    """Reader interface over a trajectory Dataset already in the schema form."""

    def __init__(self, ds: xr.Dataset):
        self.ds = ds

    def header(self) -> RunHeader:
        ds = self.ds
        return RunHeader(
            atom_id=np.asarray(ds["atom_id"].values),
            species=np.asarray(ds["species"].values).astype(str),
            lammps_type=np.asarray(ds["lammps_type"].values) if "lammps_type" in ds.coords else None,
            mass=np.asarray(ds["mass"].values), charge=np.asarray(ds["charge"].values))

    def n_frames_estimate(self) -> int:
        return int(self.ds.sizes["time"])

    def iter_chunks(self, max_frames: int | None = None) -> Iterator[FrameChunk]:
        ds = self.ds
        n = ds.sizes["time"]
        step = max_frames or max(1, int(64e6 // max(1, 24 * ds.sizes["atom"])))
        for a in range(0, n, step):
            sl = slice(a, min(n, a + step))
            part = ds.isel(time=sl)
            cell = np.asarray(part["cell"].values)
            if cell.ndim == 2:
                cell = np.broadcast_to(cell, (sl.stop - sl.start, 3, 3))
            yield FrameChunk(
                positions=np.asarray(part["positions"].values, dtype=np.float64), cell=np.array(cell),
                step=np.asarray(part["step"].values) if "step" in part.coords else None,
                time_ps=np.asarray(part["time"].values, dtype=np.float64),
                velocities=np.asarray(part["velocities"].values) if "velocities" in part else None,
                forces=np.asarray(part["forces"].values) if "forces" in part else None)

    def info(self) -> RunInfo:
        from ..schema import SourceFile
        import json

        a = self.ds.attrs
        srcs = [SourceFile(**s) for s in json.loads(a.get("sources", "[]"))]

        def num(key):
            v = a.get(key)
            return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)

        return RunInfo(reader=str(a.get("reader", "dataset")), sources=srcs, timestep_ps=None,
                       frame_interval_ps=None, temperature_K=num("temperature_K"),
                       units=str(a.get("units", "metal")), notes=json.loads(a.get("notes", "[]")))

    @property
    def labels(self) -> dict:
        return labels_of(self.ds)


def open_trajectory(spec, *, timestep_ps: float | None = None):
    """The reader for a manifest run (:class:`uncertainty_gk.manifest.RunSpec`), from the registry."""
    from .registry import get_reader

    try:
        cls = get_reader(spec.format)
    except InputFormatError as exc:
        raise ManifestError(f"{spec.origin}: {exc}") from None
    paths = [str(p) for p in spec.trajectory]
    if len(paths) != 1 and not getattr(cls, "joins_files", False):
        raise ManifestError(f"{spec.origin}: joining several files is supported for LAMMPS dumps only; "
                            f"found {len(paths)} {spec.format} files")
    opts = {k: spec.options[k] for k in ("max_unwrap_fraction", "frame_interval_ps") if k in spec.options}
    return cls.from_files(paths, timestep_ps=timestep_ps, **opts)


def type_map(spec) -> dict | None:
    """LAMMPS type -> element for a run: the manifest's ``types``, else its ``data_file``."""
    if "types" in spec.options:
        return dict(spec.options["types"])
    if "data_file" in spec.options:
        from .lammps_data import read_type_elements

        return read_type_elements(spec.options["data_file"])
    return None
