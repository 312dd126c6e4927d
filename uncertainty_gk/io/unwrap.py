"""Unwrapping of periodic (wrapped) coordinates by the minimum-image convention.

Readers of formats that store wrapped coordinates (VASP XDATCAR, extended XYZ written
by codes that wrap, user arrays) turn them into the schema's *unwrapped* Cartesian
positions with :func:`unwrap_fractional`.

Method
------
The work is done in fractional (direct) coordinates, so any cell shape (triclinic
included) is handled the same way.  Between consecutive frames the fractional
displacement ``d`` of each atom is replaced by its minimum image ``d - round(d)``;
the unwrapped fractional trajectory is the first frame plus the cumulative sum of these
displacements.  Cartesian positions are ``frac @ cell`` (lattice vectors as rows).

This is only correct if no atom moves by half a cell or more between two written
frames.  As a safety margin an atom moving more than ``max_fraction`` of a cell vector
(after the minimum-image correction) raises :class:`~uncertainty_gk.errors.InputFormatError`:
the frames are then too far apart for the unwrapped path to be trusted.

Variable cell (NPT, variable-cell AIMD)
--------------------------------------
With a per-frame cell the fractional coordinates are unwrapped first and each frame is
then converted to Cartesian with *its own* cell: ``r_i = s_i @ h_i``.  Displacements
then contain the (small) affine deformation of the cell, which is the usual convention
for NPT diffusion analyses and keeps the minimum-image test independent of the cell
fluctuation.

Streaming
---------
The function returns the last wrapped and unwrapped fractional frames as a state; passing it back as
``previous`` for the next chunk continues the unwrapping exactly as if the chunks had
been given at once (``frame_offset`` keeps frame numbers in messages global).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import InputFormatError

__all__ = ["unwrap_fractional", "UnwrapState", "cartesian_to_fractional", "fractional_to_cartesian"]


class UnwrapState(NamedTuple):
    """State carried between chunks: the last frame's wrapped and unwrapped fractional
    coordinates, each (n_atoms, 3).  ``state.unwrapped`` is the unwrapped position."""

    wrapped: np.ndarray
    unwrapped: np.ndarray


def _cells_for(cell, n_frames: int, *, source: str = "") -> np.ndarray:
    """Per-frame cells (n, 3, 3) from a (3, 3) or (n, 3, 3) array."""
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape == (3, 3):
        return np.broadcast_to(cell, (n_frames, 3, 3))
    if cell.ndim == 3 and cell.shape[1:] == (3, 3) and cell.shape[0] == n_frames:
        return cell
    raise InputFormatError(
        f"cell must have shape (3, 3) or ({n_frames}, 3, 3) for {n_frames} frames, "
        f"got {cell.shape}", path=source or None)


def fractional_to_cartesian(frac, cell) -> np.ndarray:
    """Cartesian coordinates ``frac @ cell`` for (n, atoms, 3) and (3, 3) or (n, 3, 3)."""
    frac = np.asarray(frac, dtype=np.float64)
    cells = _cells_for(cell, frac.shape[0])
    return np.einsum("naj,njk->nak", frac, cells)


def cartesian_to_fractional(positions, cell) -> np.ndarray:
    """Fractional coordinates of Cartesian ``positions`` (n, atoms, 3), per-frame cell."""
    pos = np.asarray(positions, dtype=np.float64)
    cells = np.asarray(_cells_for(cell, pos.shape[0]))
    inv = np.linalg.inv(cells)
    return np.einsum("naj,njk->nak", pos, inv)


def unwrap_fractional(frac, cell, *, max_fraction: float = 0.25, source: str = "",
                      frame_offset: int = 0, previous: UnwrapState | np.ndarray | None = None,
                      return_fractional: bool = False) -> tuple[np.ndarray, UnwrapState]:
    """Unwrap wrapped fractional coordinates into Cartesian positions.

    Parameters
    ----------
    frac
        Wrapped fractional coordinates, shape (n_frames, n_atoms, 3).
    cell
        Lattice vectors as rows, shape (3, 3) or per frame (n_frames, 3, 3).
    max_fraction
        Largest allowed fractional displacement of any atom along any lattice vector
        between two consecutive frames, after the minimum-image correction.
    source
        File name used in error messages.
    frame_offset
        Index of the first frame of ``frac`` in the whole trajectory (for messages).
    previous
        The state returned by the call for the previous chunk (an :class:`UnwrapState`;
        a plain (n_atoms, 3) array is taken as the last unwrapped fractional frame);
        ``None`` for the first chunk.

    return_fractional
        Return the unwrapped *fractional* coordinates instead of Cartesian positions.

    Returns
    -------
    (positions, state)
        Unwrapped Cartesian positions (n_frames, n_atoms, 3) in the units of ``cell``,
        and an :class:`UnwrapState` (last wrapped and unwrapped fractional frames) to pass
        as ``previous`` for the next chunk; chunked results equal whole-array results
        bit for bit.
    """
    frac = np.asarray(frac, dtype=np.float64)
    if frac.ndim != 3 or frac.shape[-1] != 3:
        raise InputFormatError(f"fractional coordinates must have shape (frames, atoms, 3), got {frac.shape}",
                               path=source or None)
    n, n_atoms, _ = frac.shape
    if n == 0:
        return np.zeros((0, n_atoms, 3)), previous
    cells = _cells_for(cell, n, source=source)
    if previous is not None:
        if isinstance(previous, UnwrapState):
            prev_wrapped, start = (np.asarray(a, dtype=np.float64) for a in previous)
        else:  # a plain array: the last unwrapped fractional frame
            prev_wrapped = start = np.asarray(previous, dtype=np.float64)
        if start.shape != (n_atoms, 3) or prev_wrapped.shape != (n_atoms, 3):
            raise InputFormatError(f"unwrapping state has shape {start.shape}, expected ({n_atoms}, 3): "
                                   "the number of atoms changed between chunks", path=source or None,
                                   frame=frame_offset)
        steps = np.diff(np.concatenate([prev_wrapped[None], frac], axis=0), axis=0)
    else:
        steps = np.diff(frac, axis=0)
        start = frac[0]
    steps -= np.round(steps)
    too_far = np.abs(steps) > max_fraction
    if too_far.any():
        k, atom, comp = (int(v) for v in np.argwhere(too_far)[0])
        # frame index (global) at which the jump arrives
        frame = frame_offset + k + (0 if previous is not None else 1)
        d = steps[k, atom]
        raise InputFormatError(
            f"atom {atom} moved by fractional displacement "
            f"({d[0]:+.4f}, {d[1]:+.4f}, {d[2]:+.4f}) (component {'abc'[comp]} = {d[comp]:+.4f}, "
            f"limit {max_fraction}) since the previous frame: the frames are too far apart to unwrap "
            "wrapped coordinates reliably; write frames more often or provide unwrapped coordinates",
            path=source or None, frame=frame)
    # sequential sum u_k = u_{k-1} + step_k, so chunked and whole-file results are identical
    path = np.cumsum(np.concatenate([start[None], steps], axis=0), axis=0)
    unwrapped = path[1:] if previous is not None else path
    state = UnwrapState(frac[-1].copy(), unwrapped[-1].copy())
    if return_fractional:
        return unwrapped, state
    cart = np.einsum("naj,njk->nak", unwrapped, cells)
    return cart, state
