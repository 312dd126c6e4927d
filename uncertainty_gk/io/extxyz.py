"""Extended XYZ trajectories (ASE, MLIP codes), plain or compressed, via :func:`ase.io.iread`.

* positions: Cartesian Å, wrapped or not (``wrapped=None``, the default, decides from the
  file).  Wrapped positions are unwrapped by minimum image in fractional coordinates of
  each frame's cell (:mod:`uncertainty_gk.io.unwrap`), refusing jumps larger than
  ``max_unwrap_fraction`` of the cell.  ASE's MD writers do not wrap: as soon as a frame
  has an atom outside the cell (fractional coordinate outside [0, 1] by more than 1e-3)
  the file is taken as unwrapped and positions are used as written from that frame on
  (so large, genuine jumps of a failing simulation are kept, not refused).
  ``wrapped=True`` forces minimum-image unwrapping, ``wrapped=False`` uses the positions
  as written.
* velocities: from ``momenta`` (``Atoms.get_velocities()``, ASE units Å/(ASE time
  unit)) converted to Å/ps: ``v * ase.units.fs * 1000``.
* forces: eV/Å, from the calculator results or a ``forces`` array.
* time: from a ``time`` info key (ASE time units, converted to ps) if every frame has one;
  else ``frame index × frame_interval_ps``; with a ``step`` info key and ``timestep_ps``
  the time is ``step × timestep_ps``.  A given ``frame_interval_ps`` wins over stored times.
* the cell must be periodic in 3D (``Lattice=`` with ``pbc="T T T"``).
* energies: when every frame's comment line has a potential energy (``energy=``, as ASE
  and MLIP MD drivers write it; also ``potential_energy``, ``Epot``, ``epot``), it becomes
  a one-block thermo log with column ``PotEng`` (eV; :meth:`ExtxyzReader.energy_log`),
  so that ``diagnose`` can look for energy drifts and change points without a separate
  log.  Rows are thinned to at least ``ENERGY_ROW_INTERVAL_PS`` apart: consecutive
  frames a few fs apart carry strongly correlated energies, which the change-point
  detector's false-alarm rate is not calibrated for (see docs/diagnostics.md).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import math
import os
import shutil
import tempfile
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputFormatError
from ..schema import FrameChunk, RunHeader, RunInfo, SourceFile, assemble_dataset
from .unwrap import UnwrapState, unwrap_fractional

__all__ = ["ExtxyzReader", "read_extxyz"]

#: A fractional coordinate further than this outside [0, 1] means the file is not wrapped.
_OUTSIDE_TOL = 1e-3

#: Comment-line keys taken as the frame's potential energy (eV), in order of preference.
ENERGY_KEYS = ("energy", "potential_energy", "Epot", "epot")

#: The energy log keeps rows at least this far apart (ps).
ENERGY_ROW_INTERVAL_PS = 0.1


@contextlib.contextmanager
def _plain_copy(path: Path):
    """The path itself, or for .gz/.bz2/.xz a decompressed temporary copy.

    ASE's extxyz reader seeks backwards in the file, which is quadratic on a compressed
    stream (minutes for a few MB); a temporary plain file keeps reading linear.
    """
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix.lower())
    if opener is None:
        with open(path, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                opener = gzip.open
    if opener is None:
        yield path
        return
    fd, tmp = tempfile.mkstemp(suffix=".xyz", prefix="ugk_")
    try:
        try:
            with os.fdopen(fd, "wb") as out, opener(path, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise InputFormatError(f"cannot decompress: {exc}", path=path) from None
        yield Path(tmp)
    finally:
        os.unlink(tmp)


def _ase_time_to_ps(t) -> float:
    from ase import units

    return float(t) / units.fs * 1e-3


class ExtxyzReader:
    """Streaming reader of an extended XYZ file following the chunk protocol of :mod:`..schema`."""

    reader_name = "extxyz"

    def __init__(self, path, *, frame_interval_ps: float | None = None, timestep_ps: float | None = None,
                 max_unwrap_fraction: float = 0.25, temperature_K: float | None = None,
                 wrapped: bool | None = None):
        self.path = Path(path)
        self.wrapped = wrapped
        if not self.path.exists():
            raise InputFormatError("file not found", path=self.path)
        for name, val in (("frame_interval_ps", frame_interval_ps), ("timestep_ps", timestep_ps)):
            if val is not None and not (np.isfinite(val) and val > 0):
                raise InputFormatError(f"{name} must be a positive number of ps, got {val!r}", path=self.path)
        self.frame_interval_ps = None if frame_interval_ps is None else float(frame_interval_ps)
        self.timestep_ps = None if timestep_ps is None else float(timestep_ps)
        self.max_unwrap_fraction = float(max_unwrap_fraction)
        self.temperature_K = temperature_K
        self.notes: list[str] = []
        self._first = None
        self._plain: Path | None = None

    # ------------------------------------------------------------------ helpers
    def _plain_path(self) -> Path:
        """The plain file to read: decompressed once per reader, removed with it."""
        if self._plain is None:
            stack = contextlib.ExitStack()
            self._plain = stack.enter_context(_plain_copy(self.path))
            weakref.finalize(self, stack.close)
        return self._plain

    def _frames(self):
        from ase.io import iread

        try:
            for k, atoms in enumerate(iread(str(self._plain_path()), index=":", format="extxyz")):
                yield k, atoms
        except InputFormatError:
            raise
        except StopIteration:
            return
        except Exception as exc:  # ASE raises many types for malformed files
            raise InputFormatError(f"cannot parse as extended XYZ: {type(exc).__name__}: {exc}",
                                   path=self.path) from None

    def _first_frame(self):
        if self._first is None:
            if self.path.stat().st_size == 0:
                raise InputFormatError("the file is empty; expected an extended XYZ trajectory", path=self.path)
            for _, atoms in self._frames():
                self._first = atoms
                break
            if self._first is None:
                raise InputFormatError("no frames in the file; expected an extended XYZ trajectory",
                                       path=self.path)
        return self._first

    def _cell(self, atoms, k: int) -> np.ndarray:
        cell = np.asarray(atoms.cell.array, dtype=np.float64)
        if not np.all(atoms.pbc) or abs(np.linalg.det(cell)) < 1e-6:
            raise InputFormatError(
                f"no periodic 3D cell (pbc={atoms.pbc.tolist()}, cell={cell.round(6).tolist()}): ionic "
                "conductivity needs a periodic cell; write Lattice=\"...\" and pbc=\"T T T\" in the "
                "comment line of every frame", path=self.path, frame=k)
        return cell

    @staticmethod
    def _forces(atoms):
        calc = atoms.calc
        if calc is not None and getattr(calc, "results", None) and "forces" in calc.results:
            return np.asarray(calc.results["forces"], dtype=np.float64)
        if "forces" in atoms.arrays:
            return np.asarray(atoms.arrays["forces"], dtype=np.float64)
        return None

    def energy_log(self, *, min_interval_ps: float = ENERGY_ROW_INTERVAL_PS) -> xr.Dataset | None:
        """The per-frame potential energies as a thermo log Dataset, or None.

        Reads only the comment lines (a text pass, no structure parsing).  None when the
        first frame has no energy key (:data:`ENERGY_KEYS`), when a later frame lacks it
        (a note says so), when the frame times are unknown, or when the file cannot be
        scanned (the frame reader then reports what is wrong).  Rows are the frames
        ``0, m, 2m, ...`` with ``m`` the smallest stride putting them at least
        ``min_interval_ps`` apart.  The log has one block (0), no events and no requested
        step count, so only the energy and non-finite checks of ``diagnose`` use it.
        """
        from ase.io.extxyz import key_val_str_to_dict

        energies, times, steps = [], [], []
        key = None
        with open(self._plain_path(), encoding="utf-8", errors="replace") as fh:
            k = 0
            while True:
                head = fh.readline()
                if not head:
                    break
                if not head.strip():
                    continue
                try:
                    n = int(head.split()[0])
                    info = key_val_str_to_dict(fh.readline())
                except Exception:  # malformed: the frame reader gives the precise error
                    return None
                if key is None:
                    key = next((c for c in ENERGY_KEYS if c in info), None)
                    if key is None:
                        return None
                if key not in info:
                    self.notes.append(f"frame {k} has no '{key}' in its comment line (frame 0 has): the "
                                      "energies are not used as a log")
                    return None
                try:
                    energies.append(float(info[key]))
                except (TypeError, ValueError):
                    energies.append(math.nan)
                times.append(info.get("time"))
                steps.append(info.get("step"))
                deque(islice(fh, n), maxlen=0)
                k += 1
        if not energies:
            return None
        idx = np.arange(len(energies))
        if self.frame_interval_ps is not None:
            t = idx * self.frame_interval_ps
        elif all(x is not None for x in times):
            t = np.array([_ase_time_to_ps(x) for x in times])
        elif self.timestep_ps is not None and all(x is not None for x in steps):
            t = np.array(steps, dtype=np.float64) * self.timestep_ps
        else:
            return None
        dt = float(np.median(np.diff(t))) if len(t) > 1 else math.inf
        stride = max(1, math.ceil(min_interval_ps / dt - 1e-9)) if dt > 0 else 1
        keep = idx[::stride]
        step = (np.array(steps, dtype=np.int64) if all(x is not None for x in steps) else idx)[keep]
        note = (f"thermo log from the '{key}' of every frame's comment line"
                + (f", every {stride}th frame ({stride * dt:.3g} ps apart)" if stride > 1 else ""))
        self.notes.append(note)
        ds = xr.Dataset(
            {"thermo_PotEng": ("thermo", np.asarray(energies, dtype=np.float64)[keep])},
            coords={"thermo_step": ("thermo", step.astype(np.int64)),
                    "thermo_time": ("thermo", np.asarray(t, dtype=np.float64)[keep]),
                    "thermo_block": ("thermo", np.zeros(len(keep), dtype=np.int64)),
                    "event_step": ("event", np.zeros(0, dtype=np.int64)),
                    "event_kind": ("event", np.zeros(0, "<U7")),
                    "event_message": ("event", np.zeros(0, "<U1")),
                    "event_line": ("event", np.zeros(0, dtype=np.int64))},
            attrs={"units": "metal", "timestep_ps": float("nan") if self.timestep_ps is None else self.timestep_ps,
                   "run_lengths": "[]", "steps_done": "[null]", "block_commands": json.dumps([note]),
                   "block_requested_steps": "[null]", "ended_with_error": 0, "production_block": 0,
                   "path": str(self.path), "notes": json.dumps([note])})
        ds["thermo_PotEng"].attrs.update(units="eV", long_name=f"potential energy ('{key}' of the extended XYZ frame)")
        return ds

    # ------------------------------------------------------------------ protocol
    def header(self) -> RunHeader:
        """Species from the first frame; ``atom_id`` 1..N in file order."""
        atoms = self._first_frame()
        self._cell(atoms, 0)
        species = np.array(atoms.get_chemical_symbols(), dtype=str)
        mass = np.asarray(atoms.arrays["masses"], dtype=np.float64) if "masses" in atoms.arrays else None
        return RunHeader(atom_id=np.arange(1, len(atoms) + 1, dtype=np.int64), species=species, mass=mass)

    def info(self) -> RunInfo:
        atoms = self._first_frame()
        has_time = "time" in atoms.info
        has_step = "step" in atoms.info and self.timestep_ps is not None
        if self.frame_interval_ps is None and not has_time and not has_step:
            raise InputFormatError(
                "the frames have no 'time' (or 'step' with timestep_ps) information: give "
                "frame_interval_ps, the time between written frames in ps (e.g. 20 steps x 1 fs -> 0.02)",
                path=self.path)
        return RunInfo(reader=self.reader_name, sources=[SourceFile.from_path(self.path)],
                       timestep_ps=self.timestep_ps if has_step else None,
                       frame_interval_ps=self.frame_interval_ps, temperature_K=self.temperature_K,
                       units="metal", notes=self.notes)

    def iter_chunks(self, max_frames: int | None = None) -> Iterator[FrameChunk]:
        """Frames as :class:`FrameChunk` of at most ``max_frames`` frames (all if None)."""
        if max_frames is not None and max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        first = self._first_frame()
        symbols = first.get_chemical_symbols()
        n_atoms = len(first)
        want_time = "time" in first.info
        want_step = "step" in first.info
        want_vel = "momenta" in first.arrays
        want_forces = self._forces(first) is not None
        offset = 0
        buf: dict[str, list] = {k: [] for k in ("pos", "cell", "time", "step", "vel", "forces")}
        prev_raw = prev_unw = None
        mode = {True: "wrapped", False: "unwrapped", None: "auto"}[self.wrapped]

        def flush():
            nonlocal offset
            cells = np.stack(buf["cell"])
            pos = np.stack(buf["pos"])
            n = len(buf["cell"])
            if self.frame_interval_ps is not None:
                t = (offset + np.arange(n)) * self.frame_interval_ps
            elif want_time:
                t = np.array(buf["time"], dtype=np.float64)
            else:
                t = None
            chunk = FrameChunk(
                positions=pos, cell=cells, time_ps=t,
                step=np.array(buf["step"], dtype=np.int64) if want_step else None,
                velocities=np.stack(buf["vel"]) if want_vel else None,
                forces=np.stack(buf["forces"]) if want_forces else None)
            offset += n
            for v in buf.values():
                v.clear()
            return chunk

        from ase import units

        for k, atoms in self._frames():
            if len(atoms) != n_atoms or atoms.get_chemical_symbols() != symbols:
                raise InputFormatError(
                    f"the atoms changed: {len(atoms)} atoms where frame 0 has {n_atoms}"
                    if len(atoms) != n_atoms else "the species (or their order) differ from frame 0",
                    path=self.path, frame=k)
            cell = self._cell(atoms, k)
            pos = np.asarray(atoms.positions, dtype=np.float64)
            if not np.all(np.isfinite(pos)):
                atom = int(np.argwhere(~np.isfinite(pos))[0][0])
                raise InputFormatError(f"non-finite position of atom {atom}", path=self.path, frame=k)
            frac = np.linalg.solve(cell.T, pos.T).T
            if mode == "auto" and np.any((frac < -_OUTSIDE_TOL) | (frac > 1 + _OUTSIDE_TOL)):
                mode = "unwrapped"
                self.notes.append(f"positions are not wrapped into the cell (atoms outside it from frame {k}); "
                                  "used as written from that frame on (no minimum-image unwrapping)")
            if prev_raw is None or mode == "unwrapped":
                # keep the integer lattice offset accumulated so far, so the path stays continuous
                unw = frac if prev_raw is None else frac + np.round(prev_unw - prev_raw)
            else:
                unw = unwrap_fractional(frac[None], cell, max_fraction=self.max_unwrap_fraction,
                                        source=str(self.path), frame_offset=k,
                                        previous=UnwrapState(prev_raw, prev_unw))[1].unwrapped
            prev_raw, prev_unw = frac, unw
            buf["pos"].append(unw @ cell)
            buf["cell"].append(cell)
            for key, want, name in (("time", want_time, "time"), ("step", want_step, "step")):
                if want:
                    if name not in atoms.info:
                        raise InputFormatError(f"frame 0 has a '{name}' info key but this frame has none",
                                               path=self.path, frame=k)
            if want_time:
                buf["time"].append(_ase_time_to_ps(atoms.info["time"]))
            if want_step:
                buf["step"].append(int(atoms.info["step"]))
            if want_vel:
                if "momenta" not in atoms.arrays:
                    raise InputFormatError("frame 0 has momenta but this frame has none", path=self.path, frame=k)
                buf["vel"].append(atoms.get_velocities() * units.fs * 1000.0)
            if want_forces:
                f = self._forces(atoms)
                if f is None:
                    raise InputFormatError("frame 0 has forces but this frame has none", path=self.path, frame=k)
                buf["forces"].append(f)
            if max_frames is not None and len(buf["cell"]) >= max_frames:
                yield flush()
        if buf["cell"]:
            yield flush()


def read_extxyz(path, *, frame_interval_ps: float | None = None, timestep_ps: float | None = None,
                charges: Mapping | None = None, masses: Mapping | None = None, mobile: Sequence[str] = ("Li",),
                labels: Mapping | None = None, temperature_K: float | None = None, run_name: str = "",
                max_unwrap_fraction: float = 0.25, wrapped: bool | None = None,
                energies: bool = True) -> xr.Dataset:
    """Read an extended XYZ trajectory into a trajectory Dataset (see :mod:`uncertainty_gk.schema`).

    With ``energies`` (default) the frames' potential energies, when present, are merged
    as a thermo log (:meth:`ExtxyzReader.energy_log`).
    """
    reader = ExtxyzReader(path, frame_interval_ps=frame_interval_ps, timestep_ps=timestep_ps,
                          max_unwrap_fraction=max_unwrap_fraction, temperature_K=temperature_K,
                          wrapped=wrapped)
    header = reader.header()
    log = reader.energy_log() if energies else None
    info = reader.info()
    return assemble_dataset(header, reader.iter_chunks(), info, charges=charges, masses=masses, mobile=mobile,
                            labels=labels, run_name=run_name or Path(path).name, thermo=log)
