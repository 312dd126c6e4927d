"""The one opener of input files: plain, gzip, bzip2 or xz, recognised by their magic bytes.

Every reader opens its files through :func:`open_binary` or :func:`open_text`, so that
all formats accept the same compressions and behave the same way when a compressed
file was cut short (a copy interrupted, a disk filled up): the data decompressed up to
the cut is returned, then the stream ends and its ``cut`` attribute is True.  A reader
then treats the end like the end of a truncated plain file (complete frames are kept
with a :class:`~uncertainty_gk.errors.TruncatedInputWarning`), instead of failing with
``EOFError`` and losing everything.

Corrupted compressed data (a flipped byte) raises
:class:`~uncertainty_gk.errors.InputFormatError` naming the file and the byte offset
in the uncompressed stream where reading stopped.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib

from ..errors import InputFormatError
from ..fileio import note_input

__all__ = ["GZIP_MAGIC", "compression_of", "is_gzip", "open_binary", "open_text", "first_line",
           "stream_was_cut", "DecompressedStream"]

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"

#: Compressed bytes read from disk at a time.
IN_BYTES = 1 << 20


def compression_of(path) -> str | None:
    """``"gzip"``, ``"bzip2"``, ``"xz"`` or None (plain), from the first bytes of the file."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except FileNotFoundError:
        raise InputFormatError("file not found", path=path) from None
    except IsADirectoryError:
        raise InputFormatError("is a directory, expected a file", path=path) from None
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic.startswith(BZIP2_MAGIC) and len(magic) >= 4 and magic[3:4].isdigit():
        return "bzip2"
    if magic.startswith(XZ_MAGIC):
        return "xz"
    return None


def is_gzip(path) -> bool:
    return compression_of(path) == "gzip"


def _decompressor(kind: str):
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


class DecompressedStream(io.RawIOBase):
    """A read-only raw stream of the decompressed bytes of a gzip/bzip2/xz file.

    Multi-member (concatenated) files are read completely.  At a premature end of the
    compressed data the stream ends and :attr:`cut` is True (nothing decompressed is
    lost); corrupted data raises :class:`InputFormatError`.
    """

    def __init__(self, path, kind: str):
        super().__init__()
        self.path = str(path)
        self.kind = kind
        self._fh = open(path, "rb")
        self._d = _decompressor(kind)
        self._inbuf = b""
        self._out = b""
        self._started = False
        self._eof = False
        self.cut = False
        self.n_out = 0

    def readable(self) -> bool:
        return True

    def _more(self, want: int) -> bytes:
        while True:
            buffered = (self.kind != "gzip" and self._started and not self._d.eof
                        and not self._d.needs_input)
            if buffered:
                data = b""                        # the decompressor holds output: ask for it
            else:
                if not self._inbuf:
                    self._inbuf = self._fh.read(IN_BYTES)
                    if not self._inbuf:
                        self.cut = self._started
                        self._eof = True
                        return b""
                data = self._inbuf
            try:
                piece = self._d.decompress(data, want)
            except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                raise InputFormatError(
                    f"corrupted {self.kind} data after {self.n_out} decompressed bytes ({exc}); the "
                    "file is damaged: restore it from a backup, or decompress what can be read "
                    "with the command-line tool and read that", path=self.path) from None
            done = self._d.eof
            if self.kind == "gzip":
                rest = self._d.unused_data if done else self._d.unconsumed_tail
            else:
                rest = self._d.unused_data if done else (self._inbuf if buffered else b"")
            self._started = True
            self._inbuf = rest
            if done:
                self._started = False
                if rest.strip(b"\x00"):
                    self._d = _decompressor(self.kind)     # another member follows
                else:
                    self._inbuf = b""
            if piece:
                return piece

    def readinto(self, b) -> int:
        if self._eof and not self._out:
            return 0
        n = len(b)
        if not self._out:
            self._out = self._more(n)
        k = min(n, len(self._out))
        b[:k] = self._out[:k]
        self._out = self._out[k:]
        self.n_out += k
        return k

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


def open_binary(path, *, buffer_bytes: int = 1 << 20):
    """Open ``path`` for binary reading, decompressing gzip, bzip2 or xz (by content).

    The returned object has ``read``/``readline``; :func:`stream_was_cut` tells after
    reading whether a compressed stream ended early.
    """
    kind = compression_of(path)
    note_input(path)
    if kind is None:
        return open(path, "rb")
    return io.BufferedReader(DecompressedStream(path, kind), buffer_size=buffer_bytes)


def open_text(path):
    """Open ``path`` as UTF-8 text (undecodable bytes replaced), decompressing as needed."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline="")


def stream_was_cut(fh) -> bool:
    """True if ``fh`` (from :func:`open_binary`/:func:`open_text`) is a compressed stream cut short."""
    raw = fh
    for attr in ("buffer", "raw"):
        raw = getattr(raw, attr, raw)
    raw = getattr(raw, "raw", raw)
    return bool(getattr(raw, "cut", False))


def first_line(path, max_bytes: int = 4096) -> str:
    """The first line of a (possibly compressed) file, decoded leniently."""
    with open_binary(path) as fh:
        head = fh.read(max_bytes)
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
