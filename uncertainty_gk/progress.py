"""Progress bars that stay quiet when output is not a terminal or when asked to."""

from __future__ import annotations

import sys

__all__ = ["QUIET", "progress_enabled", "bar"]

#: Global switch set by the CLI's ``--quiet``.
QUIET = False


def progress_enabled(enabled: bool | None = None) -> bool:
    """``enabled`` if given, else: not quiet and stderr is a terminal."""
    if enabled is not None:
        return bool(enabled)
    return (not QUIET) and sys.stderr.isatty()


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def bar(total=None, desc: str = "", unit: str = "it", enabled: bool | None = None):
    """A tqdm bar on stderr, or a silent stand-in with the same methods."""
    if not progress_enabled(enabled):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)
