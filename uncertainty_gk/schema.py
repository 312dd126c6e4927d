"""The trajectory Dataset: one MD run as an :class:`xarray.Dataset`.

This module is the contract between readers, the archive and the analyses; the
human-readable version is ``docs/schema.md``.  Readers stream :class:`FrameChunk`
objects plus one :class:`RunHeader`; :func:`assemble_dataset` turns them into a
Dataset in memory and :mod:`uncertainty_gk.archive` streams them into netCDF.

Dimensions
----------
``time``         frames of the trajectory (coordinate ``time`` in ps, ``step`` int)
``atom``         atoms, sorted by ``atom_id``
``xyz``          Cartesian component, coordinate ``["x", "y", "z"]``
``cell_vector``  lattice vector, coordinate ``["a", "b", "c"]``
``thermo``       rows of the thermo output of a log (own time coordinate ``thermo_time``)
``event``        ERROR / WARNING lines of a log

Positions are **unwrapped** Cartesian coordinates in Å (float64).  The cell holds
lattice vectors as rows (``cell[i, :]`` is vector ``a``, ``b`` or ``c``); it has a
``time`` dimension only when it changes (NPT, variable-cell AIMD).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:                 # imported where used: writing an archive needs no xarray
    import xarray as xr

from .errors import InputFormatError, ManifestError, SchemaError

XYZ = ("x", "y", "z")
CELL_VECTORS = ("a", "b", "c")

#: units and long_name of every variable and coordinate the schema knows.
VARIABLES: dict[str, tuple[str, str]] = {
    "positions": ("angstrom", "unwrapped Cartesian position"),
    "velocities": ("angstrom/ps", "velocity"),
    "forces": ("eV/angstrom", "force"),
    "cell": ("angstrom", "cell (lattice vectors as rows)"),
    "volume": ("angstrom^3", "cell volume"),
    "time": ("ps", "simulation time"),
    "step": ("1", "MD step number"),
    "atom_id": ("1", "atom identifier"),
    "species": ("1", "chemical element"),
    "lammps_type": ("1", "LAMMPS atom type"),
    "charge": ("e", "charge (elementary charges)"),
    "mass": ("amu", "atomic mass"),
    "mobile": ("1", "mobile (diffusing) species flag"),
    "xyz": ("1", "Cartesian component"),
    "cell_vector": ("1", "lattice vector"),
    "thermo_time": ("ps", "time of thermo output"),
    "thermo_step": ("1", "MD step of thermo output"),
    "thermo_block": ("1", "index of the thermo block (one per LAMMPS run command)"),
    "event_step": ("1", "MD step at or before the event"),
    "event_kind": ("1", "ERROR or WARNING"),
    "event_message": ("1", "log line of the event"),
    "event_line": ("1", "line number in the log"),
}

#: Units of LAMMPS thermo keywords in ``units metal`` (others get "1" or "unknown").
THERMO_UNITS_METAL = {
    "Step": "1", "Time": "ps", "Temp": "K", "PotEng": "eV", "KinEng": "eV",
    "TotEng": "eV", "E_pair": "eV", "E_mol": "eV", "Press": "bar", "Volume": "angstrom^3",
    "Lx": "angstrom", "Ly": "angstrom", "Lz": "angstrom", "Enthalpy": "eV", "Density": "g/cm^3",
}

#: Required dataset attributes and their meaning (see docs/schema.md).
REQUIRED_ATTRS = ("reader", "uncertainty_gk_version", "labels", "sources", "timestep_ps",
                  "temperature_K", "units")


def package_version() -> str:
    from ._version import __version__

    return __version__


# --------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class SourceFile:
    """An input file with its content hash; recorded in every run's provenance."""

    path: str
    sha256: str
    size: int
    role: str = "trajectory"

    @classmethod
    def from_path(cls, path, role: str = "trajectory") -> SourceFile:
        return cls(path=os.path.abspath(str(path)), sha256=sha256_file(path),
                   size=os.path.getsize(path), role=role)

    def as_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "size": self.size, "role": self.role}


def sha256_file(path, chunk_bytes: int = 1 << 22) -> str:
    """SHA-256 hex digest of a file's bytes, read in 4 MiB chunks.

    Inside :func:`sha256_once`, a file is read only once (its first digest is returned again).
    """
    seen = getattr(_SHA256_SEEN, "digests", None)
    key = os.path.realpath(path) if seen is not None else None
    if key is not None and key in seen:
        return seen[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            h.update(block)
    digest = h.hexdigest()
    if key is not None:
        seen[key] = digest
    return digest


_SHA256_SEEN = threading.local()


@contextlib.contextmanager
def sha256_once(known: Mapping[str, str] | None = None):
    """Within this block (in this thread), :func:`sha256_file` hashes each file once (e.g. the
    inputs of a campaign, fingerprinted before reading and recorded in each run's provenance).

    ``known``: path -> digest already computed (e.g. by the process that sent a task).
    """
    outer = getattr(_SHA256_SEEN, "digests", None)
    _SHA256_SEEN.digests = {} if outer is None else outer
    remember_sha256(known or {})
    try:
        yield
    finally:
        _SHA256_SEEN.digests = outer


def remember_sha256(digests: Mapping[str, str]) -> None:
    """Record digests computed elsewhere (e.g. in another thread) in this thread's
    :func:`sha256_once` block, if one is open, so that the files are not hashed again."""
    seen = getattr(_SHA256_SEEN, "digests", None)
    if seen is not None:
        seen.update({os.path.realpath(p): d for p, d in digests.items()})


# --------------------------------------------------------------------------- streaming
@dataclass
class RunHeader:
    """Per-run atom data, fixed for the whole trajectory.

    ``species`` may be ``None`` until a LAMMPS type map is applied
    (:func:`resolve_species`); ``lammps_type`` is ``None`` for non-LAMMPS formats.
    """

    atom_id: np.ndarray
    species: np.ndarray | None = None
    lammps_type: np.ndarray | None = None
    mass: np.ndarray | None = None
    charge: np.ndarray | None = None

    @property
    def n_atoms(self) -> int:
        return int(len(self.atom_id))


@dataclass
class FrameChunk:
    """A block of consecutive frames, as produced by a reader.

    Arrays: ``positions`` (n, atoms, 3) unwrapped Å; ``cell`` (n, 3, 3) rows = vectors;
    ``step`` (n,) int64 or None; ``time_ps`` (n,) or None (formats that store time);
    ``velocities``/``forces`` (n, atoms, 3) or None.
    """

    positions: np.ndarray
    cell: np.ndarray
    step: np.ndarray | None = None
    time_ps: np.ndarray | None = None
    velocities: np.ndarray | None = None
    forces: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])


@dataclass
class RunInfo:
    """Everything a reader knows about a run apart from the frames."""

    reader: str
    sources: list[SourceFile]
    timestep_ps: float | None = None
    frame_interval_ps: float | None = None
    temperature_K: float | None = None
    units: str = "metal"
    notes: list[str] = field(default_factory=list)
    #: the chunks' ``time_ps`` already follow the file's own frame numbering (XDATCAR
    #: configuration numbers): they win over frame index x frame_interval_ps.
    reader_times: bool = False


def time_axis(chunk_steps: np.ndarray | None, chunk_times: np.ndarray | None, first_index: int,
              n: int, *, timestep_ps: float | None, frame_interval_ps: float | None,
              source: str = "", reader_times: bool = False) -> np.ndarray:
    """Frame times in ps from (in order of preference) steps × timestep, stored times,
    or frame index × frame interval (``reader_times``: stored times first)."""
    if reader_times and chunk_times is not None:
        return np.asarray(chunk_times, dtype=np.float64)
    if chunk_steps is not None and timestep_ps is not None:
        return chunk_steps.astype(np.float64) * float(timestep_ps)
    if chunk_times is not None and frame_interval_ps is None:
        return np.asarray(chunk_times, dtype=np.float64)
    if frame_interval_ps is not None:
        return (first_index + np.arange(n, dtype=np.float64)) * float(frame_interval_ps)
    raise SchemaError(
        f"{source}: cannot build a time axis: the file has "
        f"{'steps' if chunk_steps is not None else 'no step numbers'} but no MD timestep is known; "
        "give timestep_ps (or a LAMMPS log) or frame_interval_ps in the manifest or as an option")


# --------------------------------------------------------------------------- assembly
def resolve_species(header: RunHeader, types: Mapping | None, *, source: str = "") -> np.ndarray:
    """Species symbols for a header, applying a LAMMPS ``type -> element`` map if needed."""
    if header.species is not None and types is None:
        return np.asarray(header.species).astype(str)
    if header.lammps_type is None:
        if header.species is None:
            raise SchemaError(f"{source}: no species information for the atoms")
        return np.asarray(header.species).astype(str)
    tmap = {int(k): str(v) for k, v in (types or {}).items()}
    if header.species is not None and not tmap:
        return np.asarray(header.species).astype(str)
    missing = sorted({int(t) for t in np.unique(header.lammps_type)} - set(tmap))
    if missing:
        raise SchemaError(
            f"{source}: atom type(s) {missing} have no element; known types: "
            f"{sorted(tmap) or 'none'}. Give types = {{{missing[0]} = \"El\", ...}} in the manifest, "
            "--types 1=Li,2=P,... on the command line, a LAMMPS data file with Masses comments, "
            "or dump an 'element' column")
    out = np.array([tmap[int(t)] for t in header.lammps_type], dtype=object).astype(str)
    return out


def atom_coords(header: RunHeader, species: np.ndarray, *, charges: Mapping | None = None,
                masses: Mapping | None = None, mobile: Iterable[str] = ("Li",),
                source: str = "") -> dict[str, tuple]:
    """Per-atom coordinates (species, charge, mass, mobile, ids) in schema form."""
    from .elements import charges_for, masses_for

    mobile = set(mobile)
    charge = (np.asarray(header.charge, dtype=np.float64) if header.charge is not None and charges is None
              else charges_for(species, charges, source=source))
    mass = (np.asarray(header.mass, dtype=np.float64) if header.mass is not None and masses is None
            else masses_for(species, masses))
    unknown_mobile = mobile - set(np.unique(species).tolist())
    if unknown_mobile and len(unknown_mobile) == len(mobile):
        raise SchemaError(f"{source}: mobile species {sorted(mobile)} not present; species found: "
                          f"{sorted(set(species.tolist()))}")
    coords = {
        "atom_id": ("atom", np.asarray(header.atom_id, dtype=np.int64)),
        "species": ("atom", np.asarray(species).astype(str)),
        "charge": ("atom", charge),
        "mass": ("atom", mass),
        "mobile": ("atom", np.isin(species, list(mobile))),
    }
    if header.lammps_type is not None:
        coords["lammps_type"] = ("atom", np.asarray(header.lammps_type, dtype=np.int64))
    return coords


def cell_volume(cell: np.ndarray) -> np.ndarray:
    """Volume (Å^3) of cell(s) with lattice vectors as rows; shape (..., 3, 3) -> (...)."""
    return np.abs(np.linalg.det(cell))


# --------------------------------------------------------------------------- validation of values read
#: Largest |coordinate| (Å) accepted: far beyond any diffusion path of an MD run (a blown-up
#: simulation or a corrupted number, not a position).
MAX_COORDINATE_A = 1.0e6
#: Smallest cell volume per atom (Å^3) accepted; condensed matter has about 5-50.
MIN_VOLUME_PER_ATOM_A3 = 0.1
#: Accepted ranges of run parameters (inclusive), with their units in the name.
PHYSICAL_RANGES = {
    "temperature_K": (1e-3, 1e5),
    "timestep_ps": (1e-6, 0.1),
    "frame_interval_ps": (1e-6, 1e5),
    "max_unwrap_fraction": (1e-3, 0.5),
}


def check_parameter(name: str, value, where: str, *, error=ManifestError) -> float:
    """``value`` as a float if it is a finite number within :data:`PHYSICAL_RANGES` [``name``]."""
    lo, hi = PHYSICAL_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise error(f"{where}: {name} must be a number, found {value!r}")
    v = float(value)
    if not (np.isfinite(v) and lo <= v <= hi):
        raise error(f"{where}: {name} = {value!r} is outside the physical range [{lo:g}, {hi:g}]; "
                    "check the value and its unit")
    return v


def check_frames(chunk: FrameChunk, *, source: str, first_frame: int, positions: bool = True) -> None:
    """Refuse non-finite, degenerate or left-handed cells and non-finite or absurd positions.

    ``first_frame`` is the index of the chunk's first frame in the run (for the message).
    ``positions=False`` checks the cells only: in-memory Datasets (arrays, synthetic
    failures) may carry non-finite positions for :func:`uncertainty_gk.diagnostics.diagnose`
    to flag; the archive writer checks everything.
    """
    cell = np.asarray(chunk.cell, dtype=np.float64)
    n_atoms = chunk.positions.shape[1]
    bad = ~np.isfinite(cell).reshape(len(cell), -1).all(axis=1)
    if bad.any():
        f = int(np.argmax(bad))
        raise InputFormatError(f"non-finite cell {cell[f].tolist()}: a corrupted or blown-up frame; keep only the "
                               "frames before it", path=source, frame=first_frame + f)
    det = np.linalg.det(cell)
    small = det <= MIN_VOLUME_PER_ATOM_A3 * n_atoms
    if small.any():
        f = int(np.argmax(small))
        what = "a left-handed cell (negative volume)" if det[f] < 0 else "a degenerate (zero or tiny) cell"
        raise InputFormatError(
            f"cell volume {det[f]:.6g} A^3 for {n_atoms} atoms: {what}, expected a right-handed cell of "
            f"at least {MIN_VOLUME_PER_ATOM_A3:g} A^3 per atom (lattice vectors {cell[f].round(6).tolist()}); "
            "check the cell of the file", path=source, frame=first_frame + f)
    if not positions:
        return
    pos = chunk.positions
    # one pass in the usual case: max and min propagate NaN, and catch infinities and absurd values
    if pos.size and bool((pos.max(axis=(1, 2)) <= MAX_COORDINATE_A).all()
                         and (pos.min(axis=(1, 2)) >= -MAX_COORDINATE_A).all()):
        return
    finite = np.isfinite(pos).all(axis=(1, 2))
    if not finite.all():
        f = int(np.argmax(~finite))
        atom = int(np.argwhere(~np.isfinite(pos[f]))[0][0])
        raise InputFormatError(f"non-finite position of atom index {atom}: the simulation blew up or the file is "
                               "corrupted; keep only the frames before this one", path=source,
                               frame=first_frame + f)
    big = (np.abs(pos) > MAX_COORDINATE_A).any(axis=(1, 2))
    if big.any():
        f = int(np.argmax(big))
        v = float(np.abs(pos[f]).max())
        raise InputFormatError(f"a coordinate of {v:.6g} A, beyond the sane bound {MAX_COORDINATE_A:g} A: a "
                               "corrupted number or a blown-up simulation; keep only the frames before this one",
                               path=source, frame=first_frame + f)


#: Largest number of decimals tried for the exact scaled-integer storage of text values.
MAX_DECIMALS = 9


def decimals_of(x: np.ndarray) -> int | None:
    """The smallest N <= MAX_DECIMALS such that every value of ``x`` is exactly an
    N-decimal number (``round(x * 10**N) / 10**N == x`` bit for bit, or ``x`` is such a
    number already decoded as ``q * 10**-N``), else None."""
    return decimal_codes(x)[0]


def decimal_codes(x: np.ndarray) -> tuple[int | None, np.ndarray | None]:
    """``(N, round(x * 10**N))`` for N = :func:`decimals_of` ``(x)`` (the codes as float64,
    in the shape of ``x``), or ``(None, None)``."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    if flat.size == 0 or not np.isfinite(flat).all():
        return None, None
    # The answer for a sample is never larger than for all values (a value exact at N is in
    # both), so trying all values only from the sample's N on gives the same N at a fraction
    # of the cost (usually one pass over all values instead of N + 1).
    start, _ = _smallest_decimals(flat[:_DECIMALS_SAMPLE], 0)
    if start is None:
        return None, None
    n, q = _smallest_decimals(flat, start)
    return n, (None if q is None else q.reshape(x.shape))


#: Values tried first by :func:`decimals_of`.
_DECIMALS_SAMPLE = 4096


def _smallest_decimals(x: np.ndarray, start: int) -> tuple[int | None, np.ndarray | None]:
    # max |rint(x * 10**n)| is rint(max |x| * 10**n) (both operations are monotone)
    largest = max(abs(float(x.max(initial=0.0))), abs(float(x.min(initial=0.0))))
    for n in range(start, MAX_DECIMALS + 1):
        if np.rint(largest * 10.0 ** n) >= 2.0 ** 53:
            return None, None
        q = np.rint(x * 10.0 ** n)
        if exact_at(x, q, n):
            return n, q
    return None, None


def exact_at(x: np.ndarray, q: np.ndarray, n: int) -> bool:
    """Whether ``q / 10**n`` or ``q * 10**-n`` is ``x`` bit for bit, for every value
    (the second form only computed where the first differs)."""
    ok = q / 10.0 ** n == x
    if ok.all():
        return True
    bad = ~ok
    return bool(np.array_equal(q[bad] * 10.0 ** -n, x[bad]))


def decimal_fractional_to_cartesian(q: np.ndarray, decimals: int, cells: np.ndarray) -> np.ndarray:
    """Cartesian positions from unwrapped fractional coordinates stored as integers.

    ``q / 10**decimals`` are the fractional coordinates exactly as written in the text
    (e.g. XDATCAR, 8 decimals) plus the integer cell crossings; ``cells`` is (3, 3) or
    (frames, 3, 3) with lattice vectors as rows.  Elementwise operations in a fixed
    order make the result identical bit for bit whatever the array's shape, so the
    reader and the archive decoder (:func:`uncertainty_gk.archive.open_archive`) agree.
    """
    u = np.asarray(q, dtype=np.float64) / 10.0 ** decimals
    c = np.asarray(cells, dtype=np.float64)
    if c.ndim == 2:
        c = c[None]
    c = c[:, None] if u.ndim == 3 else c          # (frames, 1, 3, 3) against (frames, atoms, 3)
    return u[..., 0:1] * c[..., 0, :] + u[..., 1:2] * c[..., 1, :] + u[..., 2:3] * c[..., 2, :]


def make_attrs(info: RunInfo, labels: Mapping | None = None, *, run_name: str = "",
               extra: Mapping | None = None) -> dict:
    """Dataset attributes in schema form (labels and sources as JSON strings)."""
    attrs = {
        "run_name": run_name,
        "reader": info.reader,
        "uncertainty_gk_version": package_version(),
        "labels": json.dumps(dict(labels or {}), sort_keys=True),
        "sources": json.dumps([s.as_dict() for s in info.sources]),
        "timestep_ps": float("nan") if info.timestep_ps is None else float(info.timestep_ps),
        "frame_interval_ps": float("nan") if info.frame_interval_ps is None else float(info.frame_interval_ps),
        "temperature_K": float("nan") if info.temperature_K is None else float(info.temperature_K),
        "units": info.units,
        "notes": json.dumps(list(info.notes)),
    }
    if extra:
        attrs.update(extra)
    return attrs


def variable_metadata(name) -> dict:
    """``units`` and ``long_name`` of a known variable/coordinate (empty for others)."""
    if name in VARIABLES:
        units, long_name = VARIABLES[name]
        return {"units": units, "long_name": long_name}
    if str(name).startswith("thermo_"):
        col = str(name)[len("thermo_"):]
        return {"units": THERMO_UNITS_METAL.get(col, "unknown"), "long_name": f"thermo output {col}"}
    return {}


def add_metadata(ds: xr.Dataset) -> xr.Dataset:
    """Attach ``units`` and ``long_name`` to every known variable/coordinate."""
    for name in list(ds.variables):
        for key, value in variable_metadata(name).items():
            ds[name].attrs.setdefault(key, value)
    return ds


def assemble_dataset(header: RunHeader, chunks: Iterable[FrameChunk], info: RunInfo, *,
                     types: Mapping | None = None, charges: Mapping | None = None,
                     masses: Mapping | None = None, mobile: Iterable[str] = ("Li",),
                     labels: Mapping | None = None, run_name: str = "",
                     thermo: xr.Dataset | None = None) -> xr.Dataset:
    """Build an in-memory trajectory Dataset from a header and frame chunks."""
    source = info.sources[0].path if info.sources else "<arrays>"
    species = resolve_species(header, types, source=source)
    coords = atom_coords(header, species, charges=charges, masses=masses, mobile=mobile, source=source)
    chunks = list(chunks)
    if not chunks:
        raise SchemaError(f"{source}: no frames")
    n = 0
    for c in chunks:
        check_frames(c, source=source, first_frame=n, positions=False)
        n += c.n_frames
    pos = np.concatenate([c.positions for c in chunks], axis=0)
    cell = np.concatenate([c.cell for c in chunks], axis=0)
    steps = None if chunks[0].step is None else np.concatenate([c.step for c in chunks])
    times = None if chunks[0].time_ps is None else np.concatenate([c.time_ps for c in chunks])
    t = time_axis(steps, times, 0, len(pos), timestep_ps=info.timestep_ps,
                  frame_interval_ps=info.frame_interval_ps, source=source,
                  reader_times=info.reader_times)
    data_vars = {"positions": (("time", "atom", "xyz"), pos)}
    if chunks[0].velocities is not None:
        data_vars["velocities"] = (("time", "atom", "xyz"), np.concatenate([c.velocities for c in chunks]))
    if chunks[0].forces is not None:
        data_vars["forces"] = (("time", "atom", "xyz"), np.concatenate([c.forces for c in chunks]))
    if np.allclose(cell, cell[:1], rtol=0, atol=1e-9):
        data_vars["cell"] = (("cell_vector", "xyz"), cell[0])
        data_vars["volume"] = ((), cell_volume(cell[0]))
    else:
        data_vars["cell"] = (("time", "cell_vector", "xyz"), cell)
        data_vars["volume"] = (("time",), cell_volume(cell))
    coords.update({"time": ("time", t), "xyz": ("xyz", list(XYZ)),
                   "cell_vector": ("cell_vector", list(CELL_VECTORS))})
    if steps is not None:
        coords["step"] = ("time", steps.astype(np.int64))
    import xarray as xr

    ds = xr.Dataset(data_vars, coords=coords, attrs=make_attrs(info, labels, run_name=run_name))
    if thermo is not None:
        ds = merge_log(ds, thermo)
    return add_metadata(ds)


def merge_log(ds: xr.Dataset, log: xr.Dataset) -> xr.Dataset:
    """Merge a parsed log (thermo rows and events, see io.lammps_log) into a run Dataset."""
    ds = ds.merge(log.drop_attrs() if hasattr(log, "drop_attrs") else log, combine_attrs="override")
    for key, value in log.attrs.items():
        ds.attrs[f"log_{key}"] = value
    return add_metadata(ds)


# --------------------------------------------------------------------------- access
def labels_of(ds: xr.Dataset) -> dict:
    """The run's labels (structure, model, seed, temperature_K, ...) as a dict."""
    raw = ds.attrs.get("labels", "{}")
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def sources_of(ds: xr.Dataset) -> list[dict]:
    raw = ds.attrs.get("sources", "[]")
    return json.loads(raw) if isinstance(raw, str) else list(raw)


def validate(ds: xr.Dataset, *, name: str = "dataset") -> xr.Dataset:
    """Check a Dataset against the schema; raise :class:`SchemaError` naming the problem."""
    for var in ("positions", "cell", "volume"):
        if var not in ds.variables:
            raise SchemaError(f"{name}: missing variable {var!r} (see docs/schema.md)")
    if ds["positions"].dims != ("time", "atom", "xyz"):
        raise SchemaError(f"{name}: positions must have dims (time, atom, xyz), found {ds['positions'].dims}")
    for coord in ("time", "species", "charge", "mass", "mobile", "atom_id"):
        if coord not in ds.coords:
            raise SchemaError(f"{name}: missing coordinate {coord!r} (see docs/schema.md)")
    for attr in REQUIRED_ATTRS:
        if attr not in ds.attrs:
            raise SchemaError(f"{name}: missing attribute {attr!r} (see docs/schema.md)")
    t = np.asarray(ds["time"].values)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        i = int(np.argmax(~(np.diff(t) > 0)))
        raise SchemaError(f"{name}: time must increase strictly; frame {i + 1} has t={t[i + 1]} ps after {t[i]} ps")
    for vname in ds.variables:
        if "units" not in ds[vname].attrs or "long_name" not in ds[vname].attrs:
            raise SchemaError(f"{name}: variable {vname!r} lacks units/long_name attributes")
    return ds
