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

import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr

from . import progress
from .errors import CampaignError, SchemaError, UGKError
from .schema import (CELL_VECTORS, XYZ, SourceFile, add_metadata, atom_coords, cell_volume, check_frames,
                     make_attrs,
                     package_version, resolve_species, sha256_file, time_axis)

ARCHIVE_FORMAT = "uncertainty_gk-campaign-1"
#: Target bytes per HDF5 chunk of positions (frames x atoms x 3 float64).
CHUNK_BYTES = 4 * 2**20
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


@dataclass
class IngestReport:
    path: Path
    runs: list[RunSummary]

    @property
    def n_reused(self) -> int:
        return sum(r.reused for r in self.runs)


# --------------------------------------------------------------------------- writing
def _chunk_shape(n_frames: int, n_atoms: int) -> tuple[int, int, int]:
    atoms = min(n_atoms, 128)
    frames = max(1, min(max(n_frames, 1), CHUNK_BYTES // (24 * atoms)))
    return (frames, atoms, 3)


def _skeleton(header, species, first, info, *, coords_kw, labels, run_name, extra_attrs, log_ds):
    """A one-frame Dataset carrying every variable, coordinate and attribute of the run."""
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
    ds = xr.Dataset(data, coords=coords, attrs=make_attrs(info, labels, run_name=run_name, extra=extra_attrs))
    if log_ds is not None:
        from .schema import merge_log

        ds = merge_log(ds, log_ds)
    return add_metadata(ds)


def write_run(path, group: str, reader, *, types=None, charges=None, masses=None, mobile=("Li",),
              labels=None, timestep_ps=None, frame_interval_ps=None, temperature_K=None,
              log_ds: xr.Dataset | None = None, extra_attrs: Mapping | None = None,
              show_progress: bool | None = None) -> RunSummary:
    """Stream one run from ``reader`` into group ``group`` of the netCDF file ``path``.

    ``path`` must already exist (or be new); the group must not exist yet.
    """
    import h5netcdf

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
    coords_kw = dict(charges=charges, masses=masses, mobile=mobile, source=source)

    chunks = reader.iter_chunks()
    try:
        first = next(chunks)
    except StopIteration:
        raise SchemaError(f"{source}: no frames to archive") from None
    skel = _skeleton(header, species, first, info, coords_kw=coords_kw, labels=labels, run_name=group,
                     extra_attrs=extra_attrs, log_ds=log_ds)
    cshape = _chunk_shape(10**9, header.n_atoms)
    encoding = {v: {"chunksizes": cshape} for v in ("positions", "velocities", "forces") if v in skel}
    encoding["time"] = {"chunksizes": (4096,)}
    if "step" in skel.coords:
        encoding["step"] = {"chunksizes": (4096,)}
    mode = "a" if os.path.exists(path) else "w"
    skel.to_netcdf(path, mode=mode, group=group, engine=ENGINE, unlimited_dims=["time"], encoding=encoding)

    steps, times, cells = [], [], []
    n = 0
    est = getattr(reader, "n_frames_estimate", lambda: None)()
    with h5netcdf.File(path, "a") as f, progress.bar(total=est, desc=f"ingest {group}", unit="frame",
                                                      enabled=show_progress) as pbar:
        g = f[group]
        chunk = first
        while chunk is not None:
            m = chunk.n_frames
            check_frames(chunk, source=source, first_frame=n)
            g.resize_dimension("time", n + m)
            g.variables["positions"][n:n + m] = chunk.positions
            for name in ("velocities", "forces"):
                if name in g.variables:
                    arr = getattr(chunk, name)
                    if arr is None:
                        raise SchemaError(f"{source}: {name} present in the first frames but missing later "
                                          f"(frame {n}); dump them in every frame or in none")
                    g.variables[name][n:n + m] = arr
            times.append(time_axis(chunk.step, chunk.time_ps, n, m, timestep_ps=info.timestep_ps,
                                   frame_interval_ps=info.frame_interval_ps, source=source,
                                   reader_times=info.reader_times))
            if chunk.step is not None:
                steps.append(np.asarray(chunk.step, dtype=np.int64))
            cells.append(np.asarray(chunk.cell, dtype=np.float64))
            n += m
            pbar.update(m)
            chunk = next(chunks, None)
        t = np.concatenate(times)
        if t.size > 1 and not np.all(np.diff(t) > 0):
            i = int(np.argmax(~(np.diff(t) > 0)))
            raise SchemaError(f"{source}: time does not increase at frame {i + 1} ({t[i]} -> {t[i + 1]} ps)")
        g.variables["time"][:] = t
        if steps:
            g.variables["step"][:] = np.concatenate(steps)
        cell = np.concatenate(cells)
        constant = bool(np.allclose(cell, cell[:1], rtol=0, atol=1e-9))
        if constant:
            cv = g.create_variable("cell", ("cell_vector", "xyz"), np.float64, data=cell[0])
            vv = g.create_variable("volume", (), np.float64, data=cell_volume(cell[0]))
        else:
            cv = g.create_variable("cell", ("time", "cell_vector", "xyz"), np.float64, data=cell,
                                   chunks=(min(len(cell), 4096), 3, 3))
            vv = g.create_variable("volume", ("time",), np.float64, data=cell_volume(cell),
                                   chunks=(min(len(cell), 4096),))
        cv.attrs["units"], cv.attrs["long_name"] = "angstrom", "cell (lattice vectors as rows)"
        vv.attrs["units"], vv.attrs["long_name"] = "angstrom^3", "cell volume"
        # notes may have grown while streaming (duplicates removed, truncated frame dropped)
        g.attrs["notes"] = json.dumps(list(reader.info().notes))
        g.attrs["frame_interval_ps"] = float(np.median(np.diff(t))) if t.size > 1 else float("nan")
    return RunSummary(name=group, labels=dict(labels or {}), n_atoms=header.n_atoms, n_frames=n,
                      t_start_ps=float(t[0]), t_end_ps=float(t[-1]), notes=list(reader.info().notes))


class _AtomicOutput:
    """A temporary file beside ``target`` that replaces it only on success."""

    def __init__(self, target):
        self.target = Path(target)

    def __enter__(self):
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        os.close(fd)
        os.unlink(tmp)  # netCDF writer creates it
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            os.replace(self.tmp, self.target)
        elif self.tmp.exists():
            self.tmp.unlink()
        return False


def _write_root_attrs(path, attrs: Mapping) -> None:
    import h5netcdf

    with h5netcdf.File(path, "a") as f:
        for k, v in attrs.items():
            f.attrs[k] = v


def write_archive(runs, path, *, overwrite: bool = False, attrs: Mapping | None = None,
                  show_progress: bool | None = None) -> IngestReport:
    """Archive in-memory trajectory Datasets (e.g. synthetic runs) to ``path``.

    ``runs`` is a mapping name -> Dataset or a list of Datasets (named by their
    ``run_name`` attribute or ``run000``, ``run001``, ...).
    """

    items = runs.items() if isinstance(runs, Mapping) else (
        (ds.attrs.get("run_name") or f"run{i:03d}", ds) for i, ds in enumerate(runs))
    path = Path(path)
    if path.exists() and not overwrite:
        raise UGKError(f"{path}: exists; pass overwrite=True (--overwrite) to replace it")
    summaries = []
    with _AtomicOutput(path) as tmp:
        for name, ds in items:
            summaries.append(copy_run(tmp, name, ds, show_progress=show_progress))
        _write_root_attrs(tmp, {"format": ARCHIVE_FORMAT, "uncertainty_gk_version": package_version(),
                                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                **dict(attrs or {})})
    return IngestReport(path=path, runs=summaries)


def copy_run(path, name: str, ds: xr.Dataset, *, show_progress: bool | None = None) -> RunSummary:
    """Write a trajectory Dataset (in memory or lazily opened) as group ``name`` of ``path``,
    streaming its frames, keeping its attributes, log variables and per-atom data."""
    from .io.dispatch import DatasetReader

    log_vars = [v for v in ds.variables if str(v).startswith(("thermo", "event"))]
    log_ds = ds[log_vars] if log_vars else None
    if log_ds is not None:
        log_ds.attrs = {k[len("log_"):]: v for k, v in ds.attrs.items() if k.startswith("log_")}
    mobile = ds["mobile"].values.astype(bool)
    summary = write_run(path, name, DatasetReader(ds), labels=json.loads(ds.attrs.get("labels", "{}")),
                        mobile=[str(s) for s in np.unique(ds["species"].values[mobile])],
                        log_ds=log_ds, show_progress=show_progress,
                        extra_attrs={k: v for k, v in ds.attrs.items() if k != "labels"})
    _set_group_attr(path, name, "notes", ds.attrs.get("notes", "[]"))
    return summary


# --------------------------------------------------------------------------- ingest
def _run_fingerprint(spec) -> tuple[list[SourceFile], str]:
    files = [SourceFile.from_path(p, "trajectory") for p in spec.trajectory]
    if spec.log:
        files.append(SourceFile.from_path(spec.log, "log"))
    if "data_file" in spec.options:
        files.append(SourceFile.from_path(spec.options["data_file"], "data_file"))
    opts = json.dumps({"options": spec.options, "labels": spec.labels}, sort_keys=True, default=str)
    return files, opts


def _reusable_groups(path: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (sha256 list, options JSON) of the runs in an existing archive."""
    import h5py

    out = {}
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != ARCHIVE_FORMAT:
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


def ingest(manifest, out_path, *, overwrite: bool = False, show_progress: bool | None = None,
           log=None) -> IngestReport:
    """Read every run of a manifest and write the campaign archive atomically.

    Parameters
    ----------
    manifest : Manifest or path
        The campaign (see :mod:`uncertainty_gk.manifest`).
    out_path : path
        The archive to write.  If it exists and was written by uncertainty_gk, runs
        with unchanged inputs are copied from it; runs it holds that the manifest no
        longer lists are an error unless ``overwrite``.
    log : callable, optional
        Called with one-line messages (e.g. ``print``).
    """
    from .io.dispatch import open_trajectory, type_map
    from .manifest import Manifest, load_manifest

    if not isinstance(manifest, Manifest):
        manifest = load_manifest(manifest)
    out_path = Path(out_path)
    say = log or (lambda msg: None)
    inputs = {str(Path(p).resolve()) for r in manifest.runs for p in r.trajectory + ([r.log] if r.log else [])}
    if str(out_path.resolve()) in inputs:
        raise UGKError(f"{out_path}: the output is one of the inputs; choose another -o path")
    old = _reusable_groups(out_path) if out_path.exists() else {}
    if out_path.exists() and not old and not overwrite:
        raise UGKError(f"{out_path}: exists and is not an uncertainty_gk archive; pass --overwrite to replace it")
    dropped = sorted(set(old) - {r.name for r in manifest.runs})
    if dropped and not overwrite:
        raise UGKError(f"{out_path}: holds runs not in the manifest ({', '.join(dropped[:5])}"
                       f"{'...' if len(dropped) > 5 else ''}); pass --overwrite to drop them or write elsewhere")
    summaries: list[RunSummary] = []
    members: dict = {}
    with _AtomicOutput(out_path) as tmp:
        for i, spec in enumerate(manifest.runs):
            files, opts = _run_fingerprint(spec)
            hashes = [s.as_dict() for s in files]
            prev = old.get(spec.name)
            if prev is not None and [s["sha256"] for s in prev[0]] == [s["sha256"] for s in hashes] \
                    and prev[1] == opts:
                with xr.open_dataset(out_path, group=spec.name, engine=ENGINE) as ds:
                    summary = copy_run(tmp, spec.name, ds, show_progress=show_progress)
                    summary.reused = True
                    species = ds["species"].values
                    dt = float(np.asarray(ds.attrs.get("frame_interval_ps", np.nan)).reshape(-1)[0])
                say(f"[{i + 1}/{len(manifest.runs)}] {spec.name}: inputs unchanged (sha256), reused")
            else:
                summary, species, dt = _ingest_run(tmp, spec, files, opts, show_progress, type_map,
                                                   open_trajectory)
                say(f"[{i + 1}/{len(manifest.runs)}] {spec.name}: {summary.n_frames} frames x "
                    f"{summary.n_atoms} atoms, {summary.t_start_ps:g}-{summary.t_end_ps:g} ps"
                    + "".join(f"; {n}" for n in summary.notes))
            _check_group(members, spec, summary, species, dt)
            summaries.append(summary)
        root = {"format": ARCHIVE_FORMAT, "uncertainty_gk_version": package_version(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "campaign": json.dumps(manifest.campaign)}
        if manifest.path is not None:
            root["manifest"] = str(Path(manifest.path).resolve())
            root["manifest_sha256"] = sha256_file(manifest.path)
        _write_root_attrs(tmp, root)
    return IngestReport(path=out_path, runs=summaries)


def _ingest_run(tmp, spec, files, opts, show_progress, type_map, open_trajectory):
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
            timestep = float(log_dt)
    reader = open_trajectory(spec, timestep_ps=timestep)
    if log_ds is None and hasattr(reader, "energy_log"):
        log_ds = reader.energy_log()  # extended XYZ: the frames' own energies are the log
    types = type_map(spec)
    extra = {"ingest_fingerprint": opts, "origin": spec.origin}
    summary = write_run(tmp, spec.name, reader, types=types, charges=spec.options.get("charges"),
                        masses=spec.options.get("masses"), mobile=spec.options.get("mobile", ["Li"]),
                        labels=spec.labels, timestep_ps=timestep,
                        frame_interval_ps=spec.options.get("frame_interval_ps"),
                        temperature_K=spec.options.get("temperature_K"), log_ds=log_ds,
                        extra_attrs=extra, show_progress=show_progress)
    _set_group_attr(tmp, spec.name, "sources", json.dumps([s.as_dict() for s in files]))
    import h5py

    with h5py.File(tmp, "r") as f:
        g = f[spec.name]
        species = np.asarray(g["species"][:]).astype(str)
        dt = float(np.asarray(g.attrs.get("frame_interval_ps", np.nan)).reshape(-1)[0])
    return summary, species, dt


def _set_group_attr(path, group, key, value) -> None:
    import h5netcdf

    with h5netcdf.File(path, "a") as f:
        f[group].attrs[key] = value


# --------------------------------------------------------------------------- reading
def open_archive(path):
    """Open a campaign archive lazily; returns a :class:`uncertainty_gk.campaign.Campaign`.

    Nothing but metadata is read: positions load when indexed (``.isel(...).values``),
    so analyses can go chunk by chunk through campaigns larger than memory.
    """
    from .campaign import Campaign

    path = Path(path)
    if not path.is_file():
        raise UGKError(f"{path}: archive not found")
    import h5py

    try:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
    except OSError:
        raise UGKError(f"{path}: not a netCDF4/HDF5 archive (run `ugk ingest` to make one)") from None
    if fmt != ARCHIVE_FORMAT:
        raise UGKError(f"{path}: not an uncertainty_gk campaign archive (format attribute {fmt!r}, "
                       f"expected {ARCHIVE_FORMAT!r})")
    tree = xr.open_datatree(path, engine=ENGINE)
    runs = {name: node.to_dataset() for name, node in tree.children.items()}
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

