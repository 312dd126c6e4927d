"""Adapters: the same campaign through kinisi, STACIE, sportran and our spectral estimator.

Each adapter takes the data in the form the tool documents, calls the tool's public API
with its documented defaults, and returns ``{quantity: summary}`` with quantity in
``D_tr`` (cm²/s), ``sigma_tr``, ``sigma`` (S/cm), ``haven_ratio`` and summary
``{median, lo95, hi95, lo68, hi68}``, plus the wall time of the tool's own work.
Nothing of the tools is copied; they are imported from the study venv only.

How each tool is called (read from its documentation and source; versions in the doc):

* **STACIE** (``stacie.compute_spectrum`` + ``estimate_acint`` with ``ExpPolyModel([0, 1, 2])``,
  ``include_zero_freq=False``: the documented recipe for a diffusion coefficient and an
  ionic conductivity from positions, i.e. block-averaged velocities Δr/Δt and the
  block-averaged charge current ΔP/Δt).  Sequences: every ion and Cartesian component
  of every seed (D*), every Cartesian component of every seed's ΔP/Δt (σ); all of one
  length.  The zero-frequency value of the averaged spectrum (prefactor 1) is the
  per-axis D in Å²/ps, resp. D_P in e² Å²/ps.  Variant ``stacie_even``: ``ExpPolyModel([0, 2])``,
  which STACIE's theory page advises for spectra with a vanishing derivative at f = 0 (ours are).  Interval: log-normal from ``log_acint`` ±
  z ``log_acint_std`` (STACIE's ExpPoly uncertainty is on the log); H_R from the two
  independent estimates (log variances added; STACIE has no joint estimate).
* **sportran** (``ElectricCurrent(traj, DT_FS, UNITS='metal', TEMPERATURE, VOLUME)``,
  optional ``resample(fstar_THz=...)``, ``cepstral_analysis()`` with AIC): the charge
  current J (e Å/ps) of every seed and Cartesian component as equivalent independent
  components (N, 3 x seeds).  κ (S/m) / 100 = σ (S/cm); interval log-normal from the
  cepstral ``logtau_std_cutoffK``.  σ only (a current method).
* **kinisi** (``DiffusionAnalyzer.from_ase`` / ``ConductivityAnalyzer.from_ase`` on lists
  of ``ase.Atoms``, one list per seed, ``dtype="identical"``, ``system_particles`` = number
  of seeds so each seed keeps its own polarisation, default Bayesian regression).  dt:
  100 lags from one frame to the full run (kinisi's default end), fit from ``start_ps``.
  Interval: equal-tailed quantiles of its posterior samples; H_R by pairing D* and σ
  draws at random (kinisi gives no joint posterior).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy import stats

from uncertainty_gk import units

PROBS = [0.025, 0.16, 0.5, 0.84, 0.975]
Z95, Z68 = stats.norm.ppf(0.975), stats.norm.ppf(0.84)


def from_draws(x) -> dict:
    q = np.quantile(np.asarray(x, dtype=np.float64).ravel(), PROBS)
    return {"lo95": q[0], "lo68": q[1], "median": q[2], "hi68": q[3], "hi95": q[4]}


def from_lognormal(value: float, log_sd: float) -> dict:
    return {"median": value, "lo95": value * np.exp(-Z95 * log_sd), "hi95": value * np.exp(Z95 * log_sd),
            "lo68": value * np.exp(-Z68 * log_sd), "hi68": value * np.exp(Z68 * log_sd)}


def physical_factors(n_mobile: int, charge: float, volume_A3: float, temperature_K: float) -> dict:
    fac = units.conductivity_prefactor_S_per_cm(volume_A3, temperature_K)
    return {"fac": fac, "tr": n_mobile * charge**2 * fac}


# --------------------------------------------------------------------------- ours
def ugk_spectral(series, *, n_mobile, charge, volume_A3, temperature_K, seed) -> tuple[dict, float, dict]:
    """Our spectral estimator (public ``fit_spectral``) on a list of ``SpectralSeries``."""
    from uncertainty_gk.estimators.spectral import fit_spectral

    t0 = time.perf_counter()
    fit = fit_spectral(series, rng=np.random.default_rng(seed))
    sec = time.perf_counter() - t0
    f = physical_factors(n_mobile, charge, volume_A3, temperature_K)
    D = np.asarray(fit.draws["slope_tr"]).ravel() / 6.0
    sP = np.asarray(fit.draws["slope_P"]).ravel() / 6.0
    out = {"D_tr": from_draws(D * units.A2_PER_PS_TO_CM2_PER_S), "sigma_tr": from_draws(D * f["tr"]),
           "sigma": from_draws(sP * f["fac"]), "haven_ratio": from_draws(D * f["tr"] / (sP * f["fac"]))}
    return out, sec, {"regime": fit.regime}


# --------------------------------------------------------------------------- STACIE
def _stacie_acint(sequences: np.ndarray, dt_ps: float, degrees) -> tuple[float, float]:
    from stacie import ExpPolyModel, compute_spectrum, estimate_acint

    spec = compute_spectrum(sequences, prefactors=1.0, timestep=dt_ps, include_zero_freq=False)
    res = estimate_acint(spec, ExpPolyModel(list(degrees)), rng=np.random.default_rng(42))
    return float(res.acint), float(res.props["log_acint_std"])


def stacie(tracer_increments: list[np.ndarray], polarisation_increments: list[np.ndarray], dt_ps: float, *,
           n_mobile, charge, volume_A3, temperature_K, degrees=(0, 1, 2)) -> tuple[dict, float, dict]:
    """D* and σ from block-averaged velocities Δr/Δt and currents ΔP/Δt (equal-length seeds).

    ``degrees``: of STACIE's ExpPolyModel; (0, 1, 2) is its documented recipe for D and σ,
    (0, 2) the even model its theory page advises for spectra with zero slope at f = 0.
    """
    M = min(x.shape[0] for x in polarisation_increments)
    t0 = time.perf_counter()
    vel = np.concatenate([np.asarray(x[:M], dtype=np.float64).reshape(M, -1).T for x in tracer_increments]) / dt_ps
    cur = np.concatenate([np.asarray(x[:M], dtype=np.float64).T for x in polarisation_increments]) / dt_ps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        D, sD = _stacie_acint(vel, dt_ps, degrees)           # Å²/ps per axis = D*
        DP, sP = _stacie_acint(cur, dt_ps, degrees)          # e² Å²/ps per axis
    sec = time.perf_counter() - t0
    f = physical_factors(n_mobile, charge, volume_A3, temperature_K)
    sig, sig_tr = DP * f["fac"], D * f["tr"]
    out = {"D_tr": from_lognormal(D * units.A2_PER_PS_TO_CM2_PER_S, sD), "sigma_tr": from_lognormal(sig_tr, sD),
           "sigma": from_lognormal(sig, sP), "haven_ratio": from_lognormal(sig_tr / sig, float(np.hypot(sD, sP)))}
    return out, sec, {}


# --------------------------------------------------------------------------- sportran
def sportran(currents: list[np.ndarray], dt_fs: float, *, volume_A3, temperature_K,
             fstar_THz: float | None = None) -> tuple[dict, float, dict]:
    """σ from the cepstral analysis of J (e Å/ps), the seeds' components as equivalent components."""
    if not hasattr(np, "trapz"):        # sportran 1.0.0rc4 calls np.trapz, removed in numpy 2.4 (same function)
        np.trapz = np.trapezoid
    import sportran as st

    T = min(len(J) for J in currents)
    traj = np.concatenate([np.asarray(J[:T], dtype=np.float64) for J in currents], axis=1)   # (T, 3 x seeds)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = st.ElectricCurrent(traj, DT_FS=dt_fs, UNITS="metal", TEMPERATURE=temperature_K, VOLUME=volume_A3)
        if fstar_THz is not None:
            j = j.resample(fstar_THz=fstar_THz, plot=False)
        j.cepstral_analysis()
    sec = time.perf_counter() - t0
    sig = float(j.kappa) / 100.0                               # S/m -> S/cm
    out = {"sigma": from_lognormal(sig, float(j.cepf.logtau_std_cutoffK))}
    return out, sec, {"cutoffK": int(j.cepf.cutoffK)}


# --------------------------------------------------------------------------- kinisi
def ase_lists(positions: list[np.ndarray], symbols: list[str], cell: np.ndarray):
    """One list of ``ase.Atoms`` per seed (positions (T, N, 3) Å)."""
    from ase import Atoms

    return [[Atoms(symbols=symbols, positions=p, cell=cell, pbc=True) for p in pos] for pos in positions]


def kinisi(atoms_lists, *, species, charge, n_mobile, volume_A3, temperature_K, frame_ps, start_ps,
           seed, n_lags=100) -> tuple[dict, float, dict]:
    import scipp as sc
    from kinisi.analyze import ConductivityAnalyzer, DiffusionAnalyzer

    n_frames = min(len(a) for a in atoms_lists)
    lags = np.unique(np.linspace(1, n_frames - 1, n_lags).round().astype(np.int64))
    n_seeds = len(atoms_lists)
    common = dict(specie=species, time_step=sc.scalar(frame_ps, unit="ps"),
                  step_skip=sc.scalar(1, unit=sc.units.dimensionless),
                  dt=sc.array(dims=["time interval"], values=lags * frame_ps, unit="ps"), progress=False)
    if n_seeds > 1:
        common["dtype"] = "identical"
    traj = atoms_lists if n_seeds > 1 else atoms_lists[0]
    start = sc.scalar(float(start_ps), unit="ps")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = DiffusionAnalyzer.from_ase(traj, **common)
        d.diffusion(start, progress=False, random_state=np.random.RandomState(seed))
        c = ConductivityAnalyzer.from_ase(traj, ionic_charge=float(charge) * sc.Unit("e"),
                                          system_particles=n_seeds, **common)
        c.conductivity(start, temperature=sc.scalar(float(temperature_K), unit="K"), progress=False,
                       random_state=np.random.RandomState(seed + 1))
    sec = time.perf_counter() - t0
    if str(d.D.unit) not in ("cm^2/s", "cm**2/s"):
        raise ValueError(f"kinisi D unit {d.D.unit}, expected cm^2/s")
    D = np.asarray(d.D.values, dtype=np.float64)
    sig = np.asarray(sc.to_unit(c.sigma, "S/cm").values, dtype=np.float64)
    f = physical_factors(n_mobile, charge, volume_A3, temperature_K)
    sig_tr = D / units.A2_PER_PS_TO_CM2_PER_S * f["tr"]
    rng = np.random.default_rng(seed)
    n = min(len(sig_tr), len(sig))
    hr = rng.permutation(sig_tr)[:n] / rng.permutation(sig)[:n]
    out = {"D_tr": from_draws(D), "sigma_tr": from_draws(sig_tr), "sigma": from_draws(sig), "haven_ratio": from_draws(hr)}
    return out, sec, {"fit_ps": [float(start_ps), float(lags[-1] * frame_ps)]}
