"""Trajectory Dataset from plain numpy arrays, for users with their own readers.

>>> ds = from_arrays(positions, cell, ["Li", "Li", "O"], frame_interval_ps=0.1)

Positions are Cartesian Å with shape (frames, atoms, 3); give ``wrapped=True`` when they
are wrapped into the cell (they are then unwrapped by minimum image, see
:mod:`uncertainty_gk.io.unwrap`).  The cell holds lattice vectors as rows, (3, 3) or per
frame (frames, 3, 3); a (3,) array is taken as an orthorhombic box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ..errors import InputFormatError
from ..schema import FrameChunk, RunHeader, RunInfo, assemble_dataset
from .unwrap import cartesian_to_fractional, unwrap_fractional

__all__ = ["from_arrays"]

_SRC = "<arrays>"


def _err(msg: str) -> InputFormatError:
    return InputFormatError(msg, path=_SRC)


def _check_finite(name: str, arr: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = {3: "frame {0}, atom {1}, component {2}", 2: "row {0}, column {1}", 1: "index {0}"}
        loc = where.get(len(idx), "index {0}").format(*idx) if len(idx) <= 3 else str(idx)
        raise _err(f"{name} contains {int(bad.sum())} NaN/inf value(s); first at {loc} "
                   f"(value {arr[idx]}); remove or repair those frames")


def _per_frame_array(name: str, arr, n_frames: int, n_atoms: int) -> np.ndarray | None:
    if arr is None:
        return None
    a = np.asarray(arr, dtype=np.float64)
    if a.shape != (n_frames, n_atoms, 3):
        raise _err(f"{name} must have the shape of positions ({n_frames}, {n_atoms}, 3), got {a.shape}")
    _check_finite(name, a)
    return a


def _per_atom(name: str, values, species: np.ndarray):
    """A species->value mapping (returned as mapping) or a per-atom array (returned as array)."""
    if values is None or isinstance(values, Mapping):
        return values, None
    a = np.asarray(values, dtype=np.float64)
    if a.shape != species.shape:
        raise _err(f"{name} must be a mapping species -> value or one value per atom ({len(species)}), "
                   f"got shape {a.shape}")
    _check_finite(name, a)
    return None, a


def from_arrays(positions, cell, species, *, frame_interval_ps: float | None, wrapped: bool = False,
                charges=None, masses=None, mobile: Sequence[str] = ("Li",), labels: Mapping | None = None,
                temperature_K: float | None = None, velocities=None, forces=None, steps=None,
                timestep_ps: float | None = None, run_name: str = "", atom_ids=None,
                max_unwrap_fraction: float = 0.25) -> xr.Dataset:
    """Build a trajectory Dataset from arrays.

    Parameters
    ----------
    positions
        Cartesian positions in Å, (frames, atoms, 3); unwrapped unless ``wrapped=True``.
    cell
        Lattice vectors as rows in Å: (3, 3), per frame (frames, 3, 3), or (3,) box lengths.
    species
        Element symbol of every atom (length = atoms).
    frame_interval_ps
        Time between frames in ps.  May be None when ``steps`` and ``timestep_ps`` are given
        (time = step × timestep_ps).
    wrapped
        Positions are wrapped into the cell: unwrap them by minimum image.
    charges, masses
        Mapping species -> value overriding the defaults, or one value per atom.
    velocities, forces
        Å/ps and eV/Å, same shape as positions.
    steps
        MD step of every frame (integers, increasing).
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim == 2 and pos.shape[-1] == 3:
        raise _err(f"positions must be (frames, atoms, 3), got {pos.shape}; for a single frame use positions[None]")
    if pos.ndim != 3 or pos.shape[-1] != 3:
        raise _err(f"positions must be (frames, atoms, 3), got shape {pos.shape}")
    n_frames, n_atoms, _ = pos.shape
    if n_frames == 0 or n_atoms == 0:
        raise _err(f"positions are empty: shape {pos.shape}")
    _check_finite("positions", pos)

    c = np.asarray(cell, dtype=np.float64)
    if c.shape == (3,):
        c = np.diag(c)
    if c.shape == (3, 3):
        cells = np.broadcast_to(c, (n_frames, 3, 3)).copy()
    elif c.shape == (n_frames, 3, 3):
        cells = c.copy()
    else:
        raise _err(f"cell must be (3, 3), ({n_frames}, 3, 3) for {n_frames} frames, or (3,) box lengths; "
                   f"got shape {c.shape}")
    _check_finite("cell", cells)
    vol = np.linalg.det(cells)
    if np.any(np.abs(vol) < 1e-8):
        i = int(np.argmax(np.abs(vol) < 1e-8))
        raise _err(f"cell of frame {i} is degenerate (volume {vol[i]:.3g} Å^3); lattice vectors are rows "
                   "of a (3, 3) matrix")

    sp = np.asarray(species).astype(str)
    if sp.ndim != 1 or len(sp) != n_atoms:
        raise _err(f"species must have one symbol per atom ({n_atoms}), got shape {sp.shape}")

    vel = _per_frame_array("velocities", velocities, n_frames, n_atoms)
    frc = _per_frame_array("forces", forces, n_frames, n_atoms)

    st = None
    if steps is not None:
        st_raw = np.asarray(steps)
        if st_raw.shape != (n_frames,):
            raise _err(f"steps must have one value per frame ({n_frames}), got shape {st_raw.shape}")
        if not np.all(np.isfinite(st_raw.astype(np.float64))) or np.any(st_raw.astype(np.float64) % 1 != 0):
            raise _err("steps must be integers")
        st = st_raw.astype(np.int64)
        if n_frames > 1 and not np.all(np.diff(st) > 0):
            i = int(np.argmax(~(np.diff(st) > 0)))
            raise _err(f"steps must increase strictly; frame {i + 1} has step {st[i + 1]} after {st[i]}")
    for name, val in (("frame_interval_ps", frame_interval_ps), ("timestep_ps", timestep_ps)):
        if val is not None and not (np.isfinite(val) and val > 0):
            raise _err(f"{name} must be a positive number of ps, got {val!r}")
    if frame_interval_ps is None and (st is None or timestep_ps is None):
        raise _err("no time axis: give frame_interval_ps (time between frames in ps), or steps and timestep_ps")

    if wrapped:
        frac = cartesian_to_fractional(pos, cells)
        pos, _ = unwrap_fractional(frac, cells, max_fraction=max_unwrap_fraction, source=_SRC)

    charge_map, charge_arr = _per_atom("charges", charges, sp)
    mass_map, mass_arr = _per_atom("masses", masses, sp)
    ids = np.arange(1, n_atoms + 1, dtype=np.int64) if atom_ids is None else np.asarray(atom_ids, dtype=np.int64)
    if ids.shape != (n_atoms,) or len(np.unique(ids)) != n_atoms:
        raise _err(f"atom_ids must be {n_atoms} distinct integers")
    header = RunHeader(atom_id=ids, species=sp, mass=mass_arr, charge=charge_arr)
    chunk = FrameChunk(positions=pos, cell=cells, step=st, velocities=vel, forces=frc)
    use_steps = st is not None and timestep_ps is not None
    info = RunInfo(reader="arrays", sources=[], timestep_ps=timestep_ps if use_steps else None,
                   frame_interval_ps=None if use_steps else frame_interval_ps, temperature_K=temperature_K,
                   units="metal", notes=["positions unwrapped by minimum image"] if wrapped else [])
    if use_steps and frame_interval_ps is not None:
        info.notes.append("time from steps x timestep_ps (frame_interval_ps ignored)")
    return assemble_dataset(header, [chunk], info, charges=charge_map, masses=mass_map, mobile=mobile,
                            labels=labels, run_name=run_name)
