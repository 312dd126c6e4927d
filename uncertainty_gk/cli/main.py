"""The ``ugk`` parser and entry point: one-line errors for bad input, tracebacks for bugs."""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import warnings

from .. import progress
from ..errors import UGKError

__all__ = ["COMMAND_MODULES", "BUG_REPORT", "build_parser", "main", "run"]

#: Sub-command modules of this package, each with ``register(subparsers, common)``.
COMMAND_MODULES = ("commands", "compare", "arrhenius", "table", "plot", "report")

BUG_REPORT = ("this is a bug in uncertainty_gk, not a problem with your input; please report it with the "
              "command line and the traceback above")


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    p = argparse.ArgumentParser(prog="ugk", description="Trustworthy ionic conductivities from multi-seed MD "
                                "(σ, σ_tr, Haven ratio with calibrated intervals; MLIP failure flags).")
    p.add_argument("--version", action="version", version=f"uncertainty_gk {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars or per-run messages")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        importlib.import_module(f".{module}", __package__).register(sub, common)
    return p


class _OneLineWarnings:
    def __enter__(self):
        self._old = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            print(f"warning: {message}", file=sys.stderr)

        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        warnings.showwarning = self._old
        return False


def main(argv=None) -> int:
    if argv is None and len(sys.argv) == 2 and sys.argv[1] == "--version":
        from .._version import __version__   # answer without building the parser (which imports the estimators)

        print(f"uncertainty_gk {__version__}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    progress.QUIET = bool(getattr(args, "quiet", False))
    debug = bool(getattr(args, "debug", False))
    try:
        with _OneLineWarnings():
            return int(args.func(args) or 0)
    except (UGKError, OSError) as exc:
        if debug:
            raise
        msg = str(exc)
        if isinstance(exc, OSError) and not isinstance(exc, UGKError):
            msg = f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
        print(f"error: {msg.splitlines()[0] if msg else type(exc).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception:
        import traceback

        traceback.print_exc()
        print(f"internal error: {BUG_REPORT}", file=sys.stderr)
        return 70


#: Exit status of the command that :func:`run` ran (None while none has finished).
_EXIT_STATUS: int | None = None


def _exit_without_teardown() -> None:
    """The last exit handler (registered when this module is imported, before the
    commands import anything that registers its own): once :func:`run` has finished a
    command, end the process with its status instead of letting the interpreter tear
    itself down - a final garbage collection and the deallocation of every module's
    objects, about 0.2 s after ``ugk ingest`` (pandas, h5py, numpy loaded), which frees
    nothing an ending process needs.  By then the threads have been joined, every other
    exit handler has run (LIFO), and the outputs are closed (each is written
    atomically); standard output and error are flushed here."""
    if _EXIT_STATUS is None:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):      # a closed stream or a broken pipe: nothing more to say
            pass
    os._exit(_EXIT_STATUS)


atexit.register(_exit_without_teardown)


def run() -> None:
    """The ``ugk`` program (console script and ``python -m uncertainty_gk.cli``): :func:`main`,
    then exit with its status without the interpreter's teardown.  Code that calls
    :func:`main` itself (tests, scripts) exits as usual."""
    global _EXIT_STATUS
    status = main()
    _EXIT_STATUS = status
    sys.exit(status)


if __name__ == "__main__":
    run()
