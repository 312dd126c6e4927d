"""Opening possibly gzip-compressed files and peeking at their first bytes."""

from __future__ import annotations

import gzip
import io

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_binary(path):
    """Open ``path`` for binary reading, transparently decompressing gzip."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def open_text(path):
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace")


def first_line(path, max_bytes: int = 4096) -> str:
    """The first line of a (possibly gzipped) file, decoded leniently."""
    with open_binary(path) as fh:
        head = fh.read(max_bytes)
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
