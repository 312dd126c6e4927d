r"""Bayesian regression of MSD = 6 D t + c with a modelled lag-to-lag covariance.

For every seed the tracer MSD and the polarisation MSD at K lags of the fit window
are reduced to their generalised-least-squares estimates
:math:`\hat\theta_s = (\hat m_{tr}, \hat c_{tr}, \hat m_P, \hat c_P)` (slope and
intercept of each line).  With the covariance between lags known up to the
parameters (the Brownian model of :mod:`uncertainty_gk.estimators.series`), the
GLS estimate is a linear map :math:`G` of the MSD vector, so its covariance is
:math:`V_s(\theta) = G\,\Sigma(\theta)\,G^\top` and the likelihood of the data
projected onto the regression is

.. math:: p(\hat\theta_s \mid \theta) = \mathcal N\big(\hat\theta_s;\ \theta_s(\theta),\ V_s(\theta)\big),

multiplied over seeds (each seed is an independent system; seeds may differ in
length).  The covariance depends on the parameters, as it must for diffusion: a
faster ion gives a noisier MSD.  Parameters shared by the seeds are the tracer
slope and intercept and the polarisation slope and intercept *per unit volume*, so
seeds with slightly different NPT-averaged volumes pool correctly.

Priors: for each slope the Jeffreys prior of this likelihood,
:math:`\pi(m) \propto 1/\sqrt{m^2 + m_0^2}`, where :math:`m_0` is the slope below
which the vibrational noise dominates the slope's variance.  Above :math:`m_0` it is
flat in log slope (the Jeffreys prior of a scale, which makes the posterior median
the GLS estimate and the credible interval the inverted pivot interval when
:math:`\hat m / m` is Gaussian); below it is flat, which keeps the posterior proper
when the data cannot tell the slope from zero.  Intercepts are flat.  The
polarisation slope is bounded below by ``1/max_haven`` (default 1/1000) of the
value the tracer slope implies for uncorrelated ions, :math:`N q^2 m_{tr}`, i.e.
:math:`H_R \le 1000`; this keeps the posterior proper when the data cannot tell
the collective slope from zero (short runs), in which case the analysis reports σ
as not resolved.

Why the projection rather than the full K-dimensional likelihood: with a
parameter-dependent covariance the K − 2 residual directions would pin the noise
scale to the wiggles of the curve, trusting the Gaussian approximation far beyond
its accuracy; the projection keeps the information that the regression has.

Sampled with emcee (seeded from ``rng``); convergence checked with arviz (R-hat,
bulk ESS) and a :class:`~uncertainty_gk.errors.ConvergenceWarning` when it fails.

References: McCluskey, Coles & Morgan, JCTC 21, 79 (2025); Bullerjahn, von Bülow
& Hummer, J. Chem. Phys. 153, 024116 (2020).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AnalysisError, ConvergenceWarning
from .base import JointSamples, register
from .heterogeneity import pooled_start
from .series import SeedSummary

__all__ = ["PARAMS", "noise_scales", "log_prior", "log_likelihood", "BayesianRegression", "BayesEstimator"]

if TYPE_CHECKING:
    from ..settings import AnalysisSettings
    from .data import GroupData

PARAMS = ("slope_tr", "intercept_tr", "slope_P_per_volume", "intercept_P_per_volume")


def _theta_per_seed(phi: np.ndarray, volume: float) -> np.ndarray:
    """(…, 4) sampler parameters -> (…, 4) (m_tr, c_tr, m_P, c_P) of one seed."""
    out = np.empty_like(phi)
    out[..., 0] = np.exp(phi[..., 0])
    out[..., 1] = phi[..., 1]
    out[..., 2] = np.exp(phi[..., 2]) * volume
    out[..., 3] = phi[..., 3] * volume
    return out


def noise_scales(summaries: list[SeedSummary], start: np.ndarray) -> tuple[float, float]:
    """Slope scales m0 (tracer; polarisation per volume) below which noise dominates.

    The pooled variance of a fitted slope behaves as ``var(m) ≈ α² m² + β²``: ``β`` is
    the spread the vibrational noise alone would give.  ``m0 = β / α`` is where the
    two meet; the Jeffreys prior of this likelihood is ``π(m) ∝ 1/sqrt(m² + m0²)``.
    """
    def pooled_var(theta_pv, idx):
        inv = 0.0
        for s in summaries:
            V = s.series.volume
            th = np.array([theta_pv[0], theta_pv[1], theta_pv[2] * V, theta_pv[3] * V])
            f = V * V if idx == 2 else 1.0
            inv += f / s.covariance(th)[idx, idx]
        return 1.0 / inv

    out = []
    for idx in (0, 2):
        at = start.copy()
        zero = start.copy()
        zero[idx] = 0.0
        v_m, v_0 = pooled_var(at, idx), pooled_var(zero, idx)
        alpha2 = max(v_m - v_0, 1e-300) / start[idx] ** 2
        out.append(float(np.sqrt(v_0 / alpha2)))
    return out[0], out[1]


def log_prior(phi: np.ndarray, summaries: list[SeedSummary], max_haven: float = 1e3,
              m0: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Log prior in sampler coordinates (log slopes, intercepts).

    Each slope has the Jeffreys prior ``π(m) ∝ 1/sqrt(m² + m0²)`` (log-uniform
    above the noise scale m0, uniform below; in log m the density is
    ``m / sqrt(m² + m0²)``); the intercepts are flat; and ``ρ V ≥ N q² m_tr / max_haven``
    (H_R ≤ max_haven) as a safeguard.
    """
    s = summaries[0].series
    floor = np.log(s.n_mobile * s.charge**2 / s.volume / max_haven) + phi[..., 0]
    lp = np.zeros(phi.shape[:-1])
    for idx, scale in ((0, m0[0]), (2, m0[1])):
        if scale > 0:
            lp += phi[..., idx] - 0.5 * np.logaddexp(2 * phi[..., idx], 2 * np.log(scale))
    return np.where(phi[..., 2] >= floor, lp, -np.inf)


def log_likelihood(phi: np.ndarray, summaries: list[SeedSummary]) -> np.ndarray:
    """Log-likelihood for parameter rows ``phi`` (W, 4): Σ_s log N(θ̂_s; θ_s, V_s(θ_s))."""
    phi = np.atleast_2d(phi)
    total = np.zeros(len(phi))
    for summ in summaries:
        theta = _theta_per_seed(phi, summ.series.volume)
        V = summ.covariance(theta)
        r = summ.theta_hat[None, :] - theta
        # scale rows/cols to O(1) for a stable solve
        d = np.sqrt(np.clip(np.diagonal(V, axis1=-2, axis2=-1), 1e-300, None))
        Vn = V / (d[..., :, None] * d[..., None, :])
        rn = r / d
        sign, logdet = np.linalg.slogdet(Vn)
        sol = np.linalg.solve(Vn, rn[..., None])[..., 0]
        q = np.einsum("wi,wi->w", rn, sol)
        ll = -0.5 * (q + logdet) - np.sum(np.log(d), axis=-1)
        ll[sign <= 0] = -np.inf
        total += ll
    total[~np.isfinite(total)] = -np.inf
    return total


class BayesianRegression:
    """Posterior of the tracer and polarisation MSD lines pooled over seeds.

    Parameters
    ----------
    n_walkers, n_steps, n_burn : int
        emcee ensemble size, steps per walker, and steps discarded as burn-in.
    rng : numpy Generator or int
        The only source of randomness (walker start and emcee moves).
    show_progress : bool or None
        A progress bar over the MCMC steps (default: only when stderr is a terminal
        and the CLI's ``--quiet`` is not set; see :mod:`uncertainty_gk.progress`).
    rhat_max, ess_min : float
        Convergence thresholds (arviz rank-normalised split R-hat with the walkers as
        chains, and bulk ESS); a ConvergenceWarning is issued when missed.  Walkers of
        one ensemble are not independent chains, which inflates R-hat slightly, hence
        the default 1.05 rather than the 1.01 recommended for independent chains.
        Differential-evolution moves (80 % DE, 20 % snooker) mix this nearly Gaussian
        4-parameter posterior several times faster than the default stretch move.

    Attributes (after :meth:`fit`)
    ------------------------------
    samples_ : dict name -> (n_samples,) array of PARAMS
    idata_ : arviz.InferenceData
    rhat_, ess_ : dict name -> float
    converged_ : bool
    slope_z_ : dict
        Pooled GLS slope / its standard error for "tracer" and "polarisation"; below
        2 the slope is not resolved from zero.
    """

    def __init__(self, *, n_walkers: int = 32, n_steps: int = 2000, n_burn: int = 600, rng=None,
                 rhat_max: float = 1.05, ess_min: float = 400.0, max_haven: float = 1e3,
                 show_progress: bool | None = None, progress_label: str = "sample"):
        self.max_haven = max_haven
        self.show_progress = show_progress
        self.progress_label = progress_label
        self.n_walkers = n_walkers
        self.n_steps = n_steps
        self.n_burn = n_burn
        self.rng = rng
        self.rhat_max = rhat_max
        self.ess_min = ess_min

    def fit(self, summaries: list[SeedSummary]) -> BayesianRegression:
        import emcee

        if not summaries:
            raise AnalysisError("no seeds to fit")
        rng = np.random.default_rng(self.rng)
        start, sd, self.slope_z_ = pooled_start(summaries)
        # a seed whose noise level was not fixed by the caller gets the pooled intercepts;
        # copies, never the caller's objects
        summaries = [summ if summ.noise_intercepts is not None else replace(summ, noise_intercepts=(
            summ.series.noise_tr if summ.series.noise_tr is not None else max(start[1], 0.0),
            summ.series.noise_P if summ.series.noise_P is not None else max(start[3], 0.0) * summ.series.volume))
            for summ in summaries]
        ndim = 4
        # walkers start dispersed over the approximate posterior width, so that
        # R-hat across walkers can reveal a failure to mix
        p0 = start + sd * rng.standard_normal((self.n_walkers, ndim))

        lo = np.log(summaries[0].series.n_mobile * summaries[0].series.charge**2
                    / summaries[0].series.volume / self.max_haven)
        p0[:, 2] = np.maximum(p0[:, 2], p0[:, 0] + lo + 1e-3)

        self.noise_scale_ = noise_scales(summaries, np.array([np.exp(start[0]), start[1], np.exp(start[2]),
                                                              start[3]]))

        def log_prob(phi):
            lp = log_prior(phi, summaries, self.max_haven, self.noise_scale_)
            out = np.full(len(phi), -np.inf)
            ok = np.isfinite(lp)
            if ok.any():
                out[ok] = log_likelihood(phi[ok], summaries)
            return out

        moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
        sampler = emcee.EnsembleSampler(self.n_walkers, ndim, log_prob, vectorize=True, moves=moves)
        # emcee draws its moves from a legacy RandomState; seed it from rng, never globally
        sampler.random_state = np.random.RandomState(int(rng.integers(2**32 - 1))).get_state()
        from .. import progress

        with progress.bar(total=self.n_steps, desc=self.progress_label, unit="step",
                          enabled=self.show_progress) as bar:
            for i, _ in enumerate(sampler.sample(p0, iterations=self.n_steps), 1):
                if i % 100 == 0:
                    bar.update(100)
            bar.update(self.n_steps % 100)
        chain = sampler.get_chain(discard=self.n_burn)  # (steps, walkers, ndim)
        phys = chain.copy()
        phys[..., 0] = np.exp(chain[..., 0])
        phys[..., 2] = np.exp(chain[..., 2])
        self.chain_ = phys
        self.samples_ = {name: phys[..., i].reshape(-1) for i, name in enumerate(PARAMS)}
        self.acceptance_ = float(np.mean(sampler.acceptance_fraction))
        self._diagnose(phys)
        return self

    def _diagnose(self, phys: np.ndarray) -> None:
        import arviz as az

        posterior = {name: np.swapaxes(phys[..., i], 0, 1) for i, name in enumerate(PARAMS)}
        self.idata_ = az.from_dict(posterior=posterior)
        rhat = az.rhat(self.idata_)
        ess = az.ess(self.idata_)
        self.rhat_ = {k: float(rhat[k]) for k in PARAMS}
        self.ess_ = {k: float(ess[k]) for k in PARAMS}
        bad = [k for k in PARAMS if not (self.rhat_[k] <= self.rhat_max and self.ess_[k] >= self.ess_min)]
        self.converged_ = not bad
        if bad:
            warnings.warn(ConvergenceWarning(
                "MCMC did not converge for " + ", ".join(
                    f"{k} (R-hat {self.rhat_[k]:.3f}, ESS {self.ess_[k]:.0f})" for k in bad)
                + f"; thresholds R-hat ≤ {self.rhat_max}, ESS ≥ {self.ess_min:g}: increase n_steps"))


class BayesEstimator:
    """The registered ``"bayes"`` estimator: :class:`BayesianRegression` on a group's summaries.

    The draws are the posterior chains, one chain per walker (walkers of one ensemble
    are not independent chains; R-hat is therefore judged against ``rhat_max`` = 1.05).
    """

    name = "bayes"
    kind = "interval"

    def __init__(self, settings: AnalysisSettings, *, per_seed: bool = False):
        self.n_walkers = settings.n_walkers
        self.n_steps = settings.per_seed_steps if per_seed else settings.n_steps
        self.n_burn = settings.seed_burn if per_seed else settings.burn
        self.rhat_max = settings.rhat_max
        self.ess_min = settings.ess_min
        self.show_progress: bool | None = False if per_seed else None

    def fit(self, data: GroupData, rng: np.random.Generator) -> JointSamples:
        label = " ".join(f"{k}={v}" for k, v in data.labels.items())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            fit = BayesianRegression(rng=rng, n_walkers=self.n_walkers, n_steps=self.n_steps, n_burn=self.n_burn,
                                     rhat_max=self.rhat_max, ess_min=self.ess_min,
                                     show_progress=self.show_progress,
                                     progress_label=f"sample {label}".strip()).fit(list(data.summaries))
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        draws = {name: np.swapaxes(fit.chain_[..., i], 0, 1) for i, name in enumerate(PARAMS)}
        conv = {"rhat": fit.rhat_, "ess": fit.ess_, "converged": fit.converged_, "acceptance": fit.acceptance_,
                "rhat_max": self.rhat_max, "ess_min": self.ess_min}
        if not fit.converged_:
            conv["message"] = "; ".join(str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning))
        return JointSamples(method=self.name, draws=draws, independent=False, convergence=conv,
                            slope_z=dict(fit.slope_z_),
                            info={"n_walkers": self.n_walkers, "n_steps": self.n_steps, "n_burn": self.n_burn,
                                  "noise_scale": list(fit.noise_scale_)})


register("bayes", BayesEstimator)
