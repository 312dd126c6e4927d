"""Readers as plug-ins (issue 11 item 6) and the shared opener for compressed input."""

from __future__ import annotations

import bz2
import gzip
import lzma

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.errors import InputFormatError
from uncertainty_gk.io import get_reader, reader_names, register_reader, sniff_format
from uncertainty_gk.io.sniff import open_binary, open_text, stream_was_cut
from uncertainty_gk.schema import FrameChunk, RunHeader, RunInfo


@pytest.mark.parametrize("mod", [gzip, bz2, lzma])
def test_one_opener_for_every_compression(tmp_path, mod):
    data = b"".join(b"line %d\n" % i for i in range(50000))
    p = tmp_path / "f.any"
    p.write_bytes(mod.compress(data[:100000]) + mod.compress(data[100000:]))    # two members/streams
    with open_binary(p) as fh:
        assert fh.read() == data
    assert not stream_was_cut(fh)
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 3])
    with open_text(p) as fh:
        text = fh.read()
    assert stream_was_cut(fh) and data.decode().startswith(text) and len(text) > 0


def test_corrupted_compressed_data_is_a_clear_error(tmp_path):
    raw = bytearray(gzip.compress(b"".join(b"line %d\n" % i for i in range(50000))))
    raw[len(raw) // 2] ^= 0xFF
    p = tmp_path / "f.gz"
    p.write_bytes(bytes(raw))
    with pytest.raises(InputFormatError, match=r"f\.gz: corrupted gzip data after \d+ decompressed bytes"):
        with open_binary(p) as fh:
            fh.read()


def test_builtin_readers_are_registered_and_sniffed(tmp_path):
    assert {"lammps-dump", "xdatcar", "extxyz"} <= set(reader_names())
    gen = synthetic.generate(n_mobile=9, n_frames=5, n_seeds=1, rng=3)
    (dump,) = gen.write_lammps_dumps(tmp_path, prefix="x")
    anonymous = tmp_path / "run.data.xz"
    anonymous.write_bytes(lzma.compress(dump.read_bytes()))
    assert sniff_format(anonymous) == "lammps-dump"
    reader = get_reader("lammps-dump").from_files([str(anonymous)], timestep_ps=0.001)
    assert sum(c.n_frames for c in reader.iter_chunks()) == 5


class _NpyReader:
    """A format in a dozen lines: positions in a .npy file, a fixed cubic cell."""

    name = "npy-test"

    @classmethod
    def can_open(cls, path):
        return str(path).endswith(".npy")

    @classmethod
    def from_files(cls, paths, *, timestep_ps=None, **options):
        return cls(paths[0], options.get("frame_interval_ps", 1.0))

    def __init__(self, path, dt):
        self.pos, self.dt = np.load(path), dt

    def header(self):
        n = self.pos.shape[1]
        return RunHeader(atom_id=np.arange(1, n + 1), species=np.array(["Li"] * n))

    def iter_chunks(self, max_frames=None):
        cell = np.broadcast_to(np.eye(3) * 10, (len(self.pos), 3, 3))
        yield FrameChunk(positions=self.pos, cell=cell, time_ps=np.arange(len(self.pos)) * self.dt)

    def info(self):
        return RunInfo(reader=self.name, sources=[], frame_interval_ps=self.dt)


def test_a_new_format_is_one_class(tmp_path):
    from uncertainty_gk.archive import ingest, open_archive

    register_reader("npy-test", _NpyReader, replace=True)
    pos = np.cumsum(np.random.default_rng(0).normal(size=(6, 4, 3)), axis=0) + 5
    np.save(tmp_path / "r.npy", pos)
    (tmp_path / "m.toml").write_text('[defaults]\nformat = "npy-test"\nframe_interval_ps = 0.5\n'
                                     'charges = {Li = 1}\n[[runs]]\ntrajectory = "r.npy"\nlabels = {seed = 1}\n')
    ingest(tmp_path / "m.toml", tmp_path / "c.nc")
    with open_archive(tmp_path / "c.nc") as camp:
        ds = next(iter(camp.values()))
        np.testing.assert_array_equal(ds["positions"].values, pos)
        assert ds["time"].values.tolist() == [0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_register_reader_checks_the_protocol():
    with pytest.raises(TypeError, match="lacks can_open"):
        register_reader("bad", object)


def test_training_set_that_is_a_dump_is_refused(tmp_path):
    """Finding 9: --training dump.lammpstrj was misread as a training set."""
    from uncertainty_gk.diagnostics.domain import load_training

    gen = synthetic.generate(n_mobile=9, n_frames=5, n_seeds=1, rng=3)
    (dump,) = gen.write_lammps_dumps(tmp_path, prefix="x")
    with pytest.raises(InputFormatError, match="a training set must be an extended XYZ file .* looks like lammps-dump"):
        load_training(dump)
