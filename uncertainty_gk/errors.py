"""All error and warning classes of uncertainty_gk, in one place.

Messages follow one shape: *where* (file, frame or line), *what* was expected,
*what* was found, and *what to do*.  For example::

    dump.lammpstrj frame 1204 (line 360012): expected 297 atoms, found 295
    (run ended with 'Lost atoms'?)

The CLI prints ``error: <message>`` for any :class:`UGKError` and exits non-zero.
"""

from __future__ import annotations

__all__ = [
    "UGKError", "InputFormatError", "ManifestError", "SchemaError", "CampaignError", "OutputError", "AnalysisError",
    "UGKWarning", "TruncatedInputWarning", "SkippedFramesWarning", "DuplicateFramesWarning", "ConvergenceWarning", "AnalysisWarning",
    "LogEventWarning"
]


class UGKError(Exception):
    """Base class of every error raised for bad input or a failed analysis."""


class InputFormatError(UGKError, ValueError):
    """A file could not be parsed: malformed, truncated, or of the wrong format.

    Parameters
    ----------
    message
        What is wrong and what to do.
    path
        The offending file (included in the message).
    frame, line
        Zero-based frame index and one-based line number, when known.
    """

    def __init__(self, message: str, *, path=None, frame: int | None = None,
                 line: int | None = None):
        self.path = None if path is None else str(path)
        self.frame = frame
        self.line = line
        where = []
        if self.path is not None:
            where.append(self.path)
        if frame is not None:
            where.append(f"frame {frame}")
        if line is not None:
            where.append(f"line {line}" if frame is None else f"(line {line})")
        prefix = " ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ManifestError(UGKError, ValueError):
    """A campaign manifest (TOML) is invalid: unknown key, missing file, bad value."""


class SchemaError(UGKError, ValueError):
    """A Dataset does not follow the trajectory schema (see docs/schema.md)."""


class CampaignError(UGKError, ValueError):
    """Runs of one campaign or group are inconsistent (atoms, timesteps, volumes)."""


class OutputError(UGKError, OSError):
    """An output cannot be written: it would replace an input, or the disk is full."""


class AnalysisError(UGKError, RuntimeError):
    """An analysis cannot give a meaningful number (e.g. run too short for a fit window)."""


class UGKWarning(UserWarning):
    """Base class of uncertainty_gk warnings."""


class TruncatedInputWarning(UGKWarning):
    """The last frame of a file was incomplete and was dropped."""


class SkippedFramesWarning(UGKWarning):
    """Corrupted frames in the middle of a file were skipped; the frames around them were kept."""


class DuplicateFramesWarning(UGKWarning):
    """Frames with repeated timesteps (restarts) were removed."""


class ConvergenceWarning(UGKWarning):
    """A sampler or estimator did not converge (R-hat, ESS or block plateau)."""


class AnalysisWarning(UGKWarning):
    """An analysis gave a number that needs care (provisional window, left-out seed)."""


class LogEventWarning(UGKWarning):
    """A simulation log contains ERROR or WARNING lines."""
