"""Estimators: one way of getting an interval each, as one family.

Every estimator has ``fit(group_data, rng) -> JointSamples`` and is registered under a
name (:mod:`.base`); the analysis looks it up with :func:`create`.

* :mod:`.data` - :class:`GroupData`, what every estimator reads (built once per group)
* :mod:`.bayes` - ``"bayes"``: Bayesian regression with a modelled lag-to-lag covariance
* :mod:`.resampling` - ``"bootstrap"`` (seeds, ions, moving blocks) and ``"block"`` (blocked estimates)
* :mod:`.spectral` - ``"spectral"`` (default): Whittle likelihood of the low-frequency spectrum of the increments
  (no fit window; its own regime check; widths relative to the Cramér-Rao widths)
* :mod:`.baselines` - ``"ols"``, ``"wls"``, ``"gls"``: statsmodels fits, to show why naive error bars are too small
* :mod:`.blocking` - Flyvbjerg-Petersen block averaging and statistical inefficiency (a kernel)
* :mod:`.heterogeneity` - seed-to-seed consistency and the variance inflation it calls for

Adding an estimator: see docs/architecture.md.
"""

from . import bayes, resampling, spectral, baselines  # noqa: F401  (register the built-in estimators)
from .base import Estimator, JointSamples, available, central_interval, create, quantile_mcse, register
from .data import GroupData, SeedData, build_group_data

__all__ = ["Estimator", "JointSamples", "GroupData", "SeedData", "available", "build_group_data",
           "central_interval", "create", "quantile_mcse", "register"]
