"""The temperature of a run: one rule, used by every part of the package.

A run can state its temperature in three places:

1. the manifest option ``temperature_K`` (stored as the Dataset attribute
   ``temperature_K``; also set by readers that know it),
2. the label ``temperature_K`` (or ``T``) used to group and order runs,
3. the thermostat's measured temperature, the ``Temp`` column of the production
   thermo block of its log.

**Rule.**  The declared temperature is (1) if present, else (2).  When both (1) and
(2) are given they must agree to within ``label_tolerance_K`` (default 0.5 K);
otherwise :class:`~uncertainty_gk.errors.CampaignError` names both values and their
sources.  When a log is present, the median of its production ``Temp`` column must be
within ``log_rtol`` (default 10 %) of the declared value (a wrong manifest, or a run
at another temperature); the median is used because a run whose potential failed
can heat up at its end, which is the diagnostics' business, not this check's.  σ,
σ_tr, the Arrhenius fit and the temperature diagnostics all use this value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .errors import CampaignError
from .schema import labels_of

__all__ = ["ResolvedTemperature", "resolve_temperature", "declared_temperature", "LABEL_KEYS"]

#: Label keys read as a temperature in kelvin, in order of preference.
LABEL_KEYS = ("temperature_K", "T")
#: Largest allowed difference between the manifest option and the label (K).
LABEL_TOLERANCE_K = 0.5
#: Largest allowed relative difference between the declared and the logged temperature.
LOG_RTOL = 0.10


@dataclass(frozen=True)
class ResolvedTemperature:
    """A run's temperature and where it came from (``"manifest"``, ``"label temperature_K"``)."""

    value_K: float
    source: str
    logged_K: float | None = None


def _finite_positive(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) and v > 0 else None


def _logged_median(ds: xr.Dataset) -> float | None:
    """Median ``Temp`` of the last thermo block with rows, or None without a log."""
    if "thermo_Temp" not in ds or "thermo_block" not in ds.coords or ds.sizes.get("thermo", 0) == 0:
        return None
    blocks = np.asarray(ds["thermo_block"].values)
    temp = np.asarray(ds["thermo_Temp"].values, dtype=np.float64)[blocks == blocks[-1]]
    temp = temp[np.isfinite(temp)]
    return float(np.median(temp)) if temp.size else None


def declared_temperature(ds: xr.Dataset, *, name: str = "", label_tolerance_K: float = LABEL_TOLERANCE_K
                         ) -> tuple[float | None, str]:
    """The declared temperature (manifest option, else label) and its source; ``(None, "unknown")``."""
    run = name or ds.attrs.get("run_name", "") or "run"
    opt = _finite_positive(ds.attrs.get("temperature_K"))
    labels = labels_of(ds)
    lab, lab_key = None, ""
    for key in LABEL_KEYS:
        if key in labels:
            lab = _finite_positive(labels[key])
            lab_key = key
            if lab is None:
                raise CampaignError(f"run {run}: label {key} = {labels[key]!r} is not a positive temperature in K; "
                                    "fix the label in the manifest")
            break
    if opt is not None and lab is not None and abs(opt - lab) > label_tolerance_K:
        raise CampaignError(f"run {run}: the manifest gives temperature_K = {opt:g} K but its label "
                            f"{lab_key} = {lab:g} K; they must agree (within {label_tolerance_K:g} K): "
                            "correct one of them")
    if opt is not None:
        return opt, "manifest temperature_K"
    if lab is not None:
        return lab, f"label {lab_key}"
    return None, "unknown"


def resolve_temperature(ds: xr.Dataset, *, name: str = "", label_tolerance_K: float = LABEL_TOLERANCE_K,
                        log_rtol: float = LOG_RTOL, check_log: bool = True) -> ResolvedTemperature:
    """The one temperature of a run (see the module docstring for the rule).

    Raises
    ------
    CampaignError
        No temperature is declared, or the sources disagree beyond the tolerances.
    """
    run = name or ds.attrs.get("run_name", "") or "run"
    value, source = declared_temperature(ds, name=run, label_tolerance_K=label_tolerance_K)
    if value is None:
        raise CampaignError(f"run {run}: temperature unknown; set temperature_K in the manifest "
                            "(or a temperature_K label)")
    logged = _logged_median(ds) if check_log else None
    if logged is not None and abs(logged - value) > log_rtol * value:
        raise CampaignError(f"run {run}: the {source} is {value:g} K but its log's thermostat ran at "
                            f"{logged:.1f} K (median of Temp in the production block), more than "
                            f"{log_rtol:.0%} apart; correct the manifest or check that log and trajectory belong "
                            "together")
    return ResolvedTemperature(value, source, logged)
