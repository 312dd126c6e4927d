"""Failure flags and the per-run diagnosis (status, first flagged time, trusted segment).

A :class:`Flag` records one check that fired: where (``time_ps`` of the first offending
frame or thermo row), by how much (``value`` against ``threshold``), a readable
``message`` and a ``severity`` (``"warning"`` or ``"failed"``).  Repeated firings of one
check on one subject (a species pair, a thermo column, ...) are collapsed into the first
occurrence plus a ``count`` and the ``last_time_ps``.  Checks that can tell where a
failure began before the evidence was complete (the energy change point, a temperature
excursion) report the alarm as ``time_ps`` and the estimated start as ``onset_ps``; the
run's first flagged time is the earliest start and the trusted segment ends a margin
before it.

:class:`RunDiagnosis` is what :func:`uncertainty_gk.diagnostics.diagnose` returns; its
:meth:`RunDiagnosis.to_dict` is the JSON form::

    {"labels": {"seed": 1}, "status": "failed", "first_flag_time_ps": 12.4,
     "trusted_until_ps": 11.4,
     "flags": [{"check": "min_distance", "time_ps": 12.4, "value": 0.61, "threshold": 1.05,
                "message": "...", "severity": "failed", "subject": "O-O", "count": 3,
                "last_time_ps": 13.0, "onset_ps": null}],
     "thresholds": {...}}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Flag", "RunDiagnosis", "collapse_flags", "SEVERITIES", "STATUSES"]

SEVERITIES = ("warning", "failed")
STATUSES = ("ok", "warning", "failed")


def _json_number(x):
    """Floats as JSON-safe values (NaN/inf -> None)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _json_safe(obj):
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    try:
        return _json_number(obj)
    except (TypeError, ValueError):
        return str(obj)


@dataclass
class Flag:
    """One failure signature found in a run.

    Parameters
    ----------
    check : str
        Name of the check (``min_distance``, ``temperature``, ``log_error``, ...).
    time_ps : float
        Simulation time (ps) of the first offending frame or thermo row.
    value, threshold : float
        What was measured and the limit it crossed (units in ``message``).
    message : str
        What happened, in words, with the numbers.
    severity : {"warning", "failed"}
        ``failed`` ends the trusted segment; ``warning`` does not.
    subject : str
        What the check looked at (species pair, thermo column, ...); flags are collapsed
        per (check, subject, severity).
    count : int
        Number of offending frames/rows (or collapsed occurrences).
    last_time_ps : float, optional
        Time of the last offending frame or row.
    onset_ps : float, optional
        Estimated start of the failure when it precedes the alarm (``time_ps``): the
        energy change point alarms only once the evidence is complete, while the change
        began earlier (its off-line hinge estimate); a temperature excursion began after
        the last row still within ``temperature_onset_sigma``.  The run's first flagged
        time is the earlier of the two; ``None`` when the flag time is the onset.
    """

    check: str
    time_ps: float
    value: float
    threshold: float
    message: str
    severity: str = "failed"
    subject: str = ""
    count: int = 1
    last_time_ps: float | None = None
    onset_ps: float | None = None

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"flag severity {self.severity!r} is not one of {SEVERITIES}")

    def to_dict(self) -> dict:
        return {"check": self.check, "time_ps": _json_number(self.time_ps), "value": _json_number(self.value),
                "threshold": _json_number(self.threshold), "message": self.message,
                "severity": self.severity, "subject": self.subject, "count": int(self.count),
                "last_time_ps": _json_number(self.last_time_ps), "onset_ps": _json_number(self.onset_ps)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Flag:
        nan = float("nan")
        return cls(check=d["check"], time_ps=nan if d.get("time_ps") is None else d["time_ps"],
                   value=nan if d.get("value") is None else d["value"],
                   threshold=nan if d.get("threshold") is None else d["threshold"], message=d.get("message", ""),
                   severity=d.get("severity", "failed"), subject=d.get("subject", ""),
                   count=int(d.get("count", 1)), last_time_ps=d.get("last_time_ps"), onset_ps=d.get("onset_ps"))

    @property
    def start_ps(self) -> float:
        """Earliest time the flag implicates: ``min(time_ps, onset_ps)`` (NaN-safe)."""
        times = [t for t in (self.time_ps, self.onset_ps) if t is not None and math.isfinite(t)]
        return min(times) if times else float("nan")


def _start_time(f: Flag) -> float:
    t = f.start_ps
    return t if math.isfinite(t) else math.inf


def _sort_time(f: Flag) -> float:
    return f.time_ps if math.isfinite(f.time_ps) else math.inf


def collapse_flags(flags: Iterable[Flag]) -> list[Flag]:
    """Merge flags of the same (check, subject, severity) into the earliest, summing counts.

    Returns the flags sorted by where they start (``start_ps``, then the alarm time;
    failures before warnings at equal times).
    """
    groups: dict[tuple, Flag] = {}
    for f in flags:
        key = (f.check, f.subject, f.severity)
        if key not in groups:
            groups[key] = Flag(**{**f.__dict__})
            continue
        g = groups[key]
        last = [t for t in (g.last_time_ps, f.last_time_ps, g.time_ps, f.time_ps)
                if t is not None and math.isfinite(t)]
        first, other = (f, g) if _sort_time(f) < _sort_time(g) else (g, f)
        onsets = [t for t in (f.onset_ps, g.onset_ps) if t is not None and math.isfinite(t)]
        groups[key] = Flag(check=first.check, time_ps=first.time_ps, value=first.value,
                           threshold=first.threshold, message=first.message, severity=first.severity,
                           subject=first.subject, count=first.count + other.count,
                           last_time_ps=max(last) if last else None, onset_ps=min(onsets) if onsets else None)
    return sorted(groups.values(), key=lambda f: (_start_time(f), _sort_time(f), f.severity != "failed", f.check))


@dataclass
class RunDiagnosis:
    """The verdict on one run.

    Attributes
    ----------
    labels : dict
        The run's labels (structure, model, seed, ...).
    status : {"ok", "warning", "failed"}
        ``failed`` if any flag is a failure, else ``warning`` if any flag, else ``ok``.
    first_flag_time_ps : float or None
        Where the run first went wrong, by the diagnostics' estimate: the earliest
        :attr:`Flag.start_ps` (``min(time_ps, onset_ps)``) of a failure-level flag; None
        when nothing failed.  For the energy change point this is its off-line onset
        estimate and for a temperature excursion the last row before it, while the flag's
        ``time_ps`` keeps the alarm (the first row at which the evidence was complete).
    trusted_until_ps : float
        End of the trusted segment: ``first_flag_time_ps - margin_ps`` clipped to the run
        start (then nothing is trusted), or the end of the run when nothing failed.
    flags : list of Flag
        Collapsed flags, earliest first.
    thresholds : dict
        Every threshold used (defaults included), the reference window, the subsampling
        and the checks skipped, so the verdict can be reproduced.
    run_start_ps, run_end_ps : float
        Time span of the trajectory.
    """

    labels: dict
    status: str
    first_flag_time_ps: float | None
    trusted_until_ps: float | None
    flags: list[Flag] = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)
    run_start_ps: float | None = None
    run_end_ps: float | None = None

    @classmethod
    def from_flags(cls, flags: Iterable[Flag], *, labels: Mapping, thresholds: Mapping, margin_ps: float,
                   run_start_ps: float, run_end_ps: float) -> RunDiagnosis:
        """Collapse flags and derive status, first failure time and the trusted segment."""
        flags = collapse_flags(flags)
        failed = [f for f in flags if f.severity == "failed"]
        if failed:
            starts = [f.start_ps for f in failed if math.isfinite(f.start_ps)]
            first = min(starts) if starts else run_start_ps
            status = "failed"
            trusted = max(run_start_ps, first - margin_ps)
        else:
            first = None
            status = "warning" if flags else "ok"
            trusted = run_end_ps
        return cls(labels=dict(labels), status=status, first_flag_time_ps=first, trusted_until_ps=trusted,
                   flags=flags, thresholds=dict(thresholds), run_start_ps=run_start_ps, run_end_ps=run_end_ps)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def flags_of(self, check: str) -> list[Flag]:
        return [f for f in self.flags if f.check == check]

    def add_flags(self, flags: Iterable[Flag], *, margin_ps: float | None = None) -> RunDiagnosis:
        """Add flags found later (e.g. the across-seed check); recompute status and trusted segment.

        ``margin_ps`` defaults to the one echoed in ``thresholds`` (else 1 ps).
        """
        margin = margin_ps if margin_ps is not None else float(self.thresholds.get("margin_ps", 1.0) or 1.0)
        new = RunDiagnosis.from_flags(list(self.flags) + list(flags), labels=self.labels, thresholds=self.thresholds,
                                      margin_ps=margin, run_start_ps=self.run_start_ps or 0.0,
                                      run_end_ps=self.run_end_ps if self.run_end_ps is not None else math.nan)
        self.status, self.first_flag_time_ps = new.status, new.first_flag_time_ps
        self.trusted_until_ps, self.flags = new.trusted_until_ps, new.flags
        return self

    def trusted(self, ds):
        """The trusted part of a trajectory Dataset: frames with time ≤ ``trusted_until_ps``."""
        if self.trusted_until_ps is None:
            return ds
        if self.status == "failed" and self.trusted_until_ps <= (self.run_start_ps or 0.0):
            return ds.isel(time=slice(0, 0))
        return ds.sel(time=slice(None, self.trusted_until_ps))

    def to_dict(self) -> dict:
        return {"labels": _json_safe(self.labels), "status": self.status,
                "first_flag_time_ps": _json_number(self.first_flag_time_ps),
                "trusted_until_ps": _json_number(self.trusted_until_ps),
                "flags": [f.to_dict() for f in self.flags], "thresholds": _json_safe(self.thresholds),
                "run_start_ps": _json_number(self.run_start_ps), "run_end_ps": _json_number(self.run_end_ps)}

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping) -> RunDiagnosis:
        return cls(labels=dict(d.get("labels", {})), status=d["status"],
                   first_flag_time_ps=d.get("first_flag_time_ps"), trusted_until_ps=d.get("trusted_until_ps"),
                   flags=[Flag.from_dict(f) for f in d.get("flags", [])], thresholds=dict(d.get("thresholds", {})),
                   run_start_ps=d.get("run_start_ps"), run_end_ps=d.get("run_end_ps"))

    def summary(self) -> str:
        """One line: status, first failure, trusted segment, flagged checks."""
        checks = ", ".join(sorted({f"{f.check}[{f.subject}]" if f.subject else f.check for f in self.flags}))
        first = "-" if self.first_flag_time_ps is None else f"{self.first_flag_time_ps:.4g} ps"
        return (f"{self.status}: first failure {first}, trusted until {self.trusted_until_ps:.4g} ps"
                + (f"; flags: {checks}" if checks else ""))
