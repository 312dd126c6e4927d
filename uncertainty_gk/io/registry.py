"""Trajectory readers as plug-ins: a protocol and a registry.

A reader is a class with

``name``
    the format name used in manifests (``format = "lammps-dump"``);
``can_open(path) -> bool`` (classmethod)
    True when the file (possibly compressed) looks like this format: from its name
    and, cheaply, its first lines.  Used when a manifest gives no ``format``;
``from_files(paths, *, timestep_ps=None, **options)`` (classmethod)
    the reader of one run made of ``paths`` (restarts in order; formats that cannot
    join files refuse more than one) with the manifest's reading options;

and instances with ``header() -> RunHeader``, ``iter_chunks(max_frames=None) ->
Iterator[FrameChunk]`` and ``info() -> RunInfo`` (see :mod:`uncertainty_gk.schema`).
Readers open files with :func:`uncertainty_gk.io.sniff.open_text` /
:func:`~uncertainty_gk.io.sniff.open_binary`, so every format reads gzip, bzip2 and
xz the same way.

Adding a format is one file::

    from uncertainty_gk.io import register_reader

    class MyReader:
        name = "my-format"

        @classmethod
        def can_open(cls, path):
            return str(path).endswith(".myfmt")

        @classmethod
        def from_files(cls, paths, *, timestep_ps=None, **options):
            return cls(paths[0], **options)

        def header(self): ...
        def iter_chunks(self, max_frames=None): ...
        def info(self): ...

    register_reader("my-format", MyReader)
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import InputFormatError

__all__ = ["TrajectoryReader", "register_reader", "get_reader", "reader_names", "find_reader",
           "sniff_format"]


@runtime_checkable
class TrajectoryReader(Protocol):
    """What the archive writer needs from a reader instance."""

    def header(self): ...

    def iter_chunks(self, max_frames: int | None = None): ...

    def info(self): ...


_READERS: dict[str, type] = {}
_BUILTIN_LOADED = False


def register_reader(name: str, cls: type, *, replace: bool = False) -> type:
    """Make ``cls`` the reader of format ``name`` (usable as ``format = name`` in manifests)."""
    for attr in ("can_open", "from_files", "header", "iter_chunks", "info"):
        if not callable(getattr(cls, attr, None)):
            raise TypeError(f"reader {cls!r} for {name!r} lacks {attr}() (see uncertainty_gk.io.registry)")
    if name in _READERS and _READERS[name] is not cls and not replace:
        raise ValueError(f"a reader for {name!r} is already registered ({_READERS[name].__name__}); "
                         "pass replace=True to replace it")
    _READERS[name] = cls
    return cls


def _load_builtin() -> None:
    global _BUILTIN_LOADED
    if _BUILTIN_LOADED:
        return
    _BUILTIN_LOADED = True
    from .extxyz import ExtxyzReader
    from .lammps_dump import LammpsDumpReader
    from .vasp import XdatcarReader

    for cls in (LammpsDumpReader, XdatcarReader, ExtxyzReader):
        _READERS.setdefault(cls.name, cls)


def reader_names() -> tuple[str, ...]:
    """Names of the registered formats."""
    _load_builtin()
    return tuple(_READERS)


def get_reader(name: str) -> type:
    """The reader class registered as ``name``."""
    _load_builtin()
    try:
        return _READERS[name]
    except KeyError:
        raise InputFormatError(f"unknown trajectory format {name!r}; known formats: "
                               f"{', '.join(_READERS)}") from None


def find_reader(path) -> type | None:
    """The first registered reader whose ``can_open`` accepts ``path``, or None."""
    _load_builtin()
    for cls in _READERS.values():
        if cls.can_open(Path(path)):
            return cls
    return None


def sniff_format(path) -> str | None:
    """The format name of ``path`` by sniffing (name, then first lines), or None."""
    cls = find_reader(path)
    return None if cls is None else cls.name


def base_name(path) -> str:
    """Lower-case file name without a compression suffix (``dump.lammpstrj.gz`` -> ``dump.lammpstrj``)."""
    name = Path(path).name.lower()
    for suffix in (".gz", ".bz2", ".xz"):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name
