r"""Mean squared displacements: FFT kernels, framework-relative tracer MSD, polarisation MSD.

Three layers, as in the rest of the package:

* numpy kernels on an axis: :func:`msd_fft` (all time origins, :math:`O(T\log T)`) and
  :func:`direct_msd` (:math:`O(T^2)` reference used by the tests);
* :func:`framework_displacement` and the per-run analyses :func:`tracer_msd` and
  :func:`polarisation_msd`, which read a trajectory Dataset
  (:mod:`uncertainty_gk.schema`) chunk by chunk over atoms and return labelled
  :class:`xarray.Dataset` objects with a ``lag`` coordinate in ps.

Algorithm
---------
For a series :math:`y(k)`, :math:`k = 0..T-1` (first frame subtracted for precision),
the MSD over all :math:`T - m` time origins at lag :math:`m` is

.. math::

    \mathrm{MSD}(m) = \frac{1}{T-m} \sum_{k=0}^{T-1-m} |y(k+m) - y(k)|^2
                    = \frac{S_1(m) - 2 S_2(m)}{T - m},

    S_1(m) = \sum_{k=0}^{T-1-m} |y(k)|^2 + \sum_{k=m}^{T-1} |y(k)|^2, \qquad
    S_2(m) = \sum_{k=0}^{T-1-m} y(k) \cdot y(k+m).

:math:`S_1` comes from cumulative sums of :math:`|y|^2`; :math:`S_2` is the
autocorrelation, :math:`\mathrm{irfft}(|\mathrm{rfft}(y)|^2)` with zero padding to
``next_fast_len(2T - 1)`` so that it is not circular (Wiener-Khinchin; Kneller et al.,
Comput. Phys. Commun. 91, 191, 1995; Calandrini et al., Collection SFN 12, 201, 2011).
The power spectra of the x, y, z components are summed before the inverse transform.

Physics (docs/science.md, section 2)
------------------------------------
Tracer: :math:`\Delta r_i = [r_i(t_0+\delta t) - r_i(t_0)] - [R_F(t_0+\delta t) - R_F(t_0)]`,
averaged over the ions of a species and all origins; :math:`D^* = \text{slope}/6`.
Polarisation: :math:`\Delta P = \sum_j q_j [r_j(t_0+\delta t) - r_j(t_0)]` over *all* atoms
of one run; :math:`\sigma = \text{slope}/(6 V k_B T)`.

.. warning::

   The framework centre is :math:`R_F = \sum_{j\in F} w_j r_j / \sum_{j\in F} w_j` with
   :math:`w_j = |q_j|` (``reference="charge"``, default).  The reference study (docs/science.md, 2.2) used the
   "centre of charge", but :math:`\sum q_j r_j / \sum q_j` is undefined for a neutral
   framework (and unstable for a nearly neutral one, whose charges have both signs),
   so the charge *magnitudes* are used.  ``reference="mass"`` uses :math:`w_j = m_j`
   (centre of mass of the framework); ``reference="none"`` uses raw displacements.
   Positions must be unwrapped.  Never concatenate or sum different seeds: each
   Dataset is one run.

Out of core
-----------
A run does not have to fit in memory.  Sums over atoms (the framework centre, the
polarisation) are made frame block by frame block (:data:`FRAME_BLOCK_BYTES` of positions
at a time); the FFT needs the whole time axis of a few atoms at a time.  When the
positions are not in memory (an archive opened lazily) and the chosen atoms do not fit in
one chunk of ``chunk_atoms``, reading them atom chunk by atom chunk would read the whole
archive once per chunk (its storage chunks hold whole frames).  Instead the positions are
read **once**, frame block by frame block, and the chosen atoms are written, chunk by
chunk, to temporary files (:class:`AtomSpool`, in ``spool_dir`` or the system temporary
directory); each chunk is then read back with its whole time axis.  Peak memory is about
one frame block plus one atom chunk whatever the run length; the temporary files take
``8 * 3 * n_atoms * n_frames`` bytes and are removed afterwards.  Both paths do the same
arithmetic in the same order, so the results are the same bit for bit
(``tests/test_out_of_core.py``).

Counting
--------
``n_origins(m) = T - m`` (overlapping windows).  ``n_independent`` is a simple,
conservative count of non-overlapping windows, ``floor((T - 1) / m)``, times the number
of ions for the tracer MSD (ions treated as independent); it is 0 at lag 0, where the
MSD is identically 0 and carries no information.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import scipy.fft
import xarray as xr

from .errors import AnalysisError, SchemaError, UGKWarning
from .fileio import ensure_free_space

__all__ = ["AtomSpool", "atom_chunks", "direct_msd", "framework_displacement", "msd_fft", "polarisation", "polarisation_msd", "tracer_msd"]

#: Default bytes of positions read per atom chunk (one read from memory, netCDF or dask).
DEFAULT_CHUNK_BYTES = 128 * 2**20
#: Bytes of positions transformed at a time inside a chunk (small blocks stay in cache;
#: the zero-padded spectra are about 2x this).
FFT_BLOCK_BYTES = 8 * 2**20
#: Bytes of positions (all atoms) read per frame block by the sums over atoms and the spool.
FRAME_BLOCK_BYTES = 64 * 2**20

REFERENCES = ("charge", "mass", "none")


# --------------------------------------------------------------------------- kernels
def _as_series(x, axis: int, components_axis: int | None) -> tuple[np.ndarray, tuple[int, ...]]:
    """Copy ``x`` to a C-contiguous (M, C, T) float64 array, first frame subtracted.

    Returns the array and the shape of the "other" axes (M = their product).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("x must have a time axis; got a scalar")
    ta = axis % x.ndim
    if components_axis is None:
        y = np.moveaxis(x, ta, -1)[..., None, :]
    else:
        if x.ndim < 2:
            raise ValueError(f"components_axis={components_axis} needs x.ndim >= 2, got shape {x.shape}")
        ca = components_axis % x.ndim
        if ca == ta:
            raise ValueError(f"axis ({axis}) and components_axis ({components_axis}) are the same axis")
        y = np.moveaxis(x, (ca, ta), (-2, -1))
    others = y.shape[:-2]
    n_c, n_t = y.shape[-2:]
    out = np.empty((int(np.prod(others, dtype=np.int64)), n_c, n_t))
    np.subtract(y.reshape(-1, n_c, n_t), y.reshape(-1, n_c, n_t)[..., :1], out=out)
    return out, others


def _msd_core(y: np.ndarray) -> np.ndarray:
    """MSD over all origins of every series of ``y`` (M, C, T), summed over C -> (M, T).

    ``y``: C-contiguous float64 with the first frame subtracted (it is not modified).
    Work memory: about 3 × ``y`` (the zero-padded spectrum) plus (M, 2T) reals.
    """
    n_m, n_c, n_t = y.shape
    out = np.zeros((n_m, n_t))
    if n_t < 2 or n_m == 0:
        return out
    # S1(m) = sum_{k<T-m} |y_k|^2 + sum_{k>=m} |y_k|^2 from cumulative sums
    prefix = np.empty((n_m, n_t + 1))
    prefix[:, 0] = 0.0
    np.cumsum(np.einsum("mct,mct->mt", y, y), axis=1, out=prefix[:, 1:])
    # S2: autocorrelation by FFT with zero padding; power spectra summed over components
    n_fft = scipy.fft.next_fast_len(2 * n_t - 1, real=True)
    spec = scipy.fft.rfft(y, n=n_fft, axis=-1, workers=1)
    flat = spec.view(np.float64)                      # (M, C, 2 nf): re, im interleaved
    np.square(flat, out=flat)
    summed = flat[:, 0]
    for c in range(1, n_c):                           # sum over components, in place
        summed += flat[:, c]
    power = summed[:, 0::2] + summed[:, 1::2]         # |F|^2 = re^2 + im^2
    del spec, flat, summed
    s2 = scipy.fft.irfft(power, n=n_fft, axis=-1, workers=1, overwrite_x=True)
    del power
    np.multiply(s2[:, :n_t], -2.0, out=out)
    del s2
    out += prefix[:, n_t:0:-1]
    out += prefix[:, n_t:]
    out -= prefix[:, :n_t]
    out /= n_t - np.arange(n_t, dtype=np.float64)
    out[:, 0] = 0.0
    return out


def msd_fft(x, axis: int = 0, *, components_axis: int | None = -1, average: bool = False) -> np.ndarray:
    r"""Mean squared displacement over all time origins, for every lag, by FFT.

    Parameters
    ----------
    x : array_like
        Positions (or any series) with time along ``axis``, e.g. (T, atoms, 3).
    axis
        The time axis.
    components_axis
        Axis of Cartesian components, summed over (``|Δr|^2``); ``None`` for a scalar
        series (every other axis is then a separate series).
    average
        ``False``: one MSD per series (e.g. per atom), shape (T, *other axes) in the
        order they have in ``x``.  ``True``: the mean over all series, shape (T,).

    Returns
    -------
    numpy.ndarray
        ``msd[m]`` for lags m = 0..T-1 (in frames), float64, time on axis 0;
        ``msd[0] == 0``.

    Notes
    -----
    :math:`\mathrm{MSD}(m) = [S_1(m) - 2 S_2(m)] / (T - m)`, see the module docstring.
    The first frame is subtracted before the transform; the absolute rounding error is
    about :math:`10^{-16} \max|y|^2 \log T`.  Memory: about 5 copies of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0]])   # (T=3, xyz)
    >>> msd_fft(x).round(12).tolist()
    [0.0, 1.0, 2.0]
    """
    y, others = _as_series(x, axis, components_axis)
    out = _msd_core(y)
    if average:
        return out.mean(axis=0) if out.shape[0] else np.zeros(out.shape[1])
    return np.moveaxis(out.reshape(others + (out.shape[1],)), -1, 0)


def direct_msd(x, axis: int = 0, *, components_axis: int | None = -1, average: bool = False) -> np.ndarray:
    """Reference :math:`O(T^2)` MSD over all origins; same interface as :func:`msd_fft`."""
    y, others = _as_series(x, axis, components_axis)
    n_t = y.shape[-1]
    out = np.zeros((y.shape[0], n_t))
    for m in range(1, n_t):
        d = y[..., m:] - y[..., :-m]
        out[:, m] = np.einsum("mct,mct->m", d, d) / (n_t - m)
    if average:
        return out.mean(axis=0) if out.shape[0] else np.zeros(n_t)
    return np.moveaxis(out.reshape(others + (n_t,)), -1, 0)


# --------------------------------------------------------------------------- dataset helpers
def _check_run(ds: xr.Dataset) -> None:
    for name in ("positions", "time", "charge", "mobile", "species"):
        if name not in ds.variables:
            raise SchemaError(f"run {ds.attrs.get('run_name', '')!r}: missing {name!r}; "
                              "expected a trajectory Dataset (see docs/schema.md)")
    if ds["positions"].dims != ("time", "atom", "xyz"):
        raise SchemaError(f"positions must have dims (time, atom, xyz), found {ds['positions'].dims}")
    if ds.sizes["time"] < 2:
        raise AnalysisError(f"run {ds.attrs.get('run_name', '')!r}: {ds.sizes['time']} frame(s); "
                            "an MSD needs at least 2")


def _lag_axis(ds: xr.Dataset, rtol: float = 1e-6) -> np.ndarray:
    """Lags in ps (frame index × mean frame interval); frames must be evenly spaced."""
    t = np.asarray(ds["time"].values, dtype=np.float64)
    dt = np.diff(t)
    mean_dt = (t[-1] - t[0]) / (len(t) - 1)
    bad = np.flatnonzero(np.abs(dt - mean_dt) > rtol * abs(mean_dt))
    if mean_dt <= 0 or bad.size:
        i = int(bad[0]) if bad.size else 0
        raise AnalysisError(
            f"run {ds.attrs.get('run_name', '')!r}: frames are not evenly spaced in time "
            f"(interval {dt[i]:.6g} ps at frame {i + 1}, mean {mean_dt:.6g} ps); "
            "select an evenly spaced part with ds.isel(time=...) first")
    return np.arange(len(t), dtype=np.float64) * mean_dt


def _chunk_size(ds: xr.Dataset, chunk_atoms: int | None) -> int:
    if chunk_atoms is None:
        return max(1, DEFAULT_CHUNK_BYTES // (ds.sizes["time"] * 3 * 8))
    if int(chunk_atoms) < 1:
        raise ValueError(f"chunk_atoms must be >= 1, got {chunk_atoms}")
    return int(chunk_atoms)


def _chunks(indices: np.ndarray, size: int) -> Iterable[np.ndarray]:
    for start in range(0, len(indices), size):
        yield indices[start:start + size]


def _load(ds: xr.Dataset, idx: np.ndarray) -> np.ndarray:
    """Positions (T, len(idx), 3) float64 of atoms ``idx``; reads only those atoms.

    The result may be a view of ``ds`` (in-memory data, contiguous ``idx``): never write to it.
    """
    if len(idx) and idx[-1] - idx[0] == len(idx) - 1:      # sorted & contiguous: a slice
        sel = ds["positions"].isel(atom=slice(int(idx[0]), int(idx[-1]) + 1))
    else:
        sel = ds["positions"].isel(atom=idx)
    return np.asarray(sel.values, dtype=np.float64)


def _in_memory(ds: xr.Dataset) -> bool:
    """Whether the positions are a numpy array already (not read lazily from a file or dask)."""
    return bool(getattr(ds["positions"].variable, "_in_memory", True))


def _frame_block(ds: xr.Dataset, frame_block_bytes: int | None = None) -> int:
    return max(1, (frame_block_bytes or FRAME_BLOCK_BYTES) // (ds.sizes["atom"] * 3 * 8))


def _streamed(ds: xr.Dataset, n_parts: int, out_of_core: bool | None) -> bool:
    """Whether atom chunks go through an :class:`AtomSpool` (module docstring, "Out of core")."""
    return (not _in_memory(ds) and n_parts > 1) if out_of_core is None else bool(out_of_core)


def atom_chunks(ds: xr.Dataset, indices, *, chunk_atoms: int | None = None, out_of_core: bool | None = None,
                spool_dir: str | os.PathLike | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Positions of the atoms ``indices``, one atom chunk at a time: yields ``(part, positions)``
    with ``positions`` (T, len(part), 3) float64, the whole time axis of those atoms.

    The chunks are those of :func:`tracer_msd` (``chunk_atoms``, default about
    :data:`DEFAULT_CHUNK_BYTES` of positions), and so is the choice between reading each
    chunk from ``ds`` and one pass over the archive into an :class:`AtomSpool`
    (``out_of_core``, ``spool_dir``; removed when the iteration ends).  Peak memory is
    one chunk (plus one frame block while the spool is filled).  ``positions`` may be a
    view of an in-memory ``ds``: never write to it.
    """
    _check_run(ds)
    parts = list(_chunks(np.asarray(indices, dtype=np.int64), _chunk_size(ds, chunk_atoms)))
    if not _streamed(ds, len(parts), out_of_core):
        for part in parts:
            yield part, _load(ds, part)
        return
    with AtomSpool(parts, ds.sizes["time"], spool_dir) as spool:
        _weighted_sums(ds, np.zeros((0, ds.sizes["atom"])), spool=spool)      # one pass, fills the spool
        for i, part in enumerate(parts):
            yield part, spool.load(i)


class AtomSpool:
    """Positions of chosen atoms, laid out atom chunk by atom chunk in temporary files.

    Filled frame block by frame block (:meth:`append`, positions of *all* atoms of a block
    of frames), then read back one atom chunk at a time with its whole time axis
    (:meth:`load`, (T, a, 3) float64).  This turns one sequential pass over a
    frame-major archive into atom-major reads without holding the run in memory.  The
    files (float64, exact) live in a temporary directory removed by :meth:`close`.
    """

    def __init__(self, parts: list[np.ndarray], n_frames: int, directory=None):
        self.parts = [np.asarray(p, dtype=np.int64) for p in parts]
        self.n_frames = int(n_frames)
        directory = Path(directory) if directory is not None else Path(tempfile.gettempdir())
        need = 24 * self.n_frames * sum(len(p) for p in self.parts)
        ensure_free_space(directory / "ugk-spool", need)
        self._dir = tempfile.TemporaryDirectory(prefix="ugk-spool-", dir=directory)
        self._paths = [Path(self._dir.name) / f"chunk{i:06d}.f8" for i in range(len(self.parts))]
        self._frames = 0

    def append(self, block: np.ndarray) -> None:
        """Add a block of frames: ``block`` (F, n_atoms, 3) holds every atom of the run."""
        for path, part in zip(self._paths, self.parts):
            with open(path, "ab") as fh:
                np.ascontiguousarray(block[:, part], dtype="<f8").tofile(fh)
        self._frames += block.shape[0]

    def load(self, i: int) -> np.ndarray:
        """Positions (T, len(parts[i]), 3) of atom chunk ``i``."""
        if self._frames != self.n_frames:
            raise RuntimeError(f"spool holds {self._frames} of {self.n_frames} frames")
        return np.fromfile(self._paths[i], dtype="<f8").reshape(self.n_frames, len(self.parts[i]), 3)

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _weighted_sums(ds: xr.Dataset, weights: np.ndarray, *, spool: AtomSpool | None = None,
                   frame_block_bytes: int | None = None) -> np.ndarray:
    """:math:`\\sum_j w_{kj} [r_j(t) - r_j(0)]` for every row ``k`` of ``weights`` (K, N): (K, T, 3).

    One pass over blocks of frames (each row of the result depends only on its own frame,
    so in memory or streamed, in any block size, the numbers are the same bit for bit).
    With a ``spool``, every atom is read and the spool is filled on the way; otherwise
    only the atoms between the first and last non-zero weight are read.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    n_t = ds.sizes["time"]
    acc = np.zeros((len(weights), n_t, 3))
    nz = np.flatnonzero(np.any(weights != 0, axis=0))
    if spool is not None:
        lo, hi = 0, ds.sizes["atom"]
    elif nz.size == 0:
        return acc
    else:
        lo, hi = int(nz[0]), int(nz[-1]) + 1
    w = weights[:, lo:hi]
    step = _frame_block(ds, frame_block_bytes)
    for a in range(0, n_t, step):
        b = min(n_t, a + step)
        pos = np.asarray(ds["positions"].isel(time=slice(a, b), atom=slice(lo, hi)).values, dtype=np.float64)
        for k in range(len(w)):
            acc[k, a:b] = np.einsum("tnc,n->tc", pos, w[k])
        if spool is not None:
            spool.append(pos)
        del pos
    acc -= acc[:, :1].copy()
    return acc


def _n_independent(n_t: int) -> np.ndarray:
    lag = np.arange(n_t)
    out = np.zeros(n_t, dtype=np.int64)
    out[1:] = (n_t - 1) // lag[1:]
    return out


def _run_attrs(ds: xr.Dataset, **extra) -> dict:
    attrs = {
        "run_name": ds.attrs.get("run_name", ""),
        "labels": ds.attrs.get("labels", "{}"),
        "temperature_K": float(ds.attrs.get("temperature_K", np.nan)),
    }
    attrs.update(extra)
    return attrs


def _common_vars(ds: xr.Dataset, lag: np.ndarray) -> tuple[dict, dict]:
    n_t = len(lag)
    coords = {
        "lag": ("lag", lag, {"units": "ps", "long_name": "lag time"}),
        "lag_frames": ("lag", np.arange(n_t, dtype=np.int64), {"units": "1", "long_name": "lag in frames"}),
    }
    data = {"n_origins": ("lag", n_t - np.arange(n_t, dtype=np.int64),
                          {"units": "1", "long_name": "number of (overlapping) time origins"})}
    if "volume" in ds.variables and ds["volume"].ndim == 0:
        data["volume"] = ((), float(ds["volume"].values), {"units": "angstrom^3", "long_name": "cell volume"})
    return coords, data


# --------------------------------------------------------------------------- framework
def _framework_weights(ds: xr.Dataset, reference: str) -> tuple[np.ndarray, np.ndarray]:
    mobile = np.asarray(ds["mobile"].values, dtype=bool)
    idx = np.flatnonzero(~mobile)
    if reference == "charge":
        w = np.abs(np.asarray(ds["charge"].values, dtype=np.float64))[idx]
    elif reference == "mass":
        if "mass" not in ds.variables:
            raise SchemaError("reference='mass' needs the 'mass' coordinate")
        w = np.asarray(ds["mass"].values, dtype=np.float64)[idx]
    else:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    if idx.size == 0 or not np.sum(w) > 0:
        raise AnalysisError(
            f"run {ds.attrs.get('run_name', '')!r}: no framework atoms with non-zero {reference} weight "
            f"(all atoms are mobile: {sorted(set(np.asarray(ds['species'].values).astype(str)))}); "
            "mark fewer species as mobile or use reference='none'")
    keep = w != 0
    return idx[keep], w[keep]


def framework_displacement(ds: xr.Dataset, *, reference: str = "charge",
                           chunk_atoms: int | None = None) -> np.ndarray:
    r"""Displacement of the framework centre, :math:`R_F(t) - R_F(0)` (Å), shape (T, 3).

    :math:`R_F = \sum_{j \in F} w_j r_j / \sum_{j\in F} w_j` over non-mobile atoms, with
    :math:`w = |q|` (``"charge"``) or :math:`w = m` (``"mass"``); ``"none"`` gives zeros.
    Computed block by block over frames (``chunk_atoms`` is accepted for compatibility
    and has no effect).
    """
    _check_run(ds)
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    return _framework_centre(ds, reference)


def _framework_centre(ds: xr.Dataset, reference: str, spool: AtomSpool | None = None) -> np.ndarray:
    if reference == "none":
        if spool is not None:
            _weighted_sums(ds, np.zeros((0, ds.sizes["atom"])), spool=spool)
        return np.zeros((ds.sizes["time"], 3))
    idx, w = _framework_weights(ds, reference)
    weights = np.zeros(ds.sizes["atom"])
    weights[idx] = w
    return _weighted_sums(ds, weights, spool=spool)[0] / np.sum(w)


# --------------------------------------------------------------------------- tracer
def tracer_msd(ds: xr.Dataset, species: str | Iterable[str] | None = None, *,
               reference: str = "charge", chunk_atoms: int | None = None,
               per_atom: bool = False, out_of_core: bool | None = None,
               spool_dir: str | os.PathLike | None = None, on_chunk=None) -> xr.Dataset:
    r"""Framework-relative tracer MSD of each mobile species, over all time origins.

    Parameters
    ----------
    ds
        One run (trajectory Dataset); positions may be lazily loaded (netCDF, dask).
    species
        Species to analyse; default: every species flagged ``mobile``.
    reference
        Framework centre: ``"charge"`` (|q|-weighted, default), ``"mass"`` or ``"none"``
        (see the module warning).
    chunk_atoms
        Atoms read at a time (default: about 128 MiB of positions); they are Fourier
        transformed in blocks of about 8 MiB.  Peak memory is about one chunk plus one
        frame block (:data:`FRAME_BLOCK_BYTES`) plus 50 MiB plus the outputs.
    per_atom
        Also return ``msd_per_atom`` (atom, lag).
    out_of_core
        Read the positions once, frame block by frame block, into per-chunk temporary
        files (:class:`AtomSpool`) instead of reading each atom chunk from ``ds``
        (module docstring, "Out of core").  Default (None): when the positions are not in
        memory and the chosen atoms need more than one chunk.  Same numbers either way.
    spool_dir
        Directory of those temporary files (default: the system temporary directory,
        ``$TMPDIR``); they need ``24 * n_frames`` bytes per chosen atom.
    on_chunk
        Called as ``on_chunk(atoms, positions, centre)`` for every atom chunk, in order,
        with the chunk's (T, a, 3) positions (read-only, possibly a view of ``ds``) and
        the (T, 3) framework centre displacement, so that other per-atom statistics are
        made in the same pass over the positions (the spectral estimator's
        :class:`~uncertainty_gk.estimators.spectral.TracerStatistics`).

    Returns
    -------
    xarray.Dataset
        ``msd`` (species, lag) Å², ``n_atoms`` (species), ``n_origins`` (lag),
        ``n_independent`` (species, lag) = n_atoms × floor((T-1)/lag),
        ``framework_displacement`` (time, xyz) Å (unless ``reference="none"``),
        ``volume`` and optionally ``msd_per_atom``; coordinate ``lag`` in ps.

    Notes
    -----
    :math:`\mathrm{MSD}(\delta t) = \langle |[r_i(t_0+\delta t) - r_i(t_0)]
    - [R_F(t_0+\delta t) - R_F(t_0)]|^2 \rangle_{i, t_0}`, :math:`D^* = \text{slope}/6`.
    """
    _check_run(ds)
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    lag = _lag_axis(ds)
    n_t = len(lag)
    all_species = np.asarray(ds["species"].values).astype(str)
    if species is None:
        mobile = np.asarray(ds["mobile"].values, dtype=bool)
        chosen = list(dict.fromkeys(all_species[mobile].tolist()))
        if not chosen:
            raise AnalysisError(f"run {ds.attrs.get('run_name', '')!r}: no atom is flagged mobile; "
                                f"species present: {sorted(set(all_species.tolist()))}; give species=...")
    else:
        chosen = [species] if isinstance(species, str) else list(species)
        unknown = sorted(set(chosen) - set(all_species.tolist()))
        if unknown:
            raise ValueError(f"species {unknown} not in the run; present: {sorted(set(all_species.tolist()))}")
    size = _chunk_size(ds, chunk_atoms)
    parts = [(k, part) for k, sp in enumerate(chosen) for part in _chunks(np.flatnonzero(all_species == sp), size)]
    stream = _streamed(ds, len(parts), out_of_core)
    spool = AtomSpool([p for _, p in parts], n_t, spool_dir) if stream else None
    try:
        centre = _framework_centre(ds, reference, spool)
        block = max(1, FFT_BLOCK_BYTES // (n_t * 3 * 8))
        centre_t = np.ascontiguousarray(centre.T)[None]            # (1, 3, T)
        msd = np.zeros((len(chosen), n_t))
        counts = np.zeros(len(chosen), dtype=np.int64)
        per_atom_rows, per_atom_idx = [], []
        for i, (k, part) in enumerate(parts):
            counts[k] += len(part)
            pos = spool.load(i) if spool is not None else _load(ds, part)   # (T, a, 3), possibly a view of ds
            if on_chunk is not None:
                on_chunk(part, pos, centre)
            for b0 in range(0, len(part), block):
                sub = pos[:, b0:b0 + block]
                y = np.empty((sub.shape[1], 3, n_t))   # (b, 3, T): FFT along contiguous time
                np.subtract(sub.transpose(1, 2, 0), centre_t, out=y)
                y -= y[:, :, :1].copy()
                rows = _msd_core(y)                    # (b, T)
                del y
                for row in rows:                       # atom by atom: the same sum whatever the chunks
                    msd[k] += row
                if per_atom:
                    per_atom_rows.append(rows)
            del pos
            if per_atom:
                per_atom_idx.append(part)
    finally:
        if spool is not None:
            spool.close()
    msd /= counts[:, None]

    coords, data = _common_vars(ds, lag)
    coords["species"] = ("species", np.array(chosen), {"units": "1", "long_name": "mobile species"})
    data["msd"] = (("species", "lag"), msd,
                   {"units": "angstrom^2", "long_name": "framework-relative tracer mean squared displacement"})
    data["n_atoms"] = ("species", counts, {"units": "1", "long_name": "number of ions averaged"})
    data["n_independent"] = (("species", "lag"), counts[:, None] * _n_independent(n_t)[None, :],
                             {"units": "1", "long_name": "ions x non-overlapping windows (0 at lag 0)"})
    if reference != "none":
        data["framework_displacement"] = (("time", "xyz"), centre,
                                          {"units": "angstrom",
                                           "long_name": f"framework centre displacement ({reference}-weighted)"})
        coords["time"] = ("time", np.asarray(ds["time"].values, dtype=np.float64),
                          {"units": "ps", "long_name": "simulation time"})
        coords["xyz"] = ("xyz", ["x", "y", "z"], {"units": "1", "long_name": "Cartesian component"})
    if per_atom:
        atoms = np.concatenate(per_atom_idx)
        data["msd_per_atom"] = (("atom", "lag"), np.concatenate(per_atom_rows, axis=0),
                                {"units": "angstrom^2", "long_name": "framework-relative MSD of each ion"})
        coords["atom_id"] = ("atom", np.asarray(ds["atom_id"].values)[atoms] if "atom_id" in ds.variables
                             else atoms, {"units": "1", "long_name": "atom identifier"})
        coords["atom_species"] = ("atom", all_species[atoms], {"units": "1", "long_name": "chemical element"})
    weights = {"charge": "|q_j|", "mass": "m_j", "none": "none"}[reference]
    out = xr.Dataset(data, coords=coords,
                     attrs=_run_attrs(ds, kind="tracer_msd", reference=reference,
                                      reference_weights=weights,
                                      description="MSD over all time origins (FFT); D* = slope / 6"))
    return out


# --------------------------------------------------------------------------- polarisation
def polarisation(ds: xr.Dataset, *, chunk_atoms: int | None = None) -> np.ndarray:
    r"""Polarisation displacement :math:`P(t) - P(0) = \sum_j q_j [r_j(t) - r_j(0)]` (e·Å), (T, 3).

    Summed over all atoms of this one run, block by block over frames (one pass over
    the positions; ``chunk_atoms`` is accepted for compatibility and has no effect).
    """
    _check_run(ds)
    return _weighted_sums(ds, np.asarray(ds["charge"].values, dtype=np.float64))[0]


def polarisation_msd(ds: xr.Dataset, *, chunk_atoms: int | None = None) -> xr.Dataset:
    r"""Mean squared polarisation displacement :math:`\langle|\Delta P|^2\rangle` of one run.

    :math:`\Delta P(t_0, \delta t) = \sum_j q_j [r_j(t_0+\delta t) - r_j(t_0)]` over all
    atoms of ``ds`` (one seed: never pass a concatenation of seeds), averaged over all
    time origins.  :math:`\sigma = \text{slope} / (6 V k_B T)`, see
    :func:`uncertainty_gk.units.conductivity_prefactor_S_per_cm`.

    Returns
    -------
    xarray.Dataset
        ``msd`` (lag) e² Å², ``n_origins`` and ``n_independent`` = floor((T-1)/lag) (lag),
        ``polarisation`` (time, xyz) = P(t) - P(0) in e Å, ``total_charge`` (e), ``volume``.
    """
    _check_run(ds)
    lag = _lag_axis(ds)
    total_charge = float(np.asarray(ds["charge"].values, dtype=np.float64).sum())
    if abs(total_charge) > 1e-6:
        warnings.warn(f"run {ds.attrs.get('run_name', '')!r}: total charge {total_charge:+.6g} e is not zero, "
                      "so <|dP|^2> picks up the drift of the whole cell; check the charges", UGKWarning,
                      stacklevel=2)
    p = polarisation(ds, chunk_atoms=chunk_atoms)
    msd = _msd_core(np.ascontiguousarray(p.T)[None])[0]
    coords, data = _common_vars(ds, lag)
    coords["time"] = ("time", np.asarray(ds["time"].values, dtype=np.float64),
                      {"units": "ps", "long_name": "simulation time"})
    coords["xyz"] = ("xyz", ["x", "y", "z"], {"units": "1", "long_name": "Cartesian component"})
    data["msd"] = ("lag", msd, {"units": "e^2 angstrom^2",
                                "long_name": "mean squared polarisation displacement <|dP|^2>"})
    data["n_independent"] = ("lag", _n_independent(len(lag)),
                             {"units": "1", "long_name": "non-overlapping windows (0 at lag 0)"})
    data["polarisation"] = (("time", "xyz"), p, {"units": "e angstrom",
                                                 "long_name": "polarisation displacement P(t) - P(0)"})
    data["total_charge"] = ((), total_charge,
                            {"units": "e", "long_name": "total charge of the cell"})
    return xr.Dataset(data, coords=coords,
                      attrs=_run_attrs(ds, kind="polarisation_msd",
                                       description="<|sum_j q_j dr_j|^2> over all origins (FFT); "
                                                   "sigma = slope / (6 V kB T)"))
