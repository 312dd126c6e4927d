"""ChunkWriter stores what HDF5 itself would store: the same values and chunks that decode
(with plain zlib, as HDF5's deflate filter does) to the same bytes as HDF5's own, whatever
the pieces the frames arrive in, the chunk shape or the thread count.  The compressed bytes
differ from HDF5's: ChunkWriter deflates with ISA-L."""

from __future__ import annotations

import zlib
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np
import pytest

from uncertainty_gk.h5chunks import ChunkWriter


def _twins(f, shape, chunks, dtype, **filters):
    maxshape = (None,) + shape[1:]
    kw = dict(shape=(0,) + shape[1:], maxshape=maxshape, chunks=chunks, dtype=dtype, **filters)
    return f.create_dataset("direct", **kw), f.create_dataset("hdf5", **kw)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("shape, chunks, dtype, filters", [
    ((50, 7, 3), (8, 7, 3), "<i8", dict(compression="gzip", compression_opts=4, shuffle=True)),
    ((33, 10, 3), (5, 4, 3), "<f8", dict(compression="gzip", compression_opts=1, shuffle=True)),   # atoms split
    ((20, 5, 3), (6, 5, 3), "<f8", dict(compression="gzip", compression_opts=6)),                  # no shuffle
    ((20, 5, 3), (6, 5, 3), "<f8", dict(compression="lzf")),                                       # written by h5py
])
def test_same_values_and_chunk_bytes_as_hdf5(tmp_path, threads, shape, chunks, dtype, filters):
    rng = np.random.default_rng(1)
    data = np.round(rng.normal(0, 50, shape), 5)
    data = np.rint(data * 1e5).astype(dtype) if dtype == "<i8" else data.astype(dtype)
    pieces = [0, 3, 4, 17, 18, shape[0]]          # frames arrive in uneven pieces
    with h5py.File(tmp_path / "t.h5", "w") as f, ThreadPoolExecutor(threads) as pool:
        direct, ref = _twins(f, shape, chunks, dtype, **filters)
        w = ChunkWriter(direct, pool)
        for a, b in zip(pieces[:-1], pieces[1:]):
            direct.resize(b, axis=0)
            ref.resize(b, axis=0)
            w.write(a, data[a:b])
            ref[a:b] = data[a:b]
        w.close()
        np.testing.assert_array_equal(direct[()], data)
        assert direct.id.get_num_chunks() == ref.id.get_num_chunks()
        if w.direct:
            for i in range(ref.id.get_num_chunks()):
                off = ref.id.get_chunk_info(i).chunk_offset
                mask, raw = direct.id.read_direct_chunk(off)
                ref_mask, ref_raw = ref.id.read_direct_chunk(off)
                assert mask == ref_mask == 0
                assert zlib.decompress(raw) == zlib.decompress(ref_raw), off
        else:
            assert "lzf" in filters.values()


def test_abort_stores_nothing_more(tmp_path):
    data = np.arange(40 * 2 * 3, dtype="<i8").reshape(40, 2, 3)
    with h5py.File(tmp_path / "t.h5", "w") as f, ThreadPoolExecutor(2) as pool:
        d = f.create_dataset("x", shape=(40, 2, 3), chunks=(8, 2, 3), dtype="<i8", compression="gzip", shuffle=True)
        w = ChunkWriter(d, pool)
        w.write(0, data[:20])
        w.abort()
        stored = d.id.get_num_chunks()
        w.close()
        assert d.id.get_num_chunks() == stored <= 2
