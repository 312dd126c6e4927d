"""Side-by-side comparison of groups that differ in one label (e.g. the MLIP ``model``).

For every combination of the other labels (e.g. each temperature and structure), the
σ, σ_tr and H_R estimates of each value of ``by`` are listed together with the
posterior probability that one exceeds the other, ``P(q_A > q_B)``.  The groups are
independent simulations, so their posteriors are independent and

    P(q_A > q_B) = Σ_i Σ_j [a_i > b_j] / (n_A n_B)      (ties count one half)

over *all* pairs of posterior samples — computed exactly by sorting, with no random
pairing.  Probabilities are given only between *resolved* values from a diffusive
regime: a value that is only a bound (σ not resolved from zero, no diffusion detected)
or provisional (the MSD was not clearly linear in the fit window) is listed but never
turned into a probability, and each pair is listed once.  Runs that diagnostics flagged, truncated or dropped, and seeds that are
inconsistent with their siblings, are listed per group so a comparison is never read
without them.  Usage::

    from uncertainty_gk.compare import compare, format_comparison
    cmp = compare(result, by="model")          # result = analyse(campaign)
    print(format_comparison(cmp))
    cmp.to_csv("compare.csv"); cmp.to_json("compare.json")
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from .errors import AnalysisError
from .fileio import json_default

__all__ = [
    "QUANTITIES", "prob_greater", "ComparisonEntry", "ComparisonRow", "Comparison", "compare", "format_comparison"
]

#: Quantities compared, in table order.
QUANTITIES = ("sigma", "sigma_tr", "haven_ratio")
_SYMBOL = {"sigma": "σ", "sigma_tr": "σ_tr", "haven_ratio": "H_R"}


def prob_greater(a, b) -> float:
    """P(A > B) for independent A, B given by samples (exact over all pairs; ties count ½)."""
    a = np.asarray(a, dtype=float)
    b = np.sort(np.asarray(b, dtype=float)[np.isfinite(b)])
    a = a[np.isfinite(a)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    less = np.searchsorted(b, a, side="left")
    less_eq = np.searchsorted(b, a, side="right")
    return float(np.sum(less + 0.5 * (less_eq - less)) / (a.size * b.size))


@dataclass
class ComparisonEntry:
    """One value of ``by`` within one combination of the other labels."""

    value: object
    labels: dict
    n_seeds: int
    estimates: dict           # quantity -> Estimate
    runs_flagged: list = field(default_factory=list)
    runs_truncated: list = field(default_factory=list)
    runs_dropped: list = field(default_factory=list)
    seeds_inconsistent: list = field(default_factory=list)
    diffusion_detected: bool = True
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"value": self.value, "labels": self.labels, "n_seeds": self.n_seeds,
                "diffusion_detected": self.diffusion_detected,
                "quantities": {k: v.to_dict() for k, v in self.estimates.items()},
                "runs_flagged": self.runs_flagged, "runs_truncated": self.runs_truncated,
                "runs_dropped": self.runs_dropped, "seeds_inconsistent": self.seeds_inconsistent,
                "notes": self.notes}


@dataclass
class ComparisonRow:
    """All values of ``by`` for one combination of the other labels."""

    labels: dict
    entries: list[ComparisonEntry]
    #: {(quantity, value_a, value_b): P(q_a > q_b)}
    probabilities: dict

    def p(self, quantity: str, a, b) -> float | None:
        """P(quantity[a] > quantity[b]); None when either value is only a bound or provisional."""
        return _p(self.probabilities, quantity, a, b)

    def to_dict(self) -> dict:
        return {"labels": self.labels, "entries": [e.to_dict() for e in self.entries],
                "probabilities": [{"quantity": q, "a": a, "b": b, "P_a_greater_b": p}
                                  for (q, a, b), p in self.probabilities.items()]}


@dataclass
class Comparison:
    by: str
    rows: list[ComparisonRow]
    ci_prob: float

    def to_dict(self) -> dict:
        return {"by": self.by, "ci_prob": self.ci_prob,
                "method": "P(A > B) over all pairs of independent posterior samples",
                "rows": [r.to_dict() for r in self.rows]}

    def to_json(self, path) -> None:
        from .fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, default=json_default) + "\n")

    def csv_text(self) -> str:
        """One line per (labels, value of ``by``, quantity) with ``P(> value)`` columns."""
        label_keys = sorted({k for r in self.rows for k in r.labels})
        values = []
        for r in self.rows:
            for e in r.entries:
                if e.value not in values:
                    values.append(e.value)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(label_keys + [self.by, "quantity", "median", "lower", "upper", "ci_prob", "units", "n_seeds",
                                 "runs_flagged", "runs_truncated", "runs_dropped", "seeds_inconsistent"]
                   + [f"P(> {v})" for v in values])
        for r in self.rows:
            for e in r.entries:
                for q, est in e.estimates.items():
                    probs = ["" if v == e.value else _fmt_p(_p(r.probabilities, q, e.value, v)) for v in values]
                    w.writerow([r.labels.get(k, "") for k in label_keys]
                               + [e.value, q, repr(est.median), repr(est.lower), repr(est.upper), est.ci_prob,
                                  est.units, e.n_seeds, ";".join(e.runs_flagged), ";".join(e.runs_truncated),
                                  ";".join(e.runs_dropped), ";".join(map(str, e.seeds_inconsistent))] + probs)
        return buf.getvalue()

    def to_csv(self, path) -> None:
        from .fileio import atomic_write_text

        atomic_write_text(path, self.csv_text())


def _p(probs: dict, q, a, b):
    """P(q_a > q_b) from a table holding each pair once."""
    if (q, a, b) in probs:
        return probs[(q, a, b)]
    if (q, b, a) in probs:
        return 1.0 - probs[(q, b, a)]
    return None


def _fmt_p(p) -> str:
    return "" if p is None or not np.isfinite(p) else f"{p:.6g}"



def _matches(labels: dict, group_labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in group_labels.items()) and \
        set(labels) - {"seed"} == set(group_labels)


def _comparable(e) -> bool:
    """A value that may enter a probability: resolved, from a diffusive regime, with samples."""
    return e is not None and e.samples is not None and bool(np.isfinite(e.median)) and \
        getattr(e, "regime", "diffusive") == "diffusive"


def _bound_text(est) -> str:
    if np.isfinite(est.upper) and not np.isfinite(est.median):
        return f"{'< ' + format(est.upper, '.4g'):>11} {'(upper bound only)':>27}"
    return f"{'> ' + format(est.lower, '.4g'):>11} {'(lower bound only)':>27}"


def compare(result, by: str = "model", quantities=QUANTITIES) -> Comparison:
    """Compare the groups of an :class:`~uncertainty_gk.results.AnalysisResult` across label ``by``.

    Raises :class:`AnalysisError` when no group has the label or no combination of the
    other labels has two or more values of it.
    """
    groups = [g for g in result.groups if by in g.labels]
    if not groups:
        have = sorted({k for g in result.groups for k in g.labels})
        raise AnalysisError(f"compare: no group has the label {by!r}; labels present: {', '.join(have) or 'none'}")
    records = result.provenance.get("diagnostics", [])
    rows: dict[str, list] = {}
    for g in groups:
        rest = {k: v for k, v in g.labels.items() if k != by}
        rows.setdefault(json.dumps(rest, sort_keys=True, default=str), []).append(g)
    out, ci = [], None
    for key, members in rows.items():
        members = sorted(members, key=lambda g: str(g.labels[by]))
        entries = []
        for g in members:
            est = {q: g.quantities[q] for q in quantities if q in g.quantities}
            ci = ci or next((e.ci_prob for e in est.values()), None)
            status = g.run_status or []
            entry = ComparisonEntry(
                value=g.labels[by], labels=dict(g.labels), n_seeds=g.n_seeds, estimates=est,
                runs_flagged=[f"{r['run']} ({r['status']})" for r in status if r.get("status") in ("warning", "failed")],
                runs_truncated=[r["run"] for r in status if r.get("action") == "truncated"],
                runs_dropped=[r["run"] for r in records
                              if r.get("action") == "dropped" and _matches(r.get("labels", {}), g.labels)],
                seeds_inconsistent=[s.name for s in g.seeds if s.flagged],
                diffusion_detected=g.diffusion_detected, notes=list(g.notes))
            entries.append(entry)
        probs = {}
        for a, b in combinations(entries, 2):
            for q in quantities:
                ea, eb = a.estimates.get(q), b.estimates.get(q)
                if not (_comparable(ea) and _comparable(eb)):
                    continue
                probs[(q, a.value, b.value)] = prob_greater(ea.samples, eb.samples)
        out.append(ComparisonRow(labels=json.loads(key), entries=entries, probabilities=probs))
    if not any(len(r.entries) > 1 for r in out):
        raise AnalysisError(f"compare: every combination of the other labels has a single {by!r} value; "
                            "nothing to compare")
    return Comparison(by=by, rows=out, ci_prob=ci if ci is not None else float("nan"))


def format_comparison(cmp: Comparison) -> str:
    """A readable table: one block per combination of the other labels."""
    lines = []
    for r in cmp.rows:
        labels = ", ".join(f"{k}={v}" for k, v in r.labels.items()) or "(all runs)"
        lines.append(f"== {labels}   compared by: {cmp.by}")
        lines.append(f"   {cmp.by:<16} {'qty':<5} {'median':>11} {f'{cmp.ci_prob:.0%} interval':>27}  units  seeds")
        for e in r.entries:
            for q, est in e.estimates.items():
                mark = "  PROVISIONAL" if getattr(est, "regime", "diffusive") != "diffusive" else ""
                if not np.isfinite(est.median):
                    lines.append(f"   {str(e.value):<16} {_SYMBOL.get(q, q):<5} {_bound_text(est)}  "
                                 f"{est.units:<5}  {e.n_seeds}{mark}")
                    continue
                lines.append(f"   {str(e.value):<16} {_SYMBOL.get(q, q):<5} {est.median:11.4g} [{est.lower:11.4g}, "
                             f"{est.upper:11.4g}]  {est.units:<5}  {e.n_seeds}{mark}")
        for (q, a, b), p in r.probabilities.items():
            lines.append(f"   P({_SYMBOL.get(q, q)}[{a}] > {_SYMBOL.get(q, q)}[{b}]) = {p:.3f}")
        skipped = [f"{_SYMBOL.get(q, q)}" for q in dict.fromkeys(q for e in r.entries for q in e.estimates)
                   if sum(_comparable(e.estimates.get(q)) for e in r.entries) < len(r.entries)]
        if skipped and len(r.entries) > 1:
            lines.append(f"   (no probability for {', '.join(skipped)} where a value is only a bound or provisional)")
        for e in r.entries:
            if not e.diffusion_detected:
                lines.append(f"   !! {cmp.by}={e.value}: no long-range diffusion detected; values are upper bounds")
            for kind, runs in (("flagged by diagnostics", e.runs_flagged), ("truncated", e.runs_truncated),
                               ("dropped", e.runs_dropped), ("inconsistent with siblings", e.seeds_inconsistent)):
                if runs:
                    lines.append(f"   !! {cmp.by}={e.value}: runs {kind}: {', '.join(map(str, runs))}")
        lines.append("")
    return "\n".join(lines)
