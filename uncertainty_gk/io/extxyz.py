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

import io
import json
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

from ..errors import InputFormatError, SkippedFramesWarning, TruncatedInputWarning
from ..schema import FrameChunk, RunHeader, RunInfo, SourceFile, assemble_dataset
from .registry import base_name
from .sniff import open_text, stream_was_cut
from .unwrap import UnwrapState, unwrap_fractional

__all__ = ["ExtxyzReader", "read_extxyz"]

#: A fractional coordinate further than this outside [0, 1] means the file is not wrapped.
_OUTSIDE_TOL = 1e-3

#: Comment-line keys taken as the frame's potential energy (eV), in order of preference.
ENERGY_KEYS = ("energy", "potential_energy", "Epot", "epot")

#: The energy log keeps rows at least this far apart (ps).
ENERGY_ROW_INTERVAL_PS = 0.1


class _Lines:
    """Lines of a text stream with their numbers and push-back."""

    def __init__(self, fh):
        self.fh = fh
        self.lineno = 0
        self.pushed: list[tuple[int, str]] = []
        self.last_newline = True

    def next(self) -> tuple[int, str] | None:
        if self.pushed:
            return self.pushed.pop()
        line = self.fh.readline()
        if not line:
            return None
        self.lineno += 1
        self.last_newline = line.endswith(("\n", "\r"))
        return self.lineno, line

    def push(self, item) -> None:
        self.pushed.append(item)


def _count(line: str) -> int | None:
    """The atom count of an XYZ count line, or None."""
    tok = line.strip()
    return int(tok) if tok.isdigit() else None


def _is_frame_start(count_line: str, comment: str | None) -> bool:
    """An integer line followed by an extended-XYZ comment line (key=value pairs)."""
    return _count(count_line) is not None and comment is not None and (
        "Lattice=" in comment or "Properties=" in comment or "pbc=" in comment)


def _ase_time_to_ps(t) -> float:
    from ase import units

    return float(t) / units.fs * 1e-3


class ExtxyzReader:
    """Streaming reader of an extended XYZ file following the chunk protocol of :mod:`..schema`."""

    reader_name = "extxyz"
    name = "extxyz"

    @classmethod
    def can_open(cls, path) -> bool:
        """A ``*.xyz``/``*.extxyz`` name, or an atom-count line followed by a ``Lattice=`` comment."""
        if base_name(path).endswith((".xyz", ".extxyz")):
            return True
        try:
            with open_text(path) as fh:
                head = [fh.readline(), fh.readline()]
        except (OSError, InputFormatError):
            return False
        return _is_frame_start(head[0], head[1])

    @classmethod
    def from_files(cls, paths, *, timestep_ps: float | None = None, **options) -> ExtxyzReader:
        if len(paths) != 1:
            raise InputFormatError(f"an extended XYZ run is one file, got {len(paths)}", path=paths[0])
        return cls(paths[0], timestep_ps=timestep_ps, **options)

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

    # ------------------------------------------------------------------ helpers
    def _frame_texts(self, *, first_only: bool = False, quiet: bool = False) -> Iterator[tuple[int, int, str]]:
        """(frame index, first line, text) of every complete frame of the file.

        The frames are found by their atom-count lines, so that a blank line between
        frames (two files joined) does not end the trajectory, a corrupted frame is
        skipped up to the next count line followed by an extended-XYZ comment line
        (with a :class:`SkippedFramesWarning`), and a frame cut at the end of the file
        (or of a compressed stream, or without a final newline) is dropped with a
        :class:`TruncatedInputWarning`.  At most one frame is held in memory, whatever
        a count line claims.
        """
        path = self.path
        skipped: list[tuple[int, int, str]] = []
        n_ref: int | None = None
        frame = 0
        with open_text(path) as fh:
            rd = _Lines(fh)
            while True:
                item = rd.next()
                if item is None:
                    break
                lineno, line = item
                if not line.strip():
                    continue                          # blank lines between frames carry nothing
                n = _count(line)
                nxt = rd.next()
                cut_here = nxt is None or (not rd.last_newline and not rd.pushed and _peek_eof(rd))
                if n is not None and cut_here and frame > 0:
                    if not quiet:
                        self._truncated(frame, lineno, "the file ends after the atom-count line")
                    break
                if n is None or not _is_frame_start(line, None if nxt is None else nxt[1]):
                    if frame == 0:
                        raise InputFormatError(
                            f"expected an atom count and an extended XYZ comment line (Lattice=... "
                            f"Properties=...), found {line.strip()[:60]!r}: not an extended XYZ file?",
                            path=path, line=lineno)
                    if nxt is not None:
                        rd.push(nxt)
                    skipped.append((frame, lineno, f"expected an atom count line, found {line.strip()[:60]!r}"))
                    self._resync(rd)
                    frame += 1
                    continue
                rows = []
                early = None
                limit = n if n_ref is None else min(n, 2 * n_ref + 8)
                while len(rows) < limit:
                    it = rd.next()
                    if it is None:
                        break
                    if _count(it[1]) is not None:         # a count line inside the atom lines?
                        peek = rd.next()
                        if peek is not None:
                            rd.push(peek)
                        if _is_frame_start(it[1], None if peek is None else peek[1]):
                            early = it
                            break
                    rows.append(it[1])
                if early is not None or (len(rows) < n and len(rows) == limit):
                    if early is not None:
                        rd.push(early)
                    else:
                        self._resync(rd)
                    why = (f"the count line says {n} atoms but {len(rows)} atom lines follow"
                           + ("" if early is None else f" before the next frame (line {early[0]})"))
                    if frame == 0:
                        raise InputFormatError(why, path=path, frame=0, line=lineno)
                    skipped.append((frame, lineno, why))
                    frame += 1
                    continue
                if len(rows) < n:
                    if not quiet:
                        self._truncated(frame, lineno, f"the file ends after {len(rows)} of its {n} atom lines")
                    break
                text = line + nxt[1] + "".join(rows)
                if not rd.pushed and _peek_eof(rd) and (stream_was_cut(fh) or not rd.last_newline):
                    if quiet:
                        break
                    self._truncated(frame, lineno, "the compressed stream ends early" if stream_was_cut(fh)
                                    else "the file does not end with a newline, so its last number may be cut")
                    break
                if n_ref is None:
                    n_ref = n
                yield frame, lineno, text
                frame += 1
                if first_only:
                    return
        if skipped and not quiet:
            shown = "; ".join(f"frame {f} (line {ln}): {why}" for f, ln, why in skipped[:5])
            more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            warnings.warn(f"{path}: skipped {len(skipped)} corrupted frame(s) and kept every other frame: "
                          f"{shown}{more}", SkippedFramesWarning, stacklevel=4)
            self.notes.append(f"skipped corrupted frame(s) {[f for f, _, _ in skipped]}")

    @staticmethod
    def _resync(rd: _Lines) -> None:
        """Skip lines up to the next atom-count line that starts a frame."""
        while True:
            it = rd.next()
            if it is None:
                return
            if _count(it[1]) is not None:
                peek = rd.next()
                if peek is not None:
                    rd.push(peek)
                if _is_frame_start(it[1], None if peek is None else peek[1]):
                    rd.push(it)
                    return

    def _truncated(self, frame: int, lineno: int, why: str) -> None:
        warnings.warn(f"{self.path} frame {frame} (line {lineno}): the last frame is incomplete ({why}); "
                      f"dropped it and kept the frames before it", TruncatedInputWarning, stacklevel=4)
        self.notes.append(f"dropped the incomplete last frame {frame} ({why})")

    def _frames(self, *, first_only: bool = False):
        from ase.io import read

        for k, lineno, text in self._frame_texts(first_only=first_only):
            try:
                atoms = read(io.StringIO(text), format="extxyz", index=0)
                for name, kind in (("step", int), ("time", float)):
                    if name in atoms.info and _number(atoms.info[name], kind) is None:
                        raise ValueError(f"{name}={atoms.info[name]!r} is not a number")
            except Exception as exc:  # ASE raises many types for malformed frames
                if k == 0:
                    raise InputFormatError(f"cannot parse as extended XYZ: {type(exc).__name__}: {exc}",
                                           path=self.path, frame=k, line=lineno) from None
                warnings.warn(f"{self.path} frame {k} (line {lineno}): skipped a frame that cannot be parsed "
                              f"({type(exc).__name__}: {exc}); kept every other frame", SkippedFramesWarning,
                              stacklevel=3)
                self.notes.append(f"skipped unparseable frame {k}")
                continue
            yield k, atoms

    def _first_frame(self):
        if self._first is None:
            if self.path.stat().st_size == 0:
                raise InputFormatError("the file is empty; expected an extended XYZ trajectory", path=self.path)
            for _, atoms in self._frames(first_only=True):
                self._first = atoms
                break
            if self._first is None:
                raise InputFormatError("no complete frame in the file; expected an extended XYZ trajectory",
                                       path=self.path)
        return self._first

    def _cell(self, atoms, k: int) -> np.ndarray:
        cell = np.asarray(atoms.cell.array, dtype=np.float64)
        if not np.all(np.isfinite(cell)):
            raise InputFormatError(f"non-finite cell {cell.tolist()} in the Lattice= of this frame; a corrupted "
                                   "file? keep only the frames before it", path=self.path, frame=k)
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
        for k, _, text in self._frame_texts(quiet=True):
            try:
                info = key_val_str_to_dict(text.split("\n", 2)[1])
            except Exception:  # malformed: the frame reader gives the precise warning
                continue
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
            times.append(_number(info.get("time"), float))
            steps.append(_number(info.get("step"), int))
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
        import xarray as xr

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


def _peek_eof(rd: _Lines) -> bool:
    item = rd.next()
    if item is None:
        return True
    rd.push(item)
    return False


def _number(value, kind):
    """``value`` as ``kind`` (int or float) if it is one exactly, else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    if kind is int:
        return int(x) if x == int(x) else None
    return x
