r"""What every estimator reads: one group's seeds, window, fitted lags and random stream.

A *group* is the set of runs that share every label but the seed (the replicas of one
system).  :func:`build_group_data` turns the group's trajectories into a
:class:`GroupData`, once:

* per seed (:class:`SeedData`), the framework-relative tracer MSD of the mobile
  species and the polarisation MSD at every lag (FFT over all time origins), the
  charges, volume and the one temperature of :mod:`uncertainty_gk.temperature`;
* the fit window (:mod:`uncertainty_gk.window`), the regression lag grid and, per
  seed, **the lags actually fitted**.  With an automatic window each seed is fitted up
  to ``max_fraction`` of its own length (at least four independent windows at its
  longest lag).  A window given by the user is fitted as given: every lag of the grid
  that a seed reaches is used, and when a seed is too short for part of the window
  the group's notes say so; nothing is cut silently;
* the per-seed GLS summaries with the noise level of their covariance fixed and, when
  the seeds scatter beyond the model, their overdispersion factors
  (:mod:`.heterogeneity`);
* a child :class:`numpy.random.SeedSequence` spawned from the root seed and the
  group's key, so that a group's numbers do not depend on which other groups are
  analysed, in which order, or by how many workers.

Estimators (:mod:`uncertainty_gk.estimators`) take a :class:`GroupData` and a
generator, and never modify it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import xarray as xr

from ..campaign import group_key
from ..conductivity import physical_samples
from ..displacement import polarisation_msd, tracer_msd
from ..errors import AnalysisError, AnalysisWarning, CampaignError
from ..schema import labels_of
from ..settings import AnalysisSettings
from ..temperature import ResolvedTemperature, resolve_temperature
from ..window import FitWindow, choose_window, window_lags
from .heterogeneity import heterogeneity, overdispersion, pooled_gls
from .series import SeedSeries, SeedSummary, correlation_strengths, noise_acf_from_msd, noise_level_from_msd, summarise

__all__ = ["SeedData", "GroupData", "prepare_seed", "check_group", "build_group_data", "pooled_tracer_curve",
           "select_window", "seed_series", "group_seed_sequence", "MIN_LAGS_PER_SEED", "MIN_WINDOW_FRAMES"]

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
    temperature_source: str = ""
    charges: dict = field(default_factory=dict)               # species -> charge (e)
    # the spectral estimator's reduction of the tracer increments, made in the tracer MSD's
    # pass over the positions (prepare_seed(tracer_statistics=True)); None: made when needed
    tracer_statistics: Any = field(default=None, repr=False)

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


def _species_charges(ds: xr.Dataset) -> dict[str, float]:
    species = np.asarray(ds["species"].values).astype(str)
    charge = np.asarray(ds["charge"].values, dtype=float)
    out: dict[str, float] = {}
    for sp in sorted(set(species.tolist())):
        q = np.unique(charge[species == sp])
        out[sp] = float(q[0]) if q.size == 1 else float("nan")
    return out


def prepare_seed(ds: xr.Dataset, *, name: str = "", species: str | None = None, reference: str = "charge",
                 temperature_K: float | None = None, tracer_statistics: bool = False) -> SeedData:
    """Tracer and polarisation MSD of one run at all lags (FFT over all origins).

    The temperature is ``temperature_K`` when given, else the run's one temperature
    (:func:`uncertainty_gk.temperature.resolve_temperature`).  With
    ``tracer_statistics``, the spectral estimator's reduction of the tracer increments
    (:class:`~uncertainty_gk.estimators.spectral.TracerStatistics`, default options) is
    made in the same pass over the positions as the tracer MSD, so that an archive that
    does not fit in memory is read once, not twice.
    """
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
    if temperature_K is not None:
        temp = ResolvedTemperature(float(temperature_K), "argument")
    else:
        try:
            temp = resolve_temperature(ds, name=name)
        except CampaignError as exc:
            raise AnalysisError(str(exc)) from None
    stats = None
    on_chunk = None
    mobile_index = np.nonzero(sel)[0]
    if tracer_statistics and np.array_equal(mobile_index, np.flatnonzero(species_all == species)):
        from .spectral import TracerStatistics, tracer_chunk

        stats = TracerStatistics(int(ds.sizes["time"]) - 1, len(mobile_index))      # the fit's default options

        def on_chunk(_atoms, positions, centre):
            tracer_chunk(stats, positions, centre)
    tr = tracer_msd(ds, species=species, reference=reference, on_chunk=on_chunk)
    pol = polarisation_msd(ds)
    lag = np.asarray(tr["lag"].values, dtype=np.float64)
    vol = ds["volume"]
    volume = float(vol.mean()) if vol.ndim else float(vol)
    return SeedData(
        name=name, labels=labels, lag_ps=lag, dt_ps=float(lag[1] - lag[0]), n_frames=int(ds.sizes["time"]),
        msd_tr=np.asarray(tr["msd"].sel(species=species).values, dtype=np.float64),
        msd_P=np.asarray(pol["msd"].values, dtype=np.float64), n_mobile=int(sel.sum()), charge=float(q[0]),
        species=species, volume=volume, temperature_K=temp.value_K, ds=ds,
        framework_displacement=np.asarray(tr["framework_displacement"].values, dtype=np.float64),
        polarisation=np.asarray(pol["polarisation"].values, dtype=np.float64),
        mobile_index=mobile_index, temperature_source=temp.source, charges=_species_charges(ds),
        tracer_statistics=stats)


def check_group(seeds: list[SeedData], *, volume_rtol: float = 0.02) -> None:
    """Seeds of one group must hold the same system: atoms, species, T, frame interval, volume."""
    ref = seeds[0]

    def comp(s: SeedData) -> dict:
        return dict(zip(*np.unique(np.asarray(s.ds["species"].values).astype(str), return_counts=True)))

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
            raise CampaignError(f"runs {ref.name!r} ({ref.temperature_K:g} K, {ref.temperature_source}) and "
                                f"{s.name!r} ({s.temperature_K:g} K, {s.temperature_source}) of one group have "
                                "different temperatures; give them different temperature_K labels")
        if s.charges != ref.charges:
            raise CampaignError(f"runs {ref.name!r} and {s.name!r} of one group use different charges "
                                f"({ref.charges} vs {s.charges})")


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


def select_window(seeds: list[SeedData], settings: AnalysisSettings | None = None) -> FitWindow:
    """The fit window of a group (the user's, checked, or chosen from the pooled tracer MSD)."""
    st = settings or AnalysisSettings()
    lag, y = pooled_tracer_curve(seeds)
    return choose_window(lag, y, shortest_run_ps=min(s.duration_ps for s in seeds),
                         longest_run_ps=max(s.duration_ps for s in seeds), max_fraction=st.max_fraction,
                         min_loglog_slope=st.min_loglog_slope, user=st.window_ps)


def seed_series(seed: SeedData, lags: np.ndarray, *, kappa_max_lag: int | None = None) -> SeedSeries:
    """The fit-window data of one seed at exactly ``lags`` (frames, all within the seed),
    with κ and χ measured at the middle lag (at most ``kappa_max_lag``, so that enough
    non-overlapping windows remain) and the noise autocorrelation of each series
    measured from its short-lag MSD (up to the window start)."""
    lags = np.asarray(lags, dtype=np.int64)
    if lags.size == 0 or lags[-1] > seed.n_frames - 1:
        raise ValueError(f"seed {seed.name}: lags must lie within its {seed.n_frames} frames")
    mid = int(np.median(lags))
    if kappa_max_lag is not None:
        mid = max(1, min(mid, int(kappa_max_lag)))
    d_ion, d_P = seed.window_displacements(mid)
    kappa, chi = correlation_strengths(d_ion, d_P)
    base = SeedSeries(name=seed.name, lags=lags, dt_ps=seed.dt_ps, n_frames=seed.n_frames,
                      y_tr=seed.msd_tr[lags], y_P=seed.msd_P[lags], n_mobile=seed.n_mobile, charge=seed.charge,
                      volume=seed.volume, kappa=kappa, chi=chi, labels=seed.labels)
    m_tr, c_tr, m_P, c_P = summarise(base).theta_hat
    start = int(lags[0])
    noise: dict[str, Any] = {}
    for key, msd, m, c in (("tr", seed.msd_tr, m_tr, c_tr), ("P", seed.msd_P, m_P, c_P)):
        mf = max(m, 0.0) * seed.dt_ps
        acf = noise_acf_from_msd(msd, mf, c, max_lag=start)
        level = noise_level_from_msd(msd, mf, 1 if acf is None else len(acf))
        noise[f"acf_{key}"] = noise_acf_from_msd(msd, mf, level, max_lag=start)  # with the precise plateau
        noise[f"noise_{key}"] = level
    return replace(base, **noise)


def group_seed_sequence(root_seed: int, key: str) -> np.random.SeedSequence:
    """The random stream of one group: spawned from the root seed and the group's key only."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    words = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    return np.random.SeedSequence(entropy=int(root_seed), spawn_key=words)


@dataclass(frozen=True)
class GroupData:
    """One group, prepared once; read by every estimator, never modified.

    Attributes
    ----------
    key : str
        The group key (canonical JSON of its labels, :func:`uncertainty_gk.campaign.group_key`).
    labels : dict
    settings : AnalysisSettings
    seeds : tuple of SeedData
        The seeds that the MSD-based estimators fit (seeds too short for the window are left
        out, with a note).
    all_seeds : tuple of SeedData
        Every seed of the group, in order, when some were left out of ``seeds`` (else
        empty); :attr:`every_seed` gives them either way.  The spectral estimator, which
        needs no window, uses every seed.
    window : FitWindow or None
        None when no long-range diffusion was detected (``diffusive`` is False).
    lags : (K,) int array
        The regression lag grid, in frames.
    series : tuple of SeedSeries
        Per seed, the MSDs at the lags actually fitted (``series[i].lags``).
    summaries : tuple of SeedSummary
        Per seed GLS summaries, with the noise level fixed and overdispersion applied.
    heterogeneity : dict
        Cochran's Q and per-seed z-scores (:func:`.heterogeneity.heterogeneity`).
    inflation : (float, float)
        Variance inflation of (tracer, polarisation) from the seed scatter, 1 when none.
    temperature_K, temperature_source
    seed_sequence : numpy.random.SeedSequence
    diffusive : bool
    growth_A2 : float
        Tracer MSD growth across the fitted lags (or the usable lags when not diffusive).
    notes : tuple of str
    """

    key: str
    labels: dict
    settings: AnalysisSettings
    seeds: tuple[SeedData, ...]
    window: FitWindow | None
    lags: np.ndarray
    series: tuple[SeedSeries, ...]
    summaries: tuple[SeedSummary, ...]
    heterogeneity: dict
    inflation: tuple[float, float]
    temperature_K: float
    temperature_source: str
    seed_sequence: np.random.SeedSequence
    diffusive: bool = True
    growth_A2: float = float("nan")
    no_diffusion_end_ps: float = float("nan")
    notes: tuple[str, ...] = ()
    all_seeds: tuple[SeedData, ...] = ()

    @property
    def every_seed(self) -> tuple[SeedData, ...]:
        """Every seed of the group, including those too short for the MSD window."""
        return self.all_seeds or self.seeds

    @property
    def dt_ps(self) -> float:
        return self.seeds[0].dt_ps

    @property
    def volume_A3(self) -> float:
        return float(np.mean([s.volume for s in self.seeds]))

    @property
    def charges(self) -> dict:
        return dict(self.seeds[0].charges)

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator for one named use within the group (e.g. ``"bayes"``, ``"seed s1"``).

        Streams for different purposes are independent and each depends only on the
        root seed, the group key and the purpose."""
        digest = hashlib.sha256(purpose.encode("utf-8")).digest()
        words = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 8, 4))
        ss = np.random.SeedSequence(entropy=self.seed_sequence.entropy,
                                    spawn_key=tuple(self.seed_sequence.spawn_key) + words)
        return np.random.default_rng(ss)

    def physical(self, slopes: dict) -> dict[str, np.ndarray]:
        """Slope draws -> D* (cm²/s), σ_tr, σ (S/cm), H_R (:func:`uncertainty_gk.conductivity.physical_samples`)."""
        s0 = self.seeds[0]
        return physical_samples(slopes, volume_A3=self.volume_A3, temperature_K=self.temperature_K,
                                n_mobile=s0.n_mobile, charge=s0.charge)

    def fitted_lags_ps(self) -> dict[str, list[float]]:
        """Per seed, the lags (ps) that the estimators fit."""
        return {s.name: (s.lags * s.dt_ps).tolist() for s in self.series}

    def subset(self, index: int) -> GroupData:
        """The same group reduced to one seed (for per-seed fits)."""
        return replace(self, seeds=(self.seeds[index],), series=(self.series[index],),
                       summaries=(self.summaries[index],), heterogeneity={}, all_seeds=())

    def alone(self, seed: SeedData) -> GroupData:
        """The group reduced to ``seed`` (one of :attr:`every_seed`) without its MSD fits:
        for converting that seed's own draws (:meth:`physical`)."""
        return replace(self, seeds=(seed,), series=(), summaries=(), heterogeneity={}, all_seeds=())


def _fitted_lags(seed: SeedData, lags: np.ndarray, settings: AnalysisSettings, user_window: bool) -> np.ndarray:
    if user_window:
        return lags[lags <= seed.n_frames - 1]
    return lags[lags <= max(round(settings.max_fraction * (seed.n_frames - 1)), 1)]


def build_group_data(runs, settings: AnalysisSettings, *, labels: dict | None = None,
                     show_warnings: bool = True) -> GroupData:
    """Prepare one group for the estimators (see the module docstring).

    Parameters
    ----------
    runs : mapping name -> Dataset, or list of Datasets or :class:`SeedData`
    settings : AnalysisSettings
        With a concrete root seed (:meth:`AnalysisSettings.resolved`).
    labels : dict, optional
        The group's labels (default: the first run's labels without those excluded
        from grouping).
    """
    if settings.seed is None:
        raise ValueError("build_group_data needs settings with a root seed; use settings.resolved()")
    seeds = _as_seeds(runs, settings)
    check_group(seeds)
    group_labels = labels if labels is not None else {k: v for k, v in seeds[0].labels.items()
                                                      if k not in settings.group_by_exclude}
    key = group_key(group_labels, ())
    common: dict[str, Any] = dict(key=key, labels=group_labels, settings=settings,
                  temperature_K=seeds[0].temperature_K, temperature_source=seeds[0].temperature_source,
                  seed_sequence=group_seed_sequence(settings.seed, key))
    notes: list[str] = []
    try:
        win = select_window(seeds, settings)
    except AnalysisError:
        lag, y = pooled_tracer_curve(seeds)
        end = settings.max_fraction * max(s.duration_ps for s in seeds)
        k = int(np.searchsorted(lag, end))
        growth = float(y[min(k, len(y) - 1)] - y[min(4, len(y) - 1)])
        if growth < settings.no_diffusion_msd_A2 and end >= MIN_WINDOW_FRAMES * seeds[0].dt_ps:
            return GroupData(seeds=tuple(seeds), window=None, lags=np.zeros(0, dtype=np.int64), series=(),
                             summaries=(), heterogeneity={}, inflation=(1.0, 1.0), diffusive=False,
                             growth_A2=growth, no_diffusion_end_ps=float(end), notes=tuple(notes), **common)
        raise
    user = settings.window_ps is not None
    lags = window_lags(win, seeds[0].dt_ps, max(s.n_frames for s in seeds), settings.n_lags)
    usable, fitted = [], []
    for s in seeds:
        lg = _fitted_lags(s, lags, settings, user)
        if lg.size < MIN_LAGS_PER_SEED:
            why = (f"its {s.duration_ps:g} ps" if user else
                   f"{settings.max_fraction:g} of its {s.duration_ps:g} ps")
            notes.append(f"seed {s.name} left out of the MSD fits (bayes, bootstrap, block and the baselines): only "
                         f"{lg.size} of the window's {lags.size} lags fall within {why} (need {MIN_LAGS_PER_SEED}); "
                         "the spectral estimator, which needs no window, uses it")
            continue
        if lg.size < lags.size:
            notes.append(f"seed {s.name} ({s.duration_ps:g} ps) is fitted at {lg.size} of the window's "
                         f"{lags.size} lags, up to {lg[-1] * s.dt_ps:g} ps "
                         + ("(it ends before the window does)" if user else
                            f"({settings.max_fraction:g} of its length)"))
        if user and lg[-1] > settings.max_fraction * (s.n_frames - 1):
            notes.append(f"seed {s.name}: the window reaches {lg[-1] * s.dt_ps:g} ps, beyond "
                         f"{settings.max_fraction:g} of its {s.duration_ps:g} ps; such lags rest on fewer than "
                         f"{1 / settings.max_fraction:g} independent windows")
        usable.append(s)
        fitted.append(lg)
    if not usable:
        raise AnalysisError(f"no seed is long enough for the fit window {win.start_ps:g}-{win.end_ps:g} ps")
    kappa_cap = None if not user else int(settings.max_fraction * min(s.n_frames - 1 for s in usable))
    series = [seed_series(s, lg, kappa_max_lag=kappa_cap) for s, lg in zip(usable, fitted)]
    growth = float(np.mean([s.y_tr[-1] - s.y_tr[0] for s in series]))
    if growth < settings.no_diffusion_msd_A2:
        return GroupData(seeds=tuple(usable), window=None, lags=lags, series=(), summaries=(), heterogeneity={},
                         inflation=(1.0, 1.0), diffusive=False, growth_A2=growth, no_diffusion_end_ps=win.end_ps,
                         notes=tuple(notes), **common)
    if win.provisional:
        notes.append(f"fit window {win.reason}")
        if show_warnings:
            warnings.warn(AnalysisWarning(f"group {group_labels}: {win.reason}"))
    summaries = [summarise(s) for s in series]
    pooled = pooled_gls(summaries)
    # heterogeneity is judged at the pooled GLS fit, with each seed's covariance at the
    # common parameters (its expected scatter if it belongs to the group)
    het = heterogeneity(summaries, pooled, [s.name for s in usable]) if len(usable) > 1 else {}
    # the noise level of every seed's covariance is then fixed at its short-lag plateau
    # (or, when not measured, at the pooled intercepts): a plug-in for a nuisance parameter
    summaries = [replace(sm, noise_intercepts=(
        sm.series.noise_tr if sm.series.noise_tr is not None else max(pooled[1], 0.0),
        sm.series.noise_P if sm.series.noise_P is not None else max(pooled[3], 0.0) * sm.series.volume))
        for sm in summaries]
    inflation = overdispersion(het, alpha=settings.overdispersion_alpha)
    if inflation != (1.0, 1.0):
        summaries = [replace(sm, inflation=inflation) for sm in summaries]
        notes.append(f"the seeds scatter more than the model allows (Cochran's Q p < "
                     f"{settings.overdispersion_alpha:g}); the MSD methods' variances inflated by the Birge ratio "
                     f"Q/(n-1): tracer ×{inflation[0]:.3g}, polarisation ×{inflation[1]:.3g} (the spectral estimator "
                     "models the excess scatter as a random effect instead)")
    return GroupData(seeds=tuple(usable), window=win, lags=lags, series=tuple(series), summaries=tuple(summaries),
                     heterogeneity=het, inflation=inflation, growth_A2=growth, notes=tuple(notes),
                     all_seeds=tuple(seeds) if len(usable) < len(seeds) else (), **common)


def _as_seeds(runs, settings: AnalysisSettings) -> list[SeedData]:
    if isinstance(runs, dict) or hasattr(runs, "items"):
        items = list(runs.items())
    else:
        items = [(getattr(r, "name", None) or (r.attrs.get("run_name") if hasattr(r, "attrs") else "")
                  or f"run{i}", r) for i, r in enumerate(runs)]
    if not items:
        raise AnalysisError("no runs to analyse")
    spectral = settings.method in ("spectral", "all")
    return [r if isinstance(r, SeedData) else
            prepare_seed(r, name=n, species=settings.species, reference=settings.reference,
                         tracer_statistics=spectral) for n, r in items]
