"""Result objects: estimates with intervals, draws and Monte-Carlo errors, per group and
per seed, with everything they were computed from.

An :class:`AnalysisResult` is what ``ugk analyze`` computes and what every later
command reads: figures, tables, the report, comparisons and Arrhenius fits never
recompute an MSD or a fit.  A :class:`GroupResult` carries the settings (in the
provenance), the charges, temperature and its source, the window and **the lags
actually fitted per seed**, the MSD curves and the fitted line draws, per-seed values
with their convergence, and every reported number with its Monte-Carlo standard error.

Files:

* ``save_results(result, "results.nc")``: everything, including the joint posterior
  draws of every method (netCDF groups ``g{i}/{method}``, chain/draw dims, as arviz
  posteriors); :func:`load_results` reads it back exactly.
* ``result.to_json("results.json")``: the same without draws (a summary for people and
  scripts; it cannot feed ``compare`` or ``arrhenius``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .conductivity import QUANTITIES
from .errors import UGKError
from .fileio import json_default

__all__ = ["Estimate", "SeedResult", "GroupResult", "AnalysisResult", "save_results", "load_results",
           "QUANTITY_UNITS", "QUANTITY_NAMES", "ResultsFileError"]

#: Units of the reported quantities.
QUANTITY_UNITS = {"sigma": "S/cm", "sigma_tr": "S/cm", "haven_ratio": "1", "D_tr": "cm^2/s"}
QUANTITY_NAMES = {"sigma": "ionic conductivity σ", "sigma_tr": "tracer conductivity σ_tr",
                  "haven_ratio": "Haven ratio H_R = σ_tr/σ", "D_tr": "tracer diffusion coefficient D*"}

#: Format version of results files.
RESULTS_FORMAT = 2


class ResultsFileError(UGKError, ValueError):
    """A results file cannot be read (not written by ``ugk analyze``, damaged, or too old)."""


def _num(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _from_num(x) -> float:
    return float("nan") if x is None else float(x)


@dataclass
class Estimate:
    """A point estimate with a central credible/confidence interval.

    ``mcse`` gives the Monte-Carlo standard error of ``median``, ``lower`` and ``upper``
    (from the effective sample size of the draws); ``samples`` are the flattened draws.
    A quantity that is only bounded has ``median`` NaN and one infinite (or zero) bound.
    """

    median: float
    lower: float
    upper: float
    ci_prob: float
    units: str
    method: str
    samples: np.ndarray | None = field(default=None, repr=False)
    note: str = ""
    mcse: dict = field(default_factory=dict)
    regime: str = "diffusive"

    @classmethod
    def from_samples(cls, samples, *, ci_prob: float, units: str, method: str, point=None,
                     note: str = "", chains=None) -> Estimate:
        """Summary of draws: the median and the central ``ci_prob`` interval, with MCSEs.

        ``chains``: the same draws shaped (chain, draw) for the MCSE (default: one chain).
        """
        from .estimators.base import central_interval, quantile_mcse

        s = np.asarray(samples, dtype=float).reshape(-1)
        lo, med, hi = central_interval(s, ci_prob)
        c = np.asarray(chains if chains is not None else s[None, :], dtype=float)
        err = quantile_mcse(c, [0.5, (1 - ci_prob) / 2, (1 + ci_prob) / 2])
        return cls(float(med if point is None else point), lo, hi, ci_prob, units, method,
                   s[np.isfinite(s)], note, {"median": err[0], "lower": err[1], "upper": err[2]})

    def interval(self, prob: float) -> tuple[float, float]:
        """Another central interval from the samples (e.g. 0.68)."""
        from .estimators.base import central_interval

        if self.samples is None:
            raise ValueError("no samples stored for this estimate")
        lo, _, hi = central_interval(self.samples, prob)
        return lo, hi

    @property
    def resolved(self) -> bool:
        """False when only a bound is reported."""
        return bool(np.isfinite(self.median))

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper

    def to_dict(self) -> dict:
        """JSON form; a bound that does not exist (unresolved quantity) is ``null``."""
        d: dict[str, Any] = {"median": _num(self.median), "lower": _num(self.lower), "upper": _num(self.upper),
                             "ci_prob": self.ci_prob, "units": self.units, "method": self.method,
                             "regime": self.regime}
        if self.mcse:
            d["mcse"] = {k: _num(v) for k, v in self.mcse.items()}
        if self.note:
            d["note"] = self.note
        return d

    @classmethod
    def from_dict(cls, d: dict, samples=None) -> Estimate:
        lower = d.get("lower")
        upper = d.get("upper")
        return cls(median=_from_num(d.get("median")), lower=_from_num(lower) if lower is not None else -np.inf,
                   upper=_from_num(upper) if upper is not None else np.inf, ci_prob=float(d["ci_prob"]),
                   units=d["units"], method=d["method"], samples=samples, note=d.get("note", ""),
                   mcse={k: _from_num(v) for k, v in d.get("mcse", {}).items()},
                   regime=d.get("regime", "diffusive"))


@dataclass
class SeedResult:
    """One seed's own estimates (its fit alone), its consistency with its siblings, its convergence."""

    name: str
    labels: dict
    quantities: dict[str, Estimate]
    flagged: bool = False
    z_scores: dict = field(default_factory=dict)
    convergence: dict = field(default_factory=dict)
    fitted_lags_ps: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "labels": self.labels,
                "quantities": {k: v.to_dict() for k, v in self.quantities.items()},
                "heterogeneity_z": self.z_scores, "flagged_inconsistent": self.flagged,
                "convergence": self.convergence, "fitted_lags_ps": self.fitted_lags_ps}

    @classmethod
    def from_dict(cls, d: dict) -> SeedResult:
        return cls(name=d["name"], labels=d["labels"],
                   quantities={k: Estimate.from_dict(v) for k, v in d["quantities"].items()},
                   flagged=d.get("flagged_inconsistent", False), z_scores=d.get("heterogeneity_z", {}),
                   convergence=d.get("convergence", {}), fitted_lags_ps=d.get("fitted_lags_ps", []))


@dataclass
class GroupResult:
    """σ, σ_tr, H_R, D* of one group, and what they were computed from.

    Besides the estimates: ``key`` (the group key), ``window_ps`` (the window chosen or
    given) and ``fitted_lags_ps`` (per seed, the lags actually fitted),
    ``temperature_K``/``temperature_source``, ``charges`` (e, per species),
    ``species``, ``n_mobile``, ``volume_A3``, ``curves`` (per-seed MSDs on a thinned lag
    grid), ``lines`` (thinned joint draws of the fitted line parameters of the headline
    method), ``running`` (GLS estimates on growing windows, to see whether the answer
    moves with the window), ``draws`` (method -> name -> (chain, draw) arrays of every
    quantity and slope: the joint posterior).
    """

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
    key: str = ""
    fitted_lags_ps: dict = field(default_factory=dict)
    temperature_K: float = float("nan")
    temperature_source: str = ""
    charges: dict = field(default_factory=dict)
    species: str = ""
    n_mobile: int = 0
    volume_A3: float = float("nan")
    curves: dict = field(default_factory=dict)
    lines: dict = field(default_factory=dict)
    running: dict = field(default_factory=dict)
    draws: dict = field(default_factory=dict, repr=False)

    def to_inference_data(self, method: str | None = None):
        """The joint draws of one method (default: the headline) as an arviz InferenceData
        (posterior group, dims chain/draw; independent draws form one chain)."""
        import arviz as az

        m = method or self.method
        if m not in self.draws:
            raise KeyError(f"no draws of method {m!r}; available: {sorted(self.draws)}")
        return az.from_dict(posterior={k: np.asarray(v) for k, v in self.draws[m].items()})

    @property
    def provisional(self) -> bool:
        """True when the window is provisional (the MSD never became clearly linear)."""
        return any(e.regime != "diffusive" for e in self.quantities.values())

    @property
    def fitted_window_ps(self) -> list[float]:
        """[first, last] lag actually fitted over all seeds (NaN when nothing was fitted)."""
        lags = [x for v in self.fitted_lags_ps.values() for x in v]
        return [float(min(lags)), float(max(lags))] if lags else [float("nan"), float("nan")]

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "key": self.key, "labels": self.labels, "n_seeds": self.n_seeds, "window_ps": self.window_ps,
            "fitted_window_ps": self.fitted_window_ps, "fitted_lags_ps": self.fitted_lags_ps,
            "window_reason": self.window_reason, "method": self.method, "diffusion_detected": self.diffusion_detected,
            "temperature_K": self.temperature_K, "temperature_source": self.temperature_source,
            "charges": self.charges, "species": self.species, "n_mobile": self.n_mobile, "volume_A3": self.volume_A3,
            "quantities": {k: v.to_dict() for k, v in self.quantities.items()},
            "seeds": [s.to_dict() for s in self.seeds]}
        if self.by_method:
            d["methods"] = {m: {k: v.to_dict() for k, v in q.items()} for m, q in self.by_method.items()}
        for key in ("heterogeneity", "diagnostics", "baselines", "curves", "lines", "running"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.notes:
            d["notes"] = self.notes
        if self.run_status:
            d["runs"] = [{k: v for k, v in r.items() if k != "flags"} | {"n_flags": len(r.get("flags", []))}
                         for r in self.run_status]
            d["run_status"] = self.run_status
        return d

    @classmethod
    def from_dict(cls, d: dict, draws: dict | None = None) -> GroupResult:
        draws = draws or {}

        def est(m: str, k: str, v: dict) -> Estimate:
            arr = draws.get(m, {}).get(k)
            return Estimate.from_dict(v, None if arr is None else np.asarray(arr).reshape(-1))

        by_method = {m: {k: est(m, k, v) for k, v in q.items()} for m, q in d.get("methods", {}).items()}
        quantities = {k: est(d["method"], k, v) for k, v in d["quantities"].items()}
        return cls(labels=d["labels"], n_seeds=d["n_seeds"], window_ps=[_from_num(x) for x in d["window_ps"]],
                   method=d["method"], quantities=quantities, seeds=[SeedResult.from_dict(s) for s in d["seeds"]],
                   by_method=by_method, heterogeneity=d.get("heterogeneity", {}),
                   diagnostics=d.get("diagnostics", {}), baselines=d.get("baselines", {}), notes=d.get("notes", []),
                   window_reason=d.get("window_reason", ""), diffusion_detected=d.get("diffusion_detected", True),
                   run_status=d.get("run_status", []), key=d.get("key", ""),
                   fitted_lags_ps=d.get("fitted_lags_ps", {}), temperature_K=_from_num(d.get("temperature_K")),
                   temperature_source=d.get("temperature_source", ""), charges=d.get("charges", {}),
                   species=d.get("species", ""), n_mobile=d.get("n_mobile", 0),
                   volume_A3=_from_num(d.get("volume_A3")), curves=d.get("curves", {}), lines=d.get("lines", {}),
                   running=d.get("running", {}), draws=draws)


@dataclass
class AnalysisResult:
    """Every group of a campaign, with the provenance (settings, inputs and their hashes, version)."""

    groups: list[GroupResult]
    provenance: dict = field(default_factory=dict)

    @property
    def settings(self):
        """The :class:`~uncertainty_gk.settings.AnalysisSettings` this result was computed with."""
        from .settings import AnalysisSettings

        return AnalysisSettings.from_dict(self.provenance["settings"])

    def group(self, key_or_labels) -> GroupResult:
        """The group with this key (JSON of its labels) or these labels."""
        for g in self.groups:
            if g.key == key_or_labels or g.labels == key_or_labels:
                return g
        raise KeyError(key_or_labels)

    def to_dict(self) -> dict:
        return {"format": RESULTS_FORMAT, "groups": [g.to_dict() for g in self.groups], "provenance": self.provenance}

    def to_json(self, path) -> None:
        from .fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, default=json_default) + "\n")

    def to_dataset(self) -> xr.Dataset:
        """Estimates as a Dataset: ``estimate(group, quantity)``, ``interval(group, quantity, ci_bound)``."""
        quants = list(QUANTITIES)
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
            coords={"group": ("group", [g.key or json.dumps(g.labels, sort_keys=True) for g in self.groups],
                              {"long_name": "group labels (JSON)", "units": "1"}),
                    "quantity": ("quantity", quants, {"long_name": "quantity", "units": "1"}),
                    "quantity_units": ("quantity", [QUANTITY_UNITS[q] for q in quants],
                                       {"long_name": "units of each quantity", "units": "1"}),
                    "ci_bound": ("ci_bound", ["lower", "upper"], {"long_name": "interval bound", "units": "1"})},
            attrs={"provenance": json.dumps(self.provenance, default=json_default)})
        return ds

    @classmethod
    def from_dict(cls, d: dict, draws: list[dict] | None = None) -> AnalysisResult:
        draws = draws or [{} for _ in d["groups"]]
        return cls(groups=[GroupResult.from_dict(g, dr) for g, dr in zip(d["groups"], draws)],
                   provenance=d.get("provenance", {}))


# --------------------------------------------------------------------------- files
_DRAW_ATTRS = {"chain": "chain (MCMC walker, or 0 for independent draws)", "draw": "draw"}


def save_results(result: AnalysisResult, path, *, overwrite: bool = False) -> Path:
    """Write a result with all its draws to netCDF, atomically.

    Layout: the root holds :meth:`AnalysisResult.to_dataset` and the whole result as
    JSON (attribute ``result_json``); group ``g{i}/{method}`` holds that group's joint
    draws (dims ``chain``, ``draw``) of every quantity and slope.
    """
    from .fileio import atomic_output

    out = Path(path)
    if out.exists() and not overwrite:
        raise UGKError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    root = result.to_dataset()
    root.attrs["result_json"] = json.dumps(result.to_dict(), default=json_default)
    root.attrs["format"] = RESULTS_FORMAT
    with atomic_output(out) as tmp:
        root.to_netcdf(tmp, engine="h5netcdf", mode="w")
        for i, g in enumerate(result.groups):
            for m, d in g.draws.items():
                ds = xr.Dataset({k: (("chain", "draw"), np.asarray(v, dtype=np.float64),
                                     {"units": QUANTITY_UNITS.get(k, _SLOPE_UNITS.get(k, "1"))})
                                 for k, v in d.items()})
                ds.to_netcdf(tmp, engine="h5netcdf", mode="a", group=f"g{i}/{m}")
    return out


_SLOPE_UNITS = {"slope_tr": "Å^2/ps", "slope_P_per_volume": "e^2 Å^2/ps/Å^3", "intercept_tr": "Å^2",
                "intercept_P_per_volume": "e^2 Å^2/Å^3"}


def load_results(path) -> AnalysisResult:
    """Read a results file written by :func:`save_results` (``.nc``) or ``to_json`` (``.json``, no draws)."""
    p = Path(path)
    if not p.exists():
        raise ResultsFileError(f"{p}: no such results file")
    if p.suffix == ".json":
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResultsFileError(f"{p}: not a results JSON ({exc})") from None
        if "groups" not in d:
            raise ResultsFileError(f"{p}: not a results JSON written by `ugk analyze --json`")
        return AnalysisResult.from_dict(d)
    try:
        with xr.open_dataset(p, engine="h5netcdf") as root:
            raw = root.attrs.get("result_json")
        if raw is None:
            raise ResultsFileError(f"{p}: a netCDF file without an analysis result (is it a campaign archive? "
                                   "run `ugk analyze` on it first)")
        d = json.loads(raw)
        draws = []
        import h5py

        with h5py.File(p, "r") as f:
            names = {i: sorted(f[f"g{i}"].keys()) if f"g{i}" in f else [] for i in range(len(d["groups"]))}
        for i in range(len(d["groups"])):
            per: dict = {}
            for m in names[i]:
                with xr.open_dataset(p, engine="h5netcdf", group=f"g{i}/{m}") as ds:
                    per[m] = {k: np.asarray(ds[k].values) for k in ds.data_vars}
            draws.append(per)
    except (OSError, ValueError) as exc:
        raise ResultsFileError(f"{p}: cannot read results ({exc})") from None
    return AnalysisResult.from_dict(d, draws)


def is_results_file(path) -> bool:
    """True when ``path`` is a results file (``.json`` with groups, or ``.nc`` with ``result_json``)."""
    p = Path(path)
    if p.suffix == ".json":
        try:
            return "groups" in json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
    if p.suffix not in (".nc", ".h5", ".nc4"):
        return False
    try:
        import h5py

        with h5py.File(p, "r") as f:
            return "result_json" in f.attrs
    except OSError:
        return False
