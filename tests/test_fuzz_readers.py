"""Fuzzing the readers with damaged copies of the project's own files (issue 14, item 7).

A seeded mutator truncates, flips bytes, deletes, inserts, duplicates and joins the
files of every format (LAMMPS dump plain and gzip, LAMMPS log, LAMMPS data file,
XDATCAR plain and gzip, extended XYZ).  Every outcome must be one of

* a clear error: a :class:`~uncertainty_gk.errors.UGKError` whose message names the file;
* frames read, and every frame of the original that the damage did not touch is among
  them - or a :class:`~uncertainty_gk.errors.UGKWarning` says what was dropped.

Anything else (another exception type, i.e. a traceback for the user, or frames lost
without a warning) fails the test with the seed and mutation to reproduce it.  The fast
version runs in the default suite; ``-m slow`` runs many more cases.
"""

from __future__ import annotations

import gzip
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.errors import UGKError, UGKWarning
from uncertainty_gk.io.extxyz import read_extxyz
from uncertainty_gk.io.lammps_data import read_type_elements
from uncertainty_gk.io.lammps_dump import read_lammps_dump
from uncertainty_gk.io.lammps_log import parse_lammps_log
from uncertainty_gk.io.vasp import read_xdatcar

from conftest import EXAMPLES

# --------------------------------------------------------------------------- the project's own files


@dataclass
class Fixture:
    name: str
    data: bytes
    units: list[tuple[int, int]]     # byte spans of the frames (rows for a log) of the original
    read: object                     # path -> number of frames (rows) read
    compressed: bool = False


def _synthetic(n_frames=12):
    return synthetic.generate(n_mobile=6, n_frames=n_frames, n_seeds=1, rng=5)


def _spans(text: bytes, pattern: bytes) -> list[tuple[int, int]]:
    starts = [m.start() for m in re.finditer(pattern, text, flags=re.MULTILINE)]
    return [(a, b) for a, b in zip(starts, starts[1:] + [len(text)])]


def _dump_fixture(tmp: Path, compressed: bool = False) -> Fixture:
    gen = _synthetic()
    (p,) = gen.write_lammps_dumps(tmp, prefix="fx")
    text = p.read_bytes()
    types = dict(gen.types)

    def read(path):
        return read_lammps_dump(path, types=types, timestep_ps=0.001).sizes["time"]

    data = gzip.compress(text) if compressed else text
    return Fixture("dump.lammpstrj" + (".gz" if compressed else ""), data, _spans(text, rb"^ITEM: TIMESTEP$"),
                   read, compressed)


def _xdatcar_text() -> bytes:
    ds = _synthetic().runs[0]
    cell = np.asarray(ds["cell"].values)
    species = np.asarray(ds["species"].values).astype(str)
    order = np.argsort(species, kind="stable")
    names, counts = np.unique(species[order], return_counts=True)
    frac = (np.asarray(ds["positions"].values)[:, order] @ np.linalg.inv(cell)) % 1.0
    out = ["fuzz", "1.0"] + [" ".join(f"{x:.6f}" for x in row) for row in cell]
    out += [" ".join(names), " ".join(str(c) for c in counts)]
    for k, f in enumerate(frac):
        out.append(f"Direct configuration= {k + 1:6d}")
        out += [" ".join(f"{x:.8f}" for x in row) for row in f]
    return ("\n".join(out) + "\n").encode()


def _xdatcar_fixture(tmp: Path, compressed: bool = False) -> Fixture:
    text = _xdatcar_text()

    def read(path):
        return read_xdatcar(path, frame_interval_ps=0.1).sizes["time"]

    data = gzip.compress(text) if compressed else text
    return Fixture("XDATCAR" + (".gz" if compressed else ""), data, _spans(text, rb"^Direct configuration="),
                   read, compressed)


def _extxyz_fixture(tmp: Path) -> Fixture:
    import ase.io
    from ase import Atoms

    ds = _synthetic().runs[0]
    cell = np.asarray(ds["cell"].values)
    species = list(np.asarray(ds["species"].values).astype(str))
    frames = []
    for k, pos in enumerate(np.asarray(ds["positions"].values)):
        a = Atoms(symbols=species, positions=pos, cell=cell, pbc=True)
        a.info["step"] = 20 * k
        a.info["energy"] = -100.0 - 0.01 * k
        frames.append(a)
    p = tmp / "fx.xyz"
    ase.io.write(p, frames, format="extxyz")
    text = p.read_bytes()

    def read(path):
        return read_extxyz(path, timestep_ps=0.001).sizes["time"]

    return Fixture("traj.xyz", text, _spans(text, rb"^\d+$"), read)


def _log_fixture(tmp: Path) -> Fixture:
    text = (EXAMPLES / "tiny" / "runs" / "T1000" / "s1" / "log.lammps").read_bytes()
    # thermo rows: lines of numbers only
    rows = [(m.start(), m.end() + 1) for m in re.finditer(rb"^[ \t]*-?\d+([ \t]+[-+0-9.eE]+)+[ \t]*$", text, re.MULTILINE)]

    def read(path):
        return sum(b.n_rows for b in parse_lammps_log(path).blocks)

    return Fixture("log.lammps", text, rows, read)


def _data_fixture(tmp: Path) -> Fixture:
    text = (EXAMPLES / "tiny" / "lpso_start.data").read_bytes()

    def read(path):
        read_type_elements(path)
        return 0

    return Fixture("lpso.data", text, [], read)


FIXTURES = {"dump": _dump_fixture, "dump.gz": lambda t: _dump_fixture(t, True), "xdatcar": _xdatcar_fixture,
            "xdatcar.gz": lambda t: _xdatcar_fixture(t, True), "extxyz": _extxyz_fixture, "log": _log_fixture,
            "data": _data_fixture}


# --------------------------------------------------------------------------- the mutator
_BYTES = b"0123456789.-+eE naNxyz\n\t\x00#*=:/"


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str, int, int]:
    """A damaged copy of ``data``: (bytes, description, first, last byte of the original touched)."""
    n = len(data)
    kind = rng.choice(["truncate", "flip", "flips", "delete", "insert", "duplicate", "blank", "join"])
    pos = int(rng.integers(0, n))
    if kind == "truncate":
        return data[:pos], f"truncate at {pos}", pos, n
    if kind == "flip":
        b = bytes([_BYTES[int(rng.integers(len(_BYTES)))]])
        return data[:pos] + b + data[pos + 1:], f"flip byte {pos} to {b!r}", pos, pos + 1
    if kind == "flips":
        out = bytearray(data)
        where = sorted(int(x) for x in rng.integers(0, n, size=5))
        for w in where:
            out[w] = _BYTES[int(rng.integers(len(_BYTES)))]
        return bytes(out), f"flip bytes {where}", where[0], where[-1] + 1
    if kind == "delete":
        k = int(rng.integers(1, 400))
        return data[:pos] + data[pos + k:], f"delete {k} bytes at {pos}", pos, pos + k
    if kind == "insert":
        junk = bytes(_BYTES[int(i)] for i in rng.integers(0, len(_BYTES), size=int(rng.integers(1, 60))))
        return data[:pos] + junk + data[pos:], f"insert {junk!r} at {pos}", pos, pos
    if kind == "duplicate":
        a = int(rng.integers(0, n))
        k = int(rng.integers(1, 2000))
        return data[:pos] + data[a:a + k] + data[pos:], f"insert a copy of bytes {a}:{a + k} at {pos}", pos, pos
    if kind == "blank":
        nl = data.find(b"\n", pos)
        nl = n - 1 if nl < 0 else nl
        return data[:nl + 1] + b"\n" + data[nl + 1:], f"blank line after byte {nl}", nl + 1, nl + 1
    return data + b"\n" + data, "the file joined to itself after a blank line", n, n


# --------------------------------------------------------------------------- the oracle
def check_case(fx: Fixture, tmp: Path, seed: int) -> str:
    """Run one damaged copy; return the outcome class or raise AssertionError with the reproduction."""
    rng = np.random.default_rng(seed)
    data, what, lo, hi = mutate(fx.data, rng)
    path = tmp / fx.name
    path.write_bytes(data)
    where = f"{fx.name} seed {seed}: {what}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = fx.read(path)
        except UGKError as exc:
            msg = str(exc)
            assert fx.name in msg or str(path) in msg, f"{where}: the error does not name the file: {msg}"
            assert "\n" not in msg.strip() or len(msg.splitlines()[0]) > 20, f"{where}: unclear error {msg!r}"
            return "error"
        except Exception as exc:  # noqa: BLE001 - the point of the test: anything else is a bug
            raise AssertionError(f"{where}: {type(exc).__name__} (a traceback for the user): {exc}") from exc
    warned = any(issubclass(w.category, UGKWarning) for w in caught)
    if fx.compressed or not fx.units:
        return "warning" if warned else "ok"
    untouched = [s for s in fx.units if s[1] <= lo or (s[0] >= hi and not what.startswith("truncate"))]
    if got < len(untouched) and not warned:
        raise AssertionError(f"{where}: {got} frames/rows read, {len(untouched)} untouched by the damage, "
                             "and no warning (silent loss)")
    return "warning" if warned else "ok"


def _run(kind: str, tmp_path: Path, seeds) -> dict:
    fx = FIXTURES[kind](tmp_path)
    assert fx.read(_write(tmp_path / ("orig_" + fx.name), fx.data)) == (len(fx.units) if fx.units else 0)
    outcomes: dict[str, int] = {}
    for seed in seeds:
        r = check_case(fx, tmp_path, seed)
        outcomes[r] = outcomes.get(r, 0) + 1
    return outcomes


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("kind", list(FIXTURES))
def test_fuzz_readers_fast(kind, tmp_path):
    outcomes = _run(kind, tmp_path, range(25))
    assert sum(outcomes.values()) == 25


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(FIXTURES))
def test_fuzz_readers_long(kind, tmp_path):
    _run(kind, tmp_path, range(1000, 1600))
