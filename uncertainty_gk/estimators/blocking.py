r"""Standard error of the mean of a correlated time series: blocking and autocorrelation.

Usable on its own for any stationary series (thermodynamic averages, running
estimates, the per-origin MSD-slope series of :mod:`.resampling`).

Blocking (Flyvbjerg & Petersen, J. Chem. Phys. 91, 461, 1989)
-------------------------------------------------------------
Level 0 is the series :math:`x_i`, :math:`i = 1..n`.  Level :math:`k+1` averages
neighbouring pairs of level :math:`k`, :math:`x'_i = (x_{2i-1} + x_{2i})/2` (a
trailing odd element is dropped), so level :math:`k` holds :math:`n_k = \lfloor n/2^k
\rfloor` means of blocks of :math:`B = 2^k` points.  The mean is unchanged and at
every level

.. math::

   \mathrm{SE}_k^2 = \frac{1}{n_k (n_k - 1)} \sum_{i=1}^{n_k} (x^{(k)}_i - \bar x)^2,
   \qquad
   \delta\mathrm{SE}_k = \frac{\mathrm{SE}_k}{\sqrt{2 (n_k - 1)}} .

:math:`\mathrm{SE}_k` grows with :math:`k` while the blocks are shorter than the
correlation time and reaches a plateau, the true standard error, once they are
longer.  The error :math:`\delta\mathrm{SE}_k` is that of a Gaussian variance with
:math:`n_k - 1` degrees of freedom.

Automatic choice of the level (Lee, Drummond & Needs, Phys. Rev. E 83, 066706, 2011):
the smallest block size :math:`B = 2^k` with

.. math::  B^3 > 2 n \left(\mathrm{SE}_k / \mathrm{SE}_0\right)^4 ,

which balances the bias of too-short blocks (:math:`\propto \tau/B`) against the
statistical error of too few blocks (:math:`\propto \sqrt{B/n}`); :math:`(\mathrm{SE}_k /
\mathrm{SE}_0)^2` estimates the statistical inefficiency.  Only levels with at least
``min_blocks`` blocks are eligible.

.. warning::

   When no eligible level satisfies the criterion the series is too short for its
   correlation time: there is no plateau.  :func:`flyvbjerg_petersen` then returns the
   largest SE over the eligible levels (the least biased available, still probably too
   small), sets ``converged=False`` and issues a
   :class:`~uncertainty_gk.errors.ConvergenceWarning` (``warn=False`` silences it).

Autocorrelation time (Sokal 1997; Chodera, JCTC 3, 26, 2007)
-------------------------------------------------------------
With the normalised autocorrelation :math:`\rho(t)` (by FFT, biased estimator
:math:`\hat C(t) = \frac1n\sum_{i}(x_i-\bar x)(x_{i+t}-\bar x)`),

.. math::

   \tau_\mathrm{int}(M) = \tfrac12 + \sum_{t=1}^{M} \rho(t), \qquad
   g = 2\tau_\mathrm{int} = 1 + 2\tau, \qquad
   \mathrm{SE}^2 = g\,\mathrm{Var}(x)/n .

Convention: :func:`integrated_autocorr_time` returns Sokal's :math:`\tau_\mathrm{int}`
(1/2 for white noise; :math:`\frac12\frac{1+\phi}{1-\phi}` for an AR(1) process with
coefficient :math:`\phi`); :func:`statistical_inefficiency` returns Chodera's
:math:`g = 1 + 2\tau` with :math:`\tau = \sum_{t\ge1}\rho(t)` (1 for white noise,
:math:`(1+\phi)/(1-\phi)` for AR(1)), i.e. :math:`g = 2\tau_\mathrm{int}`.  The window
:math:`M` is Sokal's automatic choice, the smallest :math:`M` with
:math:`M \ge c\,\tau_\mathrm{int}(M)`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from ..errors import ConvergenceWarning

__all__ = ["BlockingResult", "autocorrelation", "blocking_levels", "flyvbjerg_petersen",
           "integrated_autocorr_time", "statistical_inefficiency"]


def _as_series(x, name: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D time series, got shape {x.shape}")
    if x.size < 4:
        raise ValueError(f"{name} has {x.size} points; need at least 4 for an error estimate")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(x)))} non-finite values")
    return x


# --------------------------------------------------------------------------- blocking
@dataclass(frozen=True)
class BlockingResult:
    """Result of :func:`flyvbjerg_petersen`.

    Attributes
    ----------
    mean : float
        Mean of the series.
    se, se_error : float
        Standard error of the mean at the chosen level and its own uncertainty.
    level, block_size, n_blocks : int
        Chosen level k, its block size 2^k and number of blocks.
    converged : bool
        ``True`` when the Lee et al. criterion was met at an eligible level.
    block_sizes, n_blocks_per_level, se_per_level, se_error_per_level : ndarray
        The per-level table (levels 0, 1, ...; all levels with at least 2 blocks).
    criterion_met : ndarray of bool
        Whether ``B^3 > 2 n (SE_k/SE_0)^4`` at each level.
    n : int
        Length of the series.
    message : str
        Why the level was chosen (or why there is no plateau).
    """

    mean: float
    se: float
    se_error: float
    level: int
    block_size: int
    n_blocks: int
    converged: bool
    block_sizes: np.ndarray = field(repr=False)
    n_blocks_per_level: np.ndarray = field(repr=False)
    se_per_level: np.ndarray = field(repr=False)
    se_error_per_level: np.ndarray = field(repr=False)
    criterion_met: np.ndarray = field(repr=False)
    n: int = 0
    message: str = ""

    @property
    def statistical_inefficiency(self) -> float:
        """:math:`g = (\\mathrm{SE}/\\mathrm{SE}_0)^2` implied by the chosen level."""
        return float((self.se / self.se_per_level[0]) ** 2) if self.se_per_level[0] > 0 else float("nan")

    def to_dataset(self):
        """The per-level table as an :class:`xarray.Dataset` (dimension ``level``)."""
        import xarray as xr

        lev = np.arange(len(self.block_sizes))
        return xr.Dataset(
            {"block_size": ("level", self.block_sizes, {"units": "samples", "long_name": "block size 2^k"}),
             "n_blocks": ("level", self.n_blocks_per_level, {"units": "1", "long_name": "number of blocks"}),
             "se": ("level", self.se_per_level, {"units": "same as x", "long_name": "standard error of the mean"}),
             "se_error": ("level", self.se_error_per_level,
                          {"units": "same as x", "long_name": "uncertainty of the standard error"}),
             "criterion_met": ("level", self.criterion_met,
                               {"units": "1", "long_name": "Lee et al. criterion B^3 > 2n(SE_k/SE_0)^4"})},
            coords={"level": ("level", lev, {"units": "1", "long_name": "blocking level k"})},
            attrs={"mean": self.mean, "se": self.se, "chosen_level": self.level, "converged": int(self.converged),
                   "reference": "Flyvbjerg & Petersen, J. Chem. Phys. 91, 461 (1989); "
                                "Lee et al., Phys. Rev. E 83, 066706 (2011)"})


def blocking_levels(x) -> list[np.ndarray]:
    """The blocked series of every level with at least 2 blocks: ``[x, pairs of x, ...]``."""
    x = _as_series(x)
    levels = [x]
    while len(levels[-1]) // 2 >= 2:
        y = levels[-1]
        m = len(y) // 2
        levels.append(0.5 * (y[0:2 * m:2] + y[1:2 * m:2]))
    return levels


def flyvbjerg_petersen(x, *, min_blocks: int = 8, warn: bool = True) -> BlockingResult:
    r"""Standard error of the mean of a correlated series by Flyvbjerg-Petersen blocking.

    Parameters
    ----------
    x : array_like, shape (n,)
        A stationary time series (n ≥ 4), e.g. a running observable.
    min_blocks : int
        Levels with fewer blocks are shown in the table but never chosen (their SE has
        a relative error above :math:`1/\sqrt{2(n_k-1)}`, 27 % at 8 blocks).
    warn : bool
        Issue a :class:`~uncertainty_gk.errors.ConvergenceWarning` when no plateau is
        reached (the result carries ``converged=False`` either way).

    Returns
    -------
    BlockingResult
        Mean, standard error at the level chosen by the Lee et al. criterion
        :math:`B^3 > 2n(\mathrm{SE}_k/\mathrm{SE}_0)^4`, the per-level table and a
        convergence flag (see the module docstring).

    Raises
    ------
    ValueError
        If ``x`` is not 1-D, has fewer than 4 points or non-finite values.

    Notes
    -----
    Failure modes: a series shorter than a few hundred correlation times gives no
    plateau (flagged); a non-stationary series (drift, equilibration) gives an SE that
    keeps growing with the block size, which is also flagged but not diagnosed.  A
    constant series gives SE = 0.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(4096)
    >>> r = flyvbjerg_petersen(x)
    >>> r.converged, bool(0.8 < r.se / (1 / 64) < 1.2)      # white noise: SE ≈ 1/sqrt(n)
    (True, True)
    """
    if min_blocks < 2:
        raise ValueError(f"min_blocks must be at least 2, got {min_blocks}")
    levels = blocking_levels(x)
    n = len(levels[0])
    mean = float(np.mean(levels[0]))
    sizes = 2 ** np.arange(len(levels))
    nb = np.array([len(y) for y in levels])
    se = np.array([np.sqrt(np.sum((y - mean) ** 2) / (len(y) * (len(y) - 1))) for y in levels])
    se_err = se / np.sqrt(2.0 * (nb - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio4 = (se / se[0]) ** 4 if se[0] > 0 else np.zeros_like(se)
    crit = sizes.astype(np.float64) ** 3 > 2.0 * n * ratio4
    eligible = nb >= min_blocks
    ok = np.nonzero(crit & eligible)[0]
    if se[0] == 0:
        k, converged, msg = 0, True, "constant series: SE = 0"
    elif ok.size:
        k = int(ok[0])
        converged = True
        msg = f"Lee et al. criterion B^3 > 2n(SE_B/SE_0)^4 met at B = {sizes[k]} ({nb[k]} blocks)"
    else:
        cand = np.nonzero(eligible)[0]
        if cand.size == 0:
            cand = np.array([0])
        k = int(cand[np.argmax(se[cand])])
        converged = False
        g = (se[k] / se[0]) ** 2
        msg = (f"no blocking plateau: B^3 > 2n(SE_B/SE_0)^4 is not met at any block size with at least "
               f"{min_blocks} blocks (n = {n}, apparent statistical inefficiency ≥ {g:.3g}); the largest SE "
               f"(B = {sizes[k]}) is used and is probably too small - a longer series is needed")
        if warn:
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return BlockingResult(mean=mean, se=float(se[k]), se_error=float(se_err[k]), level=k,
                          block_size=int(sizes[k]), n_blocks=int(nb[k]), converged=converged,
                          block_sizes=sizes, n_blocks_per_level=nb, se_per_level=se,
                          se_error_per_level=se_err, criterion_met=crit, n=n, message=msg)


# --------------------------------------------------------------------------- autocorrelation
def autocorrelation(x) -> np.ndarray:
    r"""Normalised autocorrelation :math:`\rho(t)`, t = 0..n-1, by zero-padded FFT.

    Uses the biased covariance estimator :math:`\hat C(t) = \frac1n \sum_{i=0}^{n-1-t}
    (x_i - \bar x)(x_{i+t} - \bar x)` (positive semi-definite), :math:`\rho = \hat C/\hat C(0)`.
    A constant series returns ``rho = [1, 0, 0, ...]``.
    """
    x = _as_series(x)
    n = x.size
    d = x - x.mean()
    nfft = scipy.fft.next_fast_len(2 * n - 1, real=True)
    f = scipy.fft.rfft(d, n=nfft)
    acov = scipy.fft.irfft(f.real ** 2 + f.imag ** 2, n=nfft)[:n] / n
    if acov[0] <= 0:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    return acov / acov[0]


def integrated_autocorr_time(x, c: float = 5.0, *, warn: bool = True) -> float:
    r"""Integrated autocorrelation time :math:`\tau_\mathrm{int}` with Sokal's automatic window.

    .. math:: \tau_\mathrm{int}(M) = \tfrac12 + \sum_{t=1}^{M} \rho(t),

    evaluated at the smallest window :math:`M` with :math:`M \ge c\,\tau_\mathrm{int}(M)`
    (Sokal, in *Functional Integration*, Plenum 1997; Madras & Sokal, J. Stat. Phys. 50,
    109, 1988).  Convention: white noise gives 1/2, an AR(1) process with coefficient
    :math:`\phi` gives :math:`\frac12\frac{1+\phi}{1-\phi}`; the SE of the mean is
    :math:`\sqrt{2\tau_\mathrm{int}\mathrm{Var}(x)/n}`.

    Parameters
    ----------
    x : array_like, shape (n,)
    c : float
        Window factor (Sokal recommends 4-10; 5 is a common default).
    warn : bool
        Warn (:class:`~uncertainty_gk.errors.ConvergenceWarning`) when no window
        satisfies the condition, i.e. the series is shorter than about
        :math:`c\,\tau_\mathrm{int}`; the estimate at the largest window is returned and
        is unreliable (typically too small).  A reliable estimate needs
        :math:`n \gtrsim 50\,\tau_\mathrm{int}`.
    """
    if c <= 0:
        raise ValueError(f"c must be positive, got {c}")
    rho = autocorrelation(x)
    tau = 0.5 + np.cumsum(rho[1:])            # tau[M-1] = tau_int(M), M = 1..n-1
    M = np.arange(1, rho.size)
    ok = np.nonzero(M >= c * tau)[0]
    if ok.size:
        return float(tau[ok[0]])
    if warn:
        warnings.warn(f"integrated_autocorr_time: no window M ≥ {c:g} τ_int(M) in a series of {rho.size} points; "
                      f"the estimate {tau[-1]:.3g} is unreliable (the series is too short)", ConvergenceWarning,
                      stacklevel=2)
    return float(tau[-1])


def statistical_inefficiency(x, *, c: float = 5.0, warn: bool = True) -> float:
    r"""Statistical inefficiency :math:`g = 1 + 2\tau`, :math:`\tau = \sum_{t\ge1}\rho(t)`.

    Chodera et al., J. Chem. Theory Comput. 3, 26 (2007): :math:`n/g` samples are
    effectively independent and :math:`\mathrm{SE}^2 = g\,\mathrm{Var}(x)/n`.  The sum is
    truncated by Sokal's automatic window (:func:`integrated_autocorr_time`), so
    :math:`g = 2\tau_\mathrm{int}`: 1 for white noise, :math:`(1+\phi)/(1-\phi)` for
    AR(1).  Clipped below at 1.  Same failure mode as :func:`integrated_autocorr_time`.
    """
    return max(1.0, 2.0 * integrated_autocorr_time(x, c, warn=warn))
