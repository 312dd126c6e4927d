r"""Periodic neighbour lists for one frame and for stacks of frames (exact; never all pairs).

:func:`periodic_pairs`
    One frame: every image pair within ``r_max``, each physical pair once.  Orthogonal
    cells with ``r_max`` below half the smallest cell width use a periodic
    :class:`scipy.spatial.cKDTree` (``boxsize``), where the minimum image is the only
    image in range.  Beyond that (one pair with several images in range, an atom seeing
    its own images) orthogonal cells use a periodic tree of a supercell wider than
    ``2 r_max``, and triclinic cells of any skew explicit ghost images: the atoms are
    wrapped in fractional coordinates, every lattice shift that brings an atom within
    ``r_max`` of the cell (fractional margin ``r_max / h_k``, h the perpendicular widths)
    adds a ghost, and the atoms are queried against atoms plus ghosts.

:func:`iter_block_pairs`
    A stack of frames in one cell (a Verlet list with an exact, per-atom skin).  In a
    block of frames the atoms are unwrapped onto their block mean :math:`\bar r_i`
    (nearest images in fractional coordinates) and each atom's reach
    :math:`m_i = \max_f |r_i(f) - \bar r_i|` is measured.  By the triangle inequality

    .. math::  |\bar r_{ij}| - m_i - m_j \le |r_{ij}(f)| \le |\bar r_{ij}| + m_i + m_j,

    so every image pair within ``r_max`` in some frame is within ``r_max + m_i + m_j``
    at the mean: one tree query per block (radius ``r_max`` plus the two largest reaches)
    gives all candidates, with bounds on their distance in every frame.  Atoms that move
    further than half the skin limit (a hopping ion) are searched separately (with the
    other atoms within ``r_max`` plus the largest reach of each kind, among themselves
    within ``r_max`` plus the two largest reaches), so they do not widen everyone's
    search; a block in which more
    than ``FAST_FRACTION`` of the atoms move that far is halved, down to single frames.
    Consumers evaluate exact per-frame distances (:meth:`BlockPairs.distances`, one
    vectorised pass over the block) only for the candidates whose bounds leave their
    answer open; the RDF histograms every candidate in every frame
    (:meth:`BlockPairs.histogram`, binned from squared distances by :class:`DistanceBins`).

Cost: O(N log N) per tree query, O(P × F) for the P candidates evaluated in F frames;
there is no O(N²) distance matrix anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["cell_heights", "is_orthogonal", "periodic_pairs", "pairs_involving", "BlockPairs", "iter_block_pairs",
           "DistanceBins", "bin_index", "DEFAULT_MAX_SKIN_FRACTION", "DEFAULT_BLOCK_FRAMES"]

#: A block of frames is halved while its skin is larger than this fraction of the radius.
DEFAULT_MAX_SKIN_FRACTION = 0.5
#: A block is halved while more than this fraction of its atoms move further than half the skin.
FAST_FRACTION = 0.1
#: Frames per block before halving (bounds the (F, P, 3) work arrays).
DEFAULT_BLOCK_FRAMES = 48
#: pairs_involving compares every (atom, atom, shift) directly below this many candidates.
_BRUTE_FORCE_LIMIT = 400_000
#: Safety margin (Å) on the candidate radius against rounding in the triangle inequality.
_ROUNDING_MARGIN_A = 1e-6
#: Pair-frame distances evaluated at once by :meth:`BlockPairs.histogram` (work arrays stay in cache).
_HISTOGRAM_CHUNK = 1 << 15


def cell_heights(cell: np.ndarray) -> np.ndarray:
    """Perpendicular widths (Å) of a cell with lattice vectors as rows: V / |b × c| etc.

    Works on one cell ``(3, 3)`` or a stack ``(..., 3, 3)`` (then returns ``(..., 3)``).
    """
    cell = np.asarray(cell, dtype=np.float64)
    vol = np.abs(np.linalg.det(cell))
    areas = np.linalg.norm(np.cross(cell[..., [1, 2, 0], :], cell[..., [2, 0, 1], :]), axis=-1)
    return vol[..., None] / areas


def is_orthogonal(cell: np.ndarray, *, tol: float = 1e-9) -> bool:
    """True when the lattice vectors lie along x, y and z (off-diagonals ≤ tol × largest)."""
    cell = np.asarray(cell, dtype=np.float64)
    off = cell - np.diag(np.diag(cell))
    return bool(np.all(np.abs(off) <= tol * np.max(np.abs(cell))) and np.all(np.diag(cell) > 0))


def _positive_shift(n: np.ndarray) -> np.ndarray:
    """True where the first non-zero component of an integer shift is > 0 (keeps one of n, -n)."""
    first = np.where(n[:, 0] != 0, n[:, 0], np.where(n[:, 1] != 0, n[:, 1], n[:, 2]))
    return first > 0


def _empty(return_shifts: bool):
    i = np.zeros(0, dtype=np.int64)
    out = (i, i.copy(), np.zeros(0))
    return out + (np.zeros((0, 3), dtype=np.int64),) if return_shifts else out


def periodic_pairs(positions: np.ndarray, cell: np.ndarray, r_max: float, *, return_shifts: bool = False):
    """All atom pairs within ``r_max`` under periodic boundary conditions, every image.

    Parameters
    ----------
    positions : (N, 3) array
        Cartesian positions in Å (wrapped or unwrapped, finite).
    cell : (3, 3) array
        Lattice vectors as rows (Å); orthogonal or triclinic, any skew.
    r_max : float
        Search radius (Å).  Any positive value: beyond half the smallest cell width one
        pair can appear with several images and an atom with its own images.
    return_shifts : bool
        Also return the integer lattice shifts.

    Returns
    -------
    i, j : (P,) int arrays
        Atom indices, ``i < j``, or ``i == j`` for an atom and one of its own images.
    d : (P,) float array
        Distances ``|r_j - r_i + n · cell| <= r_max`` (Å).
    n : (P, 3) int array, only with ``return_shifts``
        Lattice shift of each pair relative to the *given* positions.  Each physical
        image pair appears once: of ``(i, j, n)`` and ``(j, i, -n)`` the one with
        ``i < j`` is kept, and of ``(i, i, n)`` and ``(i, i, -n)`` the one whose first
        non-zero component of ``n`` is positive.
    """
    pos = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3 or cell.shape != (3, 3):
        raise ValueError(f"positions must be (N, 3) and cell (3, 3); got {pos.shape} and {cell.shape}")
    r_max = float(r_max)
    if not r_max > 0 or len(pos) == 0:
        return _empty(return_shifts)
    if not np.all(np.isfinite(pos)):
        raise ValueError("periodic_pairs: non-finite positions (check the frame for NaN first)")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = cell_heights(cell)
    if not np.all(h > 0):
        raise ValueError(f"periodic_pairs: degenerate cell (perpendicular widths {h})")
    inv = np.linalg.inv(cell)
    if is_orthogonal(cell) and r_max < 0.5 * h.min():
        # minimum image is the only image in range: the periodic tree is exact
        box = np.diag(cell).copy()
        wrapped = np.mod(pos, box)
        wrapped[wrapped >= box] = 0.0
        tree = cKDTree(wrapped, boxsize=box)
        pairs = tree.query_pairs(r_max, output_type="ndarray")
        i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
        vec = wrapped[j] - wrapped[i]
        vec -= box * np.round(vec / box)
    elif is_orthogonal(cell) and r_max < h.min():
        i, j, vec = _orthogonal_images(pos, cell, r_max)
    elif is_orthogonal(cell):
        i, j, vec = _supercell_pairs(pos, cell, r_max)
    else:
        i, j, vec = _ghost_pairs(pos, cell, inv, h, r_max)
    d = np.sqrt(np.einsum("ij,ij->i", vec, vec))
    if not return_shifts:
        return i, j, d
    n = np.rint((vec - (pos[j] - pos[i])) @ inv).astype(np.int64)
    return i, j, d, n


def _dedupe(a, b, n, vec, query, subset):
    """Keep each physical image pair once from (atom, atom, shift) records found both ways."""
    # a pair with both atoms queried appears as (a, b, n) and (b, a, -n): keep one
    both = np.ones(len(b), dtype=bool) if subset is None else np.isin(b, query)
    keep = np.where(both, (a < b) | ((a == b) & _positive_shift(n)), a != b)
    a, b, vec = a[keep], b[keep], vec[keep]
    swap = a > b
    vec[swap] *= -1.0
    return np.where(swap, b, a), np.where(swap, a, b), vec


def _orthogonal_images(pos, cell, r_max, subset=None):
    """Orthogonal cell, half the width <= r_max < the width: minimum images, then the others.

    A periodic tree gives every pair's minimum image v within ``r_max``.  Any other image
    within ``r_max`` differs from v by one cell length along each axis of a subset of the
    axes where ``|v_k| >= L_k - r_max``, towards the origin (the other direction, and two
    lengths, are beyond ``r_max < L``), and an atom's own images are all >= L away.
    With ``subset``, only pairs involving those atoms.
    """
    box = np.diag(cell).copy()
    wrapped = np.mod(pos, box)
    wrapped[wrapped >= box] = 0.0
    tree = cKDTree(wrapped, boxsize=box)
    if subset is None:
        pairs = tree.query_pairs(r_max, output_type="ndarray")
        i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    else:
        found = cKDTree(wrapped[subset], boxsize=box).sparse_distance_matrix(tree, r_max, output_type="ndarray")
        i, j = subset[found["i"].astype(np.int64)], found["j"].astype(np.int64)
        i, j = i[i != j], j[i != j]  # an atom's own images are beyond r_max
    vec = wrapped[j] - wrapped[i]
    vec -= box * np.round(vec / box)
    near_face = np.abs(vec) >= box - r_max  # (P, 3): axes along which a second image may be in range
    extra_i, extra_j, extra_vec = [i], [j], [vec]
    for flip in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)):
        axes = np.array(flip, dtype=bool)
        rows = np.nonzero(np.all(near_face[:, axes], axis=1))[0]
        if len(rows) == 0:
            continue
        v = vec[rows].copy()
        v[:, axes] -= np.sign(v[:, axes]) * box[axes]
        ok = np.einsum("ij,ij->i", v, v) <= r_max * r_max
        extra_i.append(i[rows[ok]])
        extra_j.append(j[rows[ok]])
        extra_vec.append(v[ok])
    i, j, vec = np.concatenate(extra_i), np.concatenate(extra_j), np.concatenate(extra_vec)
    if subset is None:
        return i, j, vec
    n = np.rint((vec - (wrapped[j] - wrapped[i])) / box).astype(np.int64)
    return _dedupe(i, j, n, vec, subset, subset)


def _supercell_pairs(pos, cell, r_max, subset=None):
    """Orthogonal cell, radius up to and beyond half the cell: a periodic tree of a supercell.

    The cell is repeated ``k`` times along each axis so that every supercell width exceeds
    ``2 r_max``; then each image pair within ``r_max`` is the unique minimum image of one
    (home atom, supercell atom) pair.  With ``subset``, only pairs involving those atoms.
    """
    box = np.diag(cell).copy()
    wrapped = np.mod(pos, box)
    wrapped[wrapped >= box] = 0.0
    reps = np.maximum(1, np.floor(2.0 * r_max / box).astype(int) + 1)
    grid = np.stack(np.meshgrid(*[np.arange(k) for k in reps], indexing="ij"), -1).reshape(-1, 3)
    n_atoms = len(pos)
    points = (wrapped[None, :, :] + (grid * box)[:, None, :]).reshape(-1, 3)
    big = box * reps
    points[points >= big] = 0.0
    query = np.arange(n_atoms) if subset is None else np.asarray(subset, dtype=np.int64)
    found = cKDTree(wrapped[query], boxsize=big).sparse_distance_matrix(
        cKDTree(points, boxsize=big), r_max, output_type="ndarray")
    a = query[found["i"].astype(np.int64)]
    p = found["j"].astype(np.int64)
    b = p % n_atoms
    vec = points[p] - wrapped[a]
    vec -= big * np.round(vec / big)
    n = np.rint((vec - (wrapped[b] - wrapped[a])) / box).astype(np.int64)  # shift between wrapped atoms
    return _dedupe(a, b, n, vec, query, subset)


def _ghost_pairs(pos, cell, inv, h, r_max, subset=None):
    """Pairs via explicit ghost images in fractional coordinates (any cell, any radius).

    With ``subset`` (sorted atom indices), only pairs with at least one atom in it.
    """
    frac = pos @ inv
    frac -= np.floor(frac)
    frac[frac >= 1.0] = 0.0
    margin = r_max / h * (1.0 + 1e-12) + 1e-12  # fractional distance of a plane r_max away
    reach = np.ceil(margin).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in reach], indexing="ij"), -1).reshape(-1, 3)
    grid = grid[np.any(grid != 0, axis=1)]
    owners, shifts = [np.arange(len(frac))], [np.zeros((len(frac), 3), dtype=np.int64)]
    for g in grid:
        s = frac + g
        keep = np.nonzero(np.all((s > -margin) & (s < 1.0 + margin), axis=1))[0]
        if len(keep):
            owners.append(keep)
            shifts.append(np.broadcast_to(g, (len(keep), 3)))
    owner = np.concatenate(owners)
    shift = np.concatenate(shifts).astype(np.int64)
    points = (frac[owner] + shift) @ cell
    home = frac @ cell
    query = np.arange(len(frac)) if subset is None else np.asarray(subset, dtype=np.int64)
    found = cKDTree(home[query]).sparse_distance_matrix(cKDTree(points), r_max, output_type="ndarray")
    a = query[found["i"].astype(np.int64)]
    p = found["j"].astype(np.int64)
    return _dedupe(a, owner[p], shift[p], points[p] - home[a], query, subset)


def _subset_brute_force(pos, cell, inv, r_max, atoms, reach):
    """Pairs of a few atoms with every atom over every lattice shift that can reach ``r_max``.

    O(len(atoms) × N × shifts): only for a handful of atoms (the movers of a block).
    """
    frac = pos @ inv
    frac -= np.floor(frac)
    frac[frac >= 1.0] = 0.0
    home = frac @ cell
    grid = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in reach], indexing="ij"), -1).reshape(-1, 3)
    offsets = grid @ cell  # (S, 3)
    vec = home[None, None, :, :] + offsets[None, :, None, :] - home[atoms][:, None, None, :]  # (A, S, N, 3)
    d2 = np.einsum("asnk,asnk->asn", vec, vec)
    q, g, b = np.nonzero(d2 <= r_max * r_max)
    a = atoms[q]
    return _dedupe(a, b, grid[g].astype(np.int64), vec[q, g, b], atoms, atoms)


def pairs_involving(positions: np.ndarray, cell: np.ndarray, r_max: float, atoms: np.ndarray):
    """Like :func:`periodic_pairs` (with shifts) but only pairs with at least one atom in ``atoms``."""
    pos = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    atoms = np.unique(np.asarray(atoms, dtype=np.int64))
    if not r_max > 0 or len(atoms) == 0:
        return _empty(True)
    inv = np.linalg.inv(cell)
    h = cell_heights(cell)
    reach = np.ceil(float(r_max) / h).astype(int)
    n_shifts = int(np.prod(2 * reach + 1))
    if is_orthogonal(cell) and r_max < h.min():
        i, j, vec = _orthogonal_images(pos, cell, float(r_max), subset=atoms)
    elif len(atoms) * len(pos) * n_shifts <= _BRUTE_FORCE_LIMIT:
        i, j, vec = _subset_brute_force(pos, cell, inv, float(r_max), atoms, reach)
    elif is_orthogonal(cell):
        i, j, vec = _supercell_pairs(pos, cell, float(r_max), subset=atoms)
    else:
        i, j, vec = _ghost_pairs(pos, cell, inv, h, float(r_max), subset=atoms)
    d = np.sqrt(np.einsum("ij,ij->i", vec, vec))
    n = np.rint((vec - (pos[j] - pos[i])) @ inv).astype(np.int64)
    return i, j, d, n


@dataclass
class BlockPairs:
    """Candidate pairs of a block of frames, with bounds on their distances in every frame.

    Every image pair within ``r_max`` in any frame of the block is a candidate.  For each
    candidate, the distance at the block centre ``centre_distance`` and the ``slack``
    :math:`m_i + m_j` (the atoms' largest displacements from the centre over the block)
    bound the distance in every frame: ``centre_distance - slack <= d(f) <=
    centre_distance + slack``.  Consumers evaluate the exact per-frame distances only for
    the pairs whose bounds straddle something that matters (:meth:`distances`).

    Attributes
    ----------
    frames : (F,) int
        Positions of the block's frames in the stack given to :func:`iter_block_pairs`.
    i, j : (P,) int
        Candidate pairs.
    centre_distance, slack : (P,) float
        Distance at the block centre and its largest change over the block (Å).
    skin : float
        The block's skin, the two largest per-atom displacements added (Å).
    """

    frames: np.ndarray
    i: np.ndarray
    j: np.ndarray
    centre_distance: np.ndarray
    slack: np.ndarray
    skin: float
    _xyz: np.ndarray | None
    _shift: np.ndarray | None

    def distances(self, pairs=None) -> np.ndarray:
        """(P', F) exact distances of the selected candidates (index or mask; default all) in
        every frame of the block, pairs along the first axis."""
        if pairs is None:
            pairs = slice(None)
        if self._xyz is None:  # a single frame: the centre is the frame
            return self.centre_distance[pairs][:, None]
        d2 = _squared_distances(self._xyz, self.i[pairs], self.j[pairs], self._shift[pairs])
        return np.sqrt(d2, out=d2)

    def histogram(self, bins: DistanceBins) -> np.ndarray:
        """(F, n_bins + 1) counts of the candidates' distances in every frame of the block,
        binned as ``np.histogram`` bins them (:class:`DistanceBins`); the last column counts
        the distances beyond the last edge.

        The distances are evaluated a few thousand pairs at a time and binned from their
        squares, so the work arrays stay in cache and no square root is taken except for
        the rare values next to an edge.
        """
        n_frames, width = len(self.frames), bins.n_bins + 1
        if self._xyz is None:
            return np.bincount(bins.of_distance(self.centre_distance), minlength=width)[None, :]
        out = np.zeros(n_frames * width, dtype=np.int64)
        offset = (np.arange(n_frames) * width)[None, :]
        step = max(1, _HISTOGRAM_CHUNK // n_frames)
        for a in range(0, len(self.i), step):
            k = bins.of_squared(_squared_distances(self._xyz, self.i[a:a + step], self.j[a:a + step],
                                                   self._shift[a:a + step]))
            k += offset
            out += np.bincount(k.ravel(), minlength=len(out))
        return out.reshape(n_frames, width)


def bin_index(values: np.ndarray, edges: np.ndarray, r_max: float) -> np.ndarray:
    """Bin of each value as ``np.histogram(values[values <= r_max], bins=edges)`` assigns it.

    Bins are ``[e_k, e_k+1)``, the last one closed; values above ``r_max`` or ``edges[-1]``
    get ``len(edges) - 1`` (an overflow bin); values must be >= 0 = ``edges[0]``.  The
    guess ``floor(v / width)`` is corrected against the actual edges, so the result equals
    a binary search of each value.
    """
    shape = np.shape(values)
    values = np.ravel(values)
    n_bins = len(edges) - 1
    scaled = values * (n_bins / (edges[-1] - edges[0]))
    k = np.minimum(scaled.astype(np.int64), n_bins)
    # the guess can be off by one only next to an edge: correct those values exactly
    near = np.nonzero(np.abs(scaled - np.rint(scaled)) < 1e-6)[0]
    if len(near):
        ext = np.append(edges, np.inf)
        v, kk = values[near], k[near]
        kk -= v < ext[kk]
        kk += v >= ext[kk + 1]
        k[near] = kk
        k[near[v == edges[-1]]] = n_bins - 1
    k[values > r_max] = n_bins
    return k.reshape(shape)


class DistanceBins:
    """Distance histogram bins ``edges`` (from 0, uniform) cut at ``r_max``, looked up from squared distances.

    :meth:`of_squared` gives, for squared distances ``d2``, exactly
    ``bin_index(np.sqrt(d2), edges, r_max)``: ``d2`` falls in one of ``cells`` equal
    intervals of d² (index ``floor(d2 / q)``, one multiplication); an interval that lies
    inside one bin, with a relative margin far above rounding, gives its bin from a table;
    for the few values in an interval that contains an edge, the square root is taken and
    binned exactly (:func:`bin_index`).
    """

    def __init__(self, edges: np.ndarray, r_max: float, *, cells: int = 1 << 14):
        self.edges = np.asarray(edges, dtype=np.float64)
        self.r_max = float(r_max)
        self.n_bins = len(self.edges) - 1
        top = 1.25 * max(min(self.r_max, self.edges[-1]), 1e-300)
        self._q = top * top / cells
        self._inv_q = 1.0 / self._q
        lo = np.arange(cells + 1) * self._q
        d_lo = np.sqrt(lo * (1.0 - 1e-9))
        d_hi = np.sqrt(np.append(lo[1:] * (1.0 + 1e-9), 4.0 * lo[-1]))    # the last interval: all beyond
        k_lo, k_hi = bin_index(d_lo, self.edges, self.r_max), bin_index(d_hi, self.edges, self.r_max)
        self._table = np.where(k_lo == k_hi, k_lo, -1).astype(np.intp)

    def of_distance(self, d: np.ndarray) -> np.ndarray:
        """Bins of distances (``n_bins``: beyond the last edge or ``r_max``)."""
        return bin_index(d, self.edges, self.r_max)

    def of_squared(self, d2: np.ndarray) -> np.ndarray:
        """Bins of squared distances, the same as :meth:`of_distance` of their square roots."""
        cell = d2 * self._inv_q
        k = np.take(self._table, cell.astype(np.intp), mode="clip")
        open_ = np.flatnonzero(k < 0)
        if len(open_):
            flat = k.reshape(-1)
            flat[open_] = bin_index(np.sqrt(d2.reshape(-1)[open_]), self.edges, self.r_max)
        return k


def iter_block_pairs(positions: np.ndarray, cell: np.ndarray, r_max: float, *,
                     max_skin: float | None = None,
                     block_frames: int = DEFAULT_BLOCK_FRAMES) -> Iterator[BlockPairs]:
    """Yield exact pair-distance bounds within ``r_max`` for a stack of frames in one cell.

    Parameters
    ----------
    positions : (F, N, 3) array
        Finite Cartesian positions (Å), wrapped or unwrapped; any frames (not necessarily
        consecutive), in the order given.
    cell : (3, 3) array
        The cell of every frame (a changing cell needs one call per distinct cell).
    r_max : float
        Search radius (Å), any positive value (see :func:`periodic_pairs`).
    max_skin : float, optional
        A block is split in two while its skin exceeds this (Å); default
        ``DEFAULT_MAX_SKIN_FRACTION × r_max``.  Only the speed depends on it, never the
        pairs found.
    block_frames : int
        Largest block.

    Yields
    ------
    BlockPairs
        Consecutive blocks covering every frame once, in order.
    """
    pos = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must be (F, N, 3); got {pos.shape}")
    if max_skin is None:
        max_skin = DEFAULT_MAX_SKIN_FRACTION * float(r_max)
    inv = np.linalg.inv(cell)
    for a in range(0, len(pos), max(1, int(block_frames))):
        yield from _split_blocks(pos[a:a + block_frames], a, cell, inv, float(r_max), float(max_skin))


def _top2_sum(x: np.ndarray) -> float:
    if len(x) < 2:
        return float(x.sum())
    return float(np.partition(x, len(x) - 2)[len(x) - 2:].sum())


def _split_blocks(pos, offset, cell, inv, r_max, max_skin):
    frames = np.arange(offset, offset + len(pos))
    if len(pos) == 1:
        i, j, d = periodic_pairs(pos[0], cell, r_max)
        yield BlockPairs(frames, i, j, d, np.zeros(len(d)), 0.0, None, None)
        return
    frac = pos @ inv
    step = frac - frac[:1]
    unwrapped = frac[:1] + step - np.rint(step)   # each frame's images nearest to the first frame
    centre = unwrapped.mean(axis=0)
    dev = (unwrapped - centre) @ cell
    reach = np.sqrt(np.einsum("fnk,fnk->fn", dev, dev)).max(axis=0)  # (N,) largest displacement from the centre
    # "movers" (a hopping ion, an atom flying off) would inflate everyone's skin: their pairs
    # are searched separately, each within its own reach
    fast = reach > 0.5 * max_skin
    n_fast = int(fast.sum())
    if n_fast > max(2, FAST_FRACTION * len(reach)):
        half = len(pos) // 2
        yield from _split_blocks(pos[:half], offset, cell, inv, r_max, max_skin)
        yield from _split_blocks(pos[half:], offset + half, cell, inv, r_max, max_skin)
        return
    centre_xyz = centre @ cell
    skin = _top2_sum(reach[~fast])
    i, j, dc, n = periodic_pairs(centre_xyz, cell, r_max + skin + _ROUNDING_MARGIN_A, return_shifts=True)
    if n_fast:
        slow = ~(fast[i] | fast[j])
        skin = _top2_sum(reach)
        movers = np.nonzero(fast)[0]
        # a mover and a slow atom: within r_max + the largest reach of each kind
        r_mixed = r_max + float(reach[movers].max()) + float(reach[~fast].max(initial=0.0)) + _ROUNDING_MARGIN_A
        mi, mj, md, mn = pairs_involving(centre_xyz, cell, r_mixed, movers)
        mixed = ~(fast[mi] & fast[mj])
        # two movers: within r_max + the two largest reaches, among the movers alone
        fi, fj, fd, fn = periodic_pairs(centre_xyz[movers], cell, r_max + skin + _ROUNDING_MARGIN_A,
                                        return_shifts=True)
        i, j, dc, n = (np.concatenate([x[slow], y[mixed], z]) for x, y, z in
                       zip((i, j, dc, n), (mi, mj, md, mn), (movers[fi], movers[fj], fd, fn)))
    slack = reach[i] + reach[j] + _ROUNDING_MARGIN_A
    keep = dc - slack <= r_max       # the only pairs that can come within r_max in some frame
    i, j, dc, n, slack = i[keep], j[keep], dc[keep], n[keep], slack[keep]
    xyz_t = np.ascontiguousarray((unwrapped @ cell).transpose(2, 1, 0))  # (3, N, F)
    yield BlockPairs(frames, i, j, dc, slack, skin, xyz_t, n @ cell)


def _squared_distances(xyz_t: np.ndarray, i: np.ndarray, j: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(P, F) squared distances |x_j - x_i + shift|² in every frame; ``xyz_t`` is (3, N, F),
    frames innermost so that each pair gathers two contiguous rows per axis."""
    d2 = None
    for k in range(3):
        dx = np.take(xyz_t[k], j, axis=0)
        dx -= np.take(xyz_t[k], i, axis=0)
        dx += shift[:, k, None]
        dx *= dx
        if d2 is None:
            d2 = dx
        else:
            d2 += dx
    return d2 if d2 is not None else np.zeros((0, xyz_t.shape[2]))
