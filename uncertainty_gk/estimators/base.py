r"""The estimator family: one protocol, one registry, one way to summarise draws.

An estimator turns a :class:`~uncertainty_gk.estimators.data.GroupData` into joint
draws of the pooled tracer and polarisation MSD slopes::

    class MyEstimator:
        name = "mine"
        kind = "interval"            # or "baseline" (naive errors, shown for comparison)

        def __init__(self, settings): ...          # stores parameters only

        def fit(self, data, rng) -> JointSamples:   # never modifies ``data``
            ...

    register("mine", MyEstimator)

like emcee's moves or xarray's backends: adding an estimator is one file.  The
analysis turns the slopes into D*, σ_tr, σ and H_R *per draw*
(:func:`uncertainty_gk.conductivity.physical_samples`), so H_R keeps the correlation
of σ_tr and σ.

Every reported number is a quantile of draws (:func:`central_interval`) with its
Monte-Carlo standard error (:func:`quantile_mcse`, from the effective sample size of
the chains: Vehtari et al., Bayesian Analysis 16, 667, 2021).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..errors import AnalysisError

if TYPE_CHECKING:
    from ..settings import AnalysisSettings
    from .data import GroupData

__all__ = ["JointSamples", "Estimator", "register", "create", "available", "central_interval", "quantile_mcse",
           "SLOPE_KEYS"]

#: The draws every estimator returns: tracer MSD slope (Å²/ps) and polarisation MSD
#: slope per volume (e² Å²/ps / Å³).
SLOPE_KEYS = ("slope_tr", "slope_P_per_volume")


@dataclass(frozen=True)
class JointSamples:
    """Joint draws of the pooled MSD line parameters, ``(chain, draw)`` arrays.

    Attributes
    ----------
    method : str
        The estimator's registered name.
    draws : dict
        ``slope_tr`` (Å²/ps), ``slope_P_per_volume`` (e²Å²/ps/Å³) and, where the method
        has them, ``intercept_tr`` (Å²) and ``intercept_P_per_volume`` (e²Å²/Å³).
    independent : bool
        True when the draws are independent (resampling); False for MCMC chains.
    convergence : dict
        ``rhat``, ``ess`` (per parameter), ``converged`` and method-specific entries.
    slope_z : dict
        Pooled slope / its standard error for ``tracer`` and ``polarisation``.
    info : dict
        JSON-serialisable record of what was done.
    regime : str or None
        ``"diffusive"`` or ``"provisional"`` when the method judges the regime itself
        (e.g. from the shape of the spectrum); None: the fit window's verdict applies.
    efficiency : dict
        The method's interval widths relative to the Cramér-Rao (Fisher-information) widths
        of its model, when it can compute them.
    per_seed : dict
        Seed name -> draws of that seed alone (same keys as ``draws``), when the method
        gives them as a by-product of the group fit; empty: the analysis fits each seed
        with the Bayesian regression instead.
    """

    method: str
    draws: dict[str, np.ndarray]
    independent: bool = False
    convergence: dict = field(default_factory=dict)
    slope_z: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    regime: str | None = None
    efficiency: dict = field(default_factory=dict)
    per_seed: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for k in SLOPE_KEYS:
            if k not in self.draws:
                raise ValueError(f"estimator {self.method!r} returned no {k!r} draws")
        fixed = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in self.draws.items()}
        shapes = {v.shape for v in fixed.values()}
        if len(shapes) != 1:
            raise ValueError(f"estimator {self.method!r}: draws of different shapes {shapes}")
        object.__setattr__(self, "draws", fixed)

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.draws.values())).size)


@runtime_checkable
class Estimator(Protocol):
    """What the analysis calls: ``fit(group_data, rng) -> JointSamples``."""

    name: str
    kind: str

    def fit(self, data: GroupData, rng: np.random.Generator) -> JointSamples: ...


_REGISTRY: dict[str, Callable[[AnalysisSettings], Estimator]] = {}
_KINDS: dict[str, str] = {}


def register(name: str, factory: Callable[[AnalysisSettings], Estimator], *, kind: str = "interval",
             replace: bool = False) -> None:
    """Make an estimator available as ``method=name``.

    ``factory(settings)`` builds it (a class whose ``__init__`` takes the settings);
    ``kind`` is ``"interval"`` (a calibrated interval method, part of ``method="all"``)
    or ``"baseline"`` (naive errors, reported for comparison only).
    """
    if kind not in ("interval", "baseline"):
        raise ValueError(f"kind must be 'interval' or 'baseline', not {kind!r}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"an estimator named {name!r} is already registered (pass replace=True)")
    _REGISTRY[name] = factory
    _KINDS[name] = kind


def available(kind: str | None = None) -> list[str]:
    """Registered estimator names (of one ``kind`` when given), in registration order."""
    return [n for n in _REGISTRY if kind is None or _KINDS[n] == kind]


def create(name: str, settings: AnalysisSettings) -> Estimator:
    """A registered estimator, built from the settings."""
    if name not in _REGISTRY:
        raise AnalysisError(f"unknown method {name!r}; choose one of {', '.join(available())} or 'all'")
    return _REGISTRY[name](settings)


# --------------------------------------------------------------------------- summaries
def central_interval(samples, prob: float, *, axis: int | None = None):
    """(lower, median, upper) of the central ``prob`` interval of the finite samples.

    The package's one interval rule.  With ``axis`` (e.g. draws × points of a band) the
    three bounds are arrays over the other axes (all samples must then be finite)."""
    if axis is not None:
        lo_a, med_a, hi_a = np.quantile(np.asarray(samples, dtype=np.float64), [(1 - prob) / 2, 0.5, (1 + prob) / 2],
                                        axis=axis)
        return lo_a, med_a, hi_a
    s = np.asarray(samples, dtype=np.float64).reshape(-1)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return float("nan"), float("nan"), float("nan")
    lo, med, hi = np.quantile(s, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
    return float(lo), float(med), float(hi)


def quantile_mcse(draws, probs) -> list[float]:
    """Monte-Carlo standard error of the quantiles ``probs`` of ``(chain, draw)`` draws.

    From the effective sample size of the indicator series (arviz ``mcse(method=
    "quantile")``); for independent draws this is the binomial order-statistic error.
    """
    import arviz as az

    x = np.atleast_2d(np.asarray(draws, dtype=np.float64))
    if not np.isfinite(x).all():
        x = np.where(np.isfinite(x), x, np.nanmedian(x[np.isfinite(x)]) if np.isfinite(x).any() else 0.0)
    if x.shape[-1] < 4:
        return [float("nan")] * len(probs)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for p in probs:
            out.append(float(az.mcse(x, method="quantile", prob=float(p))))
    return out


def as_chains(x: Any) -> np.ndarray:
    """Draws as a (chain, draw) array: one chain for a flat array."""
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(1, -1) if a.ndim == 1 else a
