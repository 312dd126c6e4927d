r"""σ, σ_tr and the Haven ratio of a group of seeds: the physics in one place.

For a group (runs sharing all labels but the seed) with mobile species D of charge
:math:`q` and :math:`N_D` ions in volume :math:`V` at temperature :math:`T`:

.. math::
   D^* = \frac{1}{6}\frac{d\,\mathrm{MSD}_{tr}}{dt},\qquad
   \sigma_{tr} = \frac{N_D q^2 D^*}{V k_B T},\qquad
   \sigma = \frac{1}{6 V k_B T}\frac{d\langle|\Delta P|^2\rangle}{dt},\qquad
   H_R = \sigma_{tr}/\sigma,

with the tracer MSD taken relative to the framework centre and
:math:`\Delta P = \sum_j q_j \Delta r_j` summed over all atoms *of one seed*
(:mod:`uncertainty_gk.displacement`).  Each seed is its own system; seeds are pooled
in the likelihood, never by summing their displacements.

The default estimator is the Bayesian regression of
:mod:`uncertainty_gk.estimators.bayes`; H_R comes from joint posterior samples of
σ_tr and σ (their correlation is modelled), never from two separate intervals.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy import stats

from . import units
from .displacement import polarisation_msd, tracer_msd
from .errors import AnalysisError, AnalysisWarning, CampaignError
from .estimators.bayes import BayesianRegression
from .estimators.series import (SeedSeries, SeedSummary, correlation_strengths, noise_acf_from_msd,
                                noise_level_from_msd, summarise)
from .results import QUANTITY_UNITS, Estimate, GroupResult, SeedResult
from .schema import labels_of
from .window import FitWindow, choose_window, window_lags

#: MSD growth (Å²) across the usable lags below which no long-range diffusion is reported.
NO_DIFFUSION_MSD_A2 = 1.0
#: A pooled slope with estimate/SE below this is reported as not resolved from zero.
RESOLVED_Z = 2.0
#: Fewest frames the usable lags must span before "no diffusion" can be concluded.
MIN_WINDOW_FRAMES = 8
#: A seed contributes to a pooled fit only with at least this many window lags.
MIN_LAGS_PER_SEED = 3


@dataclass
class SeedData:
    """Everything the estimators need from one seed, computed once (all lags)."""

    name: str
    labels: dict
    lag_ps: np.ndarray
    dt_ps: float
    n_frames: int
    msd_tr: np.ndarray          # (L,) Å², framework-relative, mobile species
    msd_P: np.ndarray           # (L,) e² Å²
    n_mobile: int
    charge: float
    species: str
    volume: float
    temperature_K: float
    ds: xr.Dataset = field(repr=False)
    framework_displacement: np.ndarray = field(repr=False)   # (T, 3)
    polarisation: np.ndarray = field(repr=False)             # (T, 3)
    mobile_index: np.ndarray = field(repr=False)

    @property
    def duration_ps(self) -> float:
        return (self.n_frames - 1) * self.dt_ps

    def window_displacements(self, lag: int) -> tuple[np.ndarray, np.ndarray]:
        """Mobile-ion (framework-relative) and polarisation displacements over
        consecutive non-overlapping windows of ``lag`` frames: (W, N, 3), (W, 3)."""
        n_win = (self.n_frames - 1) // lag
        idx = np.arange(n_win + 1) * lag
        pos = np.asarray(self.ds["positions"].isel(time=idx, atom=self.mobile_index).values, dtype=np.float64)
        rel = pos - self.framework_displacement[idx][:, None, :]
        return np.diff(rel, axis=0), np.diff(self.polarisation[idx], axis=0)


def prepare_seed(ds: xr.Dataset, *, name: str = "", species: str | None = None,
                 reference: str = "charge", temperature_K: float | None = None) -> SeedData:
    """Tracer and polarisation MSD of one run at all lags (FFT over all origins)."""
    labels = labels_of(ds)
    name = name or ds.attrs.get("run_name", "") or json.dumps(labels)
    mobile = np.asarray(ds["mobile"].values).astype(bool)
    species_all = np.asarray(ds["species"].values).astype(str)
    mobile_species = sorted(set(species_all[mobile]))
    if not mobile_species:
        raise AnalysisError(f"run {name}: no mobile atoms (set mobile = [\"Li\"] in the manifest)")
    if species is None:
        if len(mobile_species) > 1:
            raise AnalysisError(f"run {name}: several mobile species {mobile_species}; analyse one at a time "
                                "(species=... / --species)")
        species = mobile_species[0]
    sel = mobile & (species_all == species)
    if not sel.any():
        raise AnalysisError(f"run {name}: mobile species {species!r} not present; mobile: {mobile_species}")
    q = np.unique(np.asarray(ds["charge"].values)[sel])
    if q.size != 1:
        raise AnalysisError(f"run {name}: {species} ions carry different charges {q.tolist()}")
    T = temperature_K if temperature_K is not None else float(ds.attrs.get("temperature_K", np.nan))
    if not np.isfinite(T) or T <= 0:
        raise AnalysisError(f"run {name}: temperature unknown; set temperature_K in the manifest")
    tr = tracer_msd(ds, species=species, reference=reference)
    pol = polarisation_msd(ds)
    lag = np.asarray(tr["lag"].values, dtype=np.float64)
    vol = ds["volume"]
    volume = float(vol.mean()) if vol.ndim else float(vol)
    return SeedData(
        name=name, labels=labels, lag_ps=lag, dt_ps=float(lag[1] - lag[0]), n_frames=int(ds.sizes["time"]),
        msd_tr=np.asarray(tr["msd"].sel(species=species).values, dtype=np.float64),
        msd_P=np.asarray(pol["msd"].values, dtype=np.float64), n_mobile=int(sel.sum()), charge=float(q[0]),
        species=species, volume=volume, temperature_K=T, ds=ds,
        framework_displacement=np.asarray(tr["framework_displacement"].values, dtype=np.float64),
        polarisation=np.asarray(pol["polarisation"].values, dtype=np.float64),
        mobile_index=np.nonzero(sel)[0])


def check_group(seeds: list[SeedData], *, volume_rtol: float = 0.02) -> None:
    """Seeds of one group must hold the same system: atoms, species, T, frame interval, volume."""
    ref = seeds[0]
    comp = lambda s: dict(zip(*np.unique(np.asarray(s.ds["species"].values).astype(str), return_counts=True)))  # noqa: E731
    c0 = comp(ref)
    for s in seeds[1:]:
        if comp(s) != c0:
            raise CampaignError(f"runs {ref.name!r} and {s.name!r} of one group have different atoms "
                                f"({c0} vs {comp(s)}); give them different labels")
        if abs(s.dt_ps - ref.dt_ps) > 1e-6 * ref.dt_ps:
            raise CampaignError(f"runs {ref.name!r} and {s.name!r} of one group have different frame intervals "
                                f"({ref.dt_ps:g} vs {s.dt_ps:g} ps)")
        if abs(s.volume - ref.volume) > volume_rtol * ref.volume:
            raise CampaignError(f"runs {ref.name!r} and {s.name!r} of one group have volumes differing by more "
                                f"than {volume_rtol:.0%} ({ref.volume:.1f} vs {s.volume:.1f} Å^3); different "
                                "systems should carry different labels")
        if abs(s.temperature_K - ref.temperature_K) > 1e-6 * ref.temperature_K:
            raise CampaignError(f"runs {ref.name!r} and {s.name!r} of one group have different temperatures "
                                f"({ref.temperature_K:g} vs {s.temperature_K:g} K)")


def pooled_tracer_curve(seeds: list[SeedData]) -> tuple[np.ndarray, np.ndarray]:
    """Tracer MSD averaged over the seeds that reach each lag, weighted by their origins."""
    L = max(len(s.lag_ps) for s in seeds)
    num = np.zeros(L)
    den = np.zeros(L)
    for s in seeds:
        n = len(s.lag_ps)
        w = (s.n_frames - np.arange(n)).astype(float)
        num[:n] += w * s.msd_tr
        den[:n] += w
    longest = max(seeds, key=lambda s: len(s.lag_ps))
    return longest.lag_ps, num / np.where(den > 0, den, 1)


def select_window(seeds: list[SeedData], *, window=None, max_fraction: float = 0.25,
                  min_loglog_slope: float = 0.8) -> FitWindow:
    lag, y = pooled_tracer_curve(seeds)
    return choose_window(lag, y, shortest_run_ps=min(s.duration_ps for s in seeds),
                         longest_run_ps=max(s.duration_ps for s in seeds), max_fraction=max_fraction,
                         min_loglog_slope=min_loglog_slope, user=window)


def seed_series(seed: SeedData, lags: np.ndarray, max_fraction: float = 0.25) -> SeedSeries:
    """The fit-window data of one seed (lags up to ``max_fraction`` of its length),
    with κ and χ measured at the middle lag and the noise autocorrelation of each
    series measured from its short-lag MSD (up to the window start)."""
    lags = lags[lags <= max(max_fraction * (seed.n_frames - 1), 1)]
    mid = int(np.median(lags))
    d_ion, d_P = seed.window_displacements(mid)
    kappa, chi = correlation_strengths(d_ion, d_P)
    series = SeedSeries(name=seed.name, lags=lags, dt_ps=seed.dt_ps, n_frames=seed.n_frames,
                        y_tr=seed.msd_tr[lags], y_P=seed.msd_P[lags], n_mobile=seed.n_mobile, charge=seed.charge,
                        volume=seed.volume, kappa=kappa, chi=chi, labels=seed.labels)
    first = summarise(series)
    m_tr, c_tr, m_P, c_P = first.theta_hat
    start = int(lags[0])
    for name, msd, m, c in (("tr", seed.msd_tr, m_tr, c_tr), ("P", seed.msd_P, m_P, c_P)):
        mf = max(m, 0.0) * seed.dt_ps
        acf = noise_acf_from_msd(msd, mf, c, max_lag=start)
        level = noise_level_from_msd(msd, mf, 1 if acf is None else len(acf))
        acf = noise_acf_from_msd(msd, mf, level, max_lag=start)  # again, with the precise plateau
        setattr(series, f"acf_{name}", acf)
        setattr(series, f"noise_{name}", level)
    return series


def physical_samples(samples: dict, seeds: list[SeedData]) -> dict[str, np.ndarray]:
    """Posterior (or bootstrap) line parameters -> D*, σ_tr, σ, H_R samples in report units."""
    V = float(np.mean([s.volume for s in seeds]))
    T = seeds[0].temperature_K
    N = seeds[0].n_mobile
    q = seeds[0].charge
    slope_tr = np.asarray(samples["slope_tr"])
    rho = np.asarray(samples["slope_P_per_volume"])
    D_A2ps = slope_tr / 6.0
    sigma_tr = N * q * q * D_A2ps * units.conductivity_prefactor_S_per_cm(V, T)
    sigma = rho / 6.0 * units.conductivity_prefactor_S_per_cm(1.0, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        haven = sigma_tr / sigma
    return {"D_tr": D_A2ps * units.A2_PER_PS_TO_CM2_PER_S, "sigma_tr": sigma_tr, "sigma": sigma,
            "haven_ratio": haven}


def estimates_from_samples(phys: dict, *, ci_prob: float, method: str) -> dict[str, Estimate]:
    out = {k: Estimate.from_samples(phys[k], ci_prob=ci_prob, units=QUANTITY_UNITS[k], method=method)
           for k in ("sigma", "sigma_tr", "haven_ratio", "D_tr")}
    h = out["haven_ratio"]
    h.note = "interval includes 1 (uncorrelated hopping not excluded)" if h.lower <= 1 <= h.upper else \
        "interval excludes 1 (correlated ion motion)"
    return out


def _mark_unresolved(q: dict[str, Estimate], z: float) -> None:
    """σ not resolved from zero: report only its upper bound, and only a lower bound of H_R.

    The upper bound is the posterior's upper quantile; a median or lower bound would
    suggest a precision the data do not have (the posterior is then shaped by the
    prior and by the variance model far from the data).
    """
    sig, hr = q["sigma"], q["haven_ratio"]
    q["sigma"] = Estimate(median=float("nan"), lower=0.0, upper=sig.upper, ci_prob=sig.ci_prob, units=sig.units,
                          method=sig.method, samples=sig.samples,
                          note=f"not resolved from zero (pooled GLS z = {z:.2f}): upper bound only")
    q["haven_ratio"] = Estimate(median=float("nan"), lower=hr.lower, upper=float("inf"), ci_prob=hr.ci_prob,
                                units=hr.units, method=hr.method, samples=hr.samples,
                                note=f"σ not resolved (z = {z:.2f}): lower bound only")


def heterogeneity(summaries: list[SeedSummary], pooled: np.ndarray, names: list[str],
                  alpha: float = 0.01) -> dict:
    """Seed-to-seed consistency of the tracer and polarisation slopes.

    * Cochran's Q of the per-seed GLS slopes about their inverse-variance mean,
      with each seed's variance evaluated at the pooled parameters (its expected
      scatter if it belonged to the group); p-value from χ²(n−1); I².
    * Per seed, a leave-one-out z: the seed against its siblings (their median when
      there are at least three, else their inverse-variance mean),
      ``z = (x_s − ref) / sqrt(var_s + var(ref))``.  A seed is
      flagged when its two-sided p-value is below ``alpha / n_seeds`` (Bonferroni).
      Leaving the seed out keeps one wild seed from dragging the reference
      towards itself and making its siblings look inconsistent.
    """
    n = len(summaries)
    out = {"alpha": alpha, "per_seed": {nm: {} for nm in names}}
    for key, idx, per_vol in (("tracer", 0, False), ("polarisation", 2, True)):
        est, var = [], []
        for s in summaries:
            V = s.series.volume
            th = np.array([pooled[0], pooled[1], pooled[2] * V, pooled[3] * V])
            cov = s.covariance(th)
            f = V if per_vol else 1.0
            est.append(s.theta_hat[idx] / f)
            var.append(cov[idx, idx] / f / f)
        est, var = np.array(est), np.array(var)
        w = 1.0 / var
        mean = float(np.sum(w * est) / np.sum(w))
        Q = float(np.sum(w * (est - mean) ** 2))
        p = float(stats.chi2.sf(Q, n - 1)) if n > 1 else 1.0
        out[key] = {"Q": Q, "dof": n - 1, "p_value": p, "I2": max(0.0, (Q - (n - 1)) / Q) if Q > 0 else 0.0}
        for i, nm in enumerate(names):
            others = np.arange(n) != i
            if not others.any():
                continue
            wo = w[others]
            # the median of the siblings resists a second outlier; its variance is
            # about π/2 that of their mean (one or two siblings: the mean itself)
            if others.sum() >= 3:
                ref, ref_var = float(np.median(est[others])), np.pi / 2 / np.sum(wo)
            else:
                ref, ref_var = float(np.sum(wo * est[others]) / np.sum(wo)), 1.0 / np.sum(wo)
            z = (est[i] - ref) / np.sqrt(var[i] + ref_var)
            ps = float(2 * stats.norm.sf(abs(z)))
            out["per_seed"][nm][key] = {"z": float(z), "p_value": ps, "flagged": bool(ps < alpha / n)}
    return out


def overdispersion(het: dict, alpha: float = 0.05) -> tuple[float, float]:
    """Variance inflation (tracer, polarisation): the Birge ratio Q/(n−1) of a block whose
    Cochran's Q rejects homogeneity at level ``alpha``, else 1.

    This is the usual random-effects remedy when replicates disagree beyond their
    stated errors (real runs: non-Gaussian hops, slow modes, a potential that drifts).
    Without it a parameter-dependent covariance lets the sampler "explain" the
    scatter with a larger slope.  Under a correct model it triggers in a fraction
    ``alpha`` of analyses and then widens the interval only slightly.
    """
    out = []
    for key in ("tracer", "polarisation"):
        h = het.get(key)
        if h and h["dof"] > 0 and h["p_value"] < alpha:
            out.append(max(1.0, h["Q"] / h["dof"]))
        else:
            out.append(1.0)
    return out[0], out[1]


def no_diffusion_bounds(seeds: list[SeedData], end_ps: float, ci_prob: float) -> dict[str, Estimate]:
    """Upper bounds when no long-range diffusion is detected: MSD(t)/(6t) at the last usable lag."""
    k = int(round(end_ps / seeds[0].dt_ps))
    k = max(1, min(k, min(s.n_frames for s in seeds) - 1))
    t = k * seeds[0].dt_ps
    slope_tr = max(float(np.max([s.msd_tr[k] for s in seeds])), 0.0) / t
    rho = max(float(np.max([s.msd_P[k] / s.volume for s in seeds])), 0.0) / t
    phys = physical_samples({"slope_tr": np.array([slope_tr]), "slope_P_per_volume": np.array([rho])}, seeds)
    note = f"no long-range diffusion detected; upper bound MSD({t:g} ps)/(6·{t:g} ps), largest over seeds"
    out = {}
    for key in ("sigma", "sigma_tr", "D_tr"):
        ub = float(phys[key][0])
        out[key] = Estimate(median=float("nan"), lower=0.0, upper=ub, ci_prob=ci_prob, units=QUANTITY_UNITS[key],
                            method="upper_bound", note=note)
    return out


def analyse_group(runs, *, method: str = "bayes", window=None, n_lags: int = 24, ci_prob: float = 0.95,
                  rng=None, reference: str = "charge", species: str | None = None, n_steps: int = 2000,
                  per_seed: bool = True, labels: dict | None = None, max_fraction: float = 0.25,
                  no_diffusion_msd_A2: float = NO_DIFFUSION_MSD_A2,
                  overdispersion_alpha: float = 0.05, show_progress: bool | None = None) -> GroupResult:
    """σ, σ_tr, H_R and D* of one group of seeds.

    Parameters
    ----------
    runs : mapping name -> Dataset, or list of Datasets (or of :class:`SeedData`)
    method : "bayes", "bootstrap", "block" or "all" (the first listed is the headline)
    window : (start_ps, end_ps), optional
        Override the automatic fit window.
    rng : numpy Generator or int
        Seeds every random choice (MCMC, bootstrap).
    show_progress : bool or None
        Progress bar over the MCMC steps (default: on a terminal unless ``--quiet``).
    """
    rng = np.random.default_rng(rng)
    seeds = _as_seeds(runs, reference=reference, species=species)
    check_group(seeds)
    group_labels = labels if labels is not None else {k: v for k, v in seeds[0].labels.items() if k != "seed"}
    methods = ["bayes", "bootstrap", "block"] if method == "all" else [method]
    for m in methods:
        if m not in ("bayes", "bootstrap", "block"):
            raise AnalysisError(f"unknown method {m!r}; choose bayes, bootstrap, block or all")
    notes: list[str] = []
    try:
        win = select_window(seeds, window=window, max_fraction=max_fraction)
    except AnalysisError:
        lag, y = pooled_tracer_curve(seeds)
        end = max_fraction * max(s.duration_ps for s in seeds)
        k = int(np.searchsorted(lag, end))
        growth = float(y[min(k, len(y) - 1)] - y[min(4, len(y) - 1)])
        if growth < no_diffusion_msd_A2 and end >= MIN_WINDOW_FRAMES * seeds[0].dt_ps:
            return _no_diffusion_result(seeds, group_labels, end, ci_prob, growth, no_diffusion_msd_A2)
        raise
    lags = window_lags(win, seeds[0].dt_ps, max(s.n_frames for s in seeds), n_lags)
    usable = []
    for s in seeds:
        n_in = int(np.sum(lags <= max_fraction * (s.n_frames - 1)))
        if n_in < MIN_LAGS_PER_SEED:
            notes.append(f"seed {s.name} left out: only {n_in} of the window's lags fall within "
                         f"{max_fraction:g} of its {s.duration_ps:g} ps (need {MIN_LAGS_PER_SEED})")
        else:
            usable.append(s)
    if not usable:
        raise AnalysisError(f"no seed is long enough for the fit window {win.start_ps:g}-{win.end_ps:g} ps")
    seeds = usable
    series = [seed_series(s, lags, max_fraction) for s in seeds]
    growth = float(np.mean([s.y_tr[-1] - s.y_tr[0] for s in series]))
    if growth < no_diffusion_msd_A2:
        return _no_diffusion_result(seeds, group_labels, win.end_ps, ci_prob, growth, no_diffusion_msd_A2)
    if win.provisional:
        notes.append(f"fit window {win.reason}")
        warnings.warn(AnalysisWarning(f"group {group_labels}: {win.reason}"))
    summaries = [summarise(s) for s in series]
    # heterogeneity is judged at the GLS pooled fit, before sampling: robust even when
    # seeds disagree; when they scatter beyond the model, the variances are inflated
    het = heterogeneity(summaries, _pooled_gls(summaries), [s.name for s in seeds]) if len(seeds) > 1 else {}
    inflation = overdispersion(het, alpha=overdispersion_alpha)
    if inflation != (1.0, 1.0):
        for summ in summaries:
            summ.inflation = inflation
        notes.append(f"the seeds scatter more than the model allows (Cochran's Q p < {overdispersion_alpha:g}); "
                     f"variances inflated by the Birge ratio Q/(n-1): tracer ×{inflation[0]:.3g}, "
                     f"polarisation ×{inflation[1]:.3g}")
    by_method: dict[str, dict[str, Estimate]] = {}
    diagnostics: dict = {"kappa_times_N": [s.kappa * s.n_mobile for s in series],
                         "chi_times_N": [s.chi * s.n_mobile for s in series], "n_lags": int(len(lags))}
    idata = None
    for m in methods:
        if m == "bayes":
            label = " ".join(f"{k}={v}" for k, v in group_labels.items())
            fit = BayesianRegression(rng=rng, n_steps=n_steps, n_burn=n_steps // 3,
                                     progress_label=f"sample {label}".strip(),
                                     show_progress=show_progress).fit(summaries)
            by_method[m] = estimates_from_samples(physical_samples(fit.samples_, seeds), ci_prob=ci_prob, method=m)
            diagnostics.update({"rhat": fit.rhat_, "ess": fit.ess_, "converged": fit.converged_,
                                "acceptance": fit.acceptance_})
            idata = fit.idata_
            diagnostics["slope_z"] = fit.slope_z_
            if fit.slope_z_["polarisation"] < RESOLVED_Z:
                _mark_unresolved(by_method[m], fit.slope_z_["polarisation"])
                notes.append(f"σ is not resolved from zero (pooled polarisation slope z = "
                             f"{fit.slope_z_['polarisation']:.2f} < {RESOLVED_Z:g}): read σ as an upper bound "
                             "and H_R as a lower bound; run longer or more seeds")
        else:
            from .estimators import resampling

            samples = resampling.line_samples(m, seeds, series, rng=rng, ci_prob=ci_prob)
            by_method[m] = estimates_from_samples(physical_samples(samples, seeds), ci_prob=ci_prob, method=m)
    seed_results = []
    if per_seed:
        for s, summ in zip(seeds, summaries):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = BayesianRegression(rng=rng, n_steps=max(600, n_steps // 2), n_burn=max(200, n_steps // 6),
                                         show_progress=False).fit([summ])
            q = estimates_from_samples(physical_samples(fit.samples_, [s]), ci_prob=ci_prob, method="bayes")
            ps = het.get("per_seed", {}).get(s.name, {})
            flagged = any(v.get("flagged") for v in ps.values())
            seed_results.append(SeedResult(name=s.name, labels={"seed": s.labels.get("seed", s.name)},
                                           quantities=q, flagged=flagged,
                                           z_scores={k: v["z"] for k, v in ps.items()}))
            if flagged:
                zs = ", ".join(f"{k} {v['z']:+.1f}" for k, v in ps.items())
                notes.append(f"seed {s.name} is inconsistent with its siblings (z = {zs})")
    headline = methods[0]
    baselines = {}
    try:
        from .estimators import baselines as _bl

        baselines = _bl.ols_wls_gls(seeds, lags, ci_prob=ci_prob)
    except ImportError:
        pass
    return GroupResult(labels=group_labels, n_seeds=len(seeds), window_ps=win.as_list(), method=headline,
                       quantities=by_method[headline], seeds=seed_results,
                       by_method=by_method if len(by_method) > 1 else {}, heterogeneity=het,
                       diagnostics=diagnostics, baselines=baselines, notes=notes, window_reason=win.reason,
                       idata=idata)


def _pooled_gls(summaries: list[SeedSummary]) -> np.ndarray:
    from .estimators.bayes import _pooled_start

    start, _, _ = _pooled_start(summaries)
    return np.array([np.exp(start[0]), start[1], np.exp(start[2]), start[3]])


def _no_diffusion_result(seeds, group_labels, end_ps, ci_prob, growth, threshold) -> GroupResult:
    q = no_diffusion_bounds(seeds, end_ps, ci_prob)
    return GroupResult(labels=group_labels, n_seeds=len(seeds), window_ps=[float("nan"), float(end_ps)],
                       method="upper_bound", quantities=q, diffusion_detected=False,
                       notes=[f"no long-range diffusion detected: the tracer MSD grows by only {growth:.3g} Å² "
                              f"over the usable lags (threshold {threshold:g} Å²); upper bounds given"])


def _as_seeds(runs, *, reference: str, species: str | None) -> list[SeedData]:
    if isinstance(runs, dict) or hasattr(runs, "items"):
        items = list(runs.items())
    else:
        items = [(getattr(r, "name", None) or (r.attrs.get("run_name") if hasattr(r, "attrs") else "")
                  or f"run{i}", r) for i, r in enumerate(runs)]
    if not items:
        raise AnalysisError("no runs to analyse")
    return [r if isinstance(r, SeedData) else prepare_seed(r, name=n, species=species, reference=reference)
            for n, r in items]

