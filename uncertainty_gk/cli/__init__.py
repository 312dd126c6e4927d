"""The ``ugk`` command line: the top floor.

This package is the only importer of :mod:`argparse` and the only place that builds an
:class:`~uncertainty_gk.settings.AnalysisSettings` from options (:mod:`.options`).  Every
sub-command parses, builds settings, calls the public API and prints; no physics or
statistics here.  Only :class:`~uncertainty_gk.errors.UGKError` and :class:`OSError`
become a one-line ``error: ...`` (exit 2); anything else is a bug and shows its
traceback with a request to report it.
"""

from .main import build_parser, main

__all__ = ["main", "build_parser"]
