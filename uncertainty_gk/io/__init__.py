"""Readers: one module per file format, each turning files into the trajectory Dataset.

Readers are plug-ins (:mod:`uncertainty_gk.io.registry`): ``register_reader(name, cls)``
makes a new format usable as ``format = name`` in manifests; every reader opens its files
through :mod:`uncertainty_gk.io.sniff` (plain, gzip, bzip2, xz).  See
:mod:`uncertainty_gk.schema` for the Dataset and the streaming chunk protocol, and
docs/formats.md for what each reader does with damaged files.
"""

from .registry import (TrajectoryReader, find_reader, get_reader, reader_names, register_reader,
                       sniff_format)

__all__ = ["TrajectoryReader", "register_reader", "get_reader", "reader_names", "find_reader", "sniff_format"]
