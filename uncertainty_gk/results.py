"""Result objects: estimates with intervals and samples, per group and per seed, with provenance.

``AnalysisResult.to_dict()`` gives the JSON of ``ugk analyze --json``; ``to_dataset()``
an xarray Dataset (dims ``group``, ``quantity``, ``ci_bound``) that round-trips through
netCDF.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from .fileio import json_default

#: Units of the reported quantities.
QUANTITY_UNITS = {"sigma": "S/cm", "sigma_tr": "S/cm", "haven_ratio": "1", "D_tr": "cm^2/s"}
QUANTITY_NAMES = {"sigma": "ionic conductivity σ", "sigma_tr": "tracer conductivity σ_tr",
                  "haven_ratio": "Haven ratio H_R = σ_tr/σ", "D_tr": "tracer diffusion coefficient D*"}


@dataclass
class Estimate:
    """A point estimate with a central credible/confidence interval."""

    median: float
    lower: float
    upper: float
    ci_prob: float
    units: str
    method: str
    samples: np.ndarray | None = field(default=None, repr=False)
    note: str = ""

    @classmethod
    def from_samples(cls, samples, *, ci_prob: float, units: str, method: str, point=None,
                     note: str = "") -> Estimate:
        s = np.asarray(samples, dtype=float)
        s = s[np.isfinite(s)]
        lo, med, hi = np.quantile(s, [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2])
        return cls(float(med if point is None else point), float(lo), float(hi), ci_prob, units, method,
                   s, note)

    def interval(self, prob: float) -> tuple[float, float]:
        """Another central interval from the samples (e.g. 0.68)."""
        if self.samples is None:
            raise ValueError("no samples stored for this estimate")
        lo, hi = np.quantile(self.samples, [(1 - prob) / 2, (1 + prob) / 2])
        return float(lo), float(hi)

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def to_dict(self) -> dict:
        """JSON form; a bound that does not exist (unresolved quantity) is ``null``."""
        def num(x):
            return float(x) if np.isfinite(x) else None

        d = {"median": num(self.median), "lower": num(self.lower), "upper": num(self.upper),
             "ci_prob": self.ci_prob, "units": self.units, "method": self.method}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class SeedResult:
    name: str
    labels: dict
    quantities: dict[str, Estimate]
    flagged: bool = False
    z_scores: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "labels": self.labels,
                "quantities": {k: v.to_dict() for k, v in self.quantities.items()},
                "heterogeneity_z": self.z_scores, "flagged_inconsistent": self.flagged}


@dataclass
class GroupResult:
    labels: dict
    n_seeds: int
    window_ps: list[float]
    method: str
    quantities: dict[str, Estimate]
    seeds: list[SeedResult] = field(default_factory=list)
    by_method: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    heterogeneity: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    window_reason: str = ""
    diffusion_detected: bool = True
    run_status: list = field(default_factory=list)
    idata: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = {"labels": self.labels, "n_seeds": self.n_seeds, "window_ps": self.window_ps,
             "window_reason": self.window_reason, "method": self.method,
             "diffusion_detected": self.diffusion_detected,
             "quantities": {k: v.to_dict() for k, v in self.quantities.items()},
             "seeds": [s.to_dict() for s in self.seeds]}
        if self.by_method:
            d["methods"] = {m: {k: v.to_dict() for k, v in q.items()} for m, q in self.by_method.items()}
        for key in ("heterogeneity", "diagnostics", "baselines"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.notes:
            d["notes"] = self.notes
        if self.run_status:
            d["runs"] = [{k: v for k, v in r.items() if k != "flags"} | {"n_flags": len(r.get("flags", []))}
                         for r in self.run_status]
        return d


@dataclass
class AnalysisResult:
    groups: list[GroupResult]
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"groups": [g.to_dict() for g in self.groups], "provenance": self.provenance}

    def to_json(self, path) -> None:
        from .fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, default=json_default) + "\n")

    def to_dataset(self) -> xr.Dataset:
        """Estimates as a Dataset: ``estimate(group, quantity)``, ``interval(group, quantity, ci_bound)``."""
        quants = list(QUANTITY_UNITS)
        n = len(self.groups)
        est = np.full((n, len(quants)), np.nan)
        ci = np.full((n, len(quants), 2), np.nan)
        prob = np.full((n, len(quants)), np.nan)
        for i, g in enumerate(self.groups):
            for j, q in enumerate(quants):
                if q in g.quantities:
                    e = g.quantities[q]
                    est[i, j], ci[i, j] = e.median, (e.lower, e.upper)
                    prob[i, j] = e.ci_prob
        ds = xr.Dataset(
            {"estimate": (("group", "quantity"), est, {"long_name": "point estimate (posterior median)",
                                                      "units": "see quantity_units"}),
             "interval": (("group", "quantity", "ci_bound"), ci, {"long_name": "central credible interval",
                                                                  "units": "see quantity_units"}),
             "ci_prob": (("group", "quantity"), prob, {"long_name": "interval probability", "units": "1"})},
            coords={"group": ("group", [json.dumps(g.labels, sort_keys=True) for g in self.groups],
                              {"long_name": "group labels (JSON)", "units": "1"}),
                    "quantity": ("quantity", quants, {"long_name": "quantity", "units": "1"}),
                    "quantity_units": ("quantity", [QUANTITY_UNITS[q] for q in quants],
                                       {"long_name": "units of each quantity", "units": "1"}),
                    "ci_bound": ("ci_bound", ["lower", "upper"], {"long_name": "interval bound", "units": "1"})},
            attrs={"provenance": json.dumps(self.provenance, default=json_default)})
        return ds

