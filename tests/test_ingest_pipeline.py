"""The pipelined ingest (frames parsed in a background thread, in pieces smaller than the
reader's first chunk, encoded and compressed while the next piece is parsed) writes the
same archive as reading the reader's default chunks one after the other, whatever the
decimals of the frames; errors of the reading thread surface unchanged and leave no archive."""

from __future__ import annotations

import json
import threading
import hashlib
import zlib

import h5py
import numpy as np
import pytest

from uncertainty_gk import archive
from uncertainty_gk.archive import ingest, verify_archive
from uncertainty_gk.errors import InputFormatError
from uncertainty_gk.io import lammps_dump
from uncertainty_gk.prefetch import Prefetch

N_ATOMS = 20
#: the reader's first chunk (60 frames) and the writer's pieces (16 frames) in these tests
FIRST_FRAMES, PIECE_FRAMES = 60, 16

MANIFEST = """[defaults]
types = {{1 = "Li", 2 = "O"}}
mobile = ["Li"]
timestep_ps = 0.001

[[runs]]
trajectory = "{traj}"
labels = {{seed = 1}}
"""


def write_dump(path, n_frames, decimals, seed=11):
    """A ``dump custom`` text of N_ATOMS atoms; frame k written with ``decimals(k)`` decimals."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0.0, 12.0, (N_ATOMS, 3))
    lines = []
    for k in range(n_frames):
        pos = pos + rng.normal(0.0, 0.05, pos.shape)
        d = decimals(k)
        lines += ["ITEM: TIMESTEP", str(10 * k), "ITEM: NUMBER OF ATOMS", str(N_ATOMS),
                  "ITEM: BOX BOUNDS pp pp pp", "0.0 12.0", "0.0 12.0", "0.0 12.0", "ITEM: ATOMS id type xu yu zu"]
        lines += [f"{i + 1} {1 + i % 2} {x:.{d}f} {y:.{d}f} {z:.{d}f}" for i, (x, y, z) in enumerate(pos)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_ingest(tmp_path, dump, name, monkeypatch, *, pieces: bool):
    """Ingest ``dump`` with small pieces (``pieces``) or in the reader's default chunks."""
    monkeypatch.setattr(lammps_dump, "CHUNK_POSITION_BYTES", FIRST_FRAMES * 24 * N_ATOMS)
    monkeypatch.setattr(archive, "PIECE_BYTES", (PIECE_FRAMES if pieces else 10 ** 9) * 24 * N_ATOMS)
    manifest = tmp_path / "campaign.toml"         # the same manifest: its path is recorded in the run
    manifest.write_text(MANIFEST.format(traj=dump))
    out = tmp_path / f"{name}.nc"
    ingest(manifest, out, show_progress=False)
    return out


def stored(path):
    """Checksums, encodings, chunk shapes and raw compressed chunks of the run."""
    with h5py.File(path, "r") as f:
        g = f["seed1"]
        out = {"checksums": json.loads(g.attrs["ugk_checksums"])}
        for name, d in g.items():
            if not isinstance(d, h5py.Dataset):
                continue
            out[name] = (d.chunks, d.dtype.str, {k: str(v) for k, v in d.attrs.items()
                                                 if k.startswith(("ugk_", "scale_factor"))})
            if d.chunks is not None:
                offsets = [d.id.get_chunk_info(i).chunk_offset for i in range(d.id.get_num_chunks())]
                out[name + "/raw"] = [d.id.read_direct_chunk(o) for o in offsets]
    return out


def ugk_encoding(path):
    with h5py.File(path, "r") as f:
        d = f["seed1"]["positions"]
        return str(d.attrs["ugk_encoding"]), int(np.asarray(d.attrs["ugk_decimals"]).reshape(-1)[0])


@pytest.mark.parametrize("case, n_frames, decimals, encoding", [
    ("same decimals throughout", 200, lambda k: 5, ("decimal", 5)),
    # the first piece has 3 decimals, the rest of the first chunk 5: decided on the whole first chunk
    ("more decimals later in the first chunk", 200, lambda k: 3 if k < PIECE_FRAMES else 5, ("decimal", 5)),
    # in the piece that straddles frame 60, before it: still the first chunk's decision
    ("more decimals just before frame 60", 200, lambda k: 6 if k == 58 else 4, ("decimal", 6)),
    # after frame 60 (same straddling piece): stored as float64, as from default chunks
    ("more decimals just after frame 60", 200, lambda k: 6 if k == 62 else 4, ("float", -1)),
    ("more decimals far after the first chunk", 200, lambda k: 6 if k == 170 else 4, ("float", -1)),
    ("a run shorter than the first chunk", 40, lambda k: 2 if k < 20 else 4, ("decimal", 4)),
    ("a run of one piece", 10, lambda k: 4, ("decimal", 4)),
])
def test_pieces_give_the_same_archive_as_default_chunks(tmp_path, monkeypatch, case, n_frames, decimals, encoding):
    dump = write_dump(tmp_path / "dump.lammpstrj", n_frames, decimals)
    piecewise = run_ingest(tmp_path, dump, "pieces", monkeypatch, pieces=True)
    whole = run_ingest(tmp_path, dump, "whole", monkeypatch, pieces=False)
    assert ugk_encoding(piecewise) == encoding, case
    assert stored(piecewise) == stored(whole), case
    report = verify_archive(piecewise)
    assert report.ok and report.n_arrays > 0, report.summary()


def test_error_while_reading_names_file_frame_line_and_leaves_no_archive(tmp_path, monkeypatch):
    dump = write_dump(tmp_path / "dump.lammpstrj", 200, lambda k: 5)
    lines = dump.read_text().splitlines()
    frame_len = 9 + N_ATOMS
    bad = 150 * frame_len + 3                       # NUMBER OF ATOMS of frame 150
    lines[bad] = str(N_ATOMS - 1)
    del lines[bad + 6]                               # and one atom line fewer: a consistent lost atom
    dump.write_text("\n".join(lines) + "\n")
    messages = []
    for pieces in (True, False):
        out = tmp_path / ("pieces.nc" if pieces else "whole.nc")
        with pytest.raises(InputFormatError) as err:
            run_ingest(tmp_path, dump, out.stem, monkeypatch, pieces=pieces)
        assert not out.exists()
        assert not list(tmp_path.glob(f".{out.name}*")), "temporary archive left behind"
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "frame 150" in messages[0] and f"line {bad + 1}" in messages[0] and str(dump) in messages[0]


def test_prefetch_delivers_items_then_the_producer_error():
    def items():
        yield from range(5)
        raise InputFormatError("broken here", path="x.dump", frame=5, line=42)

    got = []
    with Prefetch(items(), depth=2) as it:
        with pytest.raises(InputFormatError, match="x.dump frame 5 .line 42.: broken here"):
            for item in it:
                got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_prefetch_stops_and_closes_the_source_when_the_consumer_leaves():
    closed = threading.Event()
    produced = []

    def items():
        try:
            for i in range(10 ** 6):
                produced.append(i)
                yield i
        finally:
            closed.set()

    with pytest.raises(RuntimeError, match="consumer failed"):
        with Prefetch(items(), depth=2) as it:
            for item in it:
                if item == 3:
                    raise RuntimeError("consumer failed")
    assert closed.is_set()                            # closed before the with block returned
    assert len(produced) <= 3 + 1 + 2 + 1             # bounded read-ahead: queue depth + one in hand
    assert not [t for t in threading.enumerate() if t.name == "ugk-read"]


def test_a_chunk_that_did_not_reach_the_file_intact_is_an_error(tmp_path, monkeypatch):
    """The read-back check compares the stored compressed chunks with those written."""
    from uncertainty_gk.errors import OutputError
    from uncertainty_gk.h5chunks import ChunkWriter

    dump = write_dump(tmp_path / "dump.lammpstrj", 120, lambda k: 5)
    real_close = ChunkWriter.close

    def close_then_damage(self):
        real_close(self)
        if self.dset.name.endswith("/positions"):       # a valid chunk, but one value changed
            offset, _ = self.stored[0]
            raw = bytearray(zlib.decompress(self.dset.id.read_direct_chunk(offset)[1]))
            raw[5] ^= 1
            self.dset.id.write_direct_chunk(offset, zlib.compress(bytes(raw), 4), 0)

    monkeypatch.setattr(ChunkWriter, "close", close_then_damage)
    with pytest.raises(OutputError, match="stored positions differ from what was written"):
        run_ingest(tmp_path, dump, "damaged", monkeypatch, pieces=True)
    assert not (tmp_path / "damaged.nc").exists()


def test_isal_chunks_are_standard_zlib_streams():
    """The chunks are deflated with ISA-L: any zlib (HDF5's deflate filter, netCDF readers)
    must decode them to the shuffled bytes, whatever the level."""
    from uncertainty_gk.h5chunks import _compress, isal_level

    rng = np.random.default_rng(7)
    block = np.round(np.cumsum(rng.normal(0, 0.05, (40, 50, 3)), axis=0) * 1e5).astype("<i8")
    shuffled = block.reshape(-1).view(np.uint8).reshape(-1, 8).T.tobytes()
    for level in range(10):
        data, digest = _compress(block, True, level)
        assert zlib.decompress(data) == shuffled
        assert hashlib.sha256(data).digest() == digest
    assert [isal_level(lv) for lv in range(10)] == [0, 1, 1, 2, 2, 3, 3, 3, 3, 3]
    assert len(_compress(block, True, 4)[0]) < 0.6 * block.nbytes      # it does compress
