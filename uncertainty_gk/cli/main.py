"""The ``ugk`` parser and entry point: one-line errors for bad input, tracebacks for bugs."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .. import progress
from ..errors import UGKError

__all__ = ["COMMAND_MODULES", "BUG_REPORT", "build_parser", "main"]

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


if __name__ == "__main__":
    sys.exit(main())
