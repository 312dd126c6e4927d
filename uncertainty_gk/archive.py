"""The campaign archive: one netCDF4/HDF5 file, one group per run.

Layout (read with :func:`open_archive`, or ``xarray.open_datatree(path, engine="h5netcdf")``)::

    /                 attrs: format, uncertainty_gk_version, created, manifest, manifest_sha256
    /<run name>       one trajectory Dataset (docs/schema.md) per run

Writing streams frames from a reader into the file chunk by chunk, so a run larger
than memory ingests with bounded memory: positions, velocities and forces are
appended as they are read; the small per-frame arrays (time, step, cell) are kept
until the run ends.  The archive is written to a temporary file beside the target
and renamed into place only when complete.  Inputs are only ever read.

On re-ingest into an existing archive, runs whose input files (by SHA-256) and
options are unchanged are copied from the old archive instead of being parsed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from . import progress
from .errors import CampaignError, InputFormatError, OutputError, SchemaError, UGKError, UGKWarning
from .execution import TaskFailure, map_tasks
from .fileio import AtomicOutput, ensure_free_space, refuse_inputs, writing
from .h5chunks import ChunkWriter, compression_pool
from .nc_group import PlainVariable, write_group
from .prefetch import Prefetch
if TYPE_CHECKING:                 # imported where used: a run without a log is written without xarray
    import xarray as xr
from .schema import (CELL_VECTORS, XYZ, SourceFile, add_metadata, atom_coords, cell_volume, check_frames,
                     check_parameter, decimal_codes, decimal_fractional_to_cartesian, exact_at, make_attrs,
                     package_version, remember_sha256, resolve_species, sha256_file, sha256_once, time_axis,
                     variable_metadata)

ARCHIVE_FORMAT = "uncertainty_gk-campaign-2"
#: Formats :func:`open_archive` reads (1: before checksums and compact storage).
ARCHIVE_FORMATS = ("uncertainty_gk-campaign-1", ARCHIVE_FORMAT)
ENGINE = "h5netcdf"


@dataclass
class RunSummary:
    name: str
    labels: dict
    n_atoms: int
    n_frames: int
    t_start_ps: float
    t_end_ps: float
    reused: bool = False
    notes: list = field(default_factory=list)
    #: checksum records of the frame arrays, checked against the file's stored chunks
    #: right after writing (:func:`seal_run` uses them instead of reading the arrays again)
    verified: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass
class IngestReport:
    path: Path
    runs: list[RunSummary]

    @property
    def n_reused(self) -> int:
        return sum(r.reused for r in self.runs)


# --------------------------------------------------------------------------- writing
#: Target bytes per HDF5 chunk of positions (frames x atoms x 3), uncompressed.
CHUNK_BYTES = 1 << 20
#: gzip level of the stored arrays (with the byte shuffle filter).
COMPLEVEL = 4
#: Variables streamed frame by frame.
FRAME_VARIABLES = ("positions", "velocities", "forces")
#: Frames are read in pieces of about this many bytes of positions, each encoded and
#: compressed while the next is parsed (:func:`write_run`).
PIECE_BYTES = 8 << 20
#: Largest number of decimals tried for fractional coordinates (XDATCAR writes 8).
MAX_FRACTIONAL_DECIMALS = 10
_RUN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def _chunk_shape(n_frames: int, n_atoms: int) -> tuple[int, int, int]:
    """Chunks of whole frames, about CHUNK_BYTES each, never longer than the run."""
    per_frame = 24 * max(1, n_atoms)
    if per_frame > CHUNK_BYTES:
        return (1, max(1, CHUNK_BYTES // 24), 3)
    return (max(1, min(max(n_frames, 1), CHUNK_BYTES // per_frame)), n_atoms, 3)


class _Requantise(Exception):
    """A later chunk has more decimals than the first: store this run as float64."""


class FrameAxes:
    """The per-frame axes of one run as its chunks stream in (time, step, cell), and
    the checks and encodings every chunk gets before any archive backend writes it."""

    def __init__(self, info, source: str):
        self.info, self.source = info, source
        self.times: list[np.ndarray] = []
        self.steps: list[np.ndarray] = []
        self.cells: list[np.ndarray] = []

    def add(self, chunk, first_frame: int, encoders: Mapping, target, window: int = 0) -> dict[str, np.ndarray]:
        """Check ``chunk`` (frames ``first_frame``...), record its axes and return the
        encoded frame arrays by variable name (``window``: see :meth:`_Encoder.encode`)."""
        n, m, info = first_frame, chunk.n_frames, self.info
        check_frames(chunk, source=self.source, first_frame=n)
        ensure_free_space(target, sum(getattr(chunk, v).nbytes for v in encoders if getattr(chunk, v) is not None))
        encoded = {}
        for name, enc in encoders.items():
            arr = getattr(chunk, name)
            if arr is None:
                raise SchemaError(f"{self.source}: {name} present in the first frames but missing later "
                                  f"(frame {n}); dump them in every frame or in none")
            encoded[name] = enc.encode(arr, chunk.cell, window=window)
        self.times.append(time_axis(chunk.step, chunk.time_ps, n, m, timestep_ps=info.timestep_ps,
                                    frame_interval_ps=info.frame_interval_ps, source=self.source,
                                    reader_times=info.reader_times))
        if chunk.step is not None:
            self.steps.append(np.asarray(chunk.step, dtype=np.int64))
        self.cells.append(np.asarray(chunk.cell, dtype=np.float64))
        return encoded

    def time(self) -> np.ndarray:
        """The whole time axis (ps), refused unless strictly increasing."""
        t = np.concatenate(self.times)
        if t.size > 1 and not np.all(np.diff(t) > 0):
            i = int(np.argmax(~(np.diff(t) > 0)))
            raise SchemaError(f"{self.source}: time does not increase at frame {i + 1} ({t[i]} -> {t[i + 1]} ps); "
                              "frames must be in time order without repeats")
        return t


class _Encoder:
    """How one frame variable is stored, and the checksum of what was stored.

    * ``"decimal"``: every value is an N-decimal number (text input): int64 ``round(x * 10**N)``
      with CF ``scale_factor = 10**-N``;
    * ``"fractional"`` (positions only): the positions are
      :func:`~uncertainty_gk.schema.decimal_fractional_to_cartesian` of N-decimal unwrapped
      fractional coordinates (XDATCAR): int64 ``round(frac * 10**N)``, decoded with the cell;
    * ``"float"``: float64 as given.

    All are gzip + shuffle compressed.  Every chunk is checked to decode to its values
    bit for bit; a chunk that does not (more decimals than the first, another cell) makes
    the run be written again as float64 (:class:`_Requantise`).
    """

    def __init__(self, name: str, first: np.ndarray, first_cell: np.ndarray, quantise: bool):
        self.name = name
        self.mode, self.decimals = "float", None
        self.sha = hashlib.sha256()
        self._first: tuple | None = None       # (first chunk, its codes): checked once, encoded once
        if not quantise:
            return
        n, q = decimal_codes(first)
        if n is not None:
            self.mode, self.decimals = "decimal", n
            self._first = (first, q)
        elif name == "positions":
            n = self._fractional_decimals(first, first_cell)
            if n is not None:
                self.mode, self.decimals = "fractional", n

    @staticmethod
    def _fractional_q(x, cell, n):
        frac = np.einsum("naj,njk->nak", x, np.linalg.inv(cell))
        return np.rint(frac * 10.0 ** n)

    def _fractional_decimals(self, x, cell) -> int | None:
        if not (np.isfinite(x).all() and np.isfinite(cell).all()):
            return None
        for n in range(MAX_FRACTIONAL_DECIMALS + 1):
            q = self._fractional_q(x, cell, n)
            if np.array_equal(decimal_fractional_to_cartesian(q, n, cell), x):
                return n
        return None

    def cf_encoding(self) -> dict:
        enc = {"compression": "gzip", "compression_opts": COMPLEVEL, "shuffle": True}
        if self.mode == "decimal":
            enc.update(dtype="int64", scale_factor=10.0 ** -self.decimals, _FillValue=None)
        elif self.mode == "fractional":
            enc.update(dtype="int64", _FillValue=None)
        return enc

    def attrs(self) -> dict:
        if self.mode == "fractional":
            return {"ugk_encoding": "fractional", "ugk_decimals": self.decimals,
                    "ugk_decoding": f"positions = ((value / 10**{self.decimals}) as fractional coordinates) @ cell, "
                                    "see uncertainty_gk.schema.decimal_fractional_to_cartesian"}
        return {"ugk_encoding": self.mode, "ugk_decimals": -1 if self.decimals is None else self.decimals}

    def stored_dtype(self) -> str:
        return "<f8" if self.mode == "float" else "<i8"

    def encode(self, x: np.ndarray, cell: np.ndarray, window: int = 0) -> np.ndarray:
        """The stored form of frames ``x``.  ``window``: its first frames belong to the
        reader's default first chunk while the encoding was chosen from fewer frames
        (:func:`_stream_frames`); any of them that the default first chunk would have
        encoded otherwise raises :class:`_Respeculate`."""
        x = np.asarray(x, dtype=np.float64)
        if self.mode == "float":
            out = np.ascontiguousarray(x, dtype="<f8")
        elif self.mode == "decimal":
            if self._first is not None and self._first[0] is x:
                q = self._first[1]             # decimal_codes checked these exactly already
            else:
                n = self.decimals
                q = np.multiply(x, 10.0 ** n)
                np.rint(q, out=q)                  # one temporary instead of two
                if not exact_at(x, q, n):
                    if window and not exact_at(x[:window], q[:window], n):
                        raise _Respeculate
                    raise _Requantise(self.name)
                # decimal_codes refuses codes of 2**53 or more (they would not be exact)
                if window and float(np.abs(q[:window]).max(initial=0.0)) >= 2.0 ** 53:
                    raise _Respeculate
            self._first = None
            out = np.ascontiguousarray(q, dtype="<i8")
        else:
            q = self._fractional_q(x, cell, self.decimals)
            if not np.array_equal(decimal_fractional_to_cartesian(q, self.decimals, cell), x):
                raise _Requantise(self.name)
            out = np.ascontiguousarray(q, dtype="<i8")
        self.sha.update(memoryview(out).cast("B"))
        return out


def _skeleton_parts(header, species, first, info, *, coords_kw, labels, run_name, extra_attrs):
    """(data variables, coordinates, attributes) of a one-frame run, as ``name: (dims, values)``."""
    coords = atom_coords(header, species, **coords_kw)
    coords.update({"xyz": ("xyz", list(XYZ)), "cell_vector": ("cell_vector", list(CELL_VECTORS)),
                   "time": ("time", np.zeros(1))})
    if first.step is not None:
        coords["step"] = ("time", np.asarray(first.step[:1], dtype=np.int64))
    data = {"positions": (("time", "atom", "xyz"), first.positions[:1])}
    if first.velocities is not None:
        data["velocities"] = (("time", "atom", "xyz"), first.velocities[:1])
    if first.forces is not None:
        data["forces"] = (("time", "atom", "xyz"), first.forces[:1])
    return data, coords, make_attrs(info, labels, run_name=run_name, extra=extra_attrs)


def _skeleton(header, species, first, info, *, coords_kw, labels, run_name, extra_attrs, log_ds):
    """A one-frame Dataset carrying every variable, coordinate and attribute of the run."""
    data, coords, attrs = _skeleton_parts(header, species, first, info, coords_kw=coords_kw, labels=labels,
                                          run_name=run_name, extra_attrs=extra_attrs)
    import xarray as xr

    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    if log_ds is not None:
        from .schema import merge_log

        ds = merge_log(ds, log_ds)
    return add_metadata(ds)


class _PlainSkeleton:
    """The skeleton of a run without a log (:func:`_skeleton`) as plain numpy variables,
    written by :func:`uncertainty_gk.nc_group.write_group` without creating xarray objects
    (which import dask, when installed, at a cost larger than writing the run)."""

    def __init__(self, header, species, first, info, *, coords_kw, labels, run_name, extra_attrs):
        data, coords, self.attrs = _skeleton_parts(header, species, first, info, coords_kw=coords_kw, labels=labels,
                                                   run_name=run_name, extra_attrs=extra_attrs)

        def plain(items):
            out = {}
            for name, (dims, values) in items.items():
                dims = (dims,) if isinstance(dims, str) else tuple(dims)
                out[name] = PlainVariable(dims, np.asarray(values), variable_metadata(name))
            return out

        self.data_vars, self.coords = plain(data), plain(coords)
        self.sizes = {d: n for v in (*self.data_vars.values(), *self.coords.values())
                      for d, n in zip(v.dims, v.data.shape)}

    def __contains__(self, name) -> bool:
        return name in self.data_vars or name in self.coords

    @property
    def nbytes(self) -> int:
        return sum(v.data.nbytes for v in (*self.data_vars.values(), *self.coords.values()))


def _is_zarr(path) -> bool:
    """A ``.zarr`` path or a zarr store directory (:mod:`uncertainty_gk.zarr_archive`)."""
    p = Path(path)
    return p.suffix.lower() == ".zarr" or (p.is_dir() and (p / "zarr.json").is_file())


def check_run_name(name: str) -> str:
    """A run (group) name that cannot escape its group: letters, digits, ``_ . -``, no leading dot."""
    if not isinstance(name, str) or not _RUN_NAME.fullmatch(name):
        raise SchemaError(f"run name {name!r}: use only letters, digits, '_', '.', '-', not starting with '.'")
    return name


def write_run(path, group: str, reader, *, types=None, charges=None, masses=None, mobile=("Li",),
              labels=None, timestep_ps=None, frame_interval_ps=None, temperature_K=None,
              log_ds: xr.Dataset | None = None, extra_attrs: Mapping | None = None,
              show_progress: bool | None = None, quantise: bool = True, target=None) -> RunSummary:
    """Stream one run from ``reader`` into group ``group`` of the netCDF file ``path``.

    ``path`` must already exist (or be new); the group must not exist yet.  Positions,
    velocities and forces whose values are all N-decimal numbers (text files) are stored
    as scaled integers (``scale_factor = 10**-N``), others as float64; all gzip+shuffle
    compressed, in chunks of whole frames no longer than the run.  If a later chunk has
    more decimals than the first, the run is written again as float64.
    ``target`` (the final archive path) is used in messages.

    The frames are read in a background thread (:class:`~uncertainty_gk.prefetch.Prefetch`),
    from a reader with ``first_chunk_frames()`` in pieces of about :data:`PIECE_BYTES` of
    positions, so that parsing overlaps with checking, encoding, hashing and compressing
    (threads, :mod:`uncertainty_gk.h5chunks`).  The file is the same as when the frames are
    read in the reader's default chunks: the encodings are decided on the same first frames
    (:func:`_stream_frames`).
    """
    check_run_name(group)
    try:
        return _write_run(path, group, reader, types=types, charges=charges, masses=masses, mobile=mobile,
                          labels=labels, timestep_ps=timestep_ps, frame_interval_ps=frame_interval_ps,
                          temperature_K=temperature_K, log_ds=log_ds, extra_attrs=extra_attrs,
                          show_progress=show_progress, quantise=quantise, target=target or path)
    except _Requantise:
        _drop_group(path, group, target=target)
        return _write_run(path, group, reader, types=types, charges=charges, masses=masses, mobile=mobile,
                          labels=labels, timestep_ps=timestep_ps, frame_interval_ps=frame_interval_ps,
                          temperature_K=temperature_K, log_ds=log_ds, extra_attrs=extra_attrs,
                          show_progress=show_progress, quantise=False, target=target or path)


def _write_run(path, group, reader, *, types, charges, masses, mobile, labels, timestep_ps, frame_interval_ps,
               temperature_K, log_ds, extra_attrs, show_progress, quantise, target) -> RunSummary:
    info = reader.info()
    if timestep_ps is not None:
        info.timestep_ps = timestep_ps
    if frame_interval_ps is not None:
        info.frame_interval_ps = frame_interval_ps
    if temperature_K is not None:
        info.temperature_K = temperature_K
    source = info.sources[0].path if info.sources else group
    header = reader.header()
    species = resolve_species(header, types, source=source)
    est = getattr(reader, "n_frames_estimate", lambda: None)()
    first_frames = getattr(reader, "first_chunk_frames", lambda: None)()
    piece = None
    if first_frames is not None:
        piece = min(int(first_frames), max(1, PIECE_BYTES // (24 * max(1, header.n_atoms))))
    run = dict(path=path, group=group, info=info, header=header, species=species, est=est, source=source,
               coords_kw=dict(charges=charges, masses=masses, mobile=mobile, source=source), labels=labels,
               log_ds=log_ds, extra_attrs=extra_attrs, show_progress=show_progress, quantise=quantise,
               target=target, reader=reader)
    if piece is None or piece >= first_frames:
        with Prefetch(reader.iter_chunks()) as chunks:
            return _stream_frames(chunks, None, **run)
    held: list = []
    with Prefetch(reader.iter_chunks(max_frames=piece)) as chunks:
        try:
            return _stream_frames(chunks, (int(first_frames), held), **run)
        except _Respeculate:
            # decide as from the default first chunk: the same first frames, the rest unchanged
            return _stream_frames(_first_chunk(itertools.chain(held, chunks), int(first_frames)), None, **run)


class _Respeculate(Exception):
    """A piece within the first chunk is not stored as the first piece says: decide
    from the whole first chunk (nothing has been written yet)."""


def _first_chunk(chunks, k: int):
    """``chunks`` regrouped so that the first holds exactly the first ``k`` frames (or all)."""
    head, n = [], 0
    for chunk in chunks:
        head.append(chunk)
        n += chunk.n_frames
        if n >= k:
            break
    if not head:
        return
    whole = _concat_chunks(head)
    yield _slice_chunk(whole, 0, k)
    if whole.n_frames > k:
        yield _slice_chunk(whole, k, whole.n_frames)
    yield from chunks


def _concat_chunks(chunks: list):
    if len(chunks) == 1:
        return chunks[0]
    fields = {}
    for name in ("positions", "cell", "step", "time_ps", "velocities", "forces"):
        parts = [getattr(c, name) for c in chunks]
        fields[name] = None if any(p is None for p in parts) else np.concatenate(parts)
    return type(chunks[0])(**fields)


def _slice_chunk(chunk, a: int, b: int):
    if a == 0 and b >= chunk.n_frames:
        return chunk
    return type(chunk)(**{name: (None if (v := getattr(chunk, name)) is None else v[a:b])
                          for name in ("positions", "cell", "step", "time_ps", "velocities", "forces")})


def _stream_frames(chunks, speculate, *, path, group, info, header, species, est, source, coords_kw, labels,
                   log_ds, extra_attrs, show_progress, quantise, target, reader) -> RunSummary:
    """Write the frames of ``chunks`` as run ``group`` (see :func:`write_run`).

    ``speculate``: None, or ``(k, held)`` when ``chunks`` are pieces smaller than the
    reader's default first chunk of ``k`` frames.  Then the encodings chosen from the first
    piece are checked on every frame before frame ``k`` (:class:`_Respeculate` if one does
    not fit, with the pieces read so far in ``held``); the pieces are encoded and compressed
    as they come, and the file is written once frame ``k`` (or the end) is reached, with
    the chunk sizes derived from the first ``k`` frames: the same file as from default chunks.
    """
    # the run is written with h5netcdf once its first frames are in: import it (0.1 s) while
    # they are parsed, rather than later in the middle of the stream
    import h5netcdf  # noqa: F401

    try:
        first = next(chunks)
    except StopIteration:
        raise SchemaError(f"{source}: no frames to archive") from None
    check_frames(first, source=source, first_frame=0)
    if log_ds is None:
        skel = _PlainSkeleton(header, species, first, info, coords_kw=coords_kw, labels=labels, run_name=group,
                              extra_attrs=extra_attrs)
    else:
        skel = _skeleton(header, species, first, info, coords_kw=coords_kw, labels=labels, run_name=group,
                         extra_attrs=extra_attrs, log_ds=log_ds)
    encoders = {v: _Encoder(v, getattr(first, v), first.cell, quantise) for v in FRAME_VARIABLES if v in skel}
    if speculate is None:
        k, held = first.n_frames, None
    else:
        k, held = speculate
        held.append(first)
        if any(enc.mode == "fractional" for enc in encoders.values()):
            raise _Respeculate
    # frames before the file is written: the first chunk, or all when the run is shorter
    cshape = _chunk_shape(max(int(est or 0), first.n_frames), header.n_atoms)
    axes = FrameAxes(info, source)
    n = 0
    with contextlib.ExitStack() as stack:
        stack.enter_context(writing(target))
        pbar = stack.enter_context(progress.bar(total=est, desc=f"ingest {group}", unit="frame",
                                                enabled=show_progress))
        pool = stack.enter_context(compression_pool())
        writers = {name: ChunkWriter.detached(pool, chunks=cshape, dtype=enc.stored_dtype(), shuffle=True,
                                              level=COMPLEVEL) for name, enc in encoders.items()}
        g = None
        chunk = first
        try:
            while chunk is not None:
                m = chunk.n_frames
                if held is not None and chunk is not first:
                    held.append(chunk)             # until frame k is passed: what a new start needs
                window = max(0, min(m, k - n)) if held is not None else 0
                encoded = axes.add(chunk, n, encoders, target, window=window)
                if g is not None:
                    g.resize_dimension("time", n + m)
                for name, arr in encoded.items():
                    writers[name].write(n, arr)
                n += m
                pbar.update(m)
                if g is None and n >= k:
                    g = _create_run(stack, skel, encoders, path, group, target, max(int(est or 0), k), cshape, n,
                                    writers)
                    held = None                    # the first k frames are decided: keep nothing
                chunk = next(chunks, None)
            if g is None:                          # a run shorter than the first chunk
                g = _create_run(stack, skel, encoders, path, group, target, max(int(est or 0), n), cshape, n,
                                writers)
            for w in writers.values():
                w.close()
        except BaseException:
            for w in writers.values():
                w.abort()
            raise
        t = axes.time()
        g.variables["time"][:] = t
        if axes.steps:
            g.variables["step"][:] = np.concatenate(axes.steps)
        cell = np.concatenate(axes.cells)
        constant = bool(np.allclose(cell, cell[:1], rtol=0, atol=1e-9))
        if constant:
            cv = g.create_variable("cell", ("cell_vector", "xyz"), np.float64, data=cell[0])
            vv = g.create_variable("volume", (), np.float64, data=cell_volume(cell[0]))
        else:
            kc = min(len(cell), 4096)
            cv = g.create_variable("cell", ("time", "cell_vector", "xyz"), np.float64, data=cell,
                                   chunks=(kc, 3, 3), compression="gzip", compression_opts=COMPLEVEL, shuffle=True)
            vv = g.create_variable("volume", ("time",), np.float64, data=cell_volume(cell),
                                   chunks=(kc,), compression="gzip", compression_opts=COMPLEVEL, shuffle=True)
        cv.attrs["units"], cv.attrs["long_name"] = "angstrom", "cell (lattice vectors as rows)"
        vv.attrs["units"], vv.attrs["long_name"] = "angstrom^3", "cell volume"
        for name, enc in encoders.items():
            g.variables[name].attrs.update(enc.attrs())
        # notes may have grown while streaming (duplicates removed, truncated frame dropped)
        g.attrs["notes"] = json.dumps(list(reader.info().notes))
        g.attrs["frame_interval_ps"] = float(np.median(np.diff(t))) if t.size > 1 else float("nan")
        g.attrs["ugk_stream_sha256"] = json.dumps({name: e.sha.hexdigest() for name, e in encoders.items()})
    verified = _check_written(path, group, writers, encoders, target)
    return RunSummary(name=group, labels=dict(labels or {}), n_atoms=header.n_atoms, n_frames=n,
                      t_start_ps=float(t[0]), t_end_ps=float(t[-1]), notes=list(reader.info().notes),
                      verified=verified)


def _create_run(stack, skel, encoders, path, group, target, n_expect: int, cshape, n_written: int, writers):
    """Write the skeleton of run ``group`` (chunk sizes from ``n_expect`` frames), open it for
    streaming in ``stack`` and attach the ``writers`` (which hold ``n_written`` frames)."""
    import h5netcdf

    if _chunk_shape(n_expect, skel.sizes["atom"]) != tuple(cshape):
        raise RuntimeError(f"run {group}: chunk shape {cshape} chosen before the file was written differs from "
                           f"{_chunk_shape(n_expect, skel.sizes['atom'])}")
    encoding = {v: {"chunksizes": tuple(cshape), **enc.cf_encoding()} for v, enc in encoders.items()}
    tchunk = (max(1, min(n_expect, 4096)),)
    encoding["time"] = {"chunksizes": tchunk, "compression": "gzip", "compression_opts": COMPLEVEL}
    if "step" in skel.coords:
        encoding["step"] = {"chunksizes": tchunk, "compression": "gzip", "compression_opts": COMPLEVEL,
                            "shuffle": True}
    for v, var in skel.data_vars.items():
        if str(v).startswith("thermo") and var.dtype.kind == "f" and var.ndim == 1:
            encoding[v] = {"compression": "gzip", "compression_opts": COMPLEVEL, "shuffle": True}
    mode = "a" if os.path.exists(path) else "w"
    ensure_free_space(target, skel.nbytes)
    if hasattr(skel, "to_netcdf"):              # an xarray Dataset (a run with a log)
        import xarray as xr

        with writing(target), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=xr.SerializationWarning)   # int64 with no _FillValue
            skel.to_netcdf(path, mode=mode, group=group, engine=ENGINE, unlimited_dims=["time"], encoding=encoding)
    else:
        with writing(target):
            write_group(path, group, skel.data_vars, skel.coords, skel.attrs, encoding=encoding,
                        unlimited_dims=["time"], mode=mode)
    f = stack.enter_context(h5netcdf.File(path, "a"))
    g = f[group]
    g.resize_dimension("time", n_written)
    for name, w in writers.items():
        w.attach(g.variables[name]._h5ds)
    return g


def _check_written(path, group, writers, encoders, target) -> dict:
    """Read the compressed chunks stored back from the closed file and compare them with
    those written; the checksum records (as :func:`group_digests` computes them) of the
    arrays verified so."""
    import h5py

    verified = {}
    with writing(target), h5py.File(path, "r") as f:
        g = f[group]
        for name, w in writers.items():
            if not w.direct:
                continue                            # written the ordinary way: checked when sealed
            d = g[name]
            if w.check_stored(d):
                raise OutputError(f"{target}: run {group}: the stored {name} differ from what was written "
                                  "(disk or file-system fault); nothing was changed")
            verified[name] = {"sha256": encoders[name].sha.hexdigest(), "dtype": d.dtype.newbyteorder("<").str,
                              "shape": list(d.shape)}
    return verified


# --------------------------------------------------------------------------- checksums
CHECKSUM_ATTR = "ugk_checksums"
_SLAB_BYTES = 16 << 20


def _digest_dataset(d) -> dict:
    """sha256 of a stored (raw, undecoded) HDF5 dataset or zarr array, read in slabs, with dtype and shape."""
    import h5py

    h = hashlib.sha256()
    h5_str = isinstance(d, h5py.Dataset) and h5py.check_string_dtype(d.dtype) is not None
    if h5_str or d.dtype.kind in "OSUT":
        values = np.asarray(d.asstr()[()] if h5_str else d[()])
        if values.dtype.kind == "T":                         # numpy StringDType (zarr v3 strings)
            values = values.astype(object)
        h.update(json.dumps(np.asarray(values).astype(str).tolist()).encode())
        dtype = "str"
    elif d.ndim == 0 or d.size == 0:
        h.update(np.ascontiguousarray(d[()], dtype=d.dtype.newbyteorder("<")).tobytes())
        dtype = d.dtype.newbyteorder("<").str
    else:
        step = max(1, _SLAB_BYTES // max(1, d.dtype.itemsize * (d.size // d.shape[0])))
        for a in range(0, d.shape[0], step):
            h.update(memoryview(np.ascontiguousarray(d[a:a + step], dtype=d.dtype.newbyteorder("<"))).cast("B"))
        dtype = d.dtype.newbyteorder("<").str
    return {"sha256": h.hexdigest(), "dtype": dtype, "shape": list(d.shape)}


def _attr_value(v, squeeze: bool):
    v = v.tolist() if isinstance(v, np.ndarray) else v.item() if isinstance(v, np.generic) else v
    return v[0] if squeeze and isinstance(v, list) and len(v) == 1 else v


def _attrs_digest(attrs, *, legacy: bool = False) -> str:
    """sha256 of a run's attributes.  A one-element array (netCDF stores numbers so) counts
    as its element, so that netCDF and zarr copies of a run have the same digest;
    ``legacy``: the digest recorded before that (still accepted by :func:`verify_group`)."""
    items = {k: _attr_value(v, not legacy)
             for k, v in attrs.items() if not k.startswith(("_", "ugk_", "DIMENSION", "REFERENCE", "CLASS", "NAME"))}
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


def group_arrays(g) -> dict:
    """name -> stored array of a run group (an HDF5 group or a zarr group)."""
    import h5py

    if isinstance(g, h5py.Group):
        return {name: d for name, d in g.items() if isinstance(d, h5py.Dataset)}
    return dict(g.arrays())


def group_digests(g) -> dict:
    return {name: _digest_dataset(d) for name, d in group_arrays(g).items()}


def seal_run(path, group: str, *, target=None, verified: Mapping | None = None) -> None:
    """Record the checksum of every array (and of the attributes) of run ``group``.

    The frame arrays are also compared with the checksums computed while they were
    streamed, so that data that did not reach the disk intact is an error now.
    ``verified``: checksum records of arrays already checked against the stored bytes
    (:attr:`RunSummary.verified`, from :func:`write_run`), used instead of reading them again.
    """
    import h5py

    with writing(target or path), h5py.File(path, "a") as f:
        seal_group(f[group], f"{target or path}: run {group}", verified=verified)


def seal_group(g, where: str, verified: Mapping | None = None) -> None:
    """:func:`seal_run` on an open run group (HDF5 or zarr); ``where`` names it in messages."""
    verified = dict(verified or {})
    digests = {name: verified[name] if name in verified else _digest_dataset(d)
               for name, d in group_arrays(g).items()}
    streamed = json.loads(g.attrs.get("ugk_stream_sha256", "{}"))
    for name, sha in streamed.items():
        if name in digests and digests[name]["sha256"] != sha:
            raise OutputError(f"{where}: the stored {name} differ from what was written "
                              "(disk or file-system fault); nothing was changed")
    if "ugk_stream_sha256" in g.attrs:
        del g.attrs["ugk_stream_sha256"]
    g.attrs[CHECKSUM_ATTR] = json.dumps({"arrays": digests, "attrs": _attrs_digest(g.attrs)}, sort_keys=True)


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_archive`."""

    path: Path
    n_runs: int = 0
    n_arrays: int = 0
    problems: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    #: run groups of a zarr store left incomplete by an interrupted write (readers ignore them)
    incomplete: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return (f"{self.path}: DAMAGED: {len(self.problems)} problem(s) in {self.n_runs} run(s): "
                    + "; ".join(self.problems[:10]) + ("; ..." if len(self.problems) > 10 else ""))
        extra = (f"; {len(self.unverified)} run(s) without checksums (written by an older version; re-ingest to "
                 f"add them): {', '.join(self.unverified[:5])}") if self.unverified else ""
        if self.incomplete:
            extra += (f"; {len(self.incomplete)} incomplete run group(s) left by interrupted writes, ignored when "
                      f"reading (ingest again to rewrite them): {', '.join(self.incomplete[:5])}")
        return f"{self.path}: OK: {self.n_arrays} arrays of {self.n_runs} run(s) match their checksums{extra}"


def verify_group(g, name: str) -> tuple[list[str], int, bool]:
    """(problems, arrays checked, has checksums) of one run group."""
    raw = g.attrs.get(CHECKSUM_ATTR)
    if raw is None:
        return [], 0, False
    try:
        recorded = json.loads(raw)
        arrays = recorded["arrays"]
    except (ValueError, KeyError, TypeError):
        return [f"run {name}: its checksum record is unreadable"], 0, True
    problems = []
    stored = group_arrays(g)
    for var, want in arrays.items():
        d = stored.get(var)
        if d is None:
            problems.append(f"run {name}: array {var} is missing")
            continue
        try:
            got = _digest_dataset(d)
        except (OSError, ValueError, RuntimeError) as exc:
            problems.append(f"run {name}: array {var} cannot be read ({exc})")
            continue
        if got != want:
            what = "shape/type" if got["shape"] != want["shape"] or got["dtype"] != want["dtype"] else "values"
            problems.append(f"run {name}: array {var}: checksum mismatch ({what} changed since it was written)")
    extra = sorted(k for k in stored if k not in arrays)
    if extra:
        problems.append(f"run {name}: arrays {extra} were added after the checksums were recorded")
    if recorded.get("attrs") not in (_attrs_digest(g.attrs), _attrs_digest(g.attrs, legacy=True)):
        problems.append(f"run {name}: its attributes (labels, timestep, sources, ...) changed since it was written")
    return problems, len(arrays), True


def verify_archive(path) -> VerifyReport:
    """Check every stored array of a campaign archive against its recorded checksum.

    A zarr store is checked the same way (:func:`uncertainty_gk.zarr_archive.verify_zarr`),
    and its incomplete run groups are listed.
    Returns a :class:`VerifyReport` (``.ok``, ``.problems``, ``.summary()``); raises
    :class:`UGKError` only when ``path`` is not a campaign archive at all.
    """
    import h5py

    path = Path(path)
    if _is_zarr(path):
        from .zarr_archive import verify_zarr

        return verify_zarr(path)
    if not path.is_file():
        raise UGKError(f"{path}: archive not found")
    report = VerifyReport(path=path)
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise UGKError(f"{path}: not a netCDF4/HDF5 archive (damaged beyond reading, or another kind of file)") \
            from None
    with f:
        fmt = f.attrs.get("format")
        if fmt not in ARCHIVE_FORMATS:
            raise UGKError(f"{path}: not an uncertainty_gk campaign archive (format attribute {fmt!r})")
        for name, g in f.items():
            if not isinstance(g, h5py.Group):
                continue
            report.n_runs += 1
            try:
                problems, n, has = verify_group(g, name)
            except (OSError, RuntimeError) as exc:
                problems, n, has = [f"run {name}: cannot be read ({exc})"], 0, True
            report.problems.extend(problems)
            report.n_arrays += n
            if not has:
                report.unverified.append(name)
    return report


def _group_intact(path: Path, name: str) -> tuple[bool, str]:
    """Whether run ``name`` of an existing archive matches its checksums (and why not)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            problems, _, has = verify_group(f[name], name)
    except (OSError, KeyError, RuntimeError) as exc:
        return False, f"cannot be read ({exc})"
    if not has:
        return False, "it has no checksums (written by an older version)"
    return (not problems), "; ".join(problems)


def _write_root_attrs(path, attrs: Mapping, *, target=None) -> None:
    import h5netcdf

    with writing(target or path), h5netcdf.File(path, "a") as f:
        for k, v in attrs.items():
            f.attrs[k] = v


def write_archive(runs, path, *, overwrite: bool = False, attrs: Mapping | None = None,
                  show_progress: bool | None = None) -> IngestReport:
    """Archive in-memory trajectory Datasets (e.g. synthetic runs) to ``path``.

    ``runs`` is a mapping name -> Dataset or a list of Datasets (named by their
    ``run_name`` attribute or ``run000``, ``run001``, ...).  A ``.zarr`` path writes a zarr store.
    """

    items = runs.items() if isinstance(runs, Mapping) else (
        (ds.attrs.get("run_name") or f"run{i:03d}", ds) for i, ds in enumerate(runs))
    path = Path(path)
    if path.exists() and not overwrite:
        raise UGKError(f"{path}: exists; pass overwrite=True (--overwrite) to replace it")
    summaries = []
    if _is_zarr(path):
        from .zarr_archive import copy_run_zarr, create_store

        with AtomicOutput(path) as tmp:
            create_store(tmp, attrs)
            summaries = [copy_run_zarr(tmp, name, ds, show_progress=show_progress) for name, ds in items]
        return IngestReport(path=path, runs=summaries)
    with AtomicOutput(path) as tmp:
        for name, ds in items:
            summary = copy_run(tmp, name, ds, show_progress=show_progress, target=path)
            summaries.append(summary)
            seal_run(tmp, name, target=path, verified=summary.verified)
        _write_root_attrs(tmp, {"format": ARCHIVE_FORMAT, "uncertainty_gk_version": package_version(),
                                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                **dict(attrs or {})}, target=path)
    return IngestReport(path=path, runs=summaries)


def copy_run(path, name: str, ds: xr.Dataset, *, show_progress: bool | None = None, target=None) -> RunSummary:
    """Write a trajectory Dataset (in memory or lazily opened) as group ``name`` of ``path``,
    streaming its frames, keeping its attributes, log variables and per-atom data."""
    summary = write_run(path, name, **copy_run_arguments(ds), show_progress=show_progress, target=target)
    _set_group_attr(path, name, "notes", ds.attrs.get("notes", "[]"), target=target)
    return summary


def copy_run_arguments(ds: xr.Dataset) -> dict:
    """The arguments of :func:`write_run` (reader, labels, mobile, log, attributes) that copy ``ds``."""
    from .io.dispatch import DatasetReader

    log_vars = [v for v in ds.variables if str(v).startswith(("thermo", "event"))]
    log_ds = ds[log_vars] if log_vars else None
    if log_ds is not None:
        log_ds.attrs = {k[len("log_"):]: v for k, v in ds.attrs.items() if k.startswith("log_")}
    mobile = ds["mobile"].values.astype(bool)
    return dict(reader=DatasetReader(ds), labels=json.loads(ds.attrs.get("labels", "{}")),
                mobile=[str(s) for s in np.unique(ds["species"].values[mobile])], log_ds=log_ds,
                extra_attrs={k: v for k, v in ds.attrs.items() if k not in ("labels", CHECKSUM_ATTR)})


# --------------------------------------------------------------------------- ingest
def _run_fingerprint(spec) -> tuple[list[SourceFile], str]:
    files = [SourceFile.from_path(p, "trajectory") for p in spec.trajectory]
    if spec.log:
        files.append(SourceFile.from_path(spec.log, "log"))
    if "data_file" in spec.options:
        files.append(SourceFile.from_path(spec.options["data_file"], "data_file"))
    opts = json.dumps({"options": spec.options, "labels": spec.labels}, sort_keys=True, default=str)
    return files, opts


def _fingerprints(specs) -> Iterator[tuple[list[SourceFile], str]]:
    """:func:`_run_fingerprint` of each run, in order, hashed in a background thread while
    this one loads the modules the runs' readers will import (``preload_modules``: hashing
    releases the lock, importing holds it); the digests are remembered by this thread's
    :func:`sha256_once` block."""
    import importlib
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ugk-sha256")
    futures = [pool.submit(_run_fingerprint, spec) for spec in specs]
    try:
        for name in sorted({m for spec in specs for m in _reader_modules(spec)}):
            importlib.import_module(name)
        for fut in futures:
            files, opts = fut.result()
            remember_sha256({f.path: f.sha256 for f in files})
            yield files, opts
    finally:                            # stopped early (an error): hash nothing more
        pool.shutdown(wait=True, cancel_futures=True)


def _reader_modules(spec) -> tuple[str, ...]:
    """The ``preload_modules`` of a run's reader (none for an unknown format: the reader
    itself reports that, with the run's name, when the run is opened)."""
    from .io.registry import get_reader

    try:
        return tuple(getattr(get_reader(spec.format), "preload_modules", ()))
    except InputFormatError:
        return ()


def _reusable_groups(path: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (sha256 list, options JSON) of the runs in an existing archive."""
    import h5py

    out = {}
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") not in ARCHIVE_FORMATS:
                return {}
            for name, g in f.items():
                if isinstance(g, h5py.Group) and "ingest_fingerprint" in g.attrs:
                    out[name] = (json.loads(g.attrs["sources"]), g.attrs["ingest_fingerprint"])
    except OSError:
        return {}
    return out


def _group_key(spec) -> str:
    return json.dumps(spec.group_labels(), sort_keys=True, default=str)


def _check_group(members: dict, spec, summary: RunSummary, species: np.ndarray, dt: float) -> None:
    """Runs sharing all labels but the seed must have the same atoms and frame interval."""
    key = _group_key(spec)
    comp = dict(zip(*np.unique(species, return_counts=True)))
    comp = {str(k): int(v) for k, v in comp.items()}
    if key not in members:
        members[key] = (spec.name, comp, dt)
        return
    other, ocomp, odt = members[key]
    if ocomp != comp:
        raise CampaignError(f"runs {other!r} and {spec.name!r} share labels {spec.group_labels()} but have "
                            f"different atoms ({ocomp} vs {comp}); give them different labels "
                            "(e.g. structure = ...) if they are different systems")
    if np.isfinite(dt) and np.isfinite(odt) and abs(dt - odt) > 1e-6 * max(dt, odt):
        raise CampaignError(f"runs {other!r} and {spec.name!r} share labels {spec.group_labels()} but have "
                            f"different frame intervals ({odt:g} vs {dt:g} ps); check timestep_ps / "
                            "frame_interval_ps, or give them different labels")



def prepare_ingest(manifest, out_path, log) -> tuple:
    """What every ingest starts with: the loaded manifest, the output path, the logger,
    the manifest's input files, and the refusal to write onto any of them."""
    from .manifest import Manifest, load_manifest

    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    out_path = Path(out_path)
    inputs = manifest.input_files()
    refuse_inputs(out_path, inputs)
    return manifest, out_path, log or (lambda msg: None), inputs

def ingest(manifest, out_path, *, overwrite: bool = False, show_progress: bool | None = None,
           log=None, client=None, on_run_error=None) -> IngestReport:
    """Read every run of a manifest and write the campaign archive atomically.

    Parameters
    ----------
    manifest : Manifest or path
        The campaign (see :mod:`uncertainty_gk.manifest`).
    out_path : path
        The archive to write (``.zarr``: a zarr store, written run by run and appended
        to, see :func:`uncertainty_gk.zarr_archive.ingest_zarr`).  If it exists and was written by uncertainty_gk, runs
        with unchanged inputs are copied from it; runs it holds that the manifest no
        longer lists are an error unless ``overwrite``.
    log : callable, optional
        Called with one-line messages (e.g. ``print``).
    client : dask.distributed.Client, optional
        Parse the runs on its workers, one task per run: each writes its run into a part
        file in a temporary directory beside ``out_path`` (which the workers must see);
        this process then copies the parts into the archive in manifest order, verifying
        their checksums.  The archive holds the same arrays and attributes, bit for bit,
        as without a client.
    on_run_error : callable, optional
        Called with ``(run name, exception)`` for a run that cannot be read; the other runs
        are archived (``--keep-going``).  Without it the first bad run stops the ingest and
        nothing is written.
    """
    from .io.dispatch import open_trajectory, type_map

    if _is_zarr(out_path):
        from .zarr_archive import ingest_zarr

        return ingest_zarr(manifest, out_path, overwrite=overwrite, show_progress=show_progress, log=log,
                           client=client, on_run_error=on_run_error)
    manifest, out_path, say, inputs = prepare_ingest(manifest, out_path, log)
    old = _reusable_groups(out_path) if out_path.exists() else {}
    if out_path.exists() and not old and not overwrite:
        raise UGKError(f"{out_path}: exists and is not an uncertainty_gk archive; pass --overwrite to replace it")
    dropped = sorted(set(old) - {r.name for r in manifest.runs})
    if dropped and not overwrite:
        raise UGKError(f"{out_path}: holds runs not in the manifest ({', '.join(dropped[:5])}"
                       f"{'...' if len(dropped) > 5 else ''}); pass --overwrite to drop them or write elsewhere")
    summaries: list[RunSummary] = []
    members: dict = {}
    contents: dict = {}
    n_runs = len(manifest.runs)
    # every input is read once to hash it (fingerprints, then the provenance the readers record)
    with AtomicOutput(out_path, inputs=inputs) as tmp, _parts_directory(out_path, client) as parts, sha256_once():
        plan = []                      # (spec, files, opts, reuse) in manifest order
        for i, (spec, (files, opts)) in enumerate(zip(manifest.runs, _fingerprints(manifest.runs))):
            _check_same_content(contents, spec, files)
            plan.append((spec, files, opts, _reusable(out_path, old, spec, files, opts,
                                                      lambda m, i=i: say(f"[{i + 1}/{n_runs}] {m}"))))
        parsed: dict = {}
        if parts is not None:
            todo = [(spec, files, opts, str(parts / f"run{i}.nc"), str(out_path))
                    for i, (spec, files, opts, reuse) in enumerate(plan) if not reuse]
            outcomes = map_tasks(_ingest_part, todo, client=client, desc="ingest", unit="run",
                                 show_progress=show_progress)
            parsed = {item[0].name: (item[3], res) for item, res in zip(todo, outcomes)}
        for i, (spec, files, opts, reuse) in enumerate(plan):
            try:
                if reuse:
                    summary, species, dt = _reuse_run(tmp, spec, out_path, show_progress)
                    say(f"[{i + 1}/{n_runs}] {spec.name}: inputs unchanged (sha256) and archive checksums verified, "
                        "reused")
                else:
                    if spec.name in parsed:
                        part, res = parsed[spec.name]
                        if isinstance(res, TaskFailure):
                            raise res.exc
                        summary, species, dt, caught = res
                        for category, message in caught:       # the worker's warnings, in order
                            warnings.warn(message, category, stacklevel=2)
                        _transplant_run(part, tmp, spec.name, target=out_path)
                    else:
                        summary, species, dt = _ingest_run(tmp, spec, files, opts, show_progress, type_map,
                                                           open_trajectory, target=out_path)
                        seal_run(tmp, spec.name, target=out_path, verified=summary.verified)
                    say(f"[{i + 1}/{n_runs}] {spec.name}: {summary.n_frames} frames x {summary.n_atoms} atoms, "
                        f"{summary.t_start_ps:g}-{summary.t_end_ps:g} ps" + "".join(f"; {n}" for n in summary.notes))
            except UGKError as exc:
                if on_run_error is None:
                    raise
                _drop_group(tmp, spec.name, target=out_path)
                on_run_error(spec.name, exc)
                continue
            _check_group(members, spec, summary, species, dt)
            summaries.append(summary)
        if not summaries:
            raise UGKError(f"{out_path}: no run of the manifest could be read; nothing written")
        root = {"format": ARCHIVE_FORMAT, "uncertainty_gk_version": package_version(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "campaign": json.dumps(manifest.campaign)}
        if manifest.path is not None:
            root["manifest"] = str(Path(manifest.path).resolve())
            root["manifest_sha256"] = sha256_file(manifest.path)
        _write_root_attrs(tmp, root, target=out_path)
    return IngestReport(path=out_path, runs=summaries)


def _reusable(out_path, old: dict, spec, files, opts, say) -> bool:
    """Whether run ``spec`` of the existing archive can be copied instead of read again."""
    prev = old.get(spec.name)
    if prev is None or [s["sha256"] for s in prev[0]] != [s.sha256 for s in files] or prev[1] != opts:
        return False
    intact, why = _group_intact(out_path, spec.name)
    if not intact:
        msg = (f"{out_path}: run {spec.name}: inputs unchanged, but the archived copy fails its check "
               f"({why}); reading it again from its inputs instead of copying it")
        warnings.warn(msg, UGKWarning, stacklevel=3)
        say(f"{spec.name}: {msg}")
    return intact


def _reuse_run(tmp, spec, out_path, show_progress):
    with _open_run(out_path, spec.name) as ds:
        summary = copy_run(tmp, spec.name, ds, show_progress=show_progress, target=out_path)
        summary.reused = True
        species = ds["species"].values
        dt = float(np.asarray(ds.attrs.get("frame_interval_ps", np.nan)).reshape(-1)[0])
    seal_run(tmp, spec.name, target=out_path, verified=summary.verified)
    return summary, species, dt


@contextlib.contextmanager
def _parts_directory(out_path: Path, client):
    """With a client: a temporary directory beside ``out_path`` for the runs parsed on workers
    (named like the archive's temporary file, so a killed ingest's parts are cleaned up by the
    next write of the same archive); removed at the end.  Without one: None."""
    if client is None:
        yield None
        return
    import shutil

    path = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.ugk-{os.getpid()}-", suffix=".tmp",
                                 dir=out_path.parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _ingest_part(spec, files, opts, part: str, target: str):
    """Worker task: read one run into its own sealed one-run file ``part``.

    Returns (summary, species, frame interval, warnings as (category, message)); the
    caller copies the run into the archive (:func:`_transplant_run`).
    """
    from .io.dispatch import open_trajectory, type_map

    with warnings.catch_warnings(record=True) as caught, sha256_once({f.path: f.sha256 for f in files}):
        warnings.simplefilter("always")
        summary, species, dt = _ingest_run(part, spec, files, opts, False, type_map, open_trajectory, target=target)
        seal_run(part, spec.name, target=target, verified=summary.verified)
    return summary, species, dt, [(w.category, str(w.message)) for w in caught]


#: netCDF-4 attributes holding per-file dimension ids, renumbered when a run moves between files.
_DIMID_ATTRS = ("_Netcdf4Dimid", "_Netcdf4Coordinates")


def _transplant_run(part, path, group: str, *, target=None) -> None:
    """Copy run ``group`` from the one-run file ``part`` into ``path`` as it is, then check it.

    HDF5 copies the stored (compressed) chunks unchanged; netCDF-4 dimension ids, which
    count through a file, are shifted to follow those already in ``path`` as if the run
    had been written there.  The copy must match the checksums sealed on the worker.
    """
    import h5netcdf
    import h5py

    if not os.path.exists(path):
        with writing(target or path), h5netcdf.File(path, "w"):
            pass                  # a netCDF-4 file (its _NCProperties), as the first run written here makes it
    with writing(target or path), h5py.File(path, "a") as dst, h5py.File(part, "r") as src:
        # as h5netcdf numbers a new dimension: one more than the largest id of a dimension scale
        ids = [int(d.attrs.get("_Netcdf4Dimid", -1)) for d in _datasets(dst)
               if d.attrs.get("CLASS", None) == b"DIMENSION_SCALE"]
        shift = max(ids, default=-1) + 1
        src.copy(src[group], dst, name=group)
        for d in _datasets(dst[group]):
            for key in _DIMID_ATTRS:
                if key in d.attrs:
                    value = d.attrs[key]
                    d.attrs[key] = (np.asarray(value) + shift).astype(np.asarray(value).dtype)
        _reattach_scales(src[group], dst[group])
        problems, _, has = verify_group(dst[group], group)
    if problems or not has:
        raise OutputError(f"{target or path}: run {group}: the copy of the run parsed on a worker does not match "
                          f"its checksums ({'; '.join(problems) or 'none recorded'}); nothing was written")


def _reattach_scales(src, dst) -> None:
    """Attach the dimension scales of the copied group ``dst`` as they are attached in ``src``.

    HDF5 copies object references inside compound attributes (the scales'
    ``REFERENCE_LIST``) unchanged, so after a copy between files they point into the
    source file; they are rebuilt here, scale by scale in the order of the source's
    lists, which gives the same lists.
    """
    for d in _datasets(dst):
        for key in ("DIMENSION_LIST", "REFERENCE_LIST"):
            if key in d.attrs:
                del d.attrs[key]
    for scale in _datasets(src):
        if scale.attrs.get("CLASS", None) != b"DIMENSION_SCALE" or "REFERENCE_LIST" not in scale.attrs:
            continue
        target = dst[scale.name[len(src.name) + 1:]]
        for ref, axis in scale.attrs["REFERENCE_LIST"]:
            attached = src.file[ref]
            dst[attached.name[len(src.name) + 1:]].dims[int(axis)].attach_scale(target)


def _datasets(group):
    import h5py

    out = []
    group.visititems(lambda _, obj: out.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def _drop_group(path, group: str, *, target=None) -> None:
    """Remove what a failed run left in the temporary archive."""
    import h5py

    if not os.path.exists(path):
        return                     # it failed before anything was written
    with writing(target or path), h5py.File(path, "a") as f:
        if group in f:
            del f[group]


def _check_same_content(contents: dict, spec, files) -> None:
    """Two runs of one group whose trajectories have the same content are one seed counted twice."""
    key = _group_key(spec)
    for f in files:
        if f.role != "trajectory":
            continue
        other = contents.get((key, f.sha256))
        if other is not None:
            raise CampaignError(f"{spec.origin}: trajectory {f.path} has the same content (sha256) as {other} in "
                                f"the same group {spec.group_labels()}: one run would count as two independent "
                                "seeds; remove the copy")
        contents[(key, f.sha256)] = f"{f.path} ({spec.origin})"


def _ingest_run(tmp, spec, files, opts, show_progress, type_map, open_trajectory, *, target=None):
    reader, log_ds, timestep = open_run_inputs(spec)
    types = type_map(spec)
    extra = {"ingest_fingerprint": opts, "origin": spec.origin}
    summary = write_run(tmp, spec.name, reader, types=types, charges=spec.options.get("charges"),
                        masses=spec.options.get("masses"), mobile=spec.options.get("mobile", ["Li"]),
                        labels=spec.labels, timestep_ps=timestep,
                        frame_interval_ps=spec.options.get("frame_interval_ps"),
                        temperature_K=spec.options.get("temperature_K"), log_ds=log_ds,
                        extra_attrs=extra, show_progress=show_progress, target=target)
    _set_group_attr(tmp, spec.name, "sources", json.dumps([s.as_dict() for s in files]), target=target)
    import h5py

    with h5py.File(tmp, "r") as f:
        g = f[spec.name]
        species = np.asarray(g["species"][:]).astype(str)
        dt = float(np.asarray(g.attrs.get("frame_interval_ps", np.nan)).reshape(-1)[0])
    return summary, species, dt


def open_run_inputs(spec):
    """(reader, log Dataset or None, timestep in ps or None) of one manifest run."""
    from .io.dispatch import open_trajectory

    log_ds = None
    timestep = spec.options.get("timestep_ps")
    if spec.log is not None:
        from .io.lammps_log import parse_lammps_log

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parsed = parse_lammps_log(spec.log)
            log_ds = parsed.to_dataset()
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        log_dt = log_ds.attrs.get("timestep_ps")
        if timestep is None and log_dt is not None and np.isfinite(log_dt):
            timestep = check_parameter("timestep_ps", float(log_dt), f"{spec.log} (its 'timestep' command)",
                                       error=InputFormatError)
    reader = open_trajectory(spec, timestep_ps=timestep)
    if log_ds is None and hasattr(reader, "energy_log"):
        log_ds = reader.energy_log()  # extended XYZ: the frames' own energies are the log
    return reader, log_ds, timestep


def _set_group_attr(path, group, key, value, *, target=None) -> None:
    import h5netcdf

    with writing(target or path), h5netcdf.File(path, "a") as f:
        f[group].attrs[key] = value


# --------------------------------------------------------------------------- reading
def _snap(y: np.ndarray, decimals: int) -> np.ndarray:
    scale = 10.0 ** decimals
    return np.rint(np.asarray(y, dtype=np.float64) * scale) / scale


@cache
def _fractional_positions_type():
    """:class:`_FractionalPositions`, an xarray BackendArray (defined on first use: xarray
    is imported only when an archive is read)."""
    from xarray.backends import BackendArray

    return type("_FractionalPositions", (_FractionalPositions, BackendArray), {})


def _fractional_positions(path, group: str, decimals: int, shape, cell: np.ndarray):
    return _fractional_positions_type()(path, group, decimals, shape, cell)


class _FractionalPositions:
    """Lazy positions of a run stored in the ``"fractional"`` encoding (see :class:`_Encoder`).

    Reads the integer fractional coordinates of the requested frames and atoms (all three
    components) from the file and converts them with the run's cell; what is not indexed
    is not read.
    """

    def __init__(self, path, group: str, decimals: int, shape, cell: np.ndarray):
        self.path, self.group, self.decimals = str(path), group, decimals
        self.shape, self.dtype = tuple(shape), np.dtype(np.float64)
        self.cell = np.asarray(cell, dtype=np.float64)

    def __reduce__(self):                  # its class is made on first use: pickle by this factory
        return _fractional_positions, (self.path, self.group, self.decimals, self.shape, self.cell)

    def __getitem__(self, key):
        from xarray.core import indexing

        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC, self._get)

    def _get(self, key: tuple) -> np.ndarray:
        import h5py

        t, a, x = (tuple(key) + (slice(None),) * 3)[:3]
        tt = slice(t, t + 1) if isinstance(t, (int, np.integer)) else t
        aa = slice(a, a + 1) if isinstance(a, (int, np.integer)) else a
        if Path(self.path).is_dir():                              # a zarr store
            from .zarr_archive import require_zarr

            q = require_zarr().open_array(self.path, path=f"{self.group}/positions", mode="r")[tt, aa, :]
        else:
            with h5py.File(self.path, "r") as f:
                q = f[self.group]["positions"][tt, aa, :]
        cells = self.cell if self.cell.ndim == 2 else self.cell[tt]
        pos = decimal_fractional_to_cartesian(q, self.decimals, np.broadcast_to(cells, (q.shape[0], 3, 3)))
        return pos[(0 if tt is not t else slice(None), 0 if aa is not a else slice(None), x)]


def exact_decimals(ds: xr.Dataset, path=None, group: str | None = None) -> xr.Dataset:
    """Decode the compact encodings of the frame arrays to exactly the values written.

    ``"decimal"``: CF decoding multiplies by ``scale_factor = 10**-N``, which can be one
    unit in the last place away from the value parsed from the N-decimal text; dividing
    the integer by ``10**N`` gives that value bit for bit.  ``"fractional"``: positions
    from integer fractional coordinates and the cell (needs ``path`` and ``group``).
    Both stay lazy (only what is indexed is read and decoded).
    """
    from functools import partial

    import xarray as xr
    from xarray.coding.variables import lazy_elemwise_func
    from xarray.core import indexing

    for name in FRAME_VARIABLES:
        if name not in ds.variables:
            continue
        var = ds[name].variable
        n = int(var.attrs.get("ugk_decimals", -1))
        mode = var.attrs.get("ugk_encoding", "decimal" if n >= 0 else "float")
        if mode == "fractional":
            if path is None:
                raise UGKError(f"run {group}: fractional positions need the archive path to be decoded")
            data = indexing.LazilyIndexedArray(_fractional_positions(path, group, n, var.shape,
                                                                     np.asarray(ds["cell"].values)))
            attrs = {k: v for k, v in var.attrs.items() if not k.startswith("ugk_decoding")}
            attrs.update(units="angstrom", long_name="unwrapped Cartesian position")
            ds[name] = xr.Variable(var.dims, data, attrs)
            continue
        if n < 0 or "scale_factor" not in var.encoding:
            continue
        func = partial(_snap, decimals=n)
        if isinstance(var._data, np.ndarray):
            data = func(var._data)
        else:
            data = indexing.LazilyIndexedArray(lazy_elemwise_func(var._data, func, np.dtype(np.float64)))
        ds[name] = xr.Variable(var.dims, data, var.attrs, var.encoding)
    return ds


def _open_run(path, name: str) -> xr.Dataset:
    """One run of an archive, lazily, with its frame arrays decoded exactly."""
    import xarray as xr

    return exact_decimals(xr.open_dataset(path, group=name, engine=ENGINE), path, name)


def open_archive(path):
    """Open a campaign archive (netCDF, or a zarr store: :mod:`uncertainty_gk.zarr_archive`)
    lazily; returns a :class:`uncertainty_gk.campaign.Campaign`.

    Nothing but metadata is read: positions load when indexed (``.isel(...).values``),
    so analyses can go chunk by chunk through campaigns larger than memory.
    """
    from .campaign import Campaign

    path = Path(path)
    if _is_zarr(path):
        from .zarr_archive import open_zarr_archive

        return open_zarr_archive(path)
    if not path.is_file():
        raise UGKError(f"{path}: archive not found")
    import h5py

    try:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
    except OSError:
        raise UGKError(f"{path}: not a netCDF4/HDF5 archive (run `ugk ingest` to make one)") from None
    if fmt not in ARCHIVE_FORMATS:
        raise UGKError(f"{path}: not an uncertainty_gk campaign archive (format attribute {fmt!r}, "
                       f"expected {ARCHIVE_FORMAT!r})")
    import xarray as xr

    tree = xr.open_datatree(path, engine=ENGINE)
    runs = {name: exact_decimals(node.to_dataset(), path, name) for name, node in tree.children.items()}
    return Campaign(runs, attrs=dict(tree.attrs), source=str(path), tree=tree)


def load_runs(source, *, show_progress: bool | None = None, log=None):
    """A :class:`Campaign` from an archive (lazy) or a manifest (read into memory)."""
    from .campaign import Campaign

    p = Path(source)
    if p.suffix.lower() == ".toml":
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "campaign.nc"
            ingest(p, out, show_progress=show_progress, log=log)
            camp = open_archive(out)
            loaded = Campaign({k: v.load() for k, v in camp.runs.items()}, attrs=camp.attrs, source=str(p))
            camp.close()
        return loaded
    return open_archive(p)

