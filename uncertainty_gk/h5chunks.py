"""Write the frames of an HDF5 dataset as whole compressed chunks, compressing in threads.

HDF5 compresses a chunked dataset chunk by chunk in the writing thread, holding
Python's global lock: while a 150 MB trajectory is deflated nothing else runs, and
compressing takes as long as parsing the text.  :class:`ChunkWriter` applies the
dataset's own filter pipeline (byte shuffle, then deflate at the dataset's level, the
pipeline h5netcdf creates for ``compression="gzip", shuffle=True``) in a small thread
pool and stores each chunk with ``write_direct_chunk``; meanwhile the calling thread
goes on reading and parsing.  The deflate is Intel's ISA-L (``isal``), about ten times
faster than ``zlib`` at a compressed size 5 % larger (zlib level 4 -> ISA-L level 2,
:func:`isal_level`); both release the lock.  ISA-L writes standard zlib streams, so any
netCDF/HDF5 reader (and HDF5's own deflate filter) decodes them: the values are those
HDF5 would store, only the compressed bytes differ from HDF5's own zlib output.
Datasets with another filter pipeline are written the ordinary way.

Frames arrive in order (:meth:`ChunkWriter.write`); a chunk is compressed once all its
frames are there, the last partial chunk on :meth:`ChunkWriter.close` (padded; HDF5
ignores what lies beyond the dataset's extent).  The number of threads never changes
what is stored.

A writer can start before its dataset exists (:meth:`ChunkWriter.detached`, given the
chunk shape, type and filters the dataset will have): it compresses and keeps the
chunks until :meth:`ChunkWriter.attach`.  Every chunk stored is remembered by its
SHA-256 (of the compressed bytes), so that :meth:`ChunkWriter.check_stored` can verify
what reached the file by reading the raw chunks back, without decompressing them.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from isal import isal_zlib

__all__ = ["ChunkWriter", "compression_pool", "isal_level"]

#: HDF5 filter ids (H5Zpublic.h).
_DEFLATE, _SHUFFLE = 1, 2
#: Uncompressed bytes handed to the threads and not yet stored, at most.
MAX_PENDING_BYTES = 192 << 20


def compression_pool(max_threads: int = 4) -> ThreadPoolExecutor:
    """Threads that compress chunks: one per core, at most ``max_threads``."""
    return ThreadPoolExecutor(max_workers=max(1, min(max_threads, os.cpu_count() or 1)),
                              thread_name_prefix="ugk-deflate")


def _pipeline(dset) -> tuple[bool, int] | None:
    """(shuffle, deflate level) of a dataset whose filters are [shuffle,] deflate; else None."""
    plist = dset.id.get_create_plist()
    filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    ids = [f[0] for f in filters]
    if ids == [_SHUFFLE, _DEFLATE]:
        return True, int(filters[1][2][0])
    if ids == [_DEFLATE]:
        return False, int(filters[0][2][0])
    return None


def isal_level(level: int) -> int:
    """The ISA-L level (0-3) used for a dataset's zlib deflate ``level`` (1-9): about half
    of it, capped at 3 (zlib 4 -> 2: on shuffled positions 1000 MB/s per core and 0.31 of
    the raw size, against zlib 4's 104 MB/s and 0.295)."""
    return min(3, max(0, (int(level) + 1) // 2))


def _compress(block: np.ndarray, shuffle: bool, level: int) -> tuple[bytes, bytes]:
    """The compressed chunk and the SHA-256 of those bytes (both computed without the GIL).
    Deflate level 0 (store) stays zlib's; other levels go through ISA-L (:func:`isal_level`)."""
    if shuffle and block.dtype.itemsize > 1:
        block = np.ascontiguousarray(block.reshape(-1).view(np.uint8).reshape(-1, block.dtype.itemsize).T)
    raw = memoryview(np.ascontiguousarray(block)).cast("B")
    data = zlib.compress(raw, 0) if level == 0 else isal_zlib.compress(raw, isal_level(level))
    return data, hashlib.sha256(data).digest()


class ChunkWriter:
    """Frames ``[n, n + m)`` of an h5py dataset chunked along its first axis, written in order.

    ``pool`` is a :func:`compression_pool` (shared by the datasets of a run).  The
    dataset's first axis must already extend over the frames written (resize before
    :meth:`write`).  Call :meth:`close` when all frames are written (it stores the last
    partial chunk and waits for the threads); :meth:`abort` drops what is pending.
    """

    def __init__(self, dset, pool: ThreadPoolExecutor):
        self.dset = dset
        self.pool = pool
        self.chunks = dset.chunks
        self.dtype = dset.dtype
        pipeline = _pipeline(dset) if self.chunks is not None else None
        self.direct = pipeline is not None
        self.shuffle, self.level = pipeline if pipeline is not None else (False, 0)
        self.tail: np.ndarray | None = None        # frames of the incomplete chunk at the end
        self.tail_start = 0
        self.pending: deque[tuple[tuple, Future, int]] = deque()
        self.pending_bytes = 0
        self.stored: list[tuple[tuple, bytes]] = []    # (chunk offset, SHA-256 of its compressed bytes)

    @classmethod
    def detached(cls, pool: ThreadPoolExecutor, *, chunks: tuple, dtype, shuffle: bool, level: int) -> ChunkWriter:
        """A writer for a dataset not created yet, with these chunks, type and filters
        ([shuffle,] deflate at ``level``); chunks are kept until :meth:`attach`."""
        self = cls.__new__(cls)
        self.dset, self.pool, self.chunks, self.dtype = None, pool, tuple(chunks), np.dtype(dtype)
        self.direct, self.shuffle, self.level = True, bool(shuffle), int(level)
        self.tail, self.tail_start = None, 0
        self.pending, self.pending_bytes, self.stored = deque(), 0, []
        return self

    def attach(self, dset) -> None:
        """Store into ``dset`` (which must have the chunks, type and filters given to
        :meth:`detached`, and extend over the frames written so far)."""
        if (dset.chunks != self.chunks or dset.dtype != self.dtype
                or _pipeline(dset) != (self.shuffle, self.level)):
            raise RuntimeError(f"{dset.name}: chunks {dset.chunks}, type {dset.dtype}, filters {_pipeline(dset)} "
                               f"differ from those the detached writer compressed for ({self.chunks}, "
                               f"{self.dtype}, {(self.shuffle, self.level)})")
        self.dset = dset
        self._store(block=False)

    def check_stored(self, dset) -> list[str]:
        """Read the raw (compressed) chunks stored back from ``dset`` (e.g. the same dataset
        opened again) and compare them with what was written; the problems found."""
        problems = []
        for offset, digest in self.stored:
            try:
                mask, data = dset.id.read_direct_chunk(offset)
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                problems.append(f"chunk at {offset} cannot be read ({exc})")
                continue
            if mask != 0 or hashlib.sha256(data).digest() != digest:
                problems.append(f"chunk at {offset} differs from what was written")
        return problems

    def write(self, start: int, data: np.ndarray) -> None:
        """Store ``data`` as frames ``start, start + 1, ...`` (directly after the previous ones)."""
        if not self.direct:
            self.dset[start:start + len(data)] = data
            return
        data = np.asarray(data, dtype=self.dtype)
        k = self.chunks[0]
        if self.tail is not None:
            # complete the pending chunk with the first frames only (not a copy of all of ``data``)
            need = k - len(self.tail)
            head = np.concatenate([self.tail, data[:need]])
            if len(head) < k:
                self.tail = head
                return
            self._submit(self.tail_start, head)
            data, start = data[need:], self.tail_start + k
            self.tail = None
        n_full = (len(data) // k) * k
        for a in range(0, n_full, k):
            self._submit(start + a, data[a:a + k])
        self.tail = data[n_full:].copy() if n_full < len(data) else None
        self.tail_start = start + n_full
        self._store(block=False)

    def close(self) -> None:
        """Store the last partial chunk and everything still compressing."""
        if self.dset is None:
            raise RuntimeError("a detached ChunkWriter must be attached to its dataset before close()")
        if self.tail is not None:
            padded = np.zeros((self.chunks[0],) + self.tail.shape[1:], dtype=self.tail.dtype)
            padded[:len(self.tail)] = self.tail
            self._submit(self.tail_start, padded)
            self.tail = None
        while self.pending:
            self._store_one()

    def abort(self) -> None:
        for _, fut, _ in self.pending:
            fut.cancel()
        self.pending.clear()
        self.tail = None

    # ----------------------------------------------------------------- internals
    def _submit(self, t0: int, frames: np.ndarray) -> None:
        """Compress the chunks of ``frames`` (whole chunks along the first axis) at frame ``t0``."""
        rest = self.chunks[1:]
        shape = frames.shape[1:]
        # chunks along the other axes (atoms, when one frame is larger than a chunk)
        starts = np.stack(np.meshgrid(*[np.arange(0, s, c) for s, c in zip(shape, rest)], indexing="ij"),
                          axis=-1).reshape(-1, len(shape)) if shape else np.zeros((1, 0), dtype=int)
        for off in starts:
            sl = tuple(slice(int(o), int(o) + c) for o, c in zip(off, rest))
            block = frames[(slice(None),) + sl]
            if block.shape[1:] != tuple(rest):
                padded = np.zeros((len(block),) + tuple(rest), dtype=block.dtype)
                padded[(slice(None),) + tuple(slice(0, s) for s in block.shape[1:])] = block
                block = padded
            offset = (int(t0),) + tuple(int(o) for o in off)
            self.pending.append((offset, self.pool.submit(_compress, block, self.shuffle, self.level), block.nbytes))
            self.pending_bytes += block.nbytes
            self._store(block=self.pending_bytes > MAX_PENDING_BYTES)

    def _store(self, *, block: bool) -> None:
        """Store finished chunks in order; with ``block``, wait until under the memory bound.
        Detached, nothing is stored (the chunks compress in the background meanwhile)."""
        if self.dset is None:
            return
        while self.pending and (self.pending[0][1].done() or (block and self.pending_bytes > MAX_PENDING_BYTES)):
            self._store_one()

    def _store_one(self) -> None:
        offset, fut, nbytes = self.pending.popleft()
        data, digest = fut.result()
        self.dset.id.write_direct_chunk(offset, data, 0)
        self.stored.append((offset, digest))
        self.pending_bytes -= nbytes
