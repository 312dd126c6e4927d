"""Every setting of an analysis, in one frozen value.

:class:`AnalysisSettings` owns every default of the analysis (estimator, window, lag
grid, interval probability, sampler, reference frame, species, screening, root seed).
No other module repeats a default: functions take a settings object, and the CLI is the
only place that builds one from options.  The whole object is written into every
result's provenance (:meth:`AnalysisSettings.to_dict`) and read back from it
(:meth:`AnalysisSettings.from_dict`), so ``ugk analyze --settings-from results.json``
reproduces a result bit for bit.

>>> from uncertainty_gk.settings import AnalysisSettings
>>> s = AnalysisSettings(window_ps=(10, 25), seed=1)
>>> AnalysisSettings.from_dict(s.to_dict()) == s
True
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from .errors import UGKError

__all__ = ["AnalysisSettings", "SettingsError", "DEFAULT_METHOD"]

#: The headline estimator when none is chosen (docs/methods.md, section 0, says why).
DEFAULT_METHOD = "spectral"


class SettingsError(UGKError, ValueError):
    """An analysis setting has an invalid value."""


def _freeze_thresholds(th) -> tuple[tuple[str, Any], ...]:
    """Threshold overrides as a sorted tuple of (name, number) or (``skip``, tuple of checks)."""
    if th is None:
        return ()
    items = th.items() if hasattr(th, "items") else th
    return tuple(sorted((str(k), tuple(str(x) for x in v) if isinstance(v, (list, tuple)) else float(v))
                        for k, v in items))


def _freeze_options(opts) -> tuple[tuple[str, str], ...]:
    """Estimator options as a sorted tuple of (name, canonical JSON text of the value).

    Given as a mapping of Python values (numbers, strings, booleans, lists or tuples, dicts),
    or in this frozen form itself (what :func:`dataclasses.replace` passes back)."""
    if opts is None:
        return ()
    if hasattr(opts, "items"):
        out = []
        for k, v in opts.items():
            try:
                out.append((str(k), json.dumps(v, sort_keys=True, allow_nan=False)))
            except (TypeError, ValueError):
                raise SettingsError(f"spectral_options: {k} = {v!r} is not a plain value (a number, string, "
                                    "boolean, list or dict)") from None
        return tuple(sorted(out))
    frozen = tuple(sorted((str(k), v) for k, v in opts))
    for k, v in frozen:
        try:
            json.loads(v)
        except (TypeError, ValueError):
            raise SettingsError(f"spectral_options: give a mapping of option names to values "
                                f"(e.g. {{'first_step': True}}); found {k} = {v!r}") from None
    return frozen


@dataclass(frozen=True)
class AnalysisSettings:
    """All choices of an analysis; every default of the package is here.

    Estimator
        ``method``: the headline estimator, a name in
        :func:`uncertainty_gk.estimators.available` (``"spectral"``, the default:
        docs/methods.md section 0 says why; ``"bayes"``, ``"bootstrap"``, ``"block"``,
        ...) or ``"all"`` (every interval estimator, the default one as the headline).  ``ci_prob``: probability of the central intervals.
        ``spectral_options``: options of the spectral estimator
        (:func:`uncertainty_gk.estimators.spectral.fit_spectral`, e.g. ``{"first_step": True}``;
        empty: its defaults), checked when the estimator is built.
    Fit window
        ``window_ps``: ``(start, end)`` in ps, or None to choose it from the data
        (:mod:`uncertainty_gk.window`); ``n_lags``: lags of the regression grid;
        ``max_fraction``: with an automatic window, each seed is fitted only up to this
        fraction of its own length; ``min_loglog_slope``: the diffusive-regime criterion.
    Sampler and resampling
        ``n_walkers``, ``n_steps``, ``n_burn`` (None: a third of ``n_steps``) for the
        group posterior; ``per_seed_steps``/``per_seed_burn`` (None: a third) for the per-seed ones;
        ``n_boot``: draws of the bootstrap and block methods; ``rhat_max``,
        ``ess_min``: convergence thresholds.
    Physics
        ``reference``: framework centre (``"charge"`` or ``"mass"``); ``species``: the
        mobile species (None: the only one); ``overdispersion_alpha``: level of Cochran's
        Q test above which the seeds' variances are inflated; ``no_diffusion_msd_A2``:
        MSD growth below which only upper bounds are reported; ``resolved_z``: a
        collective slope below this many standard errors is reported as a bound.
    Screening
        ``trusted_only``: diagnose every run and analyse only trusted segments;
        ``margin_ps``: safety margin before a failure; ``thresholds``: overrides of the
        diagnostic thresholds; ``training``: the MLIP training set (path).
    Reproducibility
        ``seed``: the root seed; every group draws from a child
        :class:`numpy.random.SeedSequence` spawned from it and the group's key, so a
        group's numbers never depend on what else is analysed.  None: a fresh seed is
        drawn by :meth:`resolved` and recorded.
    """

    method: str = DEFAULT_METHOD
    ci_prob: float = 0.95
    spectral_options: tuple[tuple[str, str], ...] = field(default=())
    window_ps: tuple[float, float] | None = None
    n_lags: int = 24
    max_fraction: float = 0.25
    min_loglog_slope: float = 0.8
    n_walkers: int = 32
    n_steps: int = 2000
    n_burn: int | None = None
    per_seed: bool = True
    per_seed_steps: int = 1000
    per_seed_burn: int | None = None
    n_boot: int = 1000
    rhat_max: float = 1.05
    ess_min: float = 400.0
    reference: str = "charge"
    species: str | None = None
    overdispersion_alpha: float = 0.05
    no_diffusion_msd_A2: float = 1.0
    resolved_z: float = 2.0
    trusted_only: bool = True
    margin_ps: float = 1.0
    thresholds: tuple[tuple[str, Any], ...] = field(default=())
    training: str | None = None
    group_by_exclude: tuple[str, ...] = ("seed",)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.window_ps is not None:
            w = tuple(float(x) for x in self.window_ps)
            if len(w) != 2 or not (0 <= w[0] < w[1]):
                raise SettingsError(f"window_ps = {self.window_ps}: need (start, end) with 0 ≤ start < end, in ps")
            object.__setattr__(self, "window_ps", w)
        object.__setattr__(self, "thresholds", _freeze_thresholds(self.thresholds))
        object.__setattr__(self, "spectral_options", _freeze_options(self.spectral_options))
        object.__setattr__(self, "group_by_exclude", tuple(self.group_by_exclude))
        if not 0 < self.ci_prob < 1:
            raise SettingsError(f"ci_prob = {self.ci_prob}: need a probability between 0 and 1")
        if self.n_lags < 3:
            raise SettingsError(f"n_lags = {self.n_lags}: need at least 3 lags to fit a line with an intercept")
        if not 0 < self.max_fraction <= 1:
            raise SettingsError(f"max_fraction = {self.max_fraction}: need 0 < max_fraction ≤ 1")
        if self.reference not in ("charge", "mass", "none"):
            raise SettingsError(f"reference = {self.reference!r}: choose 'charge', 'mass' or 'none'")
        if self.n_steps < 10 or self.n_walkers < 8:
            raise SettingsError(f"n_steps = {self.n_steps}, n_walkers = {self.n_walkers}: need at least 10 steps "
                                "and 8 walkers")
        if self.n_boot < 2:
            raise SettingsError(f"n_boot = {self.n_boot}: need at least 2 draws")
        if self.seed is not None:
            if isinstance(self.seed, bool) or int(self.seed) != self.seed or self.seed < 0:
                raise SettingsError(f"seed = {self.seed!r}: need a non-negative integer")
            object.__setattr__(self, "seed", int(self.seed))

    # ------------------------------------------------------------------ derived values
    @property
    def burn(self) -> int:
        """Burn-in steps of the group posterior."""
        return self.n_steps // 3 if self.n_burn is None else self.n_burn

    @property
    def seed_burn(self) -> int:
        """Burn-in steps of each seed's own posterior."""
        return self.per_seed_steps // 3 if self.per_seed_burn is None else self.per_seed_burn

    @property
    def threshold_dict(self) -> dict[str, Any]:
        return dict(self.thresholds)

    @property
    def spectral_option_dict(self) -> dict[str, Any]:
        """The spectral estimator's options as Python values (lists for sequences)."""
        return {k: json.loads(v) for k, v in self.spectral_options}

    def resolved(self) -> AnalysisSettings:
        """These settings with a concrete root seed (a fresh one when ``seed`` is None)."""
        if self.seed is not None:
            return self
        return dataclasses.replace(self, seed=secrets.randbits(63))

    def replace(self, **changes: Any) -> AnalysisSettings:
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; :meth:`from_dict` inverts it exactly."""
        d = dataclasses.asdict(self)
        d["window_ps"] = None if self.window_ps is None else list(self.window_ps)
        d["thresholds"] = dict(self.thresholds)
        d["spectral_options"] = self.spectral_option_dict
        d["group_by_exclude"] = list(self.group_by_exclude)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnalysisSettings:
        """Settings from :meth:`to_dict` output (e.g. a result's provenance)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise SettingsError(f"unknown analysis settings {unknown}; known: {sorted(names)}")
        kw = dict(d)
        if kw.get("window_ps") is not None:
            kw["window_ps"] = tuple(kw["window_ps"])
        if "group_by_exclude" in kw:
            kw["group_by_exclude"] = tuple(kw["group_by_exclude"])
        return cls(**kw)

    @classmethod
    def from_result(cls, path) -> AnalysisSettings:
        """The settings recorded in a results file (``.json`` or ``.nc``)."""
        import json
        from pathlib import Path

        p = Path(path)
        try:
            if p.suffix == ".json":
                prov = json.loads(p.read_text(encoding="utf-8")).get("provenance", {})
            else:
                import xarray as xr

                with xr.open_dataset(p, engine="h5netcdf") as ds:
                    prov = json.loads(ds.attrs.get("provenance", "{}"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"{p}: cannot read analysis settings ({exc}); expected a results .json or .nc "
                                "written by `ugk analyze`") from None
        if "settings" not in prov:
            raise SettingsError(f"{p}: no analysis settings in its provenance (written by an older version?); "
                                "give the options explicitly")
        return cls.from_dict(prov["settings"])
