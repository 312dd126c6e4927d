"""VASP XDATCAR trajectories (plain or gzip), fixed or variable cell.

Format (VASP 5)::

    title
    scale                      (negative: target volume in Å^3)
    a1 a2 a3                   lattice vector a (rows)
    b1 b2 b3
    c1 c2 c3
    Li P S Cl                  element line (absent in VASP 4 files)
    192 32 160 32              atom counts per element
    Direct configuration=     1
    x y z                      fractional coordinates, one line per atom
    ...
    Direct configuration=     2
    ...

In variable-cell (NPT, ``ISIF=3``) runs VASP repeats the seven header lines before every
configuration.  Coordinates are wrapped into the cell; they are unwrapped by minimum
image (:mod:`uncertainty_gk.io.unwrap`): for a variable cell the fractional coordinates
are unwrapped and every frame is converted with its own cell.

Time: an XDATCAR stores no time.  ``step`` is the configuration number of the
``Direct configuration= N`` line; the time of frame ``i`` (0-based, in file order) is
``i * frame_interval_ps``, with ``frame_interval_ps`` (POTIM × NBLOCK / 1000) given by
the user.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

from ..elements import is_element
from ..errors import InputFormatError, SkippedFramesWarning, TruncatedInputWarning
from ..schema import (FrameChunk, RunHeader, RunInfo, SourceFile, assemble_dataset, decimal_fractional_to_cartesian,
                      decimals_of)
from .registry import base_name
from .sniff import open_text, stream_was_cut
from .unwrap import fractional_to_cartesian, unwrap_fractional

__all__ = ["XdatcarReader", "read_xdatcar"]

_CONFIG = re.compile(r"^\s*(direct|cartesian)\b[^=\d]*=?\s*(\d+)?", re.IGNORECASE)


class _Truncated(Exception):
    """End of file inside a header or configuration."""


class _Lines:
    """Line iterator with line numbers and one line of push-back."""

    def __init__(self, fh):
        self._fh = fh
        self.lineno = 0
        self._pushed: tuple[int, str] | None = None
        self.last_newline = True     # the last line read from the file ended with a newline

    def next(self) -> tuple[int, str] | None:
        if self._pushed is not None:
            item, self._pushed = self._pushed, None
            self.lineno = item[0]
            return item
        line = self._fh.readline()
        if not line:
            return None
        self.lineno += 1
        self.last_newline = line.endswith(("\n", "\r"))
        return self.lineno, line.rstrip("\r\n")

    def push(self, item: tuple[int, str]) -> None:
        self._pushed = item
        self.lineno = item[0] - 1

    def at_eof(self) -> bool:
        item = self.next()
        if item is None:
            return True
        self.push(item)
        return False


def _symbol(tok: str) -> str:
    """Element of an XDATCAR/POTCAR name: ``Li``, ``Li_sv``, ``Li_sv/a1b2c3`` -> ``Li``."""
    return re.split(r"[_/.]", tok, maxsplit=1)[0]


def _floats(text: str, n: int, what: str, path, lineno: int) -> list[float]:
    toks = text.split()
    if len(toks) < n:
        raise InputFormatError(f"expected {n} numbers ({what}), found {text.strip()!r}", path=path, line=lineno)
    try:
        return [float(t) for t in toks[:n]]
    except ValueError:
        raise InputFormatError(f"expected {n} numbers ({what}), found {text.strip()!r}",
                               path=path, line=lineno) from None


class XdatcarReader:
    """Streaming reader of a VASP XDATCAR following the chunk protocol of :mod:`..schema`.

    Parameters
    ----------
    path
        XDATCAR file, plain or gzip.
    frame_interval_ps
        Time between written configurations in ps (POTIM × NBLOCK / 1000); required for
        :meth:`info` and :func:`read_xdatcar` because the file stores no time.
    max_unwrap_fraction
        Largest fractional displacement between frames accepted by the unwrapping.
    species
        Element symbols per group of the counts line, for VASP 4 files without an
        element line (or to override it).
    temperature_K
        Simulation temperature, recorded in the run information.
    """

    reader_name = "vasp-xdatcar"
    name = "xdatcar"

    @classmethod
    def can_open(cls, path) -> bool:
        """An ``XDATCAR`` in the name, or a header followed by a ``Direct configuration=`` line."""
        if "xdatcar" in base_name(path):
            return True
        try:
            with open_text(path) as fh:
                head = [fh.readline() for _ in range(9)]
        except (OSError, InputFormatError):
            return False
        return any(_CONFIG.match(h) and "configuration" in h.lower() for h in head[6:9])

    @classmethod
    def from_files(cls, paths, *, timestep_ps: float | None = None, **options) -> XdatcarReader:
        if len(paths) != 1:
            raise InputFormatError(f"an XDATCAR run is one file, got {len(paths)}", path=paths[0])
        return cls(paths[0], **options)

    def __init__(self, path, *, frame_interval_ps: float | None = None, max_unwrap_fraction: float = 0.25,
                 species: Sequence[str] | None = None, temperature_K: float | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise InputFormatError("file not found", path=self.path)
        if frame_interval_ps is not None and not (np.isfinite(frame_interval_ps) and frame_interval_ps > 0):
            raise InputFormatError(f"frame_interval_ps must be a positive number of ps, got {frame_interval_ps!r}",
                                   path=self.path)
        self.frame_interval_ps = None if frame_interval_ps is None else float(frame_interval_ps)
        self.max_unwrap_fraction = float(max_unwrap_fraction)
        self._species_override = None if species is None else [str(s) for s in species]
        self.temperature_K = temperature_K
        self._header: dict | None = None
        self.notes: list[str] = []
        self.variable_cell: bool | None = None
        self.n_frames_read: int | None = None

    # ------------------------------------------------------------------ header
    def _parse_header(self, rd: _Lines, *, first: bool) -> dict:
        path = self.path
        item = rd.next()
        if item is None:
            if first:
                raise InputFormatError("the file is empty; expected a VASP XDATCAR", path=path)
            raise _Truncated
        title_line, title = item
        lines = []
        for _ in range(6):
            item = rd.next()
            if item is None:
                if first:
                    raise InputFormatError("file ends inside the XDATCAR header (title, scale, 3 lattice "
                                           "vectors, elements, counts)", path=path, line=rd.lineno)
                raise _Truncated
            lines.append(item)
        (ls, scale_txt) = lines[0]
        try:
            scale = float(scale_txt.split()[0])
        except (ValueError, IndexError):
            raise InputFormatError(f"expected the scale factor (one number) after the title line "
                                   f"{title.strip()!r}, found {scale_txt.strip()!r}: not a VASP XDATCAR?",
                                   path=path, line=ls) from None
        lat = np.array([_floats(t, 3, f"lattice vector {'abc'[k]}", path, ln)
                        for k, (ln, t) in enumerate(lines[1:4])])
        if not (np.all(np.isfinite(lat)) and np.isfinite(scale)):
            raise InputFormatError(f"non-finite scale or lattice vectors (scale {scale_txt.strip()!r}, vectors "
                                   f"{lat.tolist()}): a corrupted header", path=path, line=ls)
        if scale < 0:
            vol = abs(np.linalg.det(lat))
            if vol <= 0:
                raise InputFormatError("degenerate lattice vectors (zero volume)", path=path, line=lines[1][0])
            lat = lat * (-scale / vol) ** (1.0 / 3.0)
        elif scale > 0:
            lat = lat * scale
        else:
            raise InputFormatError("scale factor is zero", path=path, line=ls)
        if abs(np.linalg.det(lat)) < 1e-8:
            raise InputFormatError(f"degenerate lattice vectors (zero volume): {lat.tolist()}", path=path,
                                   line=lines[1][0])
        el_line, el_txt = lines[4]
        toks = el_txt.split()
        counts_from_here = all(t.isdigit() for t in toks) and toks
        if counts_from_here:  # VASP 4: no element line
            symbols = None
            cnt_line, cnt_txt = el_line, el_txt
        else:
            symbols = [_symbol(t) for t in toks]
            cnt_line, cnt_txt = lines[5]
        try:
            counts = [int(t) for t in cnt_txt.split()]
        except ValueError:
            raise InputFormatError(f"expected integer atom counts per element, found {cnt_txt.strip()!r}",
                                   path=path, line=cnt_line) from None
        if not counts or any(c < 0 for c in counts) or sum(counts) == 0:
            raise InputFormatError(f"invalid atom counts {cnt_txt.strip()!r}", path=path, line=cnt_line)
        if self._species_override is not None:
            symbols = list(self._species_override)
        elif symbols is None:
            cand = [_symbol(re.sub(r"\d+", " ", t).strip() or t) for t in title.split()]
            if len(cand) == len(counts) and all(is_element(c) for c in cand):
                symbols = cand
            else:
                raise InputFormatError("VASP 4 XDATCAR without an element line; give species=[...] "
                                       "(elements in the order of the counts line)", path=path, line=el_line)
        if len(symbols) != len(counts):
            raise InputFormatError(f"{len(symbols)} element(s) {symbols} but {len(counts)} atom count(s) "
                                   f"{counts}", path=path, line=cnt_line)
        bad = [s for s in symbols if not is_element(s)]
        if bad:
            raise InputFormatError(f"element line {el_txt.strip()!r}: {bad} not chemical symbols",
                                   path=path, line=el_line)
        if counts_from_here:
            # the line we consumed as "counts" was line 6; the 7th line read belongs to the body
            rd.push(lines[5])
        return {"title": title, "title_line": title_line, "cell": lat, "symbols": symbols, "counts": counts}

    def _read_first_header(self) -> dict:
        if self._header is None:
            with open_text(self.path) as fh:
                rd = _Lines(fh)
                self._header = self._parse_header(rd, first=True)
        return self._header

    def header(self) -> RunHeader:
        """Atoms of the run: species from the element and counts lines, ``atom_id`` 1..N."""
        h = self._read_first_header()
        species = np.repeat(np.array(h["symbols"], dtype=str), h["counts"])
        return RunHeader(atom_id=np.arange(1, len(species) + 1, dtype=np.int64), species=species)

    def info(self) -> RunInfo:
        if self.frame_interval_ps is None:
            raise InputFormatError(
                "an XDATCAR stores no time: give frame_interval_ps, the time between written "
                "configurations in ps (POTIM [fs] x NBLOCK / 1000, e.g. 2 fs x 50 -> 0.1)", path=self.path)
        return RunInfo(reader=self.reader_name, sources=[SourceFile.from_path(self.path)], timestep_ps=None,
                       frame_interval_ps=self.frame_interval_ps, temperature_K=self.temperature_K,
                       units="metal", notes=self.notes, reader_times=True)

    # ------------------------------------------------------------------ frames
    def _iter_frames(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield (configuration number, cell (3,3), fractional coords (N,3)) per frame.

        A configuration is yielded only once the line after it shows that it is complete
        (the next ``Direct configuration=`` line, a cell header, or the end of a file that
        ends with a newline).  A corrupted configuration (a coordinate line that is not
        three numbers, too few or too many coordinate lines) is skipped up to the next
        ``Direct configuration=`` line, with a :class:`SkippedFramesWarning`.
        """
        path = self.path
        first = self._read_first_header()
        n_atoms = sum(first["counts"])
        self._skipped: list[tuple[int, int, str]] = []
        self._first_numbers: list[int] = []     # of the first two configurations (stride of the numbering)
        frame = 0                           # configurations met in the file (skipped ones included)
        n_good = 0
        pending = None
        with open_text(path) as fh:
            rd = _Lines(fh)
            hdr = self._parse_header(rd, first=True)
            cell = hdr["cell"]
            n_headers = 1
            while True:
                item = rd.next()
                if item is None:
                    break
                lineno, text = item
                if not text.strip():
                    if rd.at_eof():
                        break
                    self._skipped.append((frame, lineno, "blank line between configurations ignored"))
                    continue
                m = _CONFIG.match(text)
                if m is None:
                    toks = text.split()
                    if len(toks) >= 3 and all(_isfloat(t) for t in toks[:3]):
                        # more coordinate lines than atoms: the configuration before is not trustworthy
                        if pending is not None:
                            self._skipped.append((pending[3], lineno, f"configuration {pending[0]} has more "
                                                  f"coordinate lines than the {n_atoms} atoms of the header "
                                                  f"counts {first['counts']}"))
                            pending = None
                        continue
                    # variable-cell file: a header before each configuration
                    rd.push(item)
                    try:
                        hdr = self._parse_header(rd, first=False)
                    except _Truncated:
                        self._truncated(frame, rd.lineno, "inside a repeated cell header")
                        break
                    if hdr["counts"] != first["counts"] or hdr["symbols"] != first["symbols"]:
                        raise InputFormatError(
                            f"atoms change: header at line {hdr['title_line']} has {hdr['symbols']} "
                            f"{hdr['counts']}, the first header {first['symbols']} {first['counts']}",
                            path=path, frame=frame, line=hdr["title_line"])
                    cell = hdr["cell"]
                    n_headers += 1
                    item = rd.next()
                    if item is None:
                        self._truncated(frame, rd.lineno, "after a repeated cell header")
                        break
                    lineno, text = item
                    m = _CONFIG.match(text)
                    if m is None:
                        raise InputFormatError(f"expected 'Direct configuration= N', found {text.strip()!r}",
                                               path=path, frame=frame, line=lineno)
                if pending is not None:
                    yield pending[:3]
                    n_good += 1
                    pending = None
                cartesian = m.group(1).lower() == "cartesian"
                config = int(m.group(2)) if m.group(2) else frame + 1
                if len(self._first_numbers) < 2:
                    self._first_numbers.append(config)
                block = []
                early = None
                for _ in range(n_atoms):
                    it = rd.next()
                    if it is None:
                        break
                    if _CONFIG.match(it[1]):
                        early = it
                        break
                    block.append(it)
                if early is not None:
                    self._skipped.append((frame, lineno, f"configuration {config} has {len(block)} coordinate "
                                          f"lines but the header counts {first['counts']} give {n_atoms} atoms"))
                    rd.push(early)
                    frame += 1
                    continue
                if len(block) < n_atoms:
                    self._truncated(frame, rd.lineno, f"configuration {config} has {len(block)} of "
                                    f"{n_atoms} coordinate lines")
                    break
                try:
                    coords = np.array([ln.split()[:3] for _, ln in block], dtype=np.float64)
                    ok = coords.shape == (n_atoms, 3) and all(len(ln.split()) == 3 for _, ln in block)
                except ValueError:
                    ok = False
                if not ok:
                    bad_ln, bad = next(((k, t) for k, t in block if not _coord_ok(t)), block[-1])
                    if bad_ln == block[-1][0] and rd.at_eof():
                        self._truncated(frame, bad_ln, f"last coordinate line {bad.strip()!r} is incomplete")
                        break
                    self._skipped.append((frame, bad_ln, f"configuration {config}: expected 3 fractional "
                                          f"coordinates, found {bad.strip()!r}"))
                    frame += 1
                    continue
                if not np.all(np.isfinite(coords)):
                    raise InputFormatError(f"configuration {config}: non-finite coordinates", path=path,
                                           frame=frame, line=block[0][0])
                if cartesian:
                    coords = coords @ np.linalg.inv(cell)
                pending = (config, cell, coords, frame, rd.last_newline)
                frame += 1
            cut = stream_was_cut(fh)
        if pending is not None and not pending[4]:
            why = "the file does not end with a newline, so its last number may be cut"
            self._truncated(pending[3], rd.lineno, why)
        elif pending is not None:
            yield pending[:3]
            n_good += 1
            if cut:
                warnings.warn(f"{path}: the compressed stream ends early after configuration {pending[0]}; the "
                              f"{n_good} complete configuration(s) before the cut are kept", TruncatedInputWarning,
                              stacklevel=3)
                self.notes.append("the compressed stream ends early")
        elif cut:
            self._truncated(frame, rd.lineno, "the compressed stream ends early")
        self.variable_cell = n_headers > 1
        self.n_frames_read = n_good
        if self._skipped:
            shown = "; ".join(f"frame {f} (line {ln}): {why}" for f, ln, why in self._skipped[:5])
            more = f"; and {len(self._skipped) - 5} more" if len(self._skipped) > 5 else ""
            warnings.warn(f"{path}: skipped {len(self._skipped)} corrupted configuration(s) or line(s) and kept "
                          f"every other configuration: {shown}{more}", SkippedFramesWarning, stacklevel=4)
            self.notes.append(f"skipped corrupted configuration(s) {sorted({f for f, _, _ in self._skipped})}")
        if n_good == 0:
            raise InputFormatError("no complete configuration in the file", path=path)
        if self.variable_cell:
            note = ("variable cell: fractional coordinates unwrapped, then each frame converted with its "
                    "own cell")
            if note not in self.notes:
                self.notes.append(note)

    def _truncated(self, frame: int, lineno: int, what: str) -> None:
        msg = (f"{self.path}: the file ends inside configuration {frame} (line {lineno}): {what}; "
               "the incomplete configuration is dropped")
        warnings.warn(msg, TruncatedInputWarning, stacklevel=4)
        self.notes.append(f"dropped incomplete last configuration (frame {frame})")

    def iter_chunks(self, max_frames: int | None = None) -> Iterator[FrameChunk]:
        """Frames as :class:`FrameChunk` of at most ``max_frames`` frames (all at once if None).

        Positions are unwrapped Cartesian (Å); ``step`` holds the configuration numbers and
        ``time_ps`` is ``frame index × frame_interval_ps`` (None without a frame interval).
        """
        if max_frames is not None and max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        state = None
        offset = 0
        buf_cfg, buf_cell, buf_frac = [], [], []

        numbering = _Numbering(self.path, self)

        def flush():
            nonlocal state, offset
            frac = np.stack(buf_frac)
            cells = np.stack(buf_cell)
            unw, state = unwrap_fractional(frac, cells, max_fraction=self.max_unwrap_fraction,
                                           source=str(self.path), frame_offset=offset, previous=state,
                                           return_fractional=True)
            pos = _cartesian(frac, unw, cells)
            n = len(buf_cfg)
            index = numbering.frame_index(buf_cfg, offset)
            t = None if self.frame_interval_ps is None else index * self.frame_interval_ps
            chunk = FrameChunk(positions=pos, cell=cells, step=np.array(buf_cfg, dtype=np.int64), time_ps=t)
            offset += n
            buf_cfg.clear(), buf_cell.clear(), buf_frac.clear()
            return chunk

        for config, cell, frac in self._iter_frames():
            buf_cfg.append(config)
            buf_cell.append(cell)
            buf_frac.append(frac)
            if max_frames is not None and len(buf_cfg) >= max_frames:
                yield flush()
        if buf_cfg:
            yield flush()


def _cartesian(frac: np.ndarray, unw: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Cartesian positions of the unwrapped fractional coordinates.

    When the written coordinates have N decimals, the unwrapped ones are rebuilt exactly
    (the text's integer digits plus whole cell crossings) and converted with
    :func:`~uncertainty_gk.schema.decimal_fractional_to_cartesian`, so that the archive can
    store them losslessly as integers and give back the same numbers bit for bit.
    """
    n = decimals_of(frac)
    if n is None:
        return fractional_to_cartesian(unw, cells)
    scale = 10.0 ** n
    q = np.rint(frac * scale) + np.rint(unw - frac) * scale
    return decimal_fractional_to_cartesian(q, n, cells)


class _Numbering:
    """Frame times from the ``Direct configuration= N`` numbers.

    The numbers must increase by a constant stride (set by the first two); a repeated or
    backwards number is an error (two runs concatenated?), a larger gap (a configuration
    missing or skipped as corrupted) keeps its place on the time axis and is reported.
    """

    def __init__(self, path, reader):
        self.path = path
        self.reader = reader
        self.first: int | None = None
        self.prev: int | None = None
        self.stride: int | None = None
        self.gaps: list[tuple[int, int]] = []

    def frame_index(self, configs: list[int], offset: int) -> np.ndarray:
        out = np.empty(len(configs))
        for i, c in enumerate(configs):
            if self.first is None:
                self.first = c
            elif self.prev is not None:
                d = c - self.prev
                if d <= 0:
                    raise InputFormatError(
                        f"configuration number {c} follows {self.prev}: configuration numbers must increase "
                        "(a repeated or out-of-order configuration; were two runs concatenated? split the file "
                        "and ingest the parts as separate runs)", path=self.path, frame=offset + i)
                if self.stride is None:
                    first_two = getattr(self.reader, "_first_numbers", [])
                    hint = first_two[1] - first_two[0] if len(first_two) == 2 else d
                    self.stride = hint if 0 < hint <= d else d
                if d % self.stride:
                    raise InputFormatError(
                        f"configuration number {c} follows {self.prev}, but the configurations are numbered in "
                        f"steps of {self.stride}: the numbering is corrupted", path=self.path, frame=offset + i)
                elif d > self.stride:
                    self.gaps.append((self.prev, c))
                    warnings.warn(f"{self.path} frame {offset + i}: configuration {c} follows {self.prev}; "
                                  f"{d // self.stride - 1} configuration(s) missing: the time axis keeps the gap",
                                  SkippedFramesWarning, stacklevel=5)
            self.prev = c
            out[i] = 0.0 if self.stride is None else (c - self.first) / self.stride
        return out


def _isfloat(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def _coord_ok(text: str) -> bool:
    toks = text.split()
    return len(toks) == 3 and all(_isfloat(t) for t in toks)


def read_xdatcar(path, *, frame_interval_ps: float | None = None, charges: Mapping | None = None,
                 masses: Mapping | None = None, mobile: Sequence[str] = ("Li",), labels: Mapping | None = None,
                 temperature_K: float | None = None, run_name: str = "", max_unwrap_fraction: float = 0.25,
                 species: Sequence[str] | None = None) -> xr.Dataset:
    """Read a VASP XDATCAR into a trajectory Dataset (see :mod:`uncertainty_gk.schema`).

    ``frame_interval_ps`` (time between configurations) is required.  ``charges`` and
    ``masses`` override the per-element defaults; ``mobile`` lists the diffusing species.
    """
    reader = XdatcarReader(path, frame_interval_ps=frame_interval_ps, max_unwrap_fraction=max_unwrap_fraction,
                           species=species, temperature_K=temperature_K)
    info = reader.info()
    return assemble_dataset(reader.header(), reader.iter_chunks(), info, charges=charges, masses=masses,
                            mobile=mobile, labels=labels, run_name=run_name or Path(path).name)
