"""The campaign archive as a zarr store: one group per run, written run by run.

Same schema, provenance and checksums as the netCDF archive (:mod:`uncertainty_gk.archive`,
docs/schema.md); only the container differs::

    campaign.zarr/            root group, attrs: format, store = "zarr", uncertainty_gk_version, created, ...
      <run name>/             one trajectory Dataset per run (a zarr group, readable by xarray.open_zarr)
      .<run>.ugk-PID-XXXX.tmp/   a run being written (or left by a killed writer): ignored by readers

Why a directory of groups: every run is written on its own, so that independent writers
(dask workers, :func:`ingest_zarr` with a ``client``) can each write their own run, and a
new seed is *added* to an existing store without rewriting the others.

**A run appears complete or not at all.**  A run is written under a temporary group name,
its arrays are checksummed (:func:`uncertainty_gk.archive.seal_group`), the attribute
``ugk_complete`` is set last, and the group is renamed to its name (one ``rename`` of a
directory).  Readers list only groups that carry ``ugk_complete`` and whose name is not a
temporary one; ``ugk verify`` names the incomplete groups it finds, and the next ingest
into the store removes those left by processes that are gone.

zarr is an optional dependency (``pip install "uncertainty_gk[zarr]"``), imported only
when a zarr store is used.
"""

from __future__ import annotations

import json
import os
import re
import uuid
import warnings
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from . import progress
from .archive import (ARCHIVE_FORMAT, ARCHIVE_FORMATS, CHECKSUM_ATTR, FRAME_VARIABLES, FrameAxes, IngestReport, prepare_ingest,
                      RunSummary, VerifyReport, _check_group, _check_same_content, _chunk_shape, _Encoder, _Requantise,
                      _is_zarr, _run_fingerprint, _skeleton, check_run_name, copy_run_arguments, exact_decimals, open_archive,
                      open_run_inputs, seal_group, verify_group)
from .errors import CampaignError, SchemaError, UGKError
from .execution import TaskFailure, map_tasks
from .fileio import AtomicOutput, clean_stale_temps, ensure_free_space, refuse_inputs, remove_path, writing
from .prefetch import Prefetch
from .schema import cell_volume, check_frames, package_version, resolve_species, sha256_file

__all__ = ["COMPLETE_ATTR", "is_zarr_path", "require_zarr", "create_store", "write_run_zarr", "copy_run_zarr",
           "ingest_zarr", "open_zarr_archive", "verify_zarr", "complete_runs", "convert_archive"]

#: Attribute set last on a run group: the run is complete.
COMPLETE_ATTR = "ugk_complete"
#: zstd level of the stored arrays (blosc, byte shuffle).
ZSTD_LEVEL = 5
_TEMP_GROUP = re.compile(r"^\..+\.ugk-\d+-[A-Za-z0-9_]+\.tmp$")


def require_zarr():
    """The zarr module, or a clear error naming the extra to install."""
    try:
        import zarr
    except ImportError:
        raise UGKError('zarr archives need the zarr package: pip install "uncertainty_gk[zarr]" '
                       "(or pip install zarr), or use a .nc archive") from None
    return zarr


def is_zarr_path(path) -> bool:
    """True for a path ending in ``.zarr`` or an existing zarr store directory."""
    return _is_zarr(path)


def _compressors():
    from zarr.codecs import BloscCodec

    return (BloscCodec(cname="zstd", clevel=ZSTD_LEVEL, shuffle="shuffle"),)


def _root(path, mode: str = "r"):
    """The root group of a campaign store (checked), opened with ``mode``."""
    zarr = require_zarr()
    path = Path(path)
    if not path.is_dir():
        raise UGKError(f"{path}: archive not found")
    try:
        root = zarr.open_group(str(path), mode=mode)
    except (FileNotFoundError, ValueError, TypeError, OSError) as exc:
        raise UGKError(f"{path}: not a zarr store ({exc}); run `ugk ingest ... -o {path.name}` to make one") from None
    fmt = root.attrs.get("format")
    if fmt not in ARCHIVE_FORMATS:
        raise UGKError(f"{path}: not an uncertainty_gk campaign archive (format attribute {fmt!r}, "
                       f"expected {ARCHIVE_FORMAT!r})")
    return root


def create_store(path, attrs: Mapping | None = None) -> Path:
    """A new, empty campaign store at ``path`` (written beside it and renamed into place)."""
    zarr = require_zarr()
    path = Path(path)
    if path.exists():
        raise UGKError(f"{path}: exists already")
    with AtomicOutput(path) as tmp, writing(path):
        root = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
        root.attrs.update({"format": ARCHIVE_FORMAT, "store": "zarr", "uncertainty_gk_version": package_version(),
                           "created": _now(), **dict(attrs or {})})
    return path


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def complete_runs(root) -> list[str]:
    """Names of the complete run groups of an open store, sorted."""
    return sorted(name for name, g in root.groups() if not _TEMP_GROUP.match(name) and COMPLETE_ATTR in g.attrs)


# --------------------------------------------------------------------------- writing one run
def write_run_zarr(store, group: str, reader, *, replace: bool = False, show_progress: bool | None = None,
                   **options) -> RunSummary:
    """Stream one run from ``reader`` into group ``group`` of the campaign store ``store``.

    Options are those of :func:`uncertainty_gk.archive.write_run` (types, charges, masses,
    mobile, labels, timestep_ps, frame_interval_ps, temperature_K, log_ds, extra_attrs):
    the arrays, their encodings and attributes are the same as in a netCDF archive.  The
    run is written under a temporary name, checksummed, marked complete and renamed to
    ``group`` (module docstring); an existing run of that name is an error unless
    ``replace``.  Any number of processes may write different runs of one store at once.
    """
    zarr = require_zarr()
    check_run_name(group)
    store = Path(store)
    _root(store)
    _clean_stale_groups(store)
    tmp_name = f".{group}.ugk-{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp"
    tmp_dir = store / tmp_name
    where = f"{store}: run {group}"
    try:
        try:
            summary = _stream_run(store, tmp_name, reader, quantise=True, show_progress=show_progress,
                                  where=where, **options)
        except _Requantise:
            remove_path(tmp_dir)
            summary = _stream_run(store, tmp_name, reader, quantise=False, show_progress=show_progress,
                                  where=where, **options)
        with writing(where):
            g = zarr.open_group(str(store), path=tmp_name, mode="r+")
            seal_group(g, where)
            g.attrs[COMPLETE_ATTR] = _now()
            _publish(store, tmp_name, group, replace)
    finally:
        remove_path(tmp_dir)
    return summary


def _clean_stale_groups(store: Path) -> None:
    """Remove the temporary groups of writers that are gone (killed mid-write)."""
    names = {e.name.split(".ugk-")[0][1:] for e in store.iterdir() if _TEMP_GROUP.match(e.name)}
    for name in names:
        clean_stale_temps(store / name)


def _publish(store: Path, tmp_name: str, group: str, replace: bool) -> None:
    """Rename the finished temporary group to ``group`` (moving an old one aside first)."""
    final = store / group
    old = None
    if final.exists():
        if not replace:
            raise CampaignError(f"{store}: holds a run {group!r} already; remove it or write another name")
        old = store / f".{group}.ugk-{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp"
        os.rename(final, old)
    try:
        os.rename(store / tmp_name, final)
    except OSError:
        if old is not None and not final.exists():
            os.rename(old, final)              # put the previous version back
        raise
    if old is not None:
        remove_path(old)


def _stream_run(store: Path, tmp_name: str, reader, *, types=None, charges=None, masses=None, mobile=("Li",),
                labels=None, timestep_ps=None, frame_interval_ps=None, temperature_K=None, log_ds=None,
                extra_attrs=None, show_progress=None, quantise=True, where="", notes=None) -> RunSummary:
    """The frames of one run into group ``tmp_name``: the netCDF writer's arrays, in zarr."""
    require_zarr()
    info = reader.info()
    for key, value in (("timestep_ps", timestep_ps), ("frame_interval_ps", frame_interval_ps),
                       ("temperature_K", temperature_K)):
        if value is not None:
            setattr(info, key, value)
    source = info.sources[0].path if info.sources else tmp_name
    header = reader.header()
    species = resolve_species(header, types, source=source)
    with Prefetch(reader.iter_chunks()) as chunks:      # parse the next chunk while this one is written
        return _stream_chunks(store, tmp_name, reader, chunks, info=info, header=header, species=species,
                              source=source, charges=charges, masses=masses, mobile=mobile,
                              labels=labels, log_ds=log_ds, extra_attrs=extra_attrs, show_progress=show_progress,
                              quantise=quantise, where=where, notes=notes)


def _stream_chunks(store: Path, tmp_name: str, reader, chunks, *, info, header, species, source, charges, masses,
                   mobile, labels, log_ds, extra_attrs, show_progress, quantise, where, notes) -> RunSummary:
    zarr = require_zarr()
    first = next(chunks, None)
    if first is None:
        raise SchemaError(f"{source}: no frames to archive")
    check_frames(first, source=source, first_frame=0)
    skel = _skeleton(header, species, first, info, labels=labels, log_ds=log_ds, extra_attrs=extra_attrs,
                     run_name=tmp_name.split(".ugk-")[0][1:],
                     coords_kw=dict(charges=charges, masses=masses, mobile=mobile, source=source))
    est = getattr(reader, "n_frames_estimate", lambda: None)()
    n_expect = max(int(est or 0), first.n_frames)
    encoders = {v: _Encoder(v, getattr(first, v), first.cell, quantise) for v in FRAME_VARIABLES if v in skel}
    encoding: dict = {v: {"chunks": _chunk_shape(n_expect, header.n_atoms), "compressors": _compressors(),
                          **{k: x for k, x in enc.cf_encoding().items() if k in ("dtype", "scale_factor", "_FillValue")}}
                      for v, enc in encoders.items()}
    for v in ("time", "step"):
        if v in skel.variables:
            encoding[v] = {"chunks": (max(1, min(n_expect, 4096)),), "compressors": _compressors()}
    for v in list(skel.variables):
        if skel[v].dtype.kind == "U":             # variable-length UTF-8 (the zarr v3 "string" type)
            skel[v] = skel[v].astype(object)
        elif skel[v].dtype.kind == "b":           # int8 as in netCDF (the same stored bytes); read back as bool
            encoding.setdefault(v, {})["dtype"] = "int8"
            skel[v].attrs["ugk_bool"] = 1
    ensure_free_space(store / tmp_name, skel.nbytes)
    with writing(where), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=xr.SerializationWarning)
        skel.to_zarr(str(store), group=tmp_name, mode="w-", encoding=encoding, consolidated=False, zarr_format=3)
    g = zarr.open_group(str(store), path=tmp_name, mode="r+")
    axes = FrameAxes(info, source)
    n = 0
    with writing(where), progress.bar(total=est, desc=f"ingest {skel.attrs.get('run_name', '')}", unit="frame",
                                      enabled=show_progress) as pbar:
        for chunk in _chain(first, chunks):
            m = chunk.n_frames
            for name, arr in axes.add(chunk, n, encoders, store / tmp_name).items():
                z = g[name]
                z.resize((n + m,) + z.shape[1:])
                z[n:n + m] = arr
            n += m
            pbar.update(m)
        t = axes.time()
        _set_array(g, "time", t)
        if axes.steps:
            _set_array(g, "step", np.concatenate(axes.steps))
        _write_cell(g, np.concatenate(axes.cells))
        for name, enc in encoders.items():
            g[name].attrs.update(enc.attrs())
        g.attrs.update({"notes": notes if notes is not None else json.dumps(list(reader.info().notes)),
                        "ugk_stream_sha256": json.dumps({k: e.sha.hexdigest() for k, e in encoders.items()})})
        g.attrs["frame_interval_ps"] = float(np.median(np.diff(t))) if t.size > 1 else float("nan")
    return RunSummary(name=skel.attrs.get("run_name", ""), labels=dict(labels or {}), n_atoms=header.n_atoms,
                      n_frames=n, t_start_ps=float(t[0]), t_end_ps=float(t[-1]), notes=list(reader.info().notes))


def _chain(first, rest):
    yield first
    yield from rest


def _set_array(g, name: str, values: np.ndarray) -> None:
    z = g[name]
    z.resize(values.shape)
    z[...] = values


def _write_cell(g, cell: np.ndarray) -> None:
    """``cell`` and ``volume``: one matrix if the cell never changes, else one per frame."""
    if np.allclose(cell, cell[:1], rtol=0, atol=1e-9):
        data = {"cell": (["cell_vector", "xyz"], cell[0]), "volume": ([], np.asarray(cell_volume(cell[0])))}
    else:
        data = {"cell": (["time", "cell_vector", "xyz"], cell), "volume": (["time"], cell_volume(cell))}
    meta = {"cell": ("angstrom", "cell (lattice vectors as rows)"), "volume": ("angstrom^3", "cell volume")}
    for name, (dims, values) in data.items():
        values = np.asarray(values, dtype=np.float64)
        chunks = (min(len(values), 4096),) + values.shape[1:] if values.ndim and dims[0] == "time" else "auto"
        z = g.create_array(name, shape=values.shape, dtype="float64", chunks=chunks,
                           compressors=_compressors(), dimension_names=dims, fill_value=np.nan)
        z[...] = values
        z.attrs.update({"units": meta[name][0], "long_name": meta[name][1]})


def copy_run_zarr(store, name: str, ds: xr.Dataset, *, replace: bool = False,
                  show_progress: bool | None = None) -> RunSummary:
    """Write a trajectory Dataset (in memory or lazily opened) as run ``name`` of a store."""
    args = copy_run_arguments(ds)
    return write_run_zarr(store, name, args.pop("reader"), replace=replace, show_progress=show_progress,
                          notes=ds.attrs.get("notes", "[]"), **args)


# --------------------------------------------------------------------------- ingest
def _ingest_task(store: str, spec, files, opts: str, replace: bool, show_progress):
    """Write one manifest run into the store (runs on a dask worker or here)."""
    from .io.dispatch import type_map

    reader, log_ds, timestep = open_run_inputs(spec)
    extra = {"ingest_fingerprint": opts, "origin": spec.origin,
             "sources": json.dumps([f.as_dict() for f in files])}
    summary = write_run_zarr(store, spec.name, reader, replace=replace, show_progress=show_progress,
                             types=type_map(spec), charges=spec.options.get("charges"),
                             masses=spec.options.get("masses"), mobile=spec.options.get("mobile", ["Li"]),
                             labels=spec.labels, timestep_ps=timestep,
                             frame_interval_ps=spec.options.get("frame_interval_ps"),
                             temperature_K=spec.options.get("temperature_K"), log_ds=log_ds, extra_attrs=extra)
    return summary


def _stored_run(root, name: str) -> tuple[np.ndarray, float]:
    g = root[name]
    species = np.asarray(g["species"][...]).astype(object).astype(str)
    return species, float(g.attrs.get("frame_interval_ps", np.nan))


def ingest_zarr(manifest, out_path, *, overwrite: bool = False, show_progress: bool | None = None, log=None,
                client=None, on_run_error=None) -> IngestReport:
    """Ingest a manifest into a zarr campaign store, run by run; appends to an existing store.

    Runs already in the store whose inputs (SHA-256) and options are unchanged and whose
    checksums verify are kept as they are (not rewritten); new runs are added; changed
    runs are written again and replace the old group only once complete.  Runs in the
    store that the manifest no longer lists are an error unless ``overwrite`` (they are
    then removed).  ``client`` (a ``dask.distributed.Client``): the runs are written by
    the cluster's workers in parallel, each its own group; the store must be on a file
    system they all see.  ``on_run_error`` (``--keep-going``): called with ``(run name,
    exception)`` for each run that cannot be read, in manifest order; the other runs are
    written and a stored copy of a failed run (made from its earlier inputs) is removed.
    Without it the first bad run is raised once every run has been tried (the runs
    written meanwhile stay in the store, each complete).
    """
    zarr = require_zarr()
    manifest, out_path, say, inputs = prepare_ingest(manifest, out_path, log)
    if out_path.exists() and not (out_path / "zarr.json").is_file():
        raise UGKError(f"{out_path}: exists and is not a zarr store; remove it or write elsewhere")
    created = not out_path.exists()
    if created:
        create_store(out_path)
    root = _root(out_path)
    present = complete_runs(root)
    dropped = sorted(set(present) - {r.name for r in manifest.runs})
    if dropped and not overwrite:
        raise UGKError(f"{out_path}: holds runs not in the manifest ({', '.join(dropped[:5])}"
                       f"{'...' if len(dropped) > 5 else ''}); pass --overwrite to drop them or write elsewhere")
    todo, kept, fingerprints = [], set(), {}
    contents: dict = {}
    for spec in manifest.runs:
        files, opts = _run_fingerprint(spec)
        _check_same_content(contents, spec, files)
        fingerprints[spec.name] = (files, opts)
        if spec.name in present:
            attrs = root[spec.name].attrs
            old = [f["sha256"] for f in json.loads(attrs.get("sources", "[]"))]
            if old == [f.sha256 for f in files] and attrs.get("ingest_fingerprint") == opts:
                problems, _, has = verify_group(root[spec.name], spec.name)
                if has and not problems:
                    kept.add(spec.name)
                    continue
                say(f"{spec.name}: inputs unchanged but the stored run fails its check "
                    f"({'; '.join(problems) or 'no checksums'}); writing it again")
        todo.append(spec)
    done = map_tasks(_ingest_task, [(str(out_path), s, *fingerprints[s.name], (out_path / s.name).exists(),
                                     show_progress)
                                    for s in todo], client=client, desc="ingest", unit="run",
                     show_progress=show_progress)
    failed = {s.name: r.exc for s, r in zip(todo, done) if isinstance(r, TaskFailure)}
    if failed and (on_run_error is None or len(failed) == len(manifest.runs)):
        if len(failed) == len(manifest.runs):
            if created:
                remove_path(out_path)
            if on_run_error is not None:
                for name, exc in failed.items():
                    on_run_error(name, exc)
                raise UGKError(f"{out_path}: no run of the manifest could be read; nothing written")
        raise next(iter(failed.values()))
    written = dict(zip((s.name for s in todo), done))
    with writing(out_path):
        for name in dropped + [n for n in failed if n in present]:     # a failed run's copy from older inputs too
            remove_path(out_path / name)
    root = _root(out_path, mode="r+")
    summaries, members = [], {}
    for i, spec in enumerate(manifest.runs):
        if spec.name in failed:
            on_run_error(spec.name, failed[spec.name])
            continue
        species, dt = _stored_run(root, spec.name)
        if spec.name in kept:
            g = root[spec.name]
            t = g["time"]
            summary = RunSummary(name=spec.name, labels=dict(spec.labels), n_atoms=len(species), n_frames=t.shape[0],
                                 t_start_ps=float(t[0]), t_end_ps=float(t[t.shape[0] - 1]), reused=True)
            say(f"[{i + 1}/{len(manifest.runs)}] {spec.name}: inputs unchanged (sha256) and checksums verified, "
                "kept in place")
        else:
            summary = written[spec.name]
            say(f"[{i + 1}/{len(manifest.runs)}] {spec.name}: {summary.n_frames} frames x {summary.n_atoms} atoms, "
                f"{summary.t_start_ps:g}-{summary.t_end_ps:g} ps" + "".join(f"; {n}" for n in summary.notes))
        _check_group(members, spec, summary, species, dt)
        summaries.append(summary)
    attrs = {"uncertainty_gk_version": package_version(), "updated": _now(),
             "campaign": json.dumps(manifest.campaign)}
    if manifest.path is not None:
        attrs["manifest"] = str(Path(manifest.path).resolve())
        attrs["manifest_sha256"] = sha256_file(manifest.path)
    with writing(out_path):
        zarr.open_group(str(out_path), mode="r+").attrs.update(attrs)
    return IngestReport(path=out_path, runs=summaries)


# --------------------------------------------------------------------------- reading and checking
def open_zarr_archive(path):
    """Open a zarr campaign store lazily (a :class:`~uncertainty_gk.campaign.Campaign`).

    Only complete runs are listed; positions are read when indexed, chunk by chunk.
    """
    from .campaign import Campaign

    root = _root(path)
    runs = {}
    for name in complete_runs(root):
        ds = xr.open_dataset(str(path), group=name, engine="zarr", consolidated=False, chunks=None,
                             zarr_format=3)
        runs[name] = exact_decimals(_netcdf_types(ds), str(path), name)
    return Campaign(runs, attrs=dict(root.attrs), source=str(path))


def _netcdf_types(ds: xr.Dataset) -> xr.Dataset:
    """Text variables (zarr: numpy ``StringDType``) as the fixed-width ``<U`` arrays a
    netCDF archive gives (they are small: species, labels of axes, log events), and
    flags stored as int8 as bool."""
    for name in list(ds.variables):
        var = ds.variables[name]
        if var.dtype.kind == "T":
            values = np.asarray(var.values).astype(object)
            text = values.astype(str) if values.size else np.zeros(values.shape, dtype="<U1")
            ds[name] = xr.Variable(var.dims, text, var.attrs, var.encoding)
        elif var.attrs.get("ugk_bool") == 1:
            attrs = {k: v for k, v in var.attrs.items() if k != "ugk_bool"}
            ds[name] = xr.Variable(var.dims, np.asarray(var.values).astype(bool), attrs, var.encoding)
    return ds


def verify_zarr(path) -> VerifyReport:
    """:func:`uncertainty_gk.archive.verify_archive` for a zarr store; also lists the run
    groups left incomplete by interrupted writes (which readers ignore)."""
    path = Path(path)
    root = _root(path)
    report = VerifyReport(path=path)
    complete = set(complete_runs(root))
    for entry in sorted(path.iterdir()):
        if not entry.is_dir():
            continue
        if entry.name not in complete:
            report.incomplete.append(entry.name)
            continue
        report.n_runs += 1
        try:
            problems, n, has = verify_group(root[entry.name], entry.name)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            problems, n, has = [f"run {entry.name}: cannot be read ({exc})"], 0, True
        report.problems.extend(problems)
        report.n_arrays += n
        if not has:
            report.unverified.append(entry.name)
    return report


# --------------------------------------------------------------------------- conversion
def _run_checksums(camp, name: str) -> dict:
    return json.loads(camp[name].attrs.get(CHECKSUM_ATTR, "{}")).get("arrays", {})


def convert_archive(src, dst, *, overwrite: bool = False, show_progress: bool | None = None) -> IngestReport:
    """Copy a campaign archive to the other format (netCDF ``.nc`` <-> zarr ``.zarr``).

    Every run is streamed frame chunk by frame chunk; the stored arrays, attributes and
    provenance are the same, and so are the checksums of every array (checked: a run whose
    checksums differ after the copy is an error and nothing is written).  The output is
    written beside ``dst`` and renamed into place when complete; ``src`` is never
    overwritten, ``dst`` only with ``overwrite``.
    """
    src, dst = Path(src), Path(dst)
    refuse_inputs(dst, [src])
    if dst.exists() and not overwrite:
        raise UGKError(f"{dst}: exists; pass --overwrite to replace it")
    to_zarr = is_zarr_path(dst)
    camp = open_archive(src)
    summaries = []
    try:
        with AtomicOutput(dst, inputs=[src]) as tmp:
            root_attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in camp.attrs.items()
                          if k not in ("format", "store")}
            if to_zarr:
                create_store(tmp, root_attrs)
            for name, ds in camp.items():
                if to_zarr:
                    summaries.append(copy_run_zarr(tmp, name, ds, show_progress=show_progress))
                else:
                    from .archive import copy_run, seal_run

                    summaries.append(copy_run(tmp, name, ds, show_progress=show_progress, target=dst))
                    seal_run(tmp, name, target=dst, verified=summaries[-1].verified)
            if not to_zarr:
                from .archive import _write_root_attrs

                _write_root_attrs(tmp, {"format": ARCHIVE_FORMAT, **root_attrs}, target=dst)
            with open_archive(tmp) as out:
                for name, ds in camp.items():
                    before, after = _run_checksums(camp, name), _run_checksums(out, name)
                    # every variable, stored identically (netCDF also stores bare dimension scales)
                    changed = sorted(k for k in ds.variables if k in before and before[k] != after.get(k))
                    if changed:
                        raise UGKError(f"{src}: run {name}: arrays {changed} would not be stored identically in "
                                       f"{dst}; nothing was written (please report this)")
    finally:
        camp.close()
    return IngestReport(path=dst, runs=summaries)
