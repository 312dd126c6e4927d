"""Streaming reader for LAMMPS text dumps (``dump custom`` / ``dump atom``, plain or gzip).

The file is read in large byte blocks (never the whole text at once).  Frame headers
(``ITEM: TIMESTEP``, ``NUMBER OF ATOMS``, ``BOX BOUNDS``, ``ATOMS``) are parsed in
Python, which is cheap because there are few header lines; the atom lines of all frames
of a block are joined and parsed in one call of the pandas C parser.  Any anomaly in a
block (wrong field count, non-numeric or non-finite value, shifted columns) sends the
block through a slow line-by-line check that names the file, frame and line.

Positions are returned unwrapped and Cartesian (Å): ``xu yu zu`` directly; ``x y z`` or
``xs ys zs`` with image flags ``ix iy iz``; or ``xsu ysu zsu``.  Atoms are sorted by id.

Usage::

    reader = LammpsDumpReader(["dump.part1.lammpstrj", "dump.part2.lammpstrj.gz"],
                              timestep_ps=0.001)
    header = reader.header()
    for chunk in reader.iter_chunks():
        ...
    notes = reader.info().notes     # complete after a full pass (duplicates, truncation)

or simply ``read_lammps_dump(paths, types={1: "Li", ...}, timestep_ps=0.001)``.
"""

from __future__ import annotations

import io
import math
import os
import struct
import warnings
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..errors import DuplicateFramesWarning, InputFormatError, SkippedFramesWarning, TruncatedInputWarning
from ..schema import FrameChunk, RunHeader, RunInfo, SourceFile, assemble_dataset
from .registry import base_name
from .sniff import first_line as _first_line
from .sniff import compression_of, open_binary, stream_was_cut

__all__ = ["LammpsDumpReader", "read_lammps_dump"]

#: Bytes read from a file at a time (more when a frame is larger than what is buffered),
#: and the approximate text size parsed per batch.
BLOCK_BYTES = 8 << 20
#: Threads that parse batches of atom lines at once (one per core, at most this many).
PARSE_THREADS = 2
#: Batches parsed ahead of the one being delivered (memory: about (1 + this) x BLOCK_BYTES of text).
PARSE_AHEAD = 2
#: Default memory budget of the positions array of one chunk.
CHUNK_POSITION_BYTES = 64 << 20

_ITEM = b"ITEM:"
#: Without a frame start within this many bytes after a corrupted frame, the rest of the file is refused.
RESYNC_LIMIT_BYTES = 64 << 20
_HOW_TO_UNWRAP = ("write unwrapped coordinates, e.g. 'dump 1 all custom 100 dump.lammpstrj id type xu yu zu', "
                  "or add the image flags 'ix iy iz' to the dump columns")


# --------------------------------------------------------------------------- helpers
def _open_binary(path):
    """Open a dump for binary reading (plain, gzip, bzip2 or xz; see :mod:`.sniff`)."""
    try:
        return open_binary(path)
    except IsADirectoryError:
        raise InputFormatError("is a directory, expected a LAMMPS dump file", path=path) from None


def _show(line: bytes, limit: int = 80) -> str:
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is not binary
        return exc.start < len(head) - 4
    return False


def _binary_hint(data: bytes) -> str:
    if data.startswith(b"CDF"):
        return "it is a netCDF file (dump netcdf?)"
    if data.startswith(b"\x89HDF"):
        return "it is an HDF5 file (dump h5md?)"
    if data.startswith((b"\x28\xb5\x2f\xfd", b"PK\x03\x04")):
        return "it is compressed with zstd or zip (decompress it first, or recompress with gzip, bzip2 or xz)"
    return "it contains binary data (a binary dump written to a *.bin file, or a corrupted file?)"


def _reason(exc: InputFormatError) -> str:
    """The message of ``exc`` without its 'file frame (line)' prefix."""
    msg = str(exc)
    prefix = f"{exc.path}" if exc.path else ""
    if prefix and msg.startswith(prefix):
        msg = msg.split(": ", 1)[1] if ": " in msg else msg
    return msg


@dataclass
class _Frame:
    """Header of one frame and where its atom lines are in the scanner's buffer."""

    index: int            # 0-based frame index within its file
    step: int
    n_atoms: int
    cell: tuple           # 9 floats, rows a, b, c
    origin: tuple         # (xlo, ylo, zlo)
    columns: tuple        # column names of ITEM: ATOMS
    start: int            # byte offset of the first atom line in buf
    end: int              # byte offset just past the last atom line
    line: int             # 1-based line of the first header line
    atoms_line: int       # 1-based line of the first atom line
    step_line: int        # 1-based lines of the timestep and atom-count values
    count_line: int


class _Truncated(Exception):
    """The current (last) frame of a file is incomplete."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _NeedMore(Exception):
    """The buffer ends inside the current frame; read more data."""


class _BadAtomLines(InputFormatError):
    """Atom lines of a frame that cannot be parsed (wrong field count, not a number)."""


def _box_to_cell(rows: list[list[float]], path, frame, line) -> tuple[tuple, tuple]:
    """Cell rows (a, b, c) and origin from the three BOX BOUNDS lines."""
    n = {len(r) for r in rows}
    if n == {2}:
        (xlo, xhi), (ylo, yhi), (zlo, zhi) = rows
        return (xhi - xlo, 0.0, 0.0, 0.0, yhi - ylo, 0.0, 0.0, 0.0, zhi - zlo), (xlo, ylo, zlo)
    if n == {3}:
        (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = rows
        xlo = xlo_b - min(0.0, xy, xz, xy + xz)
        xhi = xhi_b - max(0.0, xy, xz, xy + xz)
        ylo = ylo_b - min(0.0, yz)
        yhi = yhi_b - max(0.0, yz)
        return (xhi - xlo, 0.0, 0.0, xy, yhi - ylo, 0.0, xz, yz, zhi - zlo), (xlo, ylo, zlo)
    raise InputFormatError(
        f"BOX BOUNDS lines must hold 2 numbers (orthogonal box: lo hi) or 3 (triclinic: lo hi tilt), "
        f"found {[len(r) for r in rows]}", path=path, frame=frame, line=line)


# --------------------------------------------------------------------------- scanner
class _Scanner:
    """Walks the frames of one dump file, block by block.

    The offsets of all newlines of the buffer are found at once (numpy), so that skipping
    the atom lines of a frame costs O(1).  :meth:`batches` yields ``(frames, buf)``: frame
    headers whose atom lines are all inside ``buf``; the caller must use ``buf`` before
    asking for the next batch.
    """

    def __init__(self, path, *, block_bytes: int | None = None, batch_bytes: int | None = None,
                 ref_atoms: int | None = None):
        self.path = path
        self.ref_atoms = ref_atoms               # atoms of every frame (from the first frame), if known
        self.skipped: list[tuple[int, int, str]] = []    # (frame, line, reason) of corrupted frames skipped
        self.block_bytes = max(1, int(BLOCK_BYTES if block_bytes is None else block_bytes))
        self.batch_bytes = int(BLOCK_BYTES if batch_bytes is None else batch_bytes)
        self.fh = None
        self.buf = b""
        self.nl = np.empty(0, dtype=np.int64)   # offsets of the newlines of buf
        self.li = 0                             # index (in nl) of the line starting at pos
        self.pos = 0
        self.line = 1                           # 1-based line number (in the file) of pos
        self.eof = False
        self.no_final_newline = False
        self.gzip_cut = False
        self.n_read = 0
        self.frame_index = 0
        self.first_key: bytes | None = None     # first header line of a frame, e.g. b"ITEM: TIMESTEP"
        self.atoms_raw: bytes | None = None     # the previous frame's ITEM: ATOMS / BOX BOUNDS lines
        self.box_raw: bytes | None = None
        self.columns: tuple = ()
        self.value_lines = (0, 0)               # lines of the TIMESTEP and NUMBER OF ATOMS values
        self.truncated: tuple[int, int, str] | None = None   # (frame, line, reason)

    # ----------------------------------------------------------------- reading
    def _fill(self) -> None:
        if self.fh is None:
            self.fh = _open_binary(self.path)
        try:
            # a frame larger than the buffer: read as much again (not a block at a time, which
            # would copy the growing buffer once per block)
            data = self.fh.read(max(self.block_bytes, len(self.buf) - self.pos))
        except OSError as exc:
            raise InputFormatError(f"cannot read the file ({exc})", path=self.path) from None
        if self.n_read == 0 and data and _looks_binary(data):
            raise InputFormatError(f"not a LAMMPS text dump: {_binary_hint(data)}. This reader reads "
                                   "text dumps written by 'dump custom' or 'dump atom' (optionally gzipped)",
                                   path=self.path)
        self.n_read += len(data)
        if stream_was_cut(self.fh):
            self.gzip_cut = True
        if data:
            self.buf = self.buf[self.pos:] + data
        else:
            self.eof = True
            tail = self.buf[self.pos:]
            stripped = tail.rstrip()
            self.no_final_newline = bool(stripped) and not tail.endswith(b"\n")
            self.buf = stripped + b"\n" if stripped else b""
        self.pos = 0
        self.li = 0
        self.nl = np.flatnonzero(np.frombuffer(self.buf, dtype=np.uint8) == 10)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def _readline(self) -> bytes:
        """Next line of the buffer (no filling): raises _NeedMore / _Truncated at its end."""
        if self.li >= len(self.nl):
            if self.eof:
                raise _Truncated("the file ends inside the frame header")
            raise _NeedMore
        j = int(self.nl[self.li])
        line = self.buf[self.pos:j]
        self.pos = j + 1
        self.li += 1
        self.line += 1
        return line

    # ----------------------------------------------------------------- frames
    def _quick_header(self):
        """Header of a frame laid out exactly like the previous one (the usual case), or None.

        Reads the 9 header lines at once and only converts the numbers; anything unusual
        returns None and the general parser (:meth:`_full_header`) takes over.
        """
        li = self.li
        if li + 9 > len(self.nl):
            return None
        end9 = int(self.nl[li + 8])
        lines = self.buf[self.pos:end9].split(b"\n")
        if (lines[0] != b"ITEM: TIMESTEP" or lines[2] != b"ITEM: NUMBER OF ATOMS"
                or lines[4] != self.box_raw or lines[8] != self.atoms_raw):
            return None
        try:
            step = int(lines[1])
            n_atoms = int(lines[3])
            rows = [[float(v) for v in lines[i].split()] for i in (5, 6, 7)]
        except ValueError:
            return None
        if n_atoms < 0 or {len(r) for r in rows} not in ({2}, {3}):
            return None
        box = _box_to_cell(rows, self.path, self.frame_index, self.line + 5)
        self.pos = end9 + 1
        self.li = li + 9
        self.line += 9
        self.value_lines = (self.line - 8, self.line - 6)
        return step, n_atoms, box, self.columns

    def _frame(self) -> _Frame:
        """Parse the frame starting at ``self.pos`` (buffer not refilled)."""
        path, k = self.path, self.frame_index
        first_line = self.line
        quick = self._quick_header() if self.atoms_raw is not None else None
        if quick is None:
            step, n_atoms, box, columns = self._full_header(path, k, first_line)
        else:
            step, n_atoms, box, columns = quick
        return self._atoms(k, step, n_atoms, box, columns, first_line)

    def _full_header(self, path, k, first_line):
        """General parser of a frame header (any item order, extra items, CRLF)."""
        line = self._readline()
        if not line.startswith(_ITEM):
            if self.eof and self.li >= len(self.nl) and k > 0 and self.first_key.startswith(line.rstrip()):
                raise _Truncated("the file ends inside the frame header")
            if k == 0:
                hint = " (an XYZ file? use the extxyz reader)" if line.strip().isdigit() else ""
                raise InputFormatError(
                    f"not a LAMMPS text dump: expected 'ITEM: TIMESTEP' on the first line, found {_show(line)}"
                    f"{hint}", path=path, frame=k, line=first_line)
            raise InputFormatError(
                f"expected the next frame to start with 'ITEM: TIMESTEP', found {_show(line)} (frame {k - 1} "
                "has more atom lines than its NUMBER OF ATOMS, or the file is corrupted)", path=path, frame=k,
                line=first_line)
        if self.first_key is None:
            self.first_key = line.rstrip()
        step = n_atoms = box = columns = box_raw = atoms_raw = None
        while True:
            key = line[len(_ITEM):].strip()
            here = self.line - 1
            if key == b"TIMESTEP":
                value = self._readline()
                self.value_lines = (here + 1, self.value_lines[1])
                try:
                    step = int(value)
                except ValueError:
                    raise InputFormatError(f"expected an integer timestep after 'ITEM: TIMESTEP', found "
                                           f"{_show(value)}", path=path, frame=k, line=here + 1) from None
            elif key.startswith(b"NUMBER OF ATOMS"):
                value = self._readline()
                self.value_lines = (self.value_lines[0], here + 1)
                try:
                    n_atoms = int(value)
                except ValueError:
                    raise InputFormatError(f"expected an integer after 'ITEM: NUMBER OF ATOMS', found "
                                           f"{_show(value)}", path=path, frame=k, line=here + 1) from None
                if n_atoms < 0:
                    raise InputFormatError(f"negative NUMBER OF ATOMS {n_atoms}", path=path, frame=k,
                                           line=here + 1)
            elif key.startswith(b"BOX BOUNDS"):
                box_raw = line
                flags = key.split()[2:]
                if b"abc" in flags:
                    raise InputFormatError(
                        "general triclinic boxes ('BOX BOUNDS abc origin') are not supported; write the "
                        "dump with the default restricted triclinic box", path=path, frame=k, line=here)
                rows = []
                for i in range(3):
                    value = self._readline()
                    try:
                        rows.append([float(v) for v in value.split()])
                    except ValueError:
                        raise InputFormatError(f"expected numbers in BOX BOUNDS line {i + 1}, found "
                                               f"{_show(value)}", path=path, frame=k,
                                               line=here + 1 + i) from None
                box = _box_to_cell(rows, path, k, here + 1)
            elif key.startswith(b"ATOMS"):
                atoms_raw = line
                columns = tuple(c.decode("ascii", errors="replace") for c in key.split()[1:])
                break
            else:                  # ITEM: TIME, ITEM: UNITS, or unknown: skip its value lines
                while True:
                    if self.li >= len(self.nl):
                        raise _Truncated("the file ends inside the frame header") if self.eof else _NeedMore
                    if self.buf.startswith(_ITEM, self.pos):
                        break
                    self._readline()
            line = self._readline()
            if not line.startswith(_ITEM):
                raise InputFormatError(f"expected an 'ITEM:' line in the frame header, found {_show(line)}",
                                       path=path, frame=k, line=self.line - 1)
        missing = [name for name, v in (("TIMESTEP", step), ("NUMBER OF ATOMS", n_atoms),
                                        ("BOX BOUNDS", box)) if v is None]
        if missing:
            raise InputFormatError(f"frame header lacks 'ITEM: {missing[0]}' before 'ITEM: ATOMS'",
                                   path=path, frame=k, line=first_line)
        if not columns:
            raise InputFormatError("'ITEM: ATOMS' names no columns", path=path, frame=k, line=self.line - 1)
        self.atoms_raw, self.box_raw, self.columns = atoms_raw, box_raw, columns
        return step, n_atoms, box, columns

    def _atoms(self, k, step, n_atoms, box, columns, first_line) -> _Frame:
        """Locate the atom lines of the frame whose header was just read.

        Never waits for more lines than the file holds before the next frame start, so a
        corrupted NUMBER OF ATOMS cannot make the reader swallow the rest of the file.
        """
        start = self.pos
        atoms_line = self.line
        last = self.li + n_atoms            # index in nl of the line after the atom lines
        if self.ref_atoms is not None and n_atoms != self.ref_atoms:
            nxt = self._next_frame_start(start)
            if nxt is None and not self.eof:
                self._need_more(start)
            stop = len(self.buf) if nxt is None else nxt
            found = self.buf.count(b"\n", start, stop)
            if found != n_atoms:
                raise InputFormatError(
                    f"NUMBER OF ATOMS is {n_atoms} (every other frame has {self.ref_atoms}), but {found} atom "
                    "lines follow: a corrupted frame header", path=self.path, frame=k, line=self.value_lines[1])
        if last > len(self.nl) or (last == len(self.nl) and not self.eof):
            nxt = self._next_frame_start(start)
            if nxt is not None:            # the next frame starts before n_atoms lines
                self._bad_atom_count(k, n_atoms, start, nxt + len(_ITEM), atoms_line)
            if not self.eof:
                self._need_more(start)
            raise _Truncated(f"the file ends after {len(self.nl) - self.li} of its {n_atoms} atom lines")
        end = int(self.nl[last - 1]) + 1 if n_atoms else start
        if end < len(self.buf) and not self.buf.startswith(self.first_key, end) \
                and not self._cut_header_follows(end):
            self._bad_atom_count(k, n_atoms, start, end, atoms_line)
        if end == len(self.buf) and self.eof and (self.no_final_newline or self.gzip_cut):
            raise _Truncated("the compressed stream ends early" if self.gzip_cut else
                             "the file does not end with a newline, so its last line may be cut")
        self.pos = end
        self.li = last
        self.line += n_atoms
        return _Frame(k, step, n_atoms, box[0], box[1], columns, start, end, first_line, atoms_line,
                      *self.value_lines)

    def _cut_header_follows(self, end: int) -> bool:
        """True if the file ends, after ``end``, with the start of a frame header cut short
        (``ITEM: TIMESTE``): the frame before it is complete, the next one truncated."""
        rest = self.buf[end:].rstrip()
        return self.eof and bool(rest) and b"\n" not in rest and self.first_key.startswith(rest)

    def _need_more(self, since: int) -> None:
        """Ask for more data, unless RESYNC_LIMIT_BYTES after ``since`` hold no frame start."""
        if len(self.buf) - since > max(RESYNC_LIMIT_BYTES, 4 * self.block_bytes):
            raise InputFormatError(
                f"no frame start ({_show(self.first_key)}) within {RESYNC_LIMIT_BYTES >> 20} MB: the file is "
                "corrupted from here on; the frames before this one are complete, so cut the file here to "
                "keep them", path=self.path, frame=self.frame_index, line=self.line)
        raise _NeedMore

    def _next_frame_start(self, after: int) -> int | None:
        """Offset in the buffer of the next line equal to the first header line, after ``after``."""
        key = b"\n" + (self.first_key or b"ITEM: TIMESTEP")
        i = self.buf.find(key, max(after, 1) - 1)
        while i >= 0:
            j = i + len(key)
            if j < len(self.buf) and self.buf[j:j + 1] in (b"\n", b"\r"):
                return i + 1
            if j >= len(self.buf) and self.eof:
                return i + 1
            i = self.buf.find(key, i + 1)
        return None

    def _skip_frame(self, frame_pos: int, frame_line: int) -> None:
        """Move past the corrupted frame starting at ``frame_pos`` to the next frame start."""
        nxt = self._next_frame_start(frame_pos + 1)
        if nxt is None:
            if not self.eof:
                self._need_more(frame_pos)
            nxt = len(self.buf)
        self.pos = nxt
        self.li = int(np.searchsorted(self.nl, nxt, side="left"))
        self.line = frame_line + self.buf.count(b"\n", frame_pos, nxt)

    def _bad_atom_count(self, k, n_atoms, start, end, atoms_line):
        """The line after the atom lines of frame ``k`` does not start the next frame: explain."""
        buf = self.buf
        item = buf.find(b"\n" + _ITEM, start - 1, end)
        if item >= 0:
            found = buf.count(b"\n", start, item + 1)
            nxt = buf[item + 1:buf.find(b"\n", item + 1)]
            raise InputFormatError(
                f"expected {n_atoms} atoms, found {found} before {_show(nxt)} (line {atoms_line + found}); "
                "the number of atom lines must equal NUMBER OF ATOMS (run ended with 'Lost atoms', or a "
                "corrupted file?)", path=self.path, frame=k, line=atoms_line)
        nxt_end = buf.find(b"\n", end)
        raise InputFormatError(
            f"expected {n_atoms} atoms (NUMBER OF ATOMS), but line {atoms_line + n_atoms} after them is "
            f"{_show(buf[end:nxt_end if nxt_end >= 0 else len(buf)])} instead of "
            f"{_show(self.first_key)}: more atom lines than declared, or a corrupted file",
            path=self.path, frame=k, line=atoms_line)

    def batches(self) -> Iterator[tuple[list[_Frame], bytes]]:
        batch: list[_Frame] = []
        size = 0
        try:
            self._fill()
            while not self.eof and (len(self.nl) == 0 or (not self.buf[:4096].strip() and not self.buf.strip())):
                self._fill()                            # no complete line, or only blank lines, yet
            if not self.buf[:4096].strip() and not self.buf.strip():
                self.buf, self.nl = b"", np.empty(0, dtype=np.int64)
            if self.eof and not self.buf:
                raise InputFormatError("the file is empty: no frames (did the run stop before the first dump?)",
                                       path=self.path)
            while True:
                if self.pos >= len(self.buf) and self.eof:
                    break
                pos, li, line = self.pos, self.li, self.line
                try:
                    fr = self._frame()
                except _NeedMore:
                    self.pos, self.li, self.line = pos, li, line
                    if batch:
                        yield batch, self.buf
                        batch, size = [], 0
                    self._fill()
                    continue
                except InputFormatError as exc:
                    if self.first_key is None or (self.frame_index == 0 and self.ref_atoms is None):
                        raise               # the first frame of a run must be readable
                    self.pos, self.li, self.line = pos, li, line
                    try:
                        self._skip_frame(pos, line)
                    except _NeedMore:
                        self.pos, self.li, self.line = pos, li, line
                        if batch:
                            yield batch, self.buf
                            batch, size = [], 0
                        self._fill()
                        continue
                    self.skipped.append((self.frame_index, exc.line or line, _reason(exc)))
                    self.frame_index += 1
                    continue
                except _Truncated as exc:
                    reason = exc.reason
                    if self.gzip_cut and "compressed" not in reason:
                        reason += "; the compressed stream ends early"
                    self.truncated = (self.frame_index, line, reason)
                    break
                self.frame_index += 1
                batch.append(fr)
                size += fr.end - fr.start
                if size >= self.batch_bytes:
                    yield batch, self.buf
                    batch, size = [], 0
            if batch:
                yield batch, self.buf
        finally:
            self.close()


# --------------------------------------------------------------------------- layout
@dataclass
class _Layout:
    """Which columns of ``ITEM: ATOMS`` hold what, and how to make unwrapped positions."""

    columns: tuple
    mode: str                     # "unwrapped", "image", "scaled_image", "scaled_unwrapped"
    pos: tuple                    # column indices of the 3 coordinates
    image: tuple | None
    vel: tuple | None
    force: tuple | None
    id: int
    use: tuple                    # sorted column indices parsed in the fast path
    string_cols: tuple            # columns that are not numbers (element)

    @classmethod
    def from_columns(cls, columns: tuple, path, frame, line) -> _Layout:
        where = dict(path=path, frame=frame, line=line)
        idx = {c: i for i, c in enumerate(columns)}
        dups = sorted({c for c in columns if columns.count(c) > 1})
        if dups:
            raise InputFormatError(f"column(s) {dups} appear twice in 'ITEM: ATOMS {' '.join(columns)}'", **where)
        if "id" not in idx:
            raise InputFormatError(
                f"no 'id' column in 'ITEM: ATOMS {' '.join(columns)}': atom ids are needed to follow atoms "
                "between frames; add 'id' to the dump columns (e.g. 'dump 1 all custom 100 dump.lammpstrj "
                "id type xu yu zu')", **where)

        def triple(names):
            present = [n for n in names if n in idx]
            if not present:
                return None
            if len(present) != 3:
                raise InputFormatError(
                    f"incomplete coordinate columns: found {' '.join(present)}, missing "
                    f"{' '.join(n for n in names if n not in idx)} in 'ITEM: ATOMS {' '.join(columns)}'", **where)
            return tuple(idx[n] for n in names)

        xu, xyz, xsu, xs = (triple(("xu", "yu", "zu")), triple(("x", "y", "z")),
                            triple(("xsu", "ysu", "zsu")), triple(("xs", "ys", "zs")))
        image = triple(("ix", "iy", "iz"))
        if xu is not None:
            mode, pos, image = "unwrapped", xu, None
        elif xyz is not None and image is not None:
            mode, pos = "image", xyz
        elif xsu is not None:
            mode, pos, image = "scaled_unwrapped", xsu, None
        elif xs is not None and image is not None:
            mode, pos = "scaled_image", xs
        elif xyz is not None or xs is not None:
            kind = "x y z" if xyz is not None else "xs ys zs"
            raise InputFormatError(
                f"the dump has wrapped coordinates ({kind}) without image flags (ix iy iz), so the "
                f"unwrapped positions needed for diffusion cannot be rebuilt; {_HOW_TO_UNWRAP}", **where)
        else:
            raise InputFormatError(
                f"no position columns in 'ITEM: ATOMS {' '.join(columns)}': expected xu yu zu (or x y z / "
                f"xs ys zs with ix iy iz, or xsu ysu zsu); {_HOW_TO_UNWRAP}", **where)
        vel = triple(("vx", "vy", "vz"))
        force = triple(("fx", "fy", "fz"))
        use = {idx["id"], *pos}
        for group in (image, vel, force):
            if group is not None:
                use.update(group)
        string_cols = tuple(i for i, c in enumerate(columns) if c == "element")
        return cls(columns, mode, pos, image, vel, force, idx["id"], tuple(sorted(use)), string_cols)


def _diagnose(path, frames: Sequence[_Frame], buf: bytes, layout: _Layout) -> None:
    """Find and raise the first bad atom line of ``frames`` (slow, line by line)."""
    ncols = len(layout.columns)
    numeric = [i for i in range(ncols) if i not in layout.string_cols]
    for fr in frames:
        lines = buf[fr.start:fr.end].split(b"\n")
        for j, raw in enumerate(lines[:fr.n_atoms]):
            where = dict(path=path, frame=fr.index, line=fr.atoms_line + j)
            fields = raw.split()
            if len(fields) != ncols:
                raise _BadAtomLines(
                    f"atom line has {len(fields)} fields, expected {ncols} for the columns "
                    f"'{' '.join(layout.columns)}': {_show(raw)} (file cut or written by two runs at once?)",
                    **where)
            for i in numeric:
                try:
                    value = float(fields[i])
                except ValueError:
                    raise _BadAtomLines(
                        f"cannot read {_show(fields[i])} in column '{layout.columns[i]}' as a number: "
                        f"{_show(raw)}", **where) from None
                if not math.isfinite(value):
                    raise InputFormatError(
                        f"non-finite value {_show(fields[i])} in column '{layout.columns[i]}' of atom "
                        f"{fields[layout.id].decode(errors='replace')}: the simulation blew up here (see the log "
                        "for 'Lost atoms' or huge forces); use only the frames before this one", **where)
    first = frames[0]
    raise _BadAtomLines("could not parse the atom lines of this block of frames", path=path,
                           frame=first.index, line=first.atoms_line)


def _parse_atoms(path, frames: Sequence[_Frame], buf: bytes, layout: _Layout) -> np.ndarray:
    """Values of the ``layout.use`` columns of the atom lines of ``frames`` as (lines, k) float64."""
    import pandas as pd

    if len(frames) == 1:
        data = buf[frames[0].start:frames[0].end]
    else:
        view = memoryview(buf)
        data = b"".join([view[f.start:f.end] for f in frames])
    n_lines = sum(f.n_atoms for f in frames)
    ncols = len(layout.columns)
    values = None
    # single-space separated lines (LAMMPS' default output) go through the faster sep=" " parser;
    # the count of spaces proves that no line has a missing, extra or padded field.
    trailing = data.endswith((b" \n", b" \r\n"))
    spaces = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 32))
    if spaces == n_lines * (ncols if trailing else ncols - 1):
        try:
            values = pd.read_csv(io.BytesIO(data), sep=" ", header=None, usecols=list(layout.use),
                                 dtype=np.float64, na_filter=False, skip_blank_lines=False,
                                 engine="c").to_numpy()
        except Exception:
            values = None
    if values is None:       # padded columns, or something wrong: whitespace-separated, all columns
        dtype = {i: (object if i in layout.string_cols else np.float64) for i in range(ncols)}
        try:
            table = pd.read_csv(io.BytesIO(data), sep=r"\s+", header=None, dtype=dtype, na_filter=False,
                                skip_blank_lines=False, engine="c")
        except Exception:
            _diagnose(path, frames, buf, layout)
        if table.shape[1] != ncols:
            _diagnose(path, frames, buf, layout)
        values = table.iloc[:, list(layout.use)].to_numpy(dtype=np.float64)
    if values.shape != (n_lines, len(layout.use)) or not np.isfinite(values).all():
        _diagnose(path, frames, buf, layout)
    return values


# --------------------------------------------------------------------------- reader
class LammpsDumpReader:
    """Stream the frames of one run written as one or several LAMMPS text dumps.

    Parameters
    ----------
    paths
        One path or a list of paths (restarts of one run, in order).  Files may be gzipped.
    timestep_ps
        MD timestep in ps, recorded in :meth:`info` (time = step × timestep).
    chunk_frames
        Frames per chunk of :meth:`iter_chunks`; default ~64 MB of positions.
    """

    name = "lammps-dump"
    joins_files = True
    #: Modules the parser imports on first use (loaded early by ``ingest`` while it hashes the inputs).
    preload_modules = ("pandas",)

    @classmethod
    def can_open(cls, path) -> bool:
        """A ``*.lammpstrj``/``*.dump``/``dump*`` name, or a first line starting with ``ITEM:``."""
        name = base_name(path)
        if name.endswith((".lammpstrj", ".dump")) or name.startswith("dump"):
            return True
        try:
            return _first_line(path).startswith("ITEM:")
        except (OSError, InputFormatError):
            return False

    @classmethod
    def from_files(cls, paths, *, timestep_ps: float | None = None, **options) -> LammpsDumpReader:
        unknown = set(options) - {"frame_interval_ps", "max_unwrap_fraction"}
        if unknown:
            raise InputFormatError(f"options {sorted(unknown)} do not apply to LAMMPS dumps", path=paths[0])
        return cls(paths, timestep_ps=timestep_ps)

    def __init__(self, paths, *, timestep_ps: float | None = None, chunk_frames: int | None = None):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [os.fspath(p) for p in paths]
        if not self.paths:
            raise InputFormatError("no dump files given")
        self.timestep_ps = timestep_ps
        self.chunk_frames = None if chunk_frames is None else max(1, int(chunk_frames))
        self._header: RunHeader | None = None
        self._layout: _Layout | None = None
        self._first_frame_bytes: int | None = None
        self._notes: list[str] = []
        self._sources: list[SourceFile] | None = None
        self.n_frames_read: int | None = None

    # ----------------------------------------------------------------- header
    def header(self) -> RunHeader:
        """Atom ids (sorted), types/elements and masses/charges from the first frame."""
        if self._header is None:
            self._read_header()
        return self._header

    def _read_header(self) -> None:
        import pandas as pd

        path = self.paths[0]
        scanner = _Scanner(path, block_bytes=min(BLOCK_BYTES, 1 << 20), batch_bytes=0)
        batches = scanner.batches()
        try:
            frames, buf = next(batches)
        except StopIteration:
            if scanner.truncated is not None:
                frame, line, reason = scanner.truncated
                raise InputFormatError(f"the first frame is incomplete ({reason}): no complete frame to read",
                                       path=path, frame=frame, line=line) from None
            raise InputFormatError("no frames found", path=path) from None
        finally:
            batches.close()
        fr = frames[0]
        layout = _Layout.from_columns(fr.columns, path, fr.index, fr.atoms_line - 1)
        if fr.n_atoms <= 0:
            raise InputFormatError(f"the first frame has {fr.n_atoms} atoms", path=path, frame=fr.index,
                                   line=fr.line)
        ncols = len(fr.columns)
        dtype = {i: (object if i in layout.string_cols else np.float64) for i in range(ncols)}
        try:
            table = pd.read_csv(io.BytesIO(memoryview(buf)[fr.start:fr.end]), sep=r"\s+", header=None,
                                dtype=dtype, na_filter=False, skip_blank_lines=False, engine="c")
        except Exception:
            table = None
        if table is None or table.shape != (fr.n_atoms, ncols):
            _diagnose(path, [fr], buf, layout)
        numeric = table.iloc[:, [i for i in range(ncols) if i not in layout.string_cols]].to_numpy(np.float64)
        if not np.isfinite(numeric).all():
            _diagnose(path, [fr], buf, layout)
        ids_f = table.iloc[:, layout.id].to_numpy(np.float64)
        ids = ids_f.astype(np.int64)
        if not np.array_equal(ids, ids_f):
            raise InputFormatError("atom ids must be integers", path=path, frame=fr.index, line=fr.atoms_line)
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        if ids.size > 1 and np.any(ids[1:] == ids[:-1]):
            dup = int(ids[1:][ids[1:] == ids[:-1]][0])
            raise InputFormatError(f"atom id {dup} appears more than once in the frame", path=path,
                                   frame=fr.index, line=fr.atoms_line)

        def column(name, kind):
            if name not in fr.columns:
                return None
            col = table.iloc[:, fr.columns.index(name)].to_numpy()[order]
            if kind == "int":
                return col.astype(np.float64).astype(np.int64)
            if kind == "str":
                return np.array([str(v) for v in col], dtype=str)
            return col.astype(np.float64)

        self._header = RunHeader(atom_id=ids, species=column("element", "str"),
                                 lammps_type=column("type", "int"), mass=column("mass", "float"),
                                 charge=column("q", "float"))
        self._layout = layout
        # bytes of the first frame (header + atom lines; it starts at offset 0 of the file)
        self._first_frame_bytes = fr.end

    # ----------------------------------------------------------------- info
    def info(self) -> RunInfo:
        """Provenance of the run; ``notes`` are complete after a full :meth:`iter_chunks` pass."""
        if self._sources is None:
            self._sources = [SourceFile.from_path(p, role="trajectory") for p in self.paths]
        return RunInfo(reader="lammps_dump", sources=list(self._sources), timestep_ps=self.timestep_ps,
                       notes=list(self._notes))

    def n_frames_estimate(self) -> int | None:
        """Approximate number of frames (from file sizes and the size of the first frame)."""
        try:
            self.header()
        except InputFormatError:
            return None
        per = self._first_frame_bytes or 0
        if per <= 0:
            return None
        total = 0
        for p in self.paths:
            kind = compression_of(p)
            if kind in ("bzip2", "xz"):
                return None                                      # no size in the container
            with open(p, "rb") as fh:
                if kind == "gzip":
                    fh.seek(-4, os.SEEK_END)
                    size = struct.unpack("<I", fh.read(4))[0]    # uncompressed size mod 2**32
                    csize = os.path.getsize(p)
                    while size < csize:                          # wrapped around 4 GiB
                        size += 1 << 32
                else:
                    size = os.path.getsize(p)
            total += size
        return max(1, int(round(total / per)))

    # ----------------------------------------------------------------- frames
    def _default_chunk_frames(self, n_atoms: int) -> int:
        if self.chunk_frames is not None:
            return self.chunk_frames
        return max(1, CHUNK_POSITION_BYTES // (24 * max(1, n_atoms)))

    def _cap(self, max_frames: int | None) -> int:
        """Frames per chunk of :meth:`iter_chunks` (``max_frames`` or the default)."""
        cap = int(max_frames) if max_frames else self._default_chunk_frames(self.header().n_atoms)
        est = self.n_frames_estimate()
        if est is not None:
            cap = max(1, min(cap, int(est * 1.02) + 2))
        return cap

    def first_chunk_frames(self) -> int:
        """Frames in the first chunk of ``iter_chunks()`` (default size), if the run has that many.

        The archive writer reads smaller chunks, to encode and compress them while the
        next ones are parsed, but decides how to store the run from this many first
        frames, as when it read the default chunks (:func:`uncertainty_gk.archive.write_run`).
        """
        return self._cap(None)

    def iter_chunks(self, max_frames: int | None = None) -> Iterator[FrameChunk]:
        """Yield blocks of consecutive frames (at most ``max_frames`` each)."""
        header = self.header()
        layout = self._layout
        n_atoms = header.n_atoms
        cap = self._cap(max_frames)
        ref_ids = header.atom_id.astype(np.float64)
        self._notes = []
        state = {"last_step": None, "n": 0}
        buf_arrays = None
        filled = 0

        def new_arrays():
            return {
                "positions": np.empty((cap, n_atoms, 3)),
                "cell": np.empty((cap, 3, 3)),
                "step": np.empty(cap, dtype=np.int64),
                "velocities": np.empty((cap, n_atoms, 3)) if layout.vel is not None else None,
                "forces": np.empty((cap, n_atoms, 3)) if layout.force is not None else None,
            }

        def make_chunk(arrays, n):
            def cut(a):
                if a is None:
                    return None
                # a view keeps the whole buffer alive: copy only when much of it is unused
                return a[:n] if n >= 0.75 * len(a) else a[:n].copy()
            return FrameChunk(positions=cut(arrays["positions"]), cell=cut(arrays["cell"]),
                              step=cut(arrays["step"]), velocities=cut(arrays["velocities"]),
                              forces=cut(arrays["forces"]))

        for path in self.paths:
            for part in self._iter_file(path, layout, ref_ids, state):
                m = len(part["step"])
                a = 0
                while a < m:
                    if buf_arrays is None:
                        buf_arrays, filled = new_arrays(), 0
                    take = min(m - a, cap - filled)
                    for key, arr in buf_arrays.items():
                        if arr is not None:
                            arr[filled:filled + take] = part[key][a:a + take]
                    filled += take
                    a += take
                    if filled == cap:
                        yield make_chunk(buf_arrays, filled)
                        buf_arrays = None
        if buf_arrays is not None and filled:
            yield make_chunk(buf_arrays, filled)
        self.n_frames_read = state["n"]

    def _iter_file(self, path, layout: _Layout, ref_ids: np.ndarray, state: dict) -> Iterator[dict]:
        """Parsed, deduplicated frames of one file, one dict of arrays per batch."""
        n_atoms = len(ref_ids)
        scanner = _Scanner(path, ref_atoms=n_atoms)
        dup_steps: list[int] = []
        last_in_file: tuple[int, int] | None = None      # (step, line)
        # batches are parsed in threads (the pandas tokenizer releases the lock), at most
        # PARSE_AHEAD batches ahead of the one delivered; parts come out in file order
        pending: deque = deque()
        pool = ThreadPoolExecutor(max_workers=max(1, min(PARSE_THREADS, os.cpu_count() or 1)),
                                  thread_name_prefix="ugk-parse")
        failure = None
        try:
            try:
                for frames, buf in scanner.batches():
                    keep, last_in_file = self._kept(path, frames, layout, n_atoms, state, dup_steps, last_in_file)
                    if keep:
                        pending.append((keep, buf, pool.submit(self._convert, path, keep, buf, layout, ref_ids)))
                        while len(pending) > PARSE_AHEAD:
                            yield from self._delivered(path, pending.popleft(), layout, ref_ids, scanner, state)
            except Exception as exc:
                failure = exc           # raised after the frames before it, delivered in order
            while pending:
                yield from self._delivered(path, pending.popleft(), layout, ref_ids, scanner, state)
            if failure is not None:
                raise failure
        finally:
            for *_, fut in pending:
                fut.cancel()
            pool.shutdown(wait=True)
        if scanner.skipped:
            scanner.skipped.sort()
            shown = "; ".join(f"frame {f} (line {ln}): {why}" for f, ln, why in scanner.skipped[:5])
            more = f"; and {len(scanner.skipped) - 5} more" if len(scanner.skipped) > 5 else ""
            msg = (f"{path}: skipped {len(scanner.skipped)} corrupted frame(s) and kept every other frame: "
                   f"{shown}{more}")
            warnings.warn(msg, SkippedFramesWarning, stacklevel=3)
            self._notes.append(f"skipped corrupted frame(s) {[f for f, _, _ in scanner.skipped]} of {path}")
        if scanner.truncated is not None:
            frame, line, reason = scanner.truncated
            msg = (f"{path} frame {frame} (line {line}): the last frame is incomplete ({reason}); "
                   f"dropped it and kept the {frame} complete frame(s) before it")
            warnings.warn(msg, TruncatedInputWarning, stacklevel=3)
            self._notes.append(f"dropped the incomplete last frame {frame} of {path} ({reason})")
        if dup_steps:
            shown = ", ".join(str(s) for s in dup_steps[:10]) + (", ..." if len(dup_steps) > 10 else "")
            msg = (f"{path}: removed {len(dup_steps)} frame(s) whose timestep was already read "
                   f"(restart overlap or repeated frame): steps {shown}")
            warnings.warn(msg, DuplicateFramesWarning, stacklevel=3)
            self._notes.append(msg)

    def _kept(self, path, frames, layout: _Layout, n_atoms: int, state: dict, dup_steps: list,
              last_in_file: tuple[int, int] | None) -> tuple[list, tuple[int, int] | None]:
        """The frames of one scanned batch to convert, and the (step, line) of its last frame:
        checked (atom count, columns, timesteps increasing within the file), frames whose
        timestep was already read left out."""
        keep = []
        for fr in frames:
            if fr.n_atoms != n_atoms:
                raise InputFormatError(
                    f"expected {n_atoms} atoms, found {fr.n_atoms} (NUMBER OF ATOMS changed; run ended with "
                    "'Lost atoms'?); every frame must hold the same atoms, so keep only the frames before "
                    "this one", path=path, frame=fr.index, line=fr.count_line)
            if fr.columns != layout.columns:
                raise InputFormatError(
                    f"the columns changed from '{' '.join(layout.columns)}' (first frame of "
                    f"{self.paths[0]}) to '{' '.join(fr.columns)}'; all frames must have the same columns",
                    path=path, frame=fr.index, line=fr.atoms_line - 1)
            if last_in_file is not None and fr.step < last_in_file[0]:
                raise InputFormatError(
                    f"timestep {fr.step} is smaller than the previous frame's timestep {last_in_file[0]} "
                    f"(line {last_in_file[1]}): timesteps must increase within a file. Were two runs "
                    "appended to one file? Split it at this frame and pass the parts as separate files "
                    "(overlapping frames are then removed)", path=path, frame=fr.index, line=fr.step_line)
            last_in_file = (fr.step, fr.step_line)
            if state["last_step"] is not None and fr.step <= state["last_step"]:
                dup_steps.append(fr.step)
                continue
            state["last_step"] = fr.step
            keep.append(fr)
        return keep, last_in_file

    def _delivered(self, path, item: tuple, layout: _Layout, ref_ids: np.ndarray, scanner, state: dict) -> Iterator[dict]:
        """The converted parts of one batch ``(frames, buf, future)``, in order.  A batch whose
        atom lines do not parse is converted again frame by frame: the bad frames are
        recorded as skipped and the others kept."""
        keep, buf, fut = item
        try:
            parts = [fut.result()]
        except _BadAtomLines:
            parts = []
            for fr in keep:
                try:
                    parts.append(self._convert(path, [fr], buf, layout, ref_ids))
                except _BadAtomLines as exc:
                    scanner.skipped.append((fr.index, exc.line or fr.line, _reason(exc)))
        for part in parts:
            yield part
            state["n"] += len(part["step"])

    def _convert(self, path, frames: list[_Frame], buf: bytes, layout: _Layout,
                 ref_ids: np.ndarray) -> dict:
        n_atoms = len(ref_ids)
        nf = len(frames)
        values = _parse_atoms(path, frames, buf, layout).reshape(nf, n_atoms, len(layout.use))
        col = {c: k for k, c in enumerate(layout.use)}
        ids = values[:, :, col[layout.id]]
        if not (ids == ref_ids).all():
            order = np.argsort(ids, axis=1, kind="stable")
            sorted_ids = np.take_along_axis(ids, order, axis=1)
            bad = ~(sorted_ids == ref_ids).all(axis=1)
            if bad.any():
                f = int(np.argmax(bad))
                got = sorted_ids[f]
                missing = np.setdiff1d(ref_ids, got)[:10].astype(np.int64).tolist()
                extra = np.setdiff1d(got, ref_ids)[:10].astype(np.int64).tolist()
                uniq, counts = np.unique(got, return_counts=True)
                repeated = uniq[counts > 1][:10].astype(np.int64).tolist()
                detail = "; ".join(s for s in (f"missing ids {missing}" if missing else "",
                                               f"new ids {extra}" if extra else "",
                                               f"repeated ids {repeated}" if repeated else "") if s)
                raise InputFormatError(
                    f"the atom ids differ from the first frame ({detail}); every frame must hold the same "
                    "atoms (atoms lost or inserted?)", path=path, frame=frames[f].index,
                    line=frames[f].atoms_line)
            values = np.take_along_axis(values, order[:, :, None], axis=1)
        cell = np.array([f.cell for f in frames], dtype=np.float64).reshape(nf, 3, 3)

        def triple(idx):
            k = [col[i] for i in idx]
            if k[1] == k[0] + 1 and k[2] == k[0] + 2:
                return values[:, :, k[0]:k[0] + 3]       # a view: adjacent columns
            return values[:, :, k]

        pos = triple(layout.pos)
        if layout.mode == "image":
            pos = pos + np.matmul(triple(layout.image), cell)
        elif layout.mode in ("scaled_image", "scaled_unwrapped"):
            if layout.mode == "scaled_image":
                pos = pos + triple(layout.image)
            origin = np.array([f.origin for f in frames], dtype=np.float64)
            pos = np.matmul(pos, cell) + origin[:, None, :]
        out = {"positions": pos, "cell": cell, "step": np.array([f.step for f in frames], dtype=np.int64),
               "velocities": None, "forces": None}
        if layout.vel is not None:
            out["velocities"] = triple(layout.vel)
        if layout.force is not None:
            out["forces"] = triple(layout.force)
        return out


def read_lammps_dump(paths, *, types: Mapping | None = None, timestep_ps: float | None = None,
                     frame_interval_ps: float | None = None, charges: Mapping | None = None,
                     masses: Mapping | None = None, mobile=("Li",), labels: Mapping | None = None):
    """Read LAMMPS dump file(s) of one run into a trajectory :class:`xarray.Dataset`.

    ``types`` maps LAMMPS atom types to elements (not needed with an ``element`` column);
    the time axis is step × ``timestep_ps`` (or frame index × ``frame_interval_ps``).
    """
    reader = LammpsDumpReader(paths, timestep_ps=timestep_ps)
    header = reader.header()
    chunks = list(reader.iter_chunks())
    info = reader.info()
    info.frame_interval_ps = frame_interval_ps
    return assemble_dataset(header, chunks, info, types=types, charges=charges, masses=masses,
                            mobile=mobile, labels=labels)
