r"""Spectral (Whittle) estimator of the tracer and collective diffusion slopes.

Problem
-------
Per seed and Cartesian axis, the one-frame increments of the polarisation,
:math:`x_n = P(t_{n+1}) - P(t_n)`, form a stationary series.  If
:math:`\langle|\Delta P|^2\rangle \simeq 6 D_P t` (3-D) at long times, its spectrum
:math:`S(f) = \sum_m \gamma(m) e^{-2\pi i f m\Delta t}` (autocovariance γ) tends to

.. math::  S(0) = 2 D_{P,\alpha}\,\Delta t \qquad(\text{axis } \alpha),

and the per-axis slope of the MSD is :math:`S_\alpha(0)/\Delta t`; the quantity the
analysis needs, :math:`\mathrm{slope}_P = d\langle|\Delta P|^2\rangle/dt =
\sum_\alpha S_\alpha(0)/\Delta t`.  Rattling, vibrations and bounded back-hops are
differences of stationary processes: they add a part that vanishes at f = 0.  Each
increment is the current integrated over the frame, so nothing aliases onto f = 0.
The same holds for each mobile ion's framework-relative increments; their spectra,
averaged over the ions, give :math:`\mathrm{slope}_{tr} = d\,\mathrm{MSD}_{tr}/dt = 6D^*`.

Transform
---------
Instead of the periodic DFT we use the orthonormal type-I discrete sine transform of
the M increments, :math:`c_k = \sqrt{2/(M+1)}\sum_n x_n \sin(\pi k (n+1)/(M+1))`,
k = 1..M, at :math:`f_k = k / (2 (M+1)\Delta t)` (Vestergaard, Blainey & Flyvbjerg,
Phys. Rev. E 89, 022726, 2014, use it for single-particle diffusion).  For a stationary
series the :math:`c_k` are nearly independent, real, zero-mean Gaussians with variance
:math:`S(f_k)` (χ²₁ ordinates), and, unlike the DFT, the sine tapers vanish at both ends:
the increments of a bounded noise telescope to boundary terms of order
:math:`(k/M)^2\,\mathrm{Var}/M` instead of the :math:`2\,\mathrm{Var}/M` floor that biases a
plain periodogram upward by a few per cent in a 50 ps run.

Likelihood
----------
For one seed and axis the ordinates :math:`I_k` are the squared coefficients of the
collective, or their average over the N ions for the tracer.  We take
:math:`I_k \sim S(f_k)\,\mathrm{Gamma}(\alpha, 1/\alpha)` (Whittle):

.. math::  \ln L = \alpha \sum_{k\le K} \left[-\ln S(f_k) - I_k / S(f_k)\right]

with :math:`\alpha = 1/2` for the collective and :math:`\alpha = N/(2R)` for the ion
average, where :math:`R = \sum_{ij} S_{ij}^2 / (N \bar S^2)` is the ion correlation
factor of the cross-spectral matrix (R = 1 for independent ions; ions that move
together - the very thing that makes :math:`H_R \ne 1` - share information, R > 1).
R is measured at low frequency from unbiased products of distinct ordinates, net of the
fourth cumulant those products share for hopping ions (each ion's realised number of hops
enters every one of its ordinates; ``correlation_kurtosis``), which the variance counts
once, in its own κ4 term (``kurtosis_correction``).

Spectrum model
--------------
:math:`S(f) = S(0) + 4\sin^2(\pi f\Delta t)\,G(f)` on the band :math:`0 < f \le f_B`,
with :math:`G(f) = a L(f;\tau) + \sum_{p<P-1} b_p \cos(\pi p\,u(f))` in a log-warped
frequency u (the factor :math:`4\sin^2` is the signature of a differenced bounded motion;
G may have either sign), fitted by maximum Whittle likelihood (Fisher scoring).
:math:`L = (1-\phi)^2/(1 - 2\phi\cos 2\pi f\Delta t + \phi^2)`, :math:`\phi = e^{-\Delta t/\tau}`,
is the exact spectrum of an exponentially relaxing offset sampled at the frames (a cage
rattle): τ is located once per group on the tracer's ion average (``relaxation_basis``;
session 15) and counted as a parameter in the tracer's variance; with it, a walker with
a rattle and white vibrations is exact at three columns where the cosine series alone
needs four to seven.  The order P is
chosen per component (tracer, collective) on the slope pooled over seeds and axes: the
lowest order that agrees with the next ``order_window`` orders (8 for the tracer, whose
ladder on real MD falls only after a few flat orders, 3 for the collective) within ``order_z``
Hausman standard errors (1.5 for the tracer, a lenient 2.5 for the collective, whose
order is then raised while the tracer's precise ladder of the collective's own model - its
cosine series when the collective drops the relaxation column - shows a truncation shift
above 1.5 of the collective's s.e.: ``collective_order="tracer_bias_same"``, sessions 20-21);
the squared
shift to the next order is added to the variance.  Options: likelihood rules (``order_rule``), the tracer's order for the collective
(``collective_order="tracer"``: not chosen on the collective's own noise, which the level
rule selects - a low-biased ln σ; docs/spectral.md, session 9).  When no order fits, that component's band is halved (``adaptive_band``), so the tracer
and the collective may end up on different bands (``SpectralFit.band``).

Seeds and joint draws
---------------------
Per seed, the per-axis :math:`\ln S_\alpha(0)` give :math:`y_s = \ln\mathrm{slope}_s`
(delta method), plus half its sampling variance (the levels are unbiased on the linear
scale, their logarithm is biased low by var/2); every seed gets the group's variance per
increment scaled to its length (its own Fisher variance would grow when its level came
out low, and weighting by it would favour the seeds that came out high).  The sampling part of
:math:`v_s` is the Fisher variance; optionally (``small_sample="bootstrap"``, not the
default: 3.6x the fit time, and no better on the evaluation set) the collective's is
scaled by a ratio measured by a parametric bootstrap of the fitted spectra: its
ordinates are χ²₁, the level is pinned by the few of them below the vibrational rise,
and the Fisher variance is 15-22 % too small there.  Seeds are pooled with a random
effect, :math:`y_s \sim N(\mu, v_s + \tau^2)`; a priori τ = 0 with probability
``tau_null_prob`` (default 1/2: the seeds were designed to sample one system) and
half-Cauchy(``tau_scale`` x the median within-seed s.e.) otherwise, integrated on a grid
(the seed-to-seed excess scatter is modelled, not switched on; the half-Cauchy's long
tail follows seeds that really differ, where a half-normal would hold τ near its scale:
95 % coverage of D* 0.55 -> 0.85 when the seeds' slopes differ by 10 %).  The variance of
each seed's level includes an allowance for the chosen model order: for the tracer the
squared shift of the level to the next order, for the collective only the part of that
shift beyond its own sampling (Hausman) variance, so that an ill-conditioned next-order
fit cannot make one seed's variance, and through the common variance every seed's,
meaningless.  Tracer and
collective estimates of one seed and axis are correlated: with influence vectors
:math:`g_k` of the two fits, :math:`\mathrm{Cov} = 2\kappa\sum_k g^{tr}_k g^P_k`,
:math:`\kappa = \sum_i S_{iP}^2/(N \bar S S_P)` (estimated like R).  Its correlation
coefficient, relative to the seed's Fisher sampling variances, is carried by the seed's whole
error - order allowance, small-sample scaling and random effect alike
(``joint_correlation="sampling"``) - through the pooling; the draws of
:math:`(\ln\mathrm{slope}_{tr}, \ln\mathrm{slope}_P)` are bivariate normal given τ, so :math:`H_R = N q^2 \mathrm{slope}_{tr}/\mathrm{slope}_P`
can be formed draw by draw.

Information limit and regime
----------------------------
``crb_width``: with the fitted spectrum's shape taken as known, the Fisher information
of :math:`\ln S(0)` is :math:`\tfrac12\sum_k (S(0)/S(f_k))^2` per χ²₁ ordinate (times
:math:`N/R` for the tracer), summed over all ordinates of all seeds and axes; its
95 % relative width :math:`2 z/\sqrt{I}` is the Cramér-Rao width.  ``regime`` is
``"provisional"`` when no band passes the consistency test, or when the fitted
spectrum still changes by more than ``flat_tolerance`` standard errors between f = 0 and
the fifth-lowest ordinate (the zero-frequency value is then an extrapolation of a
non-flat spectrum, i.e. the run has not reached the diffusive regime), or when the
lowest ``low_ordinates`` ordinates pooled (``low_check``, two-sided) or the lowest one
alone (``low_first``, below the fit only) sit more than ``low_z`` standard errors from the
fitted spectrum (motion slower than the model resolves), or when halving the band moves
the level beyond ``band_z`` (``band_check``), and ``"diffusive"`` otherwise
(docs/spectral.md, "When a result is provisional").

A step below the lowest ordinate
--------------------------------
``first_step`` marginalises a step δ <= 0 of the tracer's ln level at or below the
lowest ordinate (a relaxation slower than the run): the lowest ordinate's log ratio to the
fit, pooled over seeds and axes, is u ~ N(δ, se²); a priori δ = 0 with probability p0 and
-|N(0, w²)| otherwise (``first_step_prior``); the tracer's draws are multiplied by e^δ drawn
from δ's posterior.  The default prior, p0 = 0.98 and w = 0.1, moves D* only where the
lowest ordinate clearly asks for it (docs/spectral.md, "Session 29").

Memory
------
Of the tracer increments the fit uses only :class:`TracerStatistics`: the ion-summed
cross-periodogram (M, 3, 3), the lowest ``corr_window`` coefficients of every ion and
the per-ion block sums of ``kurtosis_blocks`` blocks.  They are accumulated one chunk of
ions at a time (one sine transform per chunk), so a run is analysed with memory bounded
by one chunk plus O(M) per seed (:func:`spectral_series_of` reads an archive with the
tracer MSD's atom chunks); in-memory increments go through the same reduction.

Assumptions
-----------
Stationary increments within each seed; the seeds sample the same system (up to the
random effect); the spectrum is smooth on the band (no line at f → 0); the Gaussian
(Laplace) approximation of the log slopes.  Non-Gaussian hops are fine: the low-frequency
sine coefficients sum many hops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import fft as sfft
from scipy import optimize, stats

__all__ = ["SpectralSeries", "SpectralFit", "TracerStatistics", "fit_spectral", "check_options", "series_from_current", "spectral_series_of", "SpectralEstimator",
           "DEFAULTS"]

#: Default model options of :func:`fit_spectral` (all overridable as keywords).
DEFAULTS = {
    "max_order": 10,            # largest number of cosine coefficients of the non-diffusive part
    "band_fraction": 1.0,       # band = lowest fraction of the ordinates (1 = up to Nyquist); a number,
                                # or {"tr": ..., "P": ...}: each component's starting band
    "order_window": {"tr": 8, "P": 3},
                                # each order is compared with the next order_window orders (a number,
                                # or {"tr": ..., "P": ...} per component).  The tracer's window is 8
                                # (3 until session 22): on real MD its ladder of pooled levels is flat
                                # over three orders and then falls 3-5 % as more coefficients resolve
                                # the runs' slow relaxation; a window of 3 stops before the fall
                                # (long-reference D* 95 % coverage 0.79 / 0.71 -> 0.93 / 1.00 at
                                # 50 / 100 ps; docs/spectral.md, "Session 22")
    "order_z": {"tr": 1.5, "P": 2.5},
                                # Hausman |z| above which a lower order is rejected (number or per
                                # component); the "lr" rule uses the same two-sided size, 2(1 - Φ(z)).
                                # The collective's test is lenient (2.5; 1.5 until session 19): its χ²₁
                                # ordinates make a strict test reject the exact order by noise, at a
                                # cost in width and a selection bias; the truncation a lenient test
                                # misses is caught by collective_order="tracer_bias" (session 20)
    "order_rule": "level",      # how the order is chosen (a name, or {"tr": ..., "P": ...}):
                                # "level": lowest order whose pooled level S(0) agrees with the next
                                # order_window orders (Hausman test); "lr": lowest order that no
                                # one of the next order_window orders beats by a likelihood-ratio
                                # test pooled over seeds and axes (power against any misfit of the
                                # band, not only of the level); "aic": the order of least pooled AIC
    "collective_order": "tracer_bias_same",
                                # "own": the collective's order chosen by order_rule on its own data
                                # (the default until session 19);
                                # "tracer": the tracer's order, mapped to the collective's band (both
                                # share the ions' vibrational shape; the ion average is far less noisy,
                                # and an order chosen on other data does not select the collective's
                                # noise); "tracer_floor": the larger of the two; "tracer_bias": its own
                                # order, raised while the tracer's ladder shows a truncation shift
                                # above tracer_bias_z of the collective's s.e. (session 14; the default
                                # since session 20, with the lenient order_z of the collective:
                                # docs/spectral.md, "Session 20"); "tracer_shaped": the
                                # tracer's order where the collective keeps the relaxation column,
                                # its own elsewhere (session 17, an option under study);
                                # "tracer_bias_same": "tracer_bias" with the truncation read from the
                                # tracer's ladder of the collective's own model (its cosine series when
                                # the collective drops the relaxation column; session 21)
    "tracer_bias_z": 1.5,       # see collective_order="tracer_bias"
    "order_choice": "pooled",   # "pooled": one order for all seeds, chosen by order_rule on every seed's
                                # fits; "cross": each seed's order chosen by the same rule on the *other*
                                # seeds' fits (cross-fitting: a seed's level is not selected on its own
                                # noise; one seed alone keeps "pooled"); "cross_max": the more flexible of
                                # the two orders.  A name or {"tr": ..., "P": ...}
                                # (session 19, an option under study: docs/spectral.md "Session 19")
    "relaxation_check": True,   # keep the relaxation column for a component only where its three-column
                                # fit (level, relaxation, white) has a higher pooled Whittle likelihood
                                # than the cosine series' (level, white, one cosine); else the cosine
                                # series alone (session 15; the default since session 16: on real MD
                                # the collective is not shaped like the ions' rattle, docs/spectral.md);
                                # when the kept model's order does not settle on a band, the other
                                # model is tried on that band before it is halved (session 17)
    "relaxation_margin": 0.0,   # the check keeps the column unless the cosine series' pooled log-likelihood
                                # is higher by more than this (0: whichever is higher).  Session 18, an
                                # option under study: with collective_order="tracer_shaped" a margin of 2
                                # keeps 0.5 ps frames, where the check is a coin toss on the collective's
                                # noise, from selecting (ablation_2026-12-05_session18.md)
    "relaxation_check_frames": 1.0,
                                # the collective's relaxation check is skipped, and the column kept (the
                                # tracer's model), where the column's τ is shorter than this many frames of
                                # every seed, the check has no power (relaxation_check_power) and τ is not at
                                # the search's lower edge Δt/3.  With φ = exp(-Δt/τ) small the column is, to
                                # first order in φ, a combination of the white and first cosine columns
                                # (exactly so without the log warp; within ~1-2 % with it), so on a short run
                                # the check reads the collective's noise (0.5 ps frames: ln σ +0.7 %, width
                                # x 0.98).  0: the check everywhere (sessions 16-30); docs/spectral.md,
                                # "Session 31"
    "relaxation_check_power": 2.0,
                                # relaxation_check_frames skips the check only where its power, the expected
                                # log-likelihood gain were either fitted three-column spectrum the truth
                                # (fit.band["P"]["relaxation_check_power"]), is below this many nats: a long
                                # run's check is decisive even where the column relaxes within a frame
    "relaxation_variance": True,  # the variance of each level counts the estimated τ of the relaxation
                                  # column as one more free parameter (False: τ treated as known)
    "relaxation_basis": "tracer",
                                # the first non-diffusive column of the shape model is a relaxation
                                # (an exponentially relaxing offset, the cage rattle's form), the cosine
                                # series after it (session 15; the default since session 16): False
                                # (none: the cosine series alone, sessions 1-15), "own" (its time τ
                                # fitted per component, pooled over seeds and axes), "tracer" (the
                                # tracer's τ for both: the ions' rattle, located on the precise ion
                                # average; with relaxation_check the collective keeps the column only
                                # where it fits; a collective without a tracer, e.g. the current
                                # route, gets none) or "tracer_only" (the column for the tracer alone)
    "tau_scale": 0.5,           # scale of the prior of the seed random effect τ on ln slope,
                                # in units of the median within-seed standard error
    "tau_null_prob": {"tr": 0.5, "P": 0.5},
                                # prior probability of τ = 0 (the seeds sample one system, as designed;
                                # a number or {"tr": ..., "P": ...}); the rest is tau_prior's.  Sessions
                                # 7-9: 0 for both; session 10: 0.5 for both; sessions 11-22 0 for the
                                # collective, whose τ then made up for a within-seed variance that was
                                # too small (docs/spectral.md, "Session 11"); since the session-20/21
                                # order test that surplus made σ's and H_R's intervals conservative,
                                # and the collective has the tracer's 0.5 again (session 23)
    "tau_prior": {"tr": "half_cauchy", "P": "half_normal"},
                                # continuous part of τ's prior (a name or {"tr": ..., "P": ...}):
                                # "half_cauchy" (long tail: seeds that really differ are followed, not
                                # held at the prior's scale) or "half_normal".  The tracer measures its
                                # seeds' scatter ~10x better than the collective, whose τ, barely
                                # identified by three seeds, is best kept near its scale
                                # (docs/spectral.md, "Session 11")
    "tau_shared": False,        # one τ for tracer and collective on the ln scale, its prior and grid the
                                # tracer's (the ion average measures a seed's excess scatter ~10x better)
    "joint_correlation": "sampling",
                                # how the tracer and collective draws correlate: "sampling" (session 30:
                                # each seed's sampling correlation coefficient carried by its whole
                                # error - order allowances, small-sample scaling and τ) or "covariance"
                                # (sessions 1-29: the seed's sampling covariance 2κ Σ g_tr g_P alone,
                                # every other part of the error independent between the two)
    "warp": 50.0,               # log-frequency warp above this many ordinate spacings (0: none)
    "selection": "stable",      # "stable": the order chosen by order_rule; "aic": each (seed, axis) fit's
                                # ladder Akaike-averaged on its own; "pooled_aic" / "pooled_bic": every
                                # fit of a component averaged over its orders with one set of smooth
                                # weights from the pooled likelihood (AIC or BIC penalty), the spread of
                                # the pooled level over those weights one error shared by the group;
                                # "soft_level": the level rule with smooth pass/fail (soft_level_width),
                                # each order bringing its own allowance (session 20, options under
                                # study, not adopted: docs/spectral.md).  A name or {"tr": ..., "P": ...}
    "pooled_floor": False,      # selection "pooled_*": "tracer_bias" gives no weight to the collective's
                                # orders below the one _tracer_bias_level allows from order 0
    "soft_level_width": 0.5,    # selection="soft_level": the z scale over which a pass becomes a fail
    "order": None,              # force this number of cosine coefficients (None: choose)
    "corr_window": 64,          # lowest ordinates used to measure R and κ
    "correlation_shape": "diffusive",
                                # how the ion correlation factor R varies over the band: "flat" (one R
                                # per axis, measured on the corr_window lowest ordinates, for every
                                # ordinate) or "diffusive" (R_k = 1 + (R - 1) (S̄_W / S̄_k)²: the ions'
                                # cross-spectra are the diffusive motion's, flat near f = 0, while each
                                # ion's own spectrum S̄_k rises with its rattle; S̄_W is the mean over the
                                # window, S̄_k the ion-averaged periodogram smoothed over 17 ordinates;
                                # session 26, the default since session 27)
    "flat_tolerance": 1.0,      # regime check: max change (in s.e.) of ln S from 0 to f_5
    "kurtosis_blocks": 8,       # blocks per seed for the fourth cumulant of the tracer increments
    "correlation_kurtosis": True,
                                # R and κ net of the fourth cumulant (session 24): the products of
                                # distinct ordinates that measure them share an ion's realised number
                                # of hops, E = (true) x (1 + κ4/(M S̄²)); for independent hopping ions
                                # the raw R was 1.17 instead of 1, which widened every tracer variance
                                # by that factor on top of the κ4 term that already counts the hops
    "kurtosis_correction": True,
    "kurtosis_estimate": "shrunk",
                                # the pooled fourth cumulant κ4 of the tracer increments as used:
                                # "clipped" (held at >= 0, sessions 5-11: for Gaussian motion κ4 is
                                # 0 + noise, and the clip added the noise's positive half to every
                                # tracer variance), "raw" (as measured: unbiased, but with few ions
                                # its noise alone can lower a variance or the tracer-collective
                                # covariance), "shrunk" (positive-part James-Stein towards 0 by its own
                                # standard error: ~0 when indistinguishable from 0, ~unchanged for
                                # hops).  The per-axis term is bounded to [-1, 1] relative units and a
                                # negative term lowers a level's variance by at most half
                                # (docs/spectral.md, "Session 12")
    "low_check": True,          # regime check: the lowest low_ordinates ordinates, pooled over seeds and
                                # axes, against the fitted spectrum there (structure at time scales
                                # beyond the model's resolution, e.g. a relaxation as slow as the run)
    "low_ordinates": 4,
    "low_first": True,          # the same check on the lowest ordinate alone, as well (a relaxation whose
                                # step lies at the run's longest time scale: the smooth, even shape model
                                # fits a compromise through it, below the data at the first ordinate and
                                # above them at the next ones, which the pooled lowest ordinates average
                                # out).  One-sided (the first ordinate below the fit, z < -low_z: the failure
                                # seen on real MD; a rise towards f = 0 over several ordinates is the pooled
                                # check's).  A check, not a change: it makes the result provisional and does
                                # not narrow the band (session 28)
    "low_z": 3.0,               # |z| of that comparison above which the result is provisional
    "first_step": True,         # marginalise a step of the tracer's spectrum at or below its lowest ordinate
                                # (a relaxation slower than the run, which the smooth shape model extrapolates
                                # over): the zero-frequency level is the fit's times e^δ, δ <= 0, and the lowest
                                # ordinate's ratio to the fit, u = ln(I_1/Ŝ_1) ~ N(δ, se_first²), is its evidence;
                                # the tracer's draws (and with them σ_tr and H_R) get δ's posterior.  Needs
                                # low_check and low_first.  The default since session 29, with a prior that
                                # makes a step unlikely unless the lowest ordinate asks for one (p0 = 0.98): the
                                # argyrodite AIMD's D* 1.50 / 1.42 / 1.62 -> 1.08 / 1.16 / 1.41e-5 cm²/s, D*'s
                                # width x ~1.07 where the data are diffusive (docs/spectral.md, "Session 29")
    "first_step_prior": (0.98, 0.1),
                                # (p0, w): a priori δ = 0 with probability p0 (the run is diffusive at its
                                # longest time scale), otherwise δ ~ -|N(0, w²)| (w on the ln scale).  A smaller
                                # p0 follows a modest deficit of the lowest ordinate: (0.8, 0.1) takes the
                                # long-reference 50 / 100 ps pieces' D* coverage from 0.57 / 0.50 to 0.67 / 0.70
                                # (against the spectral rest-of-run references) at D* widths x 1.4 on diffusive data
    "low_band": True,           # when the low-frequency check fails for a component, halve that component's
                                # band and fit again (while halvable), so the model spends its coefficients
                                # where the level is pinned: a long run whose spectrum keeps falling below
                                # the vibrational band (slow relaxation) gets the level of its longest
                                # time scales instead of an extrapolation from the short ones (session 26;
                                # the default since session 27)
    "band_check": True,         # regime check: refit on half the band and compare
    "band_allowance": False,    # carry the band choice into the interval: where halving a component's
                                # band moves its log level by d beyond the difference's own s.e.
                                # (band_check's z), add d² - Var(d) to its log variance (the excess, so
                                # a shift the half band's noise explains adds nothing; session 27)
    "band_z": 3.0,              # |z| of that comparison above which the result is provisional
    "small_sample": "fisher",   # sampling variance of each seed's level: "bootstrap" = parametric
                                  # bootstrap of the fitted spectrum at the chosen order (pooled over
                                  # seeds and axes as a ratio to the Fisher variance); "fisher" = the
                                  # Fisher (large-sample) variance alone
    "bootstrap_draws": 40,      # simulated periodograms per seed and axis
    "bootstrap_components": ("P",),  # components bootstrapped ("tr": the ion average, α = N/2R >> 1,
                                     # is near its large-sample limit)
    "order_allowance": "next",
                                # variance for the chosen order: squared shift to the next order ("next"),
                                # mean squared shift to the next order_window orders ("window"), or the
                                # squared shift to the next order less its Hausman variance ("excess":
                                # an ill-conditioned next-order fit whose shift is its own noise adds
                                # nothing), or at least the next order's extra variance ("floor");
                                # a name or {"tr": ..., "P": ...}.  Session 10: "excess" for P
    "allowance_shared": False,  # the order allowance is one error shared by every seed and axis of the
                                # group (the order is chosen jointly, so a level that the choice gets
                                # wrong is wrong in every seed): added once to the pooled variance, not
                                # per seed (where pooling divides it by the number of seeds); a bool or
                                # {"tr": ..., "P": ...}
    "variance_inflation": 1.0,  # multiply every variance (calibration knob; 1 = none)
    "seed_weights": "common",   # "common": the group's variance per increment, scaled to each seed's
                                # length; "own": each seed's Fisher variance (favours seeds that came out high)
    "log_bias_correction": True,  # per seed, ln slope + var/2 (the sampling part): the log of an
                                  # unbiased level is biased low by half its relative variance
    "adaptive_band": True,      # no order fits the band: halve it (while >= 8 ordinates per coefficient)
    "max_log_var": 1.0,         # a component whose median per-seed variance of ln S(0) exceeds this
                                # (relative s.e. > 100 %) is not resolved by the model: its level
                                # comes from the plain average of the lowest ordinates instead
    "fallback_ordinates": 8,    # ordinates of that average
    "frame": "principal",       # axes of the per-axis values: "principal" (of the low-frequency
                                # polarisation spectrum, pooled over seeds) or "lab"
}


class TracerStatistics:
    r"""Everything :func:`fit_spectral` uses of one seed's tracer increments, reduced over ions.

    The (T-1, N, 3) framework-relative increments of N ions need not be in memory at
    once: they are added ion chunk by ion chunk (:meth:`accumulate`, e.g. from
    :func:`spectral_series_of` reading an archive), and in-memory increments go through
    the same reduction in one chunk (:meth:`of`), so both routes feed the estimator the
    same numbers.  With :math:`c_{ki}` the sine coefficients (k = 1..M) of ion i:

    ``cross`` (M, 3, 3)
        :math:`\sum_i c_{ki} c_{ki}^T`, the ion-summed cross-periodogram.  Its diagonal
        over N is the ion-averaged periodogram; in axes rotated by F it is
        :math:`F^T \mathrm{cross}_k F` (:meth:`rotated`), so the principal frame needs
        no second transform.
    ``low`` (W, N, 3)
        The lowest W = min(``window``, M) coefficients of every ion (the ion correlation
        factors R and κ need the ions one by one; W = ``corr_window`` is small).
    ``block_sums`` (n_b, N, 3)
        Sums of the increments over n_b = M // B consecutive blocks of
        B = max(1, M // ``blocks``) increments (the fourth cumulant; ``kurtosis_blocks``).

    Memory: ``cross`` is 72 bytes per increment whatever N; ``low`` and ``block_sums``
    are (W + n_b) x 24 bytes per ion.  ``chunks`` records the number of ions of every
    :meth:`accumulate` call (what the chunk loop held at a time).
    """

    def __init__(self, n_increments: int, n_ions: int, *, window: int = DEFAULTS["corr_window"],
                 blocks: int = DEFAULTS["kurtosis_blocks"]):
        if n_increments < 1 or n_ions < 0 or window < 2 or blocks < 1:
            raise ValueError(f"TracerStatistics needs n_increments >= 1, n_ions >= 0, window >= 2 and blocks >= 1; "
                             f"got {n_increments}, {n_ions}, {window}, {blocks}")
        self.n_increments, self.n_ions, self.window, self.blocks = int(n_increments), int(n_ions), int(window), int(blocks)
        M = self.n_increments
        self.block_length = max(1, M // self.blocks)
        self.cross = np.zeros((M, 3, 3))
        self.low = np.zeros((min(self.window, M), self.n_ions, 3))
        self.block_sums = np.zeros((M // self.block_length, self.n_ions, 3))
        self.chunks: list[int] = []

    @classmethod
    def of(cls, increments: np.ndarray, *, window: int = DEFAULTS["corr_window"],
           blocks: int = DEFAULTS["kurtosis_blocks"]) -> TracerStatistics:
        """The statistics of in-memory increments (T-1, N, 3), in one chunk."""
        x = np.asarray(increments)
        if x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"tracer increments must be (T-1, N, 3), got {x.shape}")
        out = cls(x.shape[0], x.shape[1], window=window, blocks=blocks)
        if x.shape[1]:
            out.accumulate(x)
        return out

    @property
    def n_filled(self) -> int:
        """Ions accumulated so far."""
        return int(sum(self.chunks))

    def accumulate(self, increments: np.ndarray) -> None:
        """Add the next chunk of ions: their increments (T-1, n, 3), Å (not modified)."""
        x = np.asarray(increments, dtype=np.float64)
        M, a = self.n_increments, self.n_filled
        if x.ndim != 3 or x.shape[0] != M or x.shape[2] != 3:
            raise ValueError(f"a chunk of tracer increments must be ({M}, n, 3), got {x.shape}")
        n = x.shape[1]
        if a + n > self.n_ions:
            raise ValueError(f"{a} of {self.n_ions} ions accumulated already; a chunk of {n} more does not fit")
        if n == 0:
            return
        B = self.block_length
        nb = self.block_sums.shape[0]
        self.block_sums[:, a:a + n] = x[: nb * B].reshape(nb, B, n, 3).sum(axis=1)
        c = sine_coefficients(x)                                     # (M, n, 3): one transform per chunk
        self.cross += np.einsum("kia,kib->kab", c, c)
        self.low[:, a:a + n] = c[: self.low.shape[0]]
        self.chunks.append(n)

    def periodogram(self) -> np.ndarray:
        """Ion-averaged periodogram (M, 3): mean over ions of c_k², per axis."""
        return np.diagonal(self.cross, axis1=1, axis2=2) / self.n_ions

    def rotated(self, frame: np.ndarray) -> TracerStatistics:
        """The same statistics in the axes given by the columns of ``frame`` (3 x 3)."""
        F = np.asarray(frame, dtype=np.float64)
        out = TracerStatistics(self.n_increments, 0, window=self.window, blocks=self.blocks)
        out.n_ions, out.chunks = self.n_ions, list(self.chunks)
        out.cross = np.einsum("ai,kab,bj->kij", F, self.cross, F)
        out.low = self.low @ F
        out.block_sums = self.block_sums @ F
        return out


@dataclass(frozen=True)
class SpectralSeries:
    """One seed's increments (the estimator's input; never modified).

    ``tracer_increments`` is either the (T-1, N, 3) array of framework-relative one-frame
    increments (Å) or their :class:`TracerStatistics` (accumulated ion chunk by ion chunk
    when the ions do not fit in memory, :func:`spectral_series_of`)."""

    name: str
    dt_ps: float
    tracer_increments: np.ndarray | TracerStatistics   # (T-1, N, 3) Å, framework-relative, one frame
    polarisation_increments: np.ndarray                 # (T-1, 3) e·Å, ΔP over all atoms of this seed


@dataclass(frozen=True)
class SpectralFit:
    """Joint posterior draws of the slopes and everything needed to judge them."""

    draws: dict                 # "slope_tr" (Å²/ps), "slope_P" (e² Å²/ps): (1, n_draws)
    per_seed: list              # dicts: name, slope_tr, slope_P draws (1, n_draws), estimates
    crb_width: dict             # relative 95 % widths at the information limit
    width: dict                 # relative widths of our intervals (same ci_prob)
    width_over_crb: dict
    regime: str
    regime_reason: str
    band: dict                  # chosen band per component: f_B (1/ps), ordinates, z-tests
    n_coefficients: dict        # Akaike-weighted mean order per component
    axes: dict                  # "frame" (columns = axes) and per-axis slopes pooled over seeds: estimate, lower, upper, draws
    diagnostics: dict
    settings: dict = field(default_factory=dict)

    def interval(self, key: str, ci_prob: float | None = None) -> tuple[float, float, float]:
        """(median, lower, upper) of ``slope_tr``, ``slope_P`` or ``ratio`` (= slope_tr/slope_P)."""
        p = self.settings["ci_prob"] if ci_prob is None else ci_prob
        x = self.draws["slope_tr"] / self.draws["slope_P"] if key == "ratio" else self.draws[key]
        lo, med, hi = np.quantile(x, [0.5 - p / 2, 0.5, 0.5 + p / 2])
        return float(med), float(lo), float(hi)


# --------------------------------------------------------------------------- kernels
def sine_coefficients(x: np.ndarray) -> np.ndarray:
    """Orthonormal DST-I along axis 0 (k = 1..M at f_k = k / (2 (M+1) Δt))."""
    return sfft.dst(np.asarray(x, dtype=np.float64), type=1, axis=0, norm="ortho")


def _design(f: np.ndarray, f_band: float, order: int, dt: float, f_warp: float = 0.0,
            relax_ps: float | None = None) -> np.ndarray:
    """Columns of the linear spectrum model: 1 (the level S(0)), then
    4 sin²(π f Δt) cos(π p u(f)), p = 0..order-1 (the non-diffusive part), with the
    warped frequency u = ln(1 + f/f_w) / ln(1 + f_B/f_w) (u = f/f_B when f_w = 0).

    With ``relax_ps`` = τ, the first non-diffusive column is instead a relaxation,
    4 sin²(π f Δt) L(f; τ): the increment spectrum of a position offset that relaxes
    exponentially with time τ, sampled at the frames (an AR(1) with φ = exp(-Δt/τ)),
    L = (1-φ)² / (1 - 2φ cos 2πfΔt + φ²), scaled to 1 at f = 0; the cosine columns follow
    (``order`` columns after the level in all)."""
    s2 = 4.0 * np.sin(np.pi * f * dt) ** 2
    u = np.log1p(f / f_warp) / np.log1p(f_band / f_warp) if f_warp > 0 else f / f_band
    X = np.empty((len(f), order + 1))
    X[:, 0] = 1.0
    if relax_ps is None:
        X[:, 1:] = s2[:, None] * np.cos(np.pi * np.outer(u, np.arange(order)))
    elif order > 0:
        X[:, 1] = s2 * _relaxation_shape(f, dt, relax_ps)
        X[:, 2:] = s2[:, None] * np.cos(np.pi * np.outer(u, np.arange(order - 1)))
    return X


def _relaxation_shape(f: np.ndarray, dt: float, tau_ps: float) -> np.ndarray:
    """L(f; τ) of :func:`_design`: 1 at f = 0, a Lorentzian of corner 1/(2πτ) for τ >> Δt."""
    phi = np.exp(-dt / tau_ps)
    return (1.0 - phi) ** 2 / (1.0 - 2.0 * phi * np.cos(2.0 * np.pi * f * dt) + phi**2)


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve the small normal equations A x = b (symmetric PSD), tolerating rank loss."""
    d = np.sqrt(np.maximum(np.diag(A), 1e-300))
    As = A / np.outer(d, d)
    try:
        return np.linalg.solve(As + 1e-12 * np.eye(len(d)), b / d) / d
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(As, b / d, rcond=None)[0] / d


def _fit_order(pgram: np.ndarray, X: np.ndarray, alpha, n_levels: int = 1, n_iter: int = 100,
               start: np.ndarray | None = None) -> tuple:
    """Maximum Whittle likelihood of S = X θ (Fisher scoring, S and the levels kept positive).

    The first ``n_levels`` columns are indicator columns of the levels S(0) (one per seed
    in a joint fit).  ``alpha`` is the Gamma shape of each ordinate (scalar or per row).
    Returns (θ, loglik, cov(θ), fitted S)."""
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), pgram.shape)
    theta = _solve(X.T @ X, X.T @ pgram) if start is None else start
    S = X @ theta
    if np.any(S <= 0) or np.any(theta[:n_levels] <= 0):          # start from flat spectra
        theta = np.zeros(X.shape[1])
        for j in range(n_levels):
            rows = X[:, j] > 0
            theta[j] = float(np.mean(pgram[rows]))
        S = X @ theta

    def loglik(S):
        return float(np.sum(alpha * (-np.log(S) - pgram / S)))

    ll = loglik(S)
    for _ in range(n_iter):
        J = X / S[:, None]
        Ja = J * alpha[:, None]
        step = _solve(Ja.T @ J, Ja.T @ (pgram / S - 1.0))
        lam = 1.0
        while lam > 1e-6:
            t_new = theta + lam * step
            S_new = X @ t_new
            if np.all(S_new > 0) and np.all(t_new[:n_levels] > 0):
                ll_new = loglik(S_new)
                if ll_new >= ll - 1e-12:
                    break
            lam *= 0.5
        else:
            break
        theta, S, gain, ll = t_new, S_new, ll_new - ll, ll_new
        if gain < 1e-10 * max(1.0, abs(ll)):
            break
    J = X / S[:, None]
    cov = np.linalg.pinv((J * alpha[:, None]).T @ J)
    return theta, ll, cov, S


def _band_edge(f: np.ndarray, band_fraction: float) -> tuple[int, float]:
    """Number of ordinates K of a band (the lowest ``band_fraction`` of them, at least 2)
    and its upper edge f_B (half an ordinate spacing above the last)."""
    M = len(f)
    K = max(min(M, int(np.ceil(band_fraction * M))), 2)
    return K, float(f[K - 1] + 0.5 * (f[1] - f[0]) if M > 1 else f[0])


def _order_fits(pgram: np.ndarray, f: np.ndarray, alpha: float, opt: dict, dt: float,
                band_fraction: float, relax_ps: float | None = None, relax_free: bool = True) -> list[dict]:
    """Fits of orders P = 0..max_order on the band (lowest ``band_fraction`` of the ordinates).

    Each: ln S(0) (``mean``), its variance, the influence vector ``g`` of ln S(0) on the
    relative ordinates I_k/S_k - 1, and the fitted spectrum ``S``.  With ``relax_ps`` (τ of
    a relaxation column, :func:`_design`) estimated from the same data (``relax_free``) the
    variance and ``g`` count ln τ as one more free parameter of every fit that uses the column."""
    K, f_band = _band_edge(f, band_fraction)
    Ik, fk = pgram[:K], f[:K]
    if np.ndim(alpha):
        alpha = np.asarray(alpha)[:K]
    out = []
    th = None
    f_warp = opt["warp"] * (f[1] - f[0]) if opt["warp"] else 0.0
    Xall = _design(fk, f_band, max(0, min(opt["max_order"], K // 8 - 1)), dt, f_warp, relax_ps)
    if relax_ps is not None and relax_free:
        # d L / d ln τ, by a central difference in ln τ
        h = 1e-4
        s2 = 4.0 * np.sin(np.pi * fk * dt) ** 2
        dL = s2 * (_relaxation_shape(fk, dt, relax_ps * np.exp(h)) - _relaxation_shape(fk, dt, relax_ps * np.exp(-h))) / (2 * h)
    for P in range(0, max(0, min(opt["max_order"], K // 8 - 1)) + 1):
        X = Xall[:, :P + 1]
        th, ll, cov, S = _fit_order(Ik, X, alpha, start=None if th is None else np.append(th, 0.0))
        J = X / S[:, None]
        if relax_ps is not None and relax_free and P >= 1:
            # ln τ as a parameter: its column th_L dL/dlnτ joins the information
            J = np.column_stack([J, th[1] * dL / S])
            a_ = np.broadcast_to(np.asarray(alpha, dtype=np.float64), S.shape)
            cov = np.linalg.pinv((J * a_[:, None]).T @ J)
        g = J @ np.linalg.pinv(J.T @ J)[:, 0] / th[0]
        out.append({"order": P + 1, "K": K, "f_band": float(f_band), "mean": float(np.log(th[0])),
                    "var": float(cov[0, 0] / th[0] ** 2), "level": float(th[0]), "level_var": float(cov[0, 0]),
                    "loglik": ll, "g": g, "S": S, "X": X, "theta": th, "alpha": alpha})
    return out


#: the relaxation time's search: from Δt / _TAU_MIN_FRAMES up, and a maximum within
#: _TAU_EDGE_LN (in ln τ, twice the refinement's tolerance) of either end is at that edge,
#: i.e. no relaxation time is located there
_TAU_MIN_FRAMES = 3.0
_TAU_XATOL = 0.01
_TAU_EDGE_LN = 2 * _TAU_XATOL


def _relaxation_time(I_list: list[np.ndarray], f_list: list[np.ndarray], dt_list: list[float],
                     alpha_list: list, band_fraction: float, opt: dict) -> float | None:
    """τ (ps) of the relaxation column: the maximum of the Whittle likelihood summed over
    the given (seed, axis) periodograms, located on a log grid from Δt/3 to T/(20π), T the
    shortest seed (a slower relaxation would have its corner frequency within 10 ordinate
    spacings of f = 0, where it competes with the level itself), and refined by
    Brent's method in ln τ between the grid neighbours; None (no column) when the maximum is
    at the upper end, T/(20π); the model is the level, the
    relaxation and a white term (a cosine more would let the profile trade τ against it:
    a second, wrong optimum, measured)."""
    T_min = min(len(f) * dt for f, dt in zip(f_list, dt_list))
    dt_min = min(dt_list)
    bands = [_band_edge(f, band_fraction) for f in f_list]

    def nll(log_tau: float) -> float:
        total = 0.0
        for I, f, dt, alpha, (K, f_band) in zip(I_list, f_list, dt_list, alpha_list, bands):
            f_warp = opt["warp"] * (f[1] - f[0]) if opt["warp"] else 0.0
            X = _design(f[:K], f_band, min(2, max(1, K // 8 - 1)), dt, f_warp, float(np.exp(log_tau)))
            total -= _fit_order(I[:K], X, np.asarray(alpha)[:K] if np.ndim(alpha) else alpha)[1]
        return total

    grid = np.linspace(np.log(dt_min / _TAU_MIN_FRAMES), np.log(max(T_min / (20 * np.pi), dt_min)), 13)
    vals = [nll(x) for x in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": _TAU_XATOL})
    best = res.x if res.fun <= vals[i] else grid[i]
    if best >= grid[-1] - _TAU_EDGE_LN:
        # the likelihood still rises towards slower relaxations than the run resolves (real MD
        # with a relaxation on the run's own time scale): no relaxation time is located
        return None
    return float(np.exp(best))


def _aic_average(fits: list[dict]) -> dict:
    """Akaike-weighted average of the fits of one ladder (law of total variance)."""
    aic = np.array([-2 * f["loglik"] + 2 * f["order"] for f in fits])
    w = np.exp(-0.5 * (aic - aic.min()))
    w /= w.sum()
    m = np.array([f["mean"] for f in fits])
    mean = float(w @ m)
    out = dict(fits[int(np.argmax(w))])
    out.update(mean=mean, var=float(w @ (np.array([f["var"] for f in fits]) + (m - mean) ** 2)),
               g=sum(wi * f["g"] for wi, f in zip(w, fits)), S=sum(wi * f["S"] for wi, f in zip(w, fits)),
               order=float(w @ np.array([f["order"] for f in fits])))
    return out


def _pooled_order_weights(flat: list[list[dict]], weights: list[float], kind: str,
                          floor: int = 0) -> tuple[np.ndarray, float]:
    """Smooth weights over the orders of one component, shared by all its (seed, axis) fits
    ``flat``, and the model spread of the pooled level under them.

    The log-likelihoods are summed over the n fits (independent ordinates); each order adds
    n coefficients, penalised as in AIC (1 per coefficient) or BIC (½ ln K per coefficient,
    K the ordinates of a fit).  The returned spread Σ_b w_b (L_b - L̄)², L_b the ln of the
    slope pooled over seeds and axes at order b (``weights`` as in :func:`_pooled_levels`),
    is the model uncertainty of the group's level: one error for every seed, not averaged
    down by their number.  Orders below ``floor`` get no weight."""
    n_lev = min(len(f) for f in flat)
    n = len(flat)
    ll = np.array([sum(f[b]["loglik"] for f in flat) for b in range(n_lev)])
    per_coef = 1.0 if kind == "pooled_aic" else 0.5 * float(np.mean([np.log(f[0]["K"]) for f in flat]))
    crit = ll - per_coef * n * np.arange(n_lev)
    crit[:min(floor, n_lev - 1)] = -np.inf
    wts = np.exp(crit - crit.max())
    wts /= wts.sum()
    L = np.log(np.maximum(_pooled_levels(flat, weights)[0], 1e-300))
    spread = float(wts @ (L - wts @ L) ** 2)
    return wts, spread


def _level_fit(lad: list[dict], b: int, c: str, opt: dict) -> dict:
    """Fit ``b`` of one (seed, axis) ladder of component ``c``, with ``var_sampling`` (its
    Whittle variance) and, when the order was chosen from the data, ``allow``: the model-order
    allowance of ``order_allowance`` (not yet added to ``var``).

    "next": the squared shift to the next order; "window": the mean squared shift to the
    orders the choice compared it with (a less noisy measure of the same uncertainty);
    "excess": the squared shift less its sampling part, the Hausman variance of the
    difference (an estimate of the squared bias alone); "floor": at least that variance."""
    fb = dict(lad[b])
    fb["var_sampling"] = fb["var"]
    if opt["order"] is None and b + 1 < len(lad):
        allowance = _per_component(opt["order_allowance"], "order_allowance")[c]
        win = _per_component(opt["order_window"], "order_window")[c]
        nxt = lad[b + 1: b + 1 + (win if allowance == "window" else 1)]
        sq = [(fb["mean"] - f2["mean"]) ** 2 for f2 in nxt]
        if allowance == "excess":
            sq = [max(x - max(f2["var"] - fb["var"], 0.0), 0.0) for x, f2 in zip(sq, nxt)]
        elif allowance == "floor":
            sq = [max(x, f2["var"] - fb["var"]) for x, f2 in zip(sq, nxt)]
        fb["allow"] = float(np.mean(sq))
    return fb


def _weighted_fit(lad: list[dict], wts: np.ndarray, c: str, opt: dict, own_allowance: bool) -> dict:
    """One (seed, axis) ladder averaged over its orders with the weights ``wts`` (shared by the
    component's fits): ln S(0), its variance, ``g`` and ``S`` averaged.  With ``own_allowance``
    ("soft_level") each order also brings its :func:`_level_fit` allowance, averaged, into
    ``var``; otherwise (the pooled selections) the model spread is one shared error of the
    group, added by the caller (``allow`` absent)."""
    fits = [_level_fit(lad, b, c, opt) for b in range(min(len(wts), len(lad)))]
    wts = np.asarray(wts[:len(fits)]) / np.sum(wts[:len(fits)])
    fb = dict(fits[int(np.argmax(wts))])
    fb.pop("allow", None)
    fb.update(mean=float(wts @ [f2["mean"] for f2 in fits]), var=float(wts @ [f2["var"] for f2 in fits]),
              g=sum(wb * f2["g"] for wb, f2 in zip(wts, fits)), S=sum(wb * f2["S"] for wb, f2 in zip(wts, fits)))
    fb["var_sampling"] = fb["var"]
    if own_allowance:
        fb["var"] += float(wts @ [f2.get("allow", 0.0) for f2 in fits])
    return fb


def _soft_level_weights(flat: list[list[dict]], weights: list[float], z_max: float, window: int,
                        softness: float) -> np.ndarray:
    """The level rule (:func:`_choose_level`) with each pass/fail made smooth: level b passes
    each comparison with the next ``window`` levels with probability Φ((z_max - |z|)/softness)
    (their product: it passes all), and gets the probability that it is the first level to
    pass; the most flexible level keeps the rest.  softness → 0 gives the hard rule."""
    pooled = list(zip(*_pooled_levels(flat, weights)))
    n_lev = len(pooled)
    wts = np.zeros(n_lev)
    remaining = 1.0
    for b in range(n_lev - 1):
        p = 1.0
        for b2 in range(b + 1, min(n_lev, b + 1 + window)):
            p *= float(stats.norm.cdf((z_max - abs(_hausman_z(pooled, b, b2))) / softness))
        wts[b] = remaining * p
        remaining *= 1.0 - p
    wts[-1] = remaining
    return wts


def _clipped_ratio(num: np.ndarray, den: np.ndarray, floor: float) -> np.ndarray:
    """num / den per axis (0 where den <= 0), held at >= ``floor``."""
    return np.clip(num / np.where(den > 0, den, 1), floor, None)


def _shape_alpha(d: dict, ax: int, R: np.ndarray, opt: dict):
    """The Gamma shape of the ion average's ordinates on axis ``ax`` of one seed: N/(2R), per
    ordinate (length M) with ``correlation_shape="diffusive"``.  Set once per seed in
    ``d["alpha"]`` (with the collective's 1/2) by :func:`fit_spectral`."""
    if opt["correlation_shape"] == "flat" or R[ax] <= 1.0:
        return d["N"] / (2.0 * R[ax])
    I = np.asarray(d["I"]["tr"][:, ax], dtype=np.float64)
    h = 8
    kern = np.ones(2 * h + 1)
    smooth = np.convolve(I, kern, mode="same") / np.convolve(np.ones_like(I), kern, mode="same")
    Rk = 1.0 + (R[ax] - 1.0) * (d["Sbar_W"][ax] / np.maximum(smooth, 1e-300)) ** 2
    return d["N"] / (2.0 * Rk)


def _pair_products(C: np.ndarray) -> float:
    """Unbiased Σ_ij S_ij² from W ordinates (rows) of N series (columns)."""
    W = C.shape[0]
    G = C @ C.T
    d = np.diag(G)
    return float((np.sum(G * G) - np.sum(d * d)) / (W * (W - 1)))


def _cross_products(C: np.ndarray, p: np.ndarray) -> float:
    """Unbiased Σ_i S_iP² from W ordinates of N series C and one series p."""
    W = C.shape[0]
    cp = C.T @ p                                   # (N,)
    return float((np.sum(cp * cp) - np.sum(p * p * np.sum(C * C, axis=1))) / (W * (W - 1)))


# --------------------------------------------------------------------------- frame
def _principal_frame(seeds: Sequence[SpectralSeries], window: int) -> np.ndarray:
    """Columns = principal axes of the polarisation's low-frequency cross-spectral matrix.

    Σ over seeds of the lowest ``window`` sine ordinates' outer products c_k c_kᵀ / Δt
    (the conductivity tensor up to a factor, smoothed over the window), sorted by
    decreasing eigenvalue.  Estimated from the same data, so the directions carry
    sampling noise: in an isotropic system they are arbitrary (the total is unaffected)."""
    A = np.zeros((3, 3))
    for s in seeds:
        c = sine_coefficients(s.polarisation_increments)[: max(2, window)]
        A += c.T @ c / s.dt_ps
    vals, vecs = np.linalg.eigh(A)
    vecs = vecs[:, np.argsort(vals)[::-1]]
    for j in range(3):                                   # a deterministic sign: largest entry positive
        if vecs[np.argmax(np.abs(vecs[:, j])), j] < 0:
            vecs[:, j] = -vecs[:, j]
    return vecs


def _rotated(s: SpectralSeries, frame: np.ndarray) -> SpectralSeries:
    """``s`` (reduced, :func:`_reduced`) in the axes of ``frame``'s columns."""
    tracer = s.tracer_increments
    assert isinstance(tracer, TracerStatistics)
    return SpectralSeries(name=s.name, dt_ps=s.dt_ps, tracer_increments=tracer.rotated(frame),
                          polarisation_increments=np.asarray(s.polarisation_increments, dtype=np.float64) @ frame)


def _reduced(s: SpectralSeries, opt: dict) -> SpectralSeries:
    """``s`` with its tracer as :class:`TracerStatistics` for these model options."""
    tr = s.tracer_increments
    if not isinstance(tr, TracerStatistics):
        return replace(s, tracer_increments=TracerStatistics.of(tr, window=opt["corr_window"],
                                                                blocks=opt["kurtosis_blocks"]))
    if tr.blocks != opt["kurtosis_blocks"] or tr.low.shape[0] < min(opt["corr_window"], tr.n_increments):
        raise ValueError(f"seed {s.name!r}: its tracer statistics were accumulated with corr_window={tr.window}, "
                         f"kurtosis_blocks={tr.blocks}; the fit asks for corr_window={opt['corr_window']}, "
                         f"kurtosis_blocks={opt['kurtosis_blocks']}: accumulate them with these values "
                         "(spectral_series_of(..., window=, blocks=)) or pass the increments")
    return s


# --------------------------------------------------------------------------- main
def _validate(seeds: Sequence[SpectralSeries]) -> None:
    if len(seeds) == 0:
        raise ValueError("fit_spectral needs at least one seed")
    for s in seeds:
        P = np.asarray(s.polarisation_increments)
        if P.ndim != 2 or P.shape[1] != 3:
            raise ValueError(f"seed {s.name!r}: polarisation_increments must be (T-1, 3), got {P.shape}")
        if isinstance(s.tracer_increments, TracerStatistics):
            st = s.tracer_increments
            if st.n_increments != P.shape[0]:
                raise ValueError(f"seed {s.name!r}: tracer statistics of {st.n_increments} increments, the "
                                 f"polarisation has {P.shape[0]}; they must come from the same frames")
            if st.n_filled != st.n_ions:
                raise ValueError(f"seed {s.name!r}: tracer statistics hold {st.n_filled} of {st.n_ions} ions; "
                                 "accumulate every chunk first")
            T = st.cross                      # NaN or inf in any increment reaches the cross-periodogram
        else:
            T = np.asarray(s.tracer_increments)
            if T.ndim != 3 or T.shape[2] != 3 or T.shape[0] != P.shape[0]:
                raise ValueError(f"seed {s.name!r}: tracer_increments must be (T-1, N, 3) with the same T-1 as "
                                 f"the polarisation ({P.shape[0]}), got {T.shape}")
        if not (np.isfinite(s.dt_ps) and s.dt_ps > 0):
            raise ValueError(f"seed {s.name!r}: dt_ps must be positive, got {s.dt_ps}")
        if not (np.all(np.isfinite(P)) and np.all(np.isfinite(T))):
            raise ValueError(f"seed {s.name!r}: increments contain NaN or inf")


def _pooled_levels(fits: list[list[dict]], weights: list[float]) -> tuple[list[float], list[float]]:
    """Per model level: the pooled slope Σ w S(0) over the fits and its variance."""
    n_lev = min(len(f) for f in fits)
    m = [sum(w * f[b]["level"] for w, f in zip(weights, fits)) for b in range(n_lev)]
    v = [sum(w * w * f[b]["level_var"] for w, f in zip(weights, fits)) for b in range(n_lev)]
    return m, v


def _tracer_bias_level(level: int, flat: list[list[dict]], w: list[float], tr_info: dict, band_fraction: float,
                       opt: dict, relax: float | None = None) -> int:
    """The collective's level raised until the tracer's ladder says its truncation bias is small.

    The tracer's ladder is precise (N ions averaged): the shift of its pooled level from
    level b to its chosen level is the model's truncation error at b for a spectrum of
    the tracer's shape, which the collective shares (rattle and hops are the same motions;
    session 14: on the generator the collective's truncation bias has the tracer's sign and
    0.35-0.9 x its size, studies/calibration_spectral/truncation.py).
    The collective keeps its own choice unless that shift exceeds ``tracer_bias_z`` of its
    own standard error there; then the next level is tried, never beyond the tracer's.
    Only when both components use the same band (the levels correspond).
    With ``collective_order="tracer_bias_same"`` and a collective without the relaxation
    column (``relax`` None) beside a tracer that kept it, the shifts are read from the
    tracer's cosine-series ladder (``tr_info["cosine"]``), the collective's own model: a
    ladder that carries the rattle in its relaxation column shows none of the truncation
    the cosine series suffers, and shows truncation the cosine series may not."""
    if not np.isclose(tr_info["band_fraction"], band_fraction):
        return level
    src = tr_info
    if opt["collective_order"] == "tracer_bias_same" and relax is None and "cosine" in tr_info:
        src = tr_info["cosine"]
    m_tr = np.asarray(src["pooled_levels"], dtype=np.float64)
    m_p, v_p = _pooled_levels(flat, w)
    top = min(src["level"], len(m_tr) - 1, len(m_p) - 1)
    if m_tr[top] <= 0:
        return level
    b = level
    while b < top:
        if m_tr[b] > 0 and m_p[b] > 0:
            shift = abs(np.log(m_tr[b] / m_tr[top]))
            if shift <= opt["tracer_bias_z"] * np.sqrt(v_p[b]) / m_p[b]:
                break
        b += 1
    return b


def _hausman_z(pooled: list[tuple[float, float]], b: int, b2: int) -> float:
    """z of the pooled level at model level b against the more flexible level b2 (``pooled``:
    (value, variance) per level, :func:`_pooled_levels`): the difference over its Hausman
    s.e., the variance difference floored at a tenth of b2's variance."""
    dv = max(pooled[b2][1] - pooled[b][1], 0.1 * pooled[b2][1])
    return float((pooled[b][0] - pooled[b2][0]) / np.sqrt(dv))


def _choose_level(fits: list[list[dict]], weights: list[float], z_max: float, window: int) -> tuple[int, list, bool]:
    """Pick one model level for all (seed, axis) fits of a component.

    ``fits[j][b]``: fit j at level b, ordered from the most rigid (lowest variance,
    possibly biased) to the most flexible.  The pooled value per level is the weighted
    sum of the fits' levels S(0) on the linear scale (weights 1/Δt: the axis' slope summed
    over seeds; on the log scale an axis without diffusion, S(0) ≈ 0, would pass any test
    with a spurious positive level).  The lowest level
    whose pooled value agrees with the next ``window`` more flexible levels within the
    Hausman s.e. of the difference (|z| <= z_max) is chosen.  (Comparing with *all* higher
    levels makes the rule climb to noisy high orders by multiple testing.)  Returns
    (level, z-list, passed)."""
    pooled = list(zip(*_pooled_levels(fits, weights)))
    n_lev = len(pooled)
    zs = []
    for b in range(n_lev):
        ok = True
        zb = []
        for b2 in range(b + 1, min(n_lev, b + 1 + window)):
            z = _hausman_z(pooled, b, b2)
            zb.append(z)
            ok &= abs(z) <= z_max
        zs.append(zb)
        if ok:
            return b, zs, b < n_lev - 1 or n_lev == 1
    return n_lev - 1, zs, n_lev == 1


def _choose_by_likelihood(fits: list[list[dict]], rule: str, z_max: float, window: int) -> tuple[int, list, bool]:
    """Pick one model level for all (seed, axis) fits of a component from their likelihoods.

    The log-likelihoods are summed over the n fits (independent ordinates); going from
    level b to b2 adds n (b2 - b) coefficients.  ``rule="lr"``: the lowest level that none
    of the next ``window`` levels beats by a likelihood-ratio test of size 2 (1 - Φ(z_max))
    (the size of the level rule's Hausman test); the test sees a misfit anywhere on the
    band, e.g. a too-rigid model's vibrational rise, which drags the level down but moves
    it by less than its (large, χ²₁) standard error.  ``rule="aic"``: the level of least
    pooled AIC.  Returns (level, statistics per level, passed) like :func:`_choose_level`;
    passed is False when the most flexible level is needed (the band has more structure)."""
    n_lev = min(len(f) for f in fits)
    n = len(fits)
    ll = np.array([sum(f[b]["loglik"] for f in fits) for b in range(n_lev)])
    if rule == "aic":
        aic = -2 * ll + 2 * n * np.arange(n_lev)
        b = int(np.argmin(aic))
        return b, [[float(a - aic.min())] for a in aic], b < n_lev - 1 or n_lev == 1
    size = 2 * stats.norm.sf(z_max)
    out = []
    for b in range(n_lev):
        pv = [float(stats.chi2.sf(2 * (ll[b2] - ll[b]), n * (b2 - b))) for b2 in range(b + 1, min(n_lev, b + 1 + window))]
        out.append(pv)
        if all(p >= size for p in pv):
            return b, out, b < n_lev - 1 or n_lev == 1
    return n_lev - 1, out, n_lev == 1


def _choose(fits: list[list[dict]], weights: list[float], rule: str, z_max: float, window: int) -> tuple[int, list, bool]:
    """The level of ``order_rule`` ``rule``: :func:`_choose_level` or :func:`_choose_by_likelihood`."""
    if rule == "level":
        return _choose_level(fits, weights, z_max, window)
    return _choose_by_likelihood(fits, rule, z_max, window)


def _floor_order(level_tr: int, info_tr: dict, per: list[dict], band_fraction: float, opt: dict) -> int:
    """The tracer's order as a number of cosine coefficients on the collective's band.

    The design is cos(π p u(f)), p < order, u the warped frequency scaled to [0, 1] on each
    band, so an order resolves structure of width ~ U(f_B) / order in U = ln(1 + f/f_w)
    (U = f without warp).  On a band of other width the same resolution needs the highest
    harmonic scaled by U(f_B^P) / U(f_B^tr) (per seed; the largest is kept)."""
    if level_tr <= 1:
        return level_tr
    need = 0
    for d in per:
        f = d["f"]
        f_w = opt["warp"] * (f[1] - f[0]) if opt["warp"] and len(f) > 1 else 0.0
        u_p, u_tr = (np.log1p(_band_edge(f, fr)[1] / f_w) if f_w > 0 else _band_edge(f, fr)[1]
                     for fr in (band_fraction, info_tr["band_fraction"]))
        need = max(need, 1 + int(np.ceil((level_tr - 1) * u_p / u_tr - 1e-9)))
    return need


def _tau_log_likelihood(y: np.ndarray, v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Marginal log likelihood of the random-effect s.d. τ on ``grid`` (μ integrated out
    under a flat prior) for seed estimates ``y`` with sampling variances ``v``."""
    logl = np.empty(len(grid))
    for j, t in enumerate(grid):
        wt = 1.0 / (v + t * t)
        mu = np.sum(wt * y) / np.sum(wt)
        logl[j] = 0.5 * np.sum(np.log(wt)) - 0.5 * np.sum(wt * (y - mu) ** 2) - 0.5 * np.log(np.sum(wt))
    return logl


TAU_PRIORS = ("half_normal", "half_cauchy")
ORDER_ALLOWANCES = ("next", "window", "excess", "floor")
RELAXATION_BASES = (False, "own", "tracer", "tracer_only")
COLLECTIVE_ORDERS = ("own", "tracer", "tracer_shaped", "tracer_floor", "tracer_bias", "tracer_bias_same")
KURTOSIS_ESTIMATES = ("shrunk", "raw", "clipped")
ORDER_CHOICES = ("pooled", "cross", "cross_max")
SELECTIONS = ("stable", "aic", "pooled_aic", "pooled_bic", "soft_level")


def _tau_grid(scale: float, prior: str = "half_normal") -> np.ndarray:
    """Grid of the random-effect s.d. τ (first point 0): even steps to 6 ``scale`` for the
    half-normal; for the half-Cauchy's long tail, geometric steps from 0.02 to 300 ``scale``."""
    if scale <= 0:
        return np.zeros(1)
    if prior == "half_cauchy":
        return np.concatenate([[0.0], scale * np.geomspace(0.02, 300.0, 150)])
    return np.linspace(0.0, 6 * scale, 61)


def _tau_posterior(y: np.ndarray | list, v: np.ndarray | list, scale: float, grid: np.ndarray,
                   null_prob: float = 0.0, prior: str = "half_normal") -> np.ndarray:
    """Posterior weights of the random-effect s.d. τ on ``grid`` (:func:`_tau_grid`; flat prior
    on μ; prior on τ: probability ``null_prob`` at τ = 0, the rest half-normal or half-Cauchy
    with ``scale``).  ``y`` and ``v`` may be lists of arrays: one τ shared by several
    components (their likelihoods multiply)."""
    ys, vs = (y, v) if isinstance(y, list) else ([y], [v])
    if len(ys[0]) < 2 or scale <= 0:
        w = np.zeros(len(grid))
        w[0] = 1.0
        return w
    logl = sum(_tau_log_likelihood(np.asarray(yc), np.asarray(vc), grid) for yc, vc in zip(ys, vs))
    # prior: an atom null_prob at τ = 0 (grid[0]) and the continuous part, its density times
    # each point's share of the grid, normalised on the grid
    if prior == "half_cauchy":
        cont = np.gradient(grid) / (1.0 + (grid / scale) ** 2)
        cont[0] = 0.0
    else:
        cont = np.exp(-0.5 * (grid / scale) ** 2)
    prior_w = cont * (1.0 - null_prob) / cont.sum()
    prior_w[0] += null_prob
    p = prior_w * np.exp(logl - logl.max())
    return p / p.sum()


def _start_bands(band_fraction) -> dict[str, float]:
    """The starting band of each component from ``band_fraction`` (a number for both,
    or ``{"tr": ..., "P": ...}``), checked to lie in (0, 1]."""
    if isinstance(band_fraction, dict):
        extra = set(band_fraction) - {"tr", "P"}
        if extra:
            raise ValueError(f"band_fraction: unknown components {sorted(extra)}; use 'tr' and 'P'")
        bands = {c: band_fraction.get(c, DEFAULTS["band_fraction"]) for c in ("tr", "P")}
    else:
        bands = {"tr": band_fraction, "P": band_fraction}
    for c, b in bands.items():
        if not (isinstance(b, (int, float)) and 0 < b <= 1):
            raise ValueError(f"band_fraction of {c!r} must be a number in (0, 1], got {b!r}")
    return {c: float(b) for c, b in bands.items()}


def _halvable(min_M: int, band_fraction: float, opt: dict) -> bool:
    """Whether half of this band still leaves at least 8 ordinates per model coefficient."""
    return min_M * band_fraction / 2 >= 8 * (opt["max_order"] + 1)


def _per_component(value, name: str) -> dict:
    """An option given for both components or as ``{"tr": ..., "P": ...}`` (missing: the default)."""
    if isinstance(value, dict):
        extra = set(value) - {"tr", "P"}
        if extra:
            raise ValueError(f"{name}: unknown components {sorted(extra)}; use 'tr' and 'P'")
        default = DEFAULTS[name]
        return {c: value.get(c, default[c] if isinstance(default, dict) else default) for c in ("tr", "P")}
    return {"tr": value, "P": value}


def _component_band(c: str, per: list[dict], opt: dict, band_fraction: float,
                    floor: dict | None = None, relax_given: float | None = None,
                    relax_estimated: float | None = None) -> tuple:
    """Order fits of component ``c`` ("tr" or "P") for every seed and axis, the chosen order
    and the band it was chosen on.

    The order is chosen on the slope pooled over seeds and axes on the linear scale (an
    axis without diffusion, S(0) ≈ 0, then counts with its true weight).  When no order
    short of the most flexible one fits, the spectrum has more structure than
    ``max_order`` coefficients follow on this band (e.g. 10 fs frames: a band up to
    50 THz): with ``adaptive_band`` the band of *this component* is halved and the order
    chosen again, while at least 8 ordinates per coefficient remain; with
    ``relaxation_check``, the model the check did not prefer (relaxation column or cosine
    series) is tried on the same band first.  Each component gets
    its own band, so a structured tracer spectrum does not narrow the collective's band.
    The rule is ``order_rule`` (with ``order_z``, ``order_window``) of this component;
    ``floor`` (the tracer's level and band record, with ``collective_order`` "tracer" or
    "tracer_floor") replaces the collective's order by the tracer's, mapped to this band
    (:func:`_floor_order`), or raises it to that.
    With ``order_choice="cross"`` each seed's order is chosen on the other seeds' fits
    (``"cross_max"``: the more flexible of that and the pooled order).
    Returns (ladder[seed][axis], the level of each seed, band record, provisional reason or "")."""
    min_M = min(d["M"] for d in per)
    halved: list[dict] = []
    rule = _per_component(opt["order_rule"], "order_rule")[c]
    z_max = _per_component(opt["order_z"], "order_z")[c]
    window = _per_component(opt["order_window"], "order_window")[c]
    if rule not in ("level", "lr", "aic"):
        raise ValueError(f"order_rule of {c!r} must be 'level', 'lr' or 'aic', got {rule!r}")
    alphas = [d["alpha"][c] for d in per]
    w = [1.0 / per[j // 3]["dt"] for j in range(3 * len(per))]    # Σ S0/Δt: the pooled slope
    while True:
        gain: float | None = None
        switched = False
        relax, estimated = _relaxation_column(c, per, alphas, opt, band_fraction, relax_given, relax_estimated)

        def ladder_of(relax_ps, top=None):
            o = opt if top is None else {**opt, "max_order": top}
            return [[_order_fits(d["I"][c][:, ax], d["f"], alphas[j][ax], o, d["dt"], band_fraction, relax_ps,
                                 relax_free=estimated and opt["relaxation_variance"])
                     for ax in range(3)] for j, d in enumerate(per)]

        power: float | None = None
        if relax is not None and opt["relaxation_check"]:
            # keep the relaxation column only where it fits this component's band better
            # than the cosine term it displaces (three columns each, pooled likelihood; the
            # first three fits of a ladder do not depend on how far it goes, so only the
            # kept model's ladder is continued)
            short_r, short_c = ladder_of(relax, 2), ladder_of(None, 2)
            rung = min(2, min(len(fits) for ps in short_r for fits in ps) - 1)
            pairs = [(fr[rung], fc[rung]) for ps_r, ps_c in zip(short_r, short_c) for fr, fc in zip(ps_r, ps_c)]
            gain = float(sum(fr["loglik"] - fc["loglik"] for fr, fc in pairs))
            # the check's power: the expected gain were either fitted spectrum the truth (the
            # Gamma ordinates' Kullback-Leibler divergence, summed), the larger of the two
            ratios = [(fr["S"] / fc["S"], np.broadcast_to(fr["alpha"], fr["S"].shape)) for fr, fc in pairs]
            power = float(max(sum(np.sum(a * (r - 1.0 - np.log(r))) for r, a in ratios),
                              sum(np.sum(a * (1.0 / r - 1.0 + np.log(r))) for r, a in ratios)))
        # relaxation_check_frames: a column that relaxes within a frame is nearly the white and
        # first cosine columns' combination; where the check then has no power (the two fitted
        # spectra are closer than relaxation_check_power nats) it could only read the
        # collective's noise, and the collective keeps the tracer's model; a τ at the search's
        # lower edge (Δt/3) is no located relaxation and keeps the check
        dt_min = min(d["dt"] for d in per)
        unchecked = (c == "P" and power is not None and relax < opt["relaxation_check_frames"] * dt_min
                     and power < opt["relaxation_check_power"]
                     and np.log(relax) > np.log(dt_min / _TAU_MIN_FRAMES) + _TAU_EDGE_LN)
        # the model the check prefers first, the other one second (None: the cosine series)
        if unchecked:
            models = [relax, None]
        else:
            models = [relax] if gain is None else ([relax, None] if gain > -opt["relaxation_margin"] else [None, relax])

        def ordered(relax_ps):
            lad = ladder_of(relax_ps)
            flat = [fits for per_seed in lad for fits in per_seed]
            return (lad, flat, *_choose(flat, w, rule, z_max, window))

        lad, flat, level, zs, ok = ordered(models[0])
        if not ok and len(models) == 2 and opt["order"] is None:
            # the check's model has no order that settles on this band: the other model, on
            # the same band, before the band is halved (real MD: a cage relaxation the
            # column follows on the wide band but not on the half band, or the reverse)
            other = ordered(models[1])
            if other[4]:
                lad, flat, level, zs, ok = other
                models.reverse()
                switched = True
        relax = models[0]
        estimated = estimated and relax is not None
        floor_level = own_level = None
        if floor is not None and opt["collective_order"] in ("tracer_bias", "tracer_bias_same"):
            own_level = level
            level = _tracer_bias_level(level, flat, w, floor, band_fraction, opt, relax)
        elif floor is not None and (opt["collective_order"] != "tracer_shaped" or relax is not None):
            # ("tracer_shaped": the tracer's order only where the collective kept the
            # relaxation column, i.e. is shaped like the ions' rattle)
            floor_level = _floor_order(floor["level"], floor, per, band_fraction, opt)
            mapped = min(floor_level, min(len(fl) for fl in flat) - 1)
            level = mapped if opt["collective_order"] in ("tracer", "tracer_shaped") else max(level, mapped)
        if opt["order"] is not None:
            level, ok = min(int(opt["order"]), min(len(fl) for fl in flat) - 1), True
        reason = "" if ok else (f"{c}: the zero-frequency value still moves beyond its s.e. with the model order "
                                f"(z = {', '.join(f'{x:.1f}' for x in zs[level - 1]) if level else 'n/a'})")
        if ok or not opt["adaptive_band"] or opt["order"] is not None or not _halvable(min_M, band_fraction, opt):
            break
        halved.append({"band_fraction": band_fraction, "reasons": [reason]})
        band_fraction /= 2
    levels = [level] * len(per)
    choice = _per_component(opt["order_choice"], "order_choice")[c]
    if choice != "pooled" and len(per) > 1 and opt["order"] is None and floor_level is None:
        # cross-fitting: seed j's order from the other seeds' fits alone, on the same band and
        # model, so the level a seed contributes is not the one its own noise made pass
        for j in range(len(per)):
            keep = [i for i in range(len(flat)) if i // 3 != j]
            sub, w_sub = [flat[i] for i in keep], [w[i] for i in keep]
            lj = _choose(sub, w_sub, rule, z_max, window)[0]
            if own_level is not None:
                lj = _tracer_bias_level(lj, sub, w_sub, floor, band_fraction, opt, relax)
            levels[j] = max(lj, level) if choice == "cross_max" else lj
    info = {"level": level, "band_fraction": band_fraction, "seed_levels": levels,
            "f_band": [fl[min(level, len(fl) - 1)]["f_band"] for fl in flat[:3]],
            "ordinates": [fl[min(level, len(fl) - 1)]["K"] for fl in flat],
            "z_vs_narrower": zs[level] if level < len(zs) else [], "passed": ok, "halved_because": halved,
            "rule": rule, "floor": floor_level, "own_level": own_level, "pooled_levels": _pooled_levels(flat, w)[0],
            "relaxation_time_ps": relax, "relaxation_estimated": estimated, "relaxation_check_gain": gain,
            "relaxation_switched": switched, "relaxation_unchecked": bool(unchecked),
            "relaxation_check_power": power}
    if c == "tr" and relax is not None and opt["collective_order"] == "tracer_bias_same":
        # the tracer's cosine-series ladder on its final band, for a collective that drops the
        # relaxation column (_tracer_bias_level)
        flat_cos = [fits for per_seed in ladder_of(None) for fits in per_seed]
        info["cosine"] = {"level": _choose(flat_cos, w, rule, z_max, window)[0],
                          "pooled_levels": _pooled_levels(flat_cos, w)[0]}
    return lad, levels, info, reason


def _relaxation_column(c: str, per: list[dict], alphas: list[list[float]], opt: dict, band_fraction: float,
                       tracer_tau: float | None, reuse: float | None) -> tuple[float | None, bool]:
    """τ (ps) of component ``c``'s relaxation column (None: no column) and whether it was
    estimated from this component's own data (then it counts in the variance).
    ``tracer_tau``: the tracer's τ (for the collective with ``relaxation_basis="tracer"``;
    None when the tracer has no column or there is no tracer); ``reuse``: a τ this component already estimated on
    the same data (the principal-frame refit)."""
    mode = opt["relaxation_basis"]
    if not mode or (c == "P" and mode == "tracer_only"):
        return None, False
    if c == "P" and mode == "tracer":
        # the tracer's τ, or no column: a collective alone (the Green-Kubo current route, no
        # tracer) keeps the cosine series, as the positions route's collective does on real MD
        # (its own χ²₁ ordinates locate τ badly: relaxation_basis="own")
        return tracer_tau, False
    if reuse is not None:
        return reuse, True
    tau = _relaxation_time([d["I"][c][:, ax] for d in per for ax in range(3)],
                           [d["f"] for d in per for _ in range(3)], [d["dt"] for d in per for _ in range(3)],
                           [a for al in alphas for a in al], band_fraction, opt)
    return tau, tau is not None


def _estimated_relaxation(band: dict) -> dict:
    """``{component: τ}`` of the relaxation times a fit estimated from its own data."""
    return {c: band[c]["relaxation_time_ps"] for c in ("tr", "P")
            if c in band and band[c].get("relaxation_time_ps") is not None and band[c].get("relaxation_estimated")}


def _bootstrap_level_var(fb: dict, n: int, rng: np.random.Generator) -> float:
    """Sampling variance of ln S(0) of one fit, by a parametric bootstrap of its spectrum.

    Periodograms I*_k = S_k Gamma(α, 1/α) are simulated from the fitted spectrum S on the
    fit's band and refitted with the same model (same order, same design); the variance
    of the refitted ln S(0) is returned (from its 16-84 % range).  For χ²₁ ordinates (a collective, α = ½) the level
    is pinned by the few ordinates below the vibrational rise, and the Fisher variance
    (the large-sample limit) is 15-22 % smaller than this (measured for 100 ps seeds)."""
    S, X, th0, alpha = np.asarray(fb["S"]), fb["X"], fb["theta"], fb["alpha"]
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), S.shape)
    est = np.empty(n)
    for i in range(n):
        Isim = S * rng.gamma(a, 1.0 / a)
        th = _fit_order(Isim, X, alpha, start=th0)[0]
        est[i] = np.log(th[0])
    # a robust scale (half the 16-84 % range): a simulated periodogram occasionally puts the
    # level near zero, and the log of that would dominate a plain variance
    q16, q84 = np.quantile(est, [0.158655, 0.841345])
    return float(((q84 - q16) / 2) ** 2)


def _small_sample_variances(seed_sum: list[dict], comps: list[str]) -> None:
    """Scale each seed's sampling variance by the bootstrap / Fisher ratio of its component.

    The ratio is pooled over seeds and axes (each axis weighted by its share of the slope,
    as it enters the seed's variance): the seeds have the same design, and a ratio from
    a few dozen simulations per fit would be noisy.  Only the sampling part is scaled; the
    model-order allowance and the hop term are added to it unchanged."""
    for c in comps:
        num = sum(s[c]["boot"] for s in seed_sum)
        den = sum(s[c]["fisher"] for s in seed_sum)
        ratio = num / den if den > 0 and np.isfinite(num) else 1.0
        for s in seed_sum:
            extra = (ratio - 1.0) * s[c]["fisher"]
            s[c]["var"] += extra
            s[c]["var_s"] += extra
            s[c]["small_sample_ratio"] = ratio


def _common_seed_variances(seed_sum: list[dict], lengths: list[int], comps: tuple, opt: dict) -> None:
    """Per-seed variances that do not depend on the seed's own estimate, and the log bias.

    The Fisher variance of ln S(0) grows when the fitted level is low relative to the
    rest of the spectrum, so weights 1/v_s that use each seed's own v_s favour the seeds
    that came out high.  With ``seed_weights="common"`` every seed gets the group's mean
    variance per increment scaled to its length, v_s = mean_j(v_j M_j) / M_s (the seeds
    sample one system); the tracer-collective correlation of each seed is kept.  Then,
    with ``log_bias_correction``, y_s = ln slope_s + v_s/2 (sampling part): the levels are
    unbiased on the linear scale, their logarithm is biased low by half its variance."""
    M = np.asarray(lengths, dtype=np.float64)
    if opt["seed_weights"] == "common" and len(seed_sum) > 1:
        rho = ([s["cov"] / np.sqrt(s["tr"]["var"] * s["P"]["var"]) for s in seed_sum]
               if "tr" in comps else None)
        for c in comps:
            for key in ("var", "var_s"):
                per_inc = float(np.mean([s[c][key] * m for s, m in zip(seed_sum, M)]))
                for s, m in zip(seed_sum, M):
                    s[c][key] = per_inc / m
        if rho is not None:
            for s, r in zip(seed_sum, rho):
                s["cov"] = float(r * np.sqrt(s["tr"]["var"] * s["P"]["var"]))
    if opt["log_bias_correction"]:
        for s in seed_sum:
            for c in comps:
                s[c]["y"] += 0.5 * s[c]["var_s"]


def _unresolved_levels(seed_sum: list[dict], per: list[dict], comps: tuple, R: np.ndarray, opt: dict) -> list[str]:
    """Components whose zero-frequency level the model does not resolve, re-estimated.

    When the fitted S(0) is tiny next to the rest of the spectrum (no resolved long-range
    motion, e.g. the collective of a 14 ps AIMD run), the Fisher variance of ln S(0) is
    huge and a log-normal posterior is meaningless (draws overflow).  Such a component
    (median per-seed variance of ln S(0) above ``max_log_var``) gets, per seed and axis,
    the plain average of its lowest ``fallback_ordinates`` ordinates instead: a χ²
    average with relative variance 2/m (2R/(N m) for the tracer), biased high by
    whatever the vibrations add there, so an upper-leaning level.  Its tracer-collective
    correlation is set to 0.  Returns the reasons (the result is provisional)."""
    reasons = []
    for c in comps:
        v = float(np.median([s[c]["var"] + s[c]["allow"] for s in seed_sum]))
        if np.isfinite(v) and v <= opt["max_log_var"]:
            # resolved in most seeds; a seed whose own fit lost its level (relative s.e. above
            # 100 % beside siblings that resolve theirs: an extrapolation to f = 0 gone wild)
            # gets the plain average alone - through the common seed variance and the log-bias
            # correction its variance would otherwise swamp every seed's
            bad = [j for j, sj in enumerate(seed_sum)
                   if not (np.isfinite(sj[c]["var"] + sj[c]["allow"]) and sj[c]["var"] + sj[c]["allow"] <= opt["max_log_var"])]
            for j in bad:
                _plain_level(seed_sum[j], per[j], c, R, opt)
                reasons.append(f"{c} of seed {seed_sum[j]['name']}: the spectral model does not resolve its zero-frequency "
                               f"level (relative s.e. {np.sqrt(seed_sum[j][c]['var_fit']):.3g}, the other seeds' median "
                               f"{np.sqrt(v):.3g}); the plain average of its lowest {opt['fallback_ordinates']} ordinates "
                               "is used instead (an upper-leaning value)")
            continue
        for s, d in zip(seed_sum, per):
            _plain_level(s, d, c, R, opt)
        reasons.append(f"{c}: the spectral model does not resolve the zero-frequency level (median relative s.e. "
                       f"per seed {np.sqrt(v):.3g}); the plain average of the lowest {opt['fallback_ordinates']} "
                       "ordinates is used instead (biased high by the vibrations: an upper-leaning value)")
    return reasons


def _low_ordinates(d: dict, c: str, fits: list[dict], K: int) -> np.ndarray:
    """One seed's share of the low-frequency check: (Σ I_k, Σ Ŝ_k, Var Σ I_k) over its axes
    and lowest ``K`` ordinates, weighted 1/Δt like the pooled slope.  Under the fitted
    spectrum Ŝ an ordinate is Ŝ_k times a gamma variate of mean 1 and shape α (1/2 for the
    collective, N/(2R) for the ion average), and the ion average's ordinates share each
    ion's realised number of hops: every pair of them covaries by ``fb["k4"]`` S(0)² (the
    fourth-cumulant term of the level's variance, in units of S(0)²).  The model was
    fitted to these ordinates too, so the variance is an upper bound (a conservative
    test)."""
    w = 1.0 / d["dt"]
    out = np.zeros(3)
    for ax, fb in enumerate(fits):
        k = min(K, len(fb["S"]), d["M"])
        S = np.asarray(fb["S"][:k], dtype=np.float64)
        alpha = d["alpha"][c][ax]
        var = float(np.sum(S**2 / (np.asarray(alpha)[:k] if np.ndim(alpha) else alpha)))
        if c == "tr":
            var += max(fb.get("k4", 0.0), 0.0) * np.exp(2 * fb["mean"]) * k * k
        out += [w * float(np.sum(d["I"][c][:k, ax])), w * float(np.sum(S)), w * w * var]
    return out


def _gamma_z(num: float, den: float, var: float) -> tuple[float, float]:
    """(z, num / den) of the low-frequency check: the pooled ordinates ``num`` as one gamma
    variate of mean ``den`` and variance ``var`` (a sum of few χ²₁ collective ordinates is
    skewed: its upper tail is far heavier than a normal's), its tail probability as the
    equivalent normal deviate; NaN when there is nothing to compare."""
    if not (den > 0 and var > 0):
        return float("nan"), float("nan")
    shape, scale = den * den / var, var / den
    lower, upper = stats.gamma.cdf(num, shape, scale=scale), stats.gamma.sf(num, shape, scale=scale)
    return float(stats.norm.ppf(lower) if lower < upper else stats.norm.isf(upper)), float(num / den)


def _step_draws(u: float, se: float, p0: float, w: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Draws of the step δ <= 0 of the level below the lowest ordinate (``first_step``) and a
    summary of its posterior.  Prior: δ = 0 with probability ``p0``, else -|N(0, w²)|;
    likelihood: the lowest ordinate's log ratio to the fit, u ~ N(δ, se²).  The slab is
    integrated on a grid of 801 points over [-6w, 0] (trapezoid weights) and drawn by its
    inverse CDF, linearly interpolated."""
    grid = -np.linspace(0.0, 6.0 * w, 801)
    # on the log scale, relative to the largest term, so that a lowest ordinate far below the
    # fit (u many se below 0) cannot underflow both hypotheses to 0
    log_dens = np.log(2.0) + stats.norm.logpdf(grid, 0.0, w) + stats.norm.logpdf(u, grid, se)
    log_spike = np.log(p0) + stats.norm.logpdf(u, 0.0, se) if p0 > 0 else -np.inf
    top = max(float(log_dens.max()), log_spike)
    dens = np.exp(log_dens - top)
    trap = np.full(grid.size, grid[0] - grid[1])
    trap[[0, -1]] *= 0.5
    slab_mass = (1.0 - p0) * float(dens @ trap)
    spike_mass = float(np.exp(log_spike - top))
    p_step = slab_mass / (slab_mass + spike_mass)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]))])
    cdf /= cdf[-1]
    on_slab = rng.random(n) < p_step
    delta = np.where(on_slab, np.interp(rng.random(n), cdf, grid), 0.0)
    return delta, {"u": u, "se": se, "prob_step": p_step, "delta_mean": float(delta.mean()),
                   "delta_median": float(np.median(delta)), "prior": [p0, w]}


def _plain_level(s: dict, d: dict, c: str, R: np.ndarray, opt: dict) -> None:
    """One seed's level of component ``c`` from the plain average of its lowest
    ``fallback_ordinates`` ordinates (see :func:`_unresolved_levels`), in place."""
    m = max(1, min(int(opt["fallback_ordinates"]), d["M"]))
    slope_ax = np.asarray(d["I"][c][:m], dtype=np.float64).mean(axis=0) / d["dt"]
    wax = slope_ax / slope_ax.sum()
    rel = np.full(3, 2.0 / m) if c == "P" else 2.0 * R / (d["N"] * m)
    var = float(np.sum(wax**2 * rel))
    s[c].update(y=float(np.log(slope_ax.sum())), var=var, var_s=var, axes=slope_ax, wax=wax, var_axes=rel,
                fallback=True, var_fit=s[c]["var"] + s[c]["allow"], allow=0.0)
    if "cov" in s:
        s["cov"] = 0.0
        s["rho_s"] = 0.0


def check_options(model_options: dict) -> dict:
    """The options of :func:`fit_spectral` merged with :data:`DEFAULTS`, each checked;
    ValueError naming the option, what it must be and what was given."""
    unknown = set(model_options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown model options {sorted(unknown)}; valid: {sorted(DEFAULTS)}")
    opt = {**DEFAULTS, **model_options}
    _start_bands(opt["band_fraction"])
    if opt["frame"] not in ("principal", "lab"):
        raise ValueError(f"frame must be 'principal' or 'lab', got {opt['frame']!r}")
    tau_prior = _per_component(opt["tau_prior"], "tau_prior")
    tau_null = _per_component(opt["tau_null_prob"], "tau_null_prob")
    shared_allow = _per_component(opt["allowance_shared"], "allowance_shared")
    for c, kind in _per_component(opt["order_allowance"], "order_allowance").items():
        if kind not in ORDER_ALLOWANCES:
            raise ValueError(f"order_allowance of {c!r} must be one of {ORDER_ALLOWANCES}, got {kind!r}")
    selection = _per_component(opt["selection"], "selection")
    for c, sel in selection.items():
        if sel not in SELECTIONS:
            raise ValueError(f"selection of {c!r} must be one of {SELECTIONS}, got {sel!r}")
    if opt["pooled_floor"] not in (False, "tracer_bias"):
        raise ValueError(f"pooled_floor must be False or 'tracer_bias', got {opt['pooled_floor']!r}")
    if not (isinstance(opt["soft_level_width"], (int, float)) and opt["soft_level_width"] > 0):
        raise ValueError(f"soft_level_width must be a positive number (z units), got {opt['soft_level_width']!r}")
    for c, choice in _per_component(opt["order_choice"], "order_choice").items():
        if choice not in ORDER_CHOICES:
            raise ValueError(f"order_choice of {c!r} must be one of {ORDER_CHOICES}, got {choice!r}")
    if isinstance(opt["low_ordinates"], bool) or not isinstance(opt["low_ordinates"], (int, np.integer)) \
            or opt["low_ordinates"] < 1:
        raise ValueError(f"low_ordinates must be a positive whole number of ordinates, got {opt['low_ordinates']!r}")
    if not isinstance(opt["low_band"], (bool, np.bool_)):
        raise ValueError(f"low_band must be True or False, got {opt['low_band']!r}")
    if not isinstance(opt["low_first"], (bool, np.bool_)):
        raise ValueError(f"low_first must be True or False, got {opt['low_first']!r}")
    if not isinstance(opt["first_step"], (bool, np.bool_)):
        raise ValueError(f"first_step must be True or False, got {opt['first_step']!r}")
    if opt["first_step"] and not (opt["low_check"] and opt["low_first"]):
        raise ValueError("first_step needs low_check=True and low_first=True (the lowest ordinate is its evidence); "
                         "give first_step=False with them")
    fs_prior = opt["first_step_prior"]
    if (not isinstance(fs_prior, (tuple, list)) or len(fs_prior) != 2 or not 0 <= fs_prior[0] <= 1
            or not fs_prior[1] > 0):
        raise ValueError(f"first_step_prior must be (p0, w) with p0 a probability and w > 0, got {fs_prior!r}")
    if not isinstance(opt["band_allowance"], (bool, np.bool_)):
        raise ValueError(f"band_allowance must be True or False, got {opt['band_allowance']!r}")
    if not (isinstance(opt["low_z"], (int, float)) and opt["low_z"] > 0):
        raise ValueError(f"low_z must be a positive number (z units), got {opt['low_z']!r}")
    if opt["correlation_shape"] not in ("flat", "diffusive"):
        raise ValueError(f"correlation_shape must be 'flat' or 'diffusive', got {opt['correlation_shape']!r}")
    if opt["kurtosis_estimate"] not in KURTOSIS_ESTIMATES:
        raise ValueError(f"kurtosis_estimate must be one of {KURTOSIS_ESTIMATES}, got {opt['kurtosis_estimate']!r}")
    for c, flag in shared_allow.items():
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"allowance_shared of {c!r} must be True or False, got {flag!r}")
    for c, prior in tau_prior.items():
        if prior not in TAU_PRIORS:
            raise ValueError(f"tau_prior of {c!r} must be one of {TAU_PRIORS}, got {prior!r}")
    for c, null_prob in tau_null.items():
        if not (isinstance(null_prob, (int, float)) and 0.0 <= null_prob <= 1.0):
            raise ValueError(f"tau_null_prob of {c!r} must be a probability in [0, 1], got {null_prob!r}")
    if opt["relaxation_basis"] not in RELAXATION_BASES:
        raise ValueError(f"relaxation_basis must be one of {RELAXATION_BASES}, got {opt['relaxation_basis']!r}")
    if opt["joint_correlation"] not in ("covariance", "sampling"):
        raise ValueError(f"joint_correlation must be 'covariance' or 'sampling', got {opt['joint_correlation']!r}")
    if opt["seed_weights"] not in ("common", "own"):
        raise ValueError(f"seed_weights must be 'common' or 'own', got {opt['seed_weights']!r}")
    if opt["collective_order"] not in COLLECTIVE_ORDERS:
        raise ValueError(f"collective_order must be one of {COLLECTIVE_ORDERS}, got {opt['collective_order']!r}")
    def real(x) -> bool:
        return not isinstance(x, bool) and isinstance(x, (int, float, np.integer, np.floating))

    frames = opt["relaxation_check_frames"]
    if not (real(frames) and np.isfinite(frames) and frames >= 0):
        raise ValueError(f"relaxation_check_frames must be a number of frames >= 0, got {frames!r}")
    cpow = opt["relaxation_check_power"]
    if not (real(cpow) and cpow >= 0):
        raise ValueError(f"relaxation_check_power must be a number of nats >= 0, got {cpow!r}")
    margin = opt["relaxation_margin"]
    if not (real(margin) and np.isfinite(margin)):
        raise ValueError(f"relaxation_margin must be a finite number (log-likelihood units), "
                         f"got {opt['relaxation_margin']!r}")
    return opt


def fit_spectral(seeds: Sequence[SpectralSeries], *, rng: np.random.Generator, n_draws: int = 4000,
                 ci_prob: float = 0.95, _relaxation_ps: dict | None = None, **model_options) -> SpectralFit:
    """Joint posterior of slope_tr (Å²/ps) and slope_P (e² Å²/ps) of a group of seeds.

    Parameters
    ----------
    seeds
        One :class:`SpectralSeries` per seed (unequal lengths allowed; not modified).
        A seed may carry no tracer (N = 0 ions); then only ``slope_P`` is estimated.
    rng
        The only source of randomness (posterior draws).
    n_draws, ci_prob
        Number of joint draws; probability of the reported intervals and widths.
    **model_options
        Overrides of :data:`DEFAULTS`.
    _relaxation_ps
        (internal) ``{component: τ}``, relaxation times already estimated on these data by
        the calling fit (the principal-frame refit reuses them; the half-band check
        estimates its own).

    Returns
    -------
    SpectralFit
    """
    opt = check_options(model_options)
    _validate(seeds)
    seeds = [_reduced(s, opt) for s in seeds]     # the tracer reduced once, for every fit below
    start_band = _start_bands(opt["band_fraction"])
    tau_prior = _per_component(opt["tau_prior"], "tau_prior")
    tau_null = _per_component(opt["tau_null_prob"], "tau_null_prob")
    shared_allow = _per_component(opt["allowance_shared"], "allowance_shared")
    selection = _per_component(opt["selection"], "selection")
    if opt["frame"] == "principal":
        # the estimate itself in the cell's frame (a frame estimated from the same data
        # would select the ordinates it is fitted to: measured, z² 1.14 -> 1.60 for D*);
        # the per-axis values from a second fit in the principal frame
        main = fit_spectral(seeds, rng=rng, n_draws=n_draws, ci_prob=ci_prob, _relaxation_ps=_relaxation_ps,
                            **{**model_options, "frame": "lab"})
        frame = _principal_frame(seeds, opt["corr_window"])
        rot = fit_spectral([_rotated(s, frame) for s in seeds], rng=rng.spawn(1)[0], n_draws=n_draws,
                           ci_prob=ci_prob, _relaxation_ps=_estimated_relaxation(main.band),
                           **{**model_options, "frame": "lab", "band_check": False, "band_allowance": False})
        return replace(main, axes={**rot.axes, "frame": frame.tolist()}, settings={**main.settings, "frame": "principal"})
    frame = np.eye(3)
    z = stats.norm.ppf(0.5 + ci_prob / 2)
    tracers = [s.tracer_increments for s in seeds]
    assert all(isinstance(t, TracerStatistics) for t in tracers)
    has_tr = min(t.n_ions for t in tracers) > 0
    comps = ("tr", "P") if has_tr else ("P",)

    # ---- per seed and axis: sine coefficients, ordinates, correlation factors
    per = []      # per seed: dict
    R_num = np.zeros(3)
    R_den = np.zeros(3)
    k_num = np.zeros(3)
    k_den = np.zeros(3)
    q4_num = np.zeros(3)        # fourth cumulant of block sums per increment (tracer), pooled
    q4_den = np.zeros(3)
    q4_var = np.zeros(3)        # its sampling variance (delta method over the block sums), summed over seeds
    R_k4 = np.zeros(3)          # the parts of R's and κ's denominators that a fourth cumulant adds,
    k_k4 = np.zeros(3)          # per unit κ4 (Σ_s N/M and Σ_s S_P/(M S̄))
    for s, st in zip(seeds, tracers):
        dt = float(s.dt_ps)
        cP = sine_coefficients(s.polarisation_increments)             # (M, 3)
        M = cP.shape[0]
        f = np.arange(1, M + 1) / (2.0 * (M + 1) * dt)
        d = {"name": s.name, "dt": dt, "M": M, "f": f, "I": {"P": cP**2}}
        if has_tr:
            N = st.n_ions
            d["N"] = N
            d["I"]["tr"] = st.periodogram()                            # mean over ions of c_k², (M, 3)
            W = min(opt["corr_window"], M)
            y = st.block_sums                                          # (M // B, N, 3)
            m2 = np.mean(y**2, axis=(0, 1))
            q4_num += (np.mean(y**4, axis=(0, 1)) - 3 * m2**2) / st.block_length
            q4_den += 1
            # d(mean y⁴ - 3 m2²) = mean of (y⁴ - 6 m2 y²): its variance over the n block sums
            u = y**4 - 6 * m2 * y**2
            q4_var += np.var(u, axis=(0, 1)) / (u.shape[0] * u.shape[1]) / st.block_length**2
            for ax in range(3):
                C = st.low[:W, :, ax]
                Sbar = float(np.mean(C**2))
                SP = float(np.mean(cP[:W, ax] ** 2))
                R_num[ax] += _pair_products(C)
                R_den[ax] += N * Sbar**2
                d.setdefault("Sbar_W", np.zeros(3))[ax] = Sbar
                k_num[ax] += _cross_products(C, cP[:W, ax]) / N
                k_den[ax] += Sbar * SP
                R_k4[ax] += N / M
                k_k4[ax] += SP / (M * Sbar) if Sbar > 0 else 0.0
        per.append(d)
    # raw R (with the hops' share): q4's s.e. below counts the ions as N / R independent ones
    R = _clipped_ratio(R_num, R_den, 1.0) if has_tr else np.ones(3)
    n_q4 = np.where(q4_den > 0, q4_den, 1)
    q4_measured = q4_num / n_q4                                            # per increment, per axis
    # its s.e.: per seed, the ions' block sums counted as N / R independent ones (rigid clusters)
    q4_se = np.sqrt(R * q4_var) / n_q4
    if opt["kurtosis_estimate"] == "clipped":
        q4 = np.clip(q4_measured, 0.0, None)
    elif opt["kurtosis_estimate"] == "shrunk":
        q4 = q4_measured * np.clip(1.0 - q4_se**2 / np.where(q4_measured != 0, q4_measured**2, np.inf), 0.0, None)
    else:
        q4 = q4_measured
    # every product c_ki c_k'i of one ion at two ordinates has E = S_k S_k' + κ4/M (its hops
    # are shared by all ordinates): R's and κ's numerators carry κ4/M per ion, which is not ion
    # correlation; the κ4 term of each variance (below) counts it once
    q4_shared = q4 if opt["correlation_kurtosis"] else np.zeros(3)
    kappa = np.zeros(3)
    if has_tr:
        R = _clipped_ratio(R_num, R_den + q4_shared * R_k4, 1.0)
        kappa = _clipped_ratio(k_num, k_den + q4_shared * k_k4, 0.0)
    for d in per:
        # each ordinate's Gamma shape (the ion average's per ordinate with
        # correlation_shape="diffusive") and R at the lowest ordinate, once per seed
        d["alpha"] = {"P": [0.5, 0.5, 0.5]}
        if has_tr:
            d["alpha"]["tr"] = [_shape_alpha(d, ax, R, opt) for ax in range(3)]
            d["R0"] = [d["N"] / (2.0 * float(np.asarray(a).flat[0])) for a in d["alpha"]["tr"]]

    # ---- per component: fits of increasing order on its band, one order chosen; the band
    # is halved for that component alone when no order fits (adaptive band)
    ladder, chosen, band_info, provisional = {}, {}, {}, []
    for c in comps:
        floor = band_info["tr"] if (c == "P" and opt["collective_order"] != "own" and has_tr) else None
        relax_given = band_info["tr"].get("relaxation_time_ps") if (c == "P" and has_tr) else None
        ladder[c], chosen[c], band_info[c], reason = _component_band(c, per, opt, start_band[c], floor, relax_given,
                                                                     (_relaxation_ps or {}).get(c))
        if reason:
            provisional.append(reason)
    band_info["halved_because"] = [{"component": c, **h} for c in comps for h in band_info[c]["halved_because"]]
    # smooth pooled weights over the orders (selection "pooled_aic" / "pooled_bic"), on the band
    # and model the order rule settled on
    order_weights: dict[str, tuple[np.ndarray, float]] = {}
    for c in comps:
        flat_c = [fits for per_seed in ladder[c] for fits in per_seed]
        w_c = [1.0 / d["dt"] for d in per for _ in range(3)]
        if selection[c].startswith("pooled") and opt["order"] is None:
            floor_b = 0
            if c == "P" and has_tr and opt["pooled_floor"] == "tracer_bias":
                # no weight on orders whose truncation shift, as the tracer's precise ladder
                # measures it, exceeds tracer_bias_z of the collective's s.e.
                floor_b = _tracer_bias_level(0, flat_c, w_c, band_info["tr"], band_info["P"]["band_fraction"], opt,
                                             band_info["P"]["relaxation_time_ps"])
            order_weights[c] = _pooled_order_weights(flat_c, w_c, selection[c], floor_b)
        elif selection[c] == "soft_level" and opt["order"] is None:
            order_weights[c] = (_soft_level_weights(flat_c, w_c, _per_component(opt["order_z"], "order_z")[c],
                                                    _per_component(opt["order_window"], "order_window")[c],
                                                    opt["soft_level_width"]), 0.0)
        if c in order_weights:
            band_info[c]["order_weights"] = order_weights[c][0].tolist()
            band_info[c]["order_spread"] = order_weights[c][1]

    # ---- per seed summaries on the chosen band
    infl = opt["variance_inflation"]
    # its own stream, spawned only when used (spawning shifts the children spawned later)
    boot_rng = rng.spawn(1)[0] if opt["small_sample"] == "bootstrap" else None
    seed_sum = []
    flat_fail: list[dict] = []
    flat_checked = dict.fromkeys(comps, 0)
    low = {c: np.zeros(3) for c in comps}      # Σ w I_k, Σ w Ŝ_k, variance of the first (lowest ordinates)
    low1 = {c: np.zeros(3) for c in comps}     # the same for the lowest ordinate alone (low_first)
    for j, d in enumerate(per):
        out = {"name": d["name"]}
        fits = {}
        s0_tr = np.ones(3)
        for c in comps:
            fits[c] = []
            for ax in range(3):
                lad = ladder[c][j][ax]
                if selection[c] == "aic" and opt["order"] is None:
                    fb = _aic_average(lad)
                    fb["var_sampling"] = fb["var"]
                elif c in order_weights:
                    fb = _weighted_fit(lad, order_weights[c][0], c, opt, own_allowance=selection[c] == "soft_level")
                else:
                    fb = _level_fit(lad, min(chosen[c][j], len(lad) - 1), c, opt)
                if not shared_allow[c] and c not in order_weights:
                    fb["var"] += fb.get("allow", 0.0)
                if has_tr and opt["kurtosis_correction"]:
                    # non-Gaussian (hopping) increments: all ordinates of one ion share its
                    # realised number of hops, Cov(I_k, I_k') = κ4/M for k != k'; relative to
                    # S(0)^2 and spread over ions (cluster size R), the added variance of
                    # ln S(0) is R κ4 / (N M S0²) (Σ_k g_k)².
                    # normalised by the tracer's own chosen S(0) of this axis (the most
                    # flexible fit's level can be far off on an axis without diffusion)
                    s0 = float(np.exp(fb["mean"])) if c == "tr" else s0_tr[ax]
                    # R0: the cluster size where S(0) is pinned
                    k4 = float(np.clip(d["R0"][ax] * q4[ax] / (d["N"] * d["M"] * s0**2), -1.0, 1.0))
                    g2 = float(np.sum(fb["g"])) ** 2
                    if k4 < 0 and g2 > 0:
                        # a measured negative cumulant (lighter tails than Gaussian, or noise
                        # about 0) lowers the variance, never by more than half (of the
                        # sampling part: the order allowance, >= 0, is not sampling variance)
                        k4 = max(k4, -0.5 * fb["var_sampling"] / g2)
                    fb["var"] += k4 * g2
                    fb["var_sampling"] += k4 * g2
                    fb["k4"] = k4
                fb["var"] *= infl
                fits[c].append(fb)
                if c == "tr":
                    s0_tr[ax] = float(np.exp(fb["mean"]))
            S0 = np.exp([fb["mean"] for fb in fits[c]])
            slope_ax = S0 / d["dt"]
            tot = slope_ax.sum()
            wax = slope_ax / tot
            var = float(np.sum(wax**2 * np.array([fb["var"] for fb in fits[c]])))
            var_s = float(np.sum(wax**2 * np.array([fb["var_sampling"] for fb in fits[c]])))
            # the levels S(0) are (nearly) unbiased on the linear scale, so E[ln tot] ≈
            # ln slope - var_s/2 (Jensen; -4 % per 50 ps seed of a collective); the model-order
            # allowance is not sampling variance of the level and does not enter
            # a shared allowance: the same error on every axis (one order for all), so its s.d.s add
            allow = float(np.sum(wax * np.sqrt([fb.get("allow", 0.0) * infl for fb in fits[c]]))) ** 2 \
                if shared_allow[c] else 0.0
            if c in order_weights and selection[c] != "soft_level":
                allow = order_weights[c][1] * infl
            out[c] = {"y": float(np.log(tot)), "var": var, "var_s": var_s, "axes": slope_ax, "wax": wax,
                      "var_axes": np.array([fb["var"] for fb in fits[c]]), "allow": allow}
            if opt["small_sample"] == "bootstrap" and c in opt["bootstrap_components"]:
                # the seed's Fisher sampling variance and its parametric-bootstrap counterpart
                # (numerator and denominator of the ratio pooled over seeds below)
                fisher = np.array([lad_b["var"] for lad_b in (ladder[c][j][ax][min(chosen[c][j], len(ladder[c][j][ax]) - 1)]
                                                              for ax in range(3))])
                boot = np.array([_bootstrap_level_var(fb, opt["bootstrap_draws"], boot_rng) for fb in fits[c]])
                out[c]["fisher"] = float(np.sum(wax**2 * fisher))
                out[c]["boot"] = float(np.sum(wax**2 * boot))
            # regime: fitted spectrum's change between 0 and the 5th ordinate, in s.e.
            for ax in range(3):
                fb = fits[c][ax]
                if wax[ax] < 0.1:
                    continue
                k5 = min(4, len(fb["S"]) - 1)
                change = abs(np.log(fb["S"][k5]) - fb["mean"]) / np.sqrt(fb["var"])
                flat_checked[c] += 1
                if change > opt["flat_tolerance"] * 3:
                    flat_fail.append({"seed": d["name"], "component": c, "axis": "xyz"[ax], "z": float(change)})
            if opt["low_check"]:
                low[c] += _low_ordinates(d, c, fits[c], opt["low_ordinates"])
                if opt["low_first"]:
                    low1[c] += _low_ordinates(d, c, fits[c], 1)
        if has_tr:
            cov = 0.0
            for ax in range(3):
                gt, gp = fits["tr"][ax]["g"], fits["P"][ax]["g"]
                n = min(len(gt), len(gp))
                extra = fits["tr"][ax].get("k4", 0.0) * float(np.sum(gt)) * float(np.sum(gp))
                cov += out["tr"]["wax"][ax] * out["P"]["wax"][ax] * (2 * kappa[ax] * float(gt[:n] @ gp[:n]) + extra) * infl
            out["cov"] = cov
            # the sampling correlation coefficient (the Fisher variances the covariance was computed with)
            den = float(np.sqrt(out["tr"]["var_s"] * out["P"]["var_s"])) * infl
            out["rho_s"] = float(np.clip(cov / den, -0.99, 0.99)) if den > 0 else 0.0
        # information limit with the fitted shape known
        out["info"] = {}
        for c in comps:
            alpha_eff = d["alpha"][c]
            info_ax = []
            for ax in range(3):
                fb = fits[c][ax]
                S0 = np.exp(fb["mean"])
                # shape known: ordinates beyond the band count with the widest fit's shape
                wide = ladder[c][j][ax][-1]
                ratio = S0 / np.asarray(wide["S"])
                a_ax = np.asarray(alpha_eff[ax])[:len(ratio)] if np.ndim(alpha_eff[ax]) else alpha_eff[ax]
                info_ax.append(2 * 0.5 * float(np.sum(a_ax * ratio**2)))
            out["info"][c] = np.array(info_ax)
        seed_sum.append(out)

    provisional += _unresolved_levels(seed_sum, per, comps, R, opt)
    if opt["small_sample"] == "bootstrap":
        # (a component that fell back to the plain low-frequency average has no model fit to bootstrap)
        _small_sample_variances(seed_sum, [c for c in comps if c in opt["bootstrap_components"]
                                           and not any(s[c].get("fallback") for s in seed_sum)])
    _common_seed_variances(seed_sum, [d["M"] for d in per], comps, opt)

    # ---- pool seeds with a random effect; joint draws
    draws_log = {}
    tau_post = {}
    mus = {}
    grids = {}
    scales = {}
    for c in comps:
        y = np.array([s[c]["y"] for s in seed_sum])
        v = np.array([s[c]["var"] for s in seed_sum])
        scale = opt["tau_scale"] * float(np.sqrt(np.median(v)))
        scales[c] = scale
        grids[c] = _tau_grid(scale, tau_prior[c])
        tau_post[c] = _tau_posterior(y, v, scale, grids[c], tau_null[c], tau_prior[c])
        mus[c] = (y, v)
    if opt["tau_shared"] and has_tr:
        # one τ on the ln scale for both components, on the tracer's grid with the tracer's
        # prior: a seed that samples another state moves every transport coefficient; the ion
        # average measures by how much
        grids["P"] = grids["tr"]
        tau_post["tr"] = tau_post["P"] = _tau_posterior([mus[c][0] for c in comps], [mus[c][1] for c in comps],
                                                        scales["tr"], grids["tr"], tau_null["tr"], tau_prior["tr"])
    # the shared order allowance: one error for the group, the seeds' s.d.s averaged with
    # weights by length (0 unless allowance_shared)
    wlen = np.array([d["M"] for d in per], dtype=np.float64)
    wlen /= wlen.sum()
    group_allow = {c: float(wlen @ np.sqrt([s[c]["allow"] for s in seed_sum])) ** 2 for c in comps}
    tau_idx = {c: rng.choice(len(grids[c]), size=n_draws, p=tau_post[c]) for c in comps}
    if opt["tau_shared"] and has_tr:
        tau_idx["P"] = tau_idx["tr"]   # (P's own choice above only keeps the random stream as without sharing)
    eps = rng.standard_normal((2, n_draws))
    t_tr = grids[comps[0]][tau_idx[comps[0]]]
    if has_tr:
        y_t, v_t = mus["tr"]
        y_p, v_p = mus["P"]
        t_p = grids["P"][tau_idx["P"]]
        w_t = 1.0 / (v_t[None, :] + t_tr[:, None] ** 2)
        w_p = 1.0 / (v_p[None, :] + t_p[:, None] ** 2)
        mt = (w_t @ y_t) / w_t.sum(1)
        mp = (w_p @ y_p) / w_p.sum(1)
        vt = 1.0 / w_t.sum(1)
        vp = 1.0 / w_p.sum(1)
        if opt["joint_correlation"] == "sampling":
            # every part of a seed's error correlated as its sampling part: Cov_s = ρ_s √(v_t,s + τ_t²)
            # √(v_P,s + τ_P²) = ρ_s / √(w_t w_P)
            r_s = np.array([s["rho_s"] for s in seed_sum])
            cov = np.sqrt(w_t * w_p) @ r_s * vt * vp + float(wlen @ r_s) * np.sqrt(group_allow["tr"] * group_allow["P"])
        else:
            c_s = np.array([s["cov"] for s in seed_sum])
            cov = (w_t * w_p) @ c_s * vt * vp
        vt, vp = vt + group_allow["tr"], vp + group_allow["P"]
        rho = np.clip(cov / np.sqrt(vt * vp), -0.99, 0.99)
        lt = mt + np.sqrt(vt) * eps[0]
        lp = mp + np.sqrt(vp) * (rho * eps[0] + np.sqrt(1 - rho**2) * eps[1])
        draws_log = {"slope_tr": lt, "slope_P": lp}
    else:
        y_p, v_p = mus["P"]
        w_p = 1.0 / (v_p[None, :] + t_tr[:, None] ** 2)
        mp = (w_p @ y_p) / w_p.sum(1)
        draws_log = {"slope_P": mp + np.sqrt(1.0 / w_p.sum(1) + group_allow["P"]) * eps[0]}
    draws = {k: np.exp(v)[None, :] for k, v in draws_log.items()}

    # ---- per-seed draws (each seed alone)
    per_seed = []
    for s in seed_sum:
        e = rng.standard_normal((2, n_draws))
        rec = {"name": s["name"]}
        if has_tr:
            vt_s, vp_s = s["tr"]["var"] + s["tr"]["allow"], s["P"]["var"] + s["P"]["allow"]
            r = s["rho_s"] if opt["joint_correlation"] == "sampling" else np.clip(s["cov"] / np.sqrt(vt_s * vp_s), -0.99, 0.99)
            rec["slope_tr"] = np.exp(s["tr"]["y"] + np.sqrt(vt_s) * e[0])[None, :]
            rec["slope_P"] = np.exp(s["P"]["y"] + np.sqrt(vp_s) * (r * e[0] + np.sqrt(1 - r * r) * e[1]))[None, :]
        else:
            rec["slope_P"] = np.exp(s["P"]["y"] + np.sqrt(s["P"]["var"] + s["P"]["allow"]) * e[0])[None, :]
        for c in comps:
            key = "slope_tr" if c == "tr" else "slope_P"
            rec[key + "_axes"] = s[c]["axes"].tolist()
        per_seed.append(rec)

    # ---- information limit (the widths against it follow the band check, which may widen the
    # draws), per-axis summaries
    crb = {}
    var_crb = {}
    for c in comps:
        key = "slope_tr" if c == "tr" else "slope_P"
        # pooled shape-known information of ln slope: axes weighted by their share
        info_ax = sum(s["info"][c] for s in seed_sum)
        wax = np.mean([s[c]["wax"] for s in seed_sum], axis=0)
        var_crb[c] = float(np.sum(np.where(wax > 1e-12, wax**2 / np.maximum(info_ax, 1e-300), 0.0)))
        # no information limit of a level the model did not resolve (_unresolved_levels)
        crb[key] = np.nan if any(s[c].get("fallback") for s in seed_sum) else 2 * z * np.sqrt(var_crb[c])
    if has_tr:
        crb["haven_ratio"] = 2 * z * np.sqrt(var_crb["tr"] + var_crb["P"])

    axes = {"frame": frame.tolist()}
    for c in comps:
        key = "slope_tr" if c == "tr" else "slope_P"
        # per-axis slopes pooled over seeds on the linear scale, each seed weighted by its
        # number of increments (weights that do not depend on the estimates, so the
        # average keeps the per-seed estimates' near-unbiasedness); normal draws on the
        # linear scale, so an axis without diffusion gets an interval that reaches 0
        nM = np.array([d["M"] for d in per], dtype=np.float64)
        wM = nM / nM.sum()
        est, lo, hi, ax_draws = [], [], [], []
        e_ax = rng.standard_normal((3, n_draws))
        for ax in range(3):
            vals = np.array([s[c]["axes"][ax] for s in seed_sum])
            vs = np.array([s[c]["var_axes"][ax] for s in seed_sum]) * vals**2
            m = float(wM @ vals)
            v = float(wM**2 @ vs)
            x = m + np.sqrt(v) * e_ax[ax]
            q = np.quantile(x, [0.5 - ci_prob / 2, 0.5, 0.5 + ci_prob / 2])
            est.append(float(q[1]))
            lo.append(float(q[0]))
            hi.append(float(q[2]))
            ax_draws.append(x)
        axes[key] = {"estimate": est, "lower": lo, "upper": hi, "draws": np.array(ax_draws)}

    reasons = provisional + [
        f"{c}: the fitted spectrum is not flat at low frequency (ln S changes by more than "
        f"{3 * opt['flat_tolerance']:g} s.e. between f = 0 and f_5) on {len(bad)} of {flat_checked[c]} seed axes "
        f"(up to {max(b['z'] for b in bad):.1f} s.e., {bad[0]['seed']} axis {bad[0]['axis']} first)"
        for c in comps if (bad := [b for b in flat_fail if b["component"] == c])]
    low_check = {}
    if opt["low_check"]:
        for c in comps:
            key = "slope_tr" if c == "tr" else "slope_P"
            z, ratio = _gamma_z(*low[c])
            if np.isnan(z):
                continue
            low_check[key] = {"z": z, "ratio": ratio}
            if opt["low_first"]:
                z1, ratio1 = _gamma_z(*low1[c])
                # the ratio's standard error under the fitted spectrum (relative units)
                se1 = float(np.sqrt(low1[c][2]) / low1[c][1]) if low1[c][1] > 0 else float("nan")
                low_check[key].update(z_first=z1, ratio_first=ratio1, se_first=se1)
            if abs(z) > opt["low_z"]:
                reasons.append(
                    f"{c}: its lowest {opt['low_ordinates']} frequencies (time scales beyond half the run) sit "
                    f"{100 * (ratio - 1):+.0f} % from the fitted spectrum (z = {z:+.1f}): motion slower than "
                    "the model resolves, so the run is not yet diffusive at its longest time scales")
            elif opt["low_first"] and z1 < -opt["low_z"]:
                reasons.append(
                    f"{c}: its lowest frequency (the run's longest time scale) sits {100 * (ratio1 - 1):+.0f} % from "
                    f"the fitted spectrum (z = {z1:+.1f}): motion slower than the model resolves, so the run is not "
                    "yet diffusive at its longest time scale")
    band_check = {}
    min_M = min(d["M"] for d in per)
    if opt["low_band"] and opt["low_check"]:
        # the pooled lowest ordinates only: a misfit at the first ordinate alone is a step at the
        # run's longest time scale, which a narrower band's smoother model fits no better (on the
        # 14 ps argyrodite AIMD runs it moved D* up, away from that ordinate: session 28)
        misfit = {c: low_check.get("slope_tr" if c == "tr" else "slope_P", {}).get("z", 0.0) for c in comps}
        narrower = [c for c in comps if abs(misfit[c]) > opt["low_z"]
                    and _halvable(min_M, band_info[c]["band_fraction"], opt)]
        if narrower:
            # the misfit is at the lowest ordinates: refit that component on half its band
            # (the others from their own starting band, as before), and record the step
            bands = {c: band_info[c]["band_fraction"] / 2 if c in narrower else start_band[c] for c in comps}
            sub = fit_spectral(seeds, rng=rng, n_draws=n_draws, ci_prob=ci_prob, _relaxation_ps=_relaxation_ps,
                               **{**model_options, "band_fraction": bands})
            steps = [{"component": c, "band_fraction": band_info[c]["band_fraction"],
                      "reasons": [f"low-frequency misfit (z = {misfit[c]:+.1f})"]} for c in narrower]
            band = {**sub.band, "halved_because": steps + list(sub.band.get("halved_because", []))}
            for st in steps:
                c = st["component"]
                band[c] = {**band[c], "halved_because": [{k: v for k, v in st.items() if k != "component"}]
                           + list(band[c].get("halved_because", []))}
            return replace(sub, band=band, settings={**sub.settings, "band_fraction": opt["band_fraction"]})
    # item 0: does the answer move beyond its s.e. when each component's band is halved?
    checked = [c for c in comps if _halvable(min_M, band_info[c]["band_fraction"], opt)]
    if (opt["band_check"] or opt["band_allowance"]) and checked:
        halves = {c: band_info[c]["band_fraction"] / (2 if c in checked else 1) for c in comps}
        half = fit_spectral(seeds, rng=rng.spawn(1)[0], n_draws=2000, ci_prob=ci_prob,
                            **{**model_options, "band_fraction": halves, "band_check": False,
                               "band_allowance": False, "first_step": False})
        allow_rng = rng.spawn(1)[0] if opt["band_allowance"] else None
        for c in checked:
            key = "slope_tr" if c == "tr" else "slope_P"
            a_, b_ = np.log(draws[key]), np.log(half.draws[key])
            dv = max(np.var(b_) - np.var(a_), 0.5 * np.var(b_))
            shift = float(np.median(a_) - np.median(b_))
            zb = shift / float(np.sqrt(dv))
            band_check[key] = {"z": zb, "half_band_median": float(np.exp(np.median(b_))),
                               "full_band_median": float(np.exp(np.median(a_)))}
            if allow_rng is not None:
                # the band is a choice the data do not settle: its excess shift is one more
                # error of the level, independent of the sampling error (added to the joint
                # draws, so H_R carries it too)
                extra = max(0.0, shift * shift - dv)
                band_check[key]["allowance"] = extra
                if extra > 0:
                    draws[key] = draws[key] * np.exp(np.sqrt(extra) * allow_rng.standard_normal(draws[key].shape))
            if opt["band_check"] and abs(zb) > opt["band_z"]:
                reasons.append(f"{key}: halving the band moves the estimate by {zb:+.1f} s.e. of the difference")

    first_step = {}
    lc = low_check.get("slope_tr", {})
    if opt["first_step"] and np.isfinite(lc.get("se_first", np.nan)):
        # the tracer's level below its lowest ordinate: δ's posterior given that ordinate, drawn
        # on its own stream (first_step=False leaves every other draw as it was)
        delta, first_step = _step_draws(float(np.log(lc["ratio_first"])), lc["se_first"], *opt["first_step_prior"],
                                        n_draws, rng.spawn(1)[0])
        draws["slope_tr"] = draws["slope_tr"] * np.exp(delta)[None, :]
        ax_tr = axes["slope_tr"]
        ax_tr["draws"] = ax_tr["draws"] * np.exp(delta)[None, :]
        q = np.quantile(ax_tr["draws"], [0.5 - ci_prob / 2, 0.5, 0.5 + ci_prob / 2], axis=1)
        ax_tr.update(lower=q[0].tolist(), estimate=q[1].tolist(), upper=q[2].tolist())

    def rel_width(x):
        lo, med, hi = np.quantile(x, [0.5 - ci_prob / 2, 0.5, 0.5 + ci_prob / 2])
        return float((hi - lo) / med)

    width = {key: rel_width(x) for key, x in draws.items()}
    if has_tr:
        width["haven_ratio"] = rel_width(draws["slope_tr"] / draws["slope_P"])
    ratio = {key: width[key] / crb[key] for key in width}
    regime = "provisional" if reasons else "diffusive"
    fit_orders = {c: float(np.mean([ladder[c][j][ax][min(chosen[c][j], len(ladder[c][j][ax]) - 1)]["order"]
                                    for j in range(len(per)) for ax in range(3)])) for c in comps}
    diagnostics = {"band_check": band_check, "low_check": low_check, "first_step": first_step,
                   "flat_check": flat_fail, "ion_correlation_R": R.tolist(),
                   # R where S(0) is pinned (the lowest ordinate; = R with correlation_shape="flat"),
                   # mean over seeds
                   "ion_correlation_R0": (np.mean([d["R0"] for d in per], axis=0).tolist() if has_tr else R.tolist()),
                   "kappa": kappa.tolist(),
                   "tau_posterior_mean": {c: float(grids[c] @ tau_post[c]) for c in comps},
                   # the tracer increments' fourth cumulant per increment and axis, pooled over
                   # seeds (Å⁴; 0 for Gaussian motion, > 0 for hops), as measured (before any clip)
                   "fourth_cumulant": q4_measured.tolist() if has_tr else None,
                   "fourth_cumulant_se": q4_se.tolist() if has_tr else None,
                   "fourth_cumulant_used": q4.tolist() if has_tr else None,
                   "per_seed_log_slope": {c: [(s[c]["y"], float(np.sqrt(s[c]["var"] + s[c]["allow"]))) for s in seed_sum]
                                          for c in comps}}
    if has_tr:
        # how the tracer and collective draws correlate (H_R's interval depends on it): each seed's
        # sampling correlation coefficient and the final joint draws' correlation on the log scale
        diagnostics["joint_correlation"] = {
            "mode": opt["joint_correlation"],
            "seed_sampling": [s["rho_s"] for s in seed_sum],
            "draws": float(np.corrcoef(np.log(draws["slope_tr"].ravel()), np.log(draws["slope_P"].ravel()))[0, 1])}
    settings = {**opt, "ci_prob": ci_prob, "n_draws": n_draws}
    return SpectralFit(draws=draws, per_seed=per_seed, crb_width=crb, width=width, width_over_crb=ratio,
                       regime=regime, regime_reason="; ".join(reasons), band=band_info,
                       n_coefficients=fit_orders, axes=axes, diagnostics=diagnostics, settings=settings)


def series_from_current(current: np.ndarray, dt_ps: float, block: int, *, name: str = "current") -> SpectralSeries:
    """Polarisation increments from a densely sampled charge current J = Σ q v (e·Å/ps).

    ΔP over a block of ``block`` samples is the trapezoidal time integral of J over the
    block, i.e. a block-averaged current: the integral is a low-pass filter, so the fast
    (vibrational) part of J does not alias onto f = 0 as it would if J were sampled once
    per block.  ``current`` must be sampled densely enough for the trapezoid rule
    (a few fs).  The result carries no tracer (N = 0).
    """
    J = np.asarray(current, dtype=np.float64)
    if J.ndim != 2 or J.shape[1] != 3:
        raise ValueError(f"current must be (T, 3), got {J.shape}")
    if block < 1 or J.shape[0] < 2 * block + 1:
        raise ValueError(f"block must be >= 1 and leave at least two blocks; got block={block}, T={J.shape[0]}")
    Pc = np.concatenate([np.zeros((1, 3)), np.cumsum(0.5 * (J[1:] + J[:-1]) * dt_ps, axis=0)])
    idx = np.arange(0, J.shape[0], block)
    dP = np.diff(Pc[idx], axis=0)
    return SpectralSeries(name=name, dt_ps=dt_ps * block, tracer_increments=np.zeros((dP.shape[0], 0, 3)),
                          polarisation_increments=dP)


# --------------------------------------------------------------------------- the registered estimator
#: Bytes of increments reduced at a time by :func:`tracer_chunk` (an atom chunk of the tracer
#: MSD, 128 MiB, is taken in pieces: its increments and their sine transform are then
#: two small arrays beside the chunk, which the MSD's loop still holds).
TRACER_PIECE_BYTES = 32 * 2**20


def tracer_chunk(tracer: TracerStatistics, positions: np.ndarray, centre: np.ndarray) -> None:
    """Add one atom chunk's (T, a, 3) positions, made framework-relative with the (T, 3)
    ``centre`` displacement, to ``tracer`` (``positions`` may be a read-only view), in
    pieces of at most :data:`TRACER_PIECE_BYTES` of increments."""
    T, a = positions.shape[0], positions.shape[1]
    dc = np.diff(np.asarray(centre, dtype=np.float64), axis=0)[:, None, :]
    per = max(1, TRACER_PIECE_BYTES // (max(T - 1, 1) * 3 * 8))
    for a0 in range(0, a, per):
        # increments of the positions less those of the centre: no framework-relative copy
        x = np.diff(positions[:, a0:a0 + per], axis=0)
        x -= dc
        tracer.accumulate(x)
        del x


def spectral_series_of(seed, *, chunk_atoms: int | None = None, window: int = DEFAULTS["corr_window"],
                       blocks: int = DEFAULTS["kurtosis_blocks"]) -> SpectralSeries:
    """A :class:`SpectralSeries` from one seed of a GroupData (``estimators.data.SeedData``).

    The mobile ions' framework-relative increments are reduced to
    :class:`TracerStatistics` one atom chunk at a time.  A seed prepared with
    ``tracer_statistics=True`` (:func:`uncertainty_gk.estimators.data.prepare_seed`, the
    default when the spectral estimator will run) already holds them, made in the tracer
    MSD's own pass over the positions; otherwise they are made here, with the chunks of the tracer MSD
    (:func:`uncertainty_gk.displacement.atom_chunks`: ``chunk_atoms``, default about
    128 MiB of positions; a lazily opened archive is read once into a temporary atom
    spool in ``$TMPDIR``), so memory is bounded by the chunk whatever the number of ions;
    ``window`` and ``blocks`` are the fit's ``corr_window`` and ``kurtosis_blocks``.
    """
    from ..displacement import atom_chunks

    tracer = getattr(seed, "tracer_statistics", None)
    if tracer is None or (tracer.window, tracer.blocks) != (window, blocks) or chunk_atoms is not None:
        tracer = TracerStatistics(seed.n_frames - 1, len(seed.mobile_index), window=window, blocks=blocks)
        for _, pos in atom_chunks(seed.ds, seed.mobile_index, chunk_atoms=chunk_atoms):
            tracer_chunk(tracer, pos, seed.framework_displacement)
    return SpectralSeries(name=seed.name, dt_ps=seed.dt_ps, tracer_increments=tracer,
                          polarisation_increments=np.diff(seed.polarisation, axis=0))


class SpectralEstimator:
    """The registered ``"spectral"`` estimator: :func:`fit_spectral` on a group's seeds.

    It uses every frame of every (trusted) seed, not the MSD fit window; its own regime
    check (the shape of the low-frequency spectrum) decides ``diffusive`` or
    ``provisional``, and its widths relative to the Cramér-Rao widths are reported.
    """

    name = "spectral"
    kind = "interval"

    def __init__(self, settings):
        from ..settings import SettingsError

        self.n_draws = max(4000, int(settings.n_boot))
        self.ci_prob = settings.ci_prob
        self.options = settings.spectral_option_dict
        try:
            check_options(self.options)
        except ValueError as exc:
            raise SettingsError(f"spectral_options: {exc}") from None

    def fit(self, data, rng: np.random.Generator):
        from .base import JointSamples
        from .heterogeneity import consistency

        # every seed of the group: no fit window, so a seed too short for the MSD methods' window counts too
        seeds = data.every_seed
        fit = fit_spectral([spectral_series_of(s) for s in seeds], rng=rng, n_draws=self.n_draws,
                           ci_prob=self.ci_prob, **self.options)
        draws = {"slope_tr": np.asarray(fit.draws["slope_tr"]),
                 "slope_P_per_volume": np.asarray(fit.draws["slope_P"]) / data.volume_A3}
        # seed-to-seed consistency of the per-seed ln slopes (within-seed variances, no random effect)
        logs = fit.diagnostics["per_seed_log_slope"]
        het = consistency({key: (np.array([y for y, _ in logs[c]]), np.array([sd * sd for _, sd in logs[c]]))
                           for key, c in (("tracer", "tr"), ("polarisation", "P")) if c in logs},
                          [s.name for s in seeds])
        info = {"regime_reason": fit.regime_reason, "band": fit.band, "n_coefficients": fit.n_coefficients,
                "principal_values": principal_values(fit, data, self.ci_prob), "settings": fit.settings,
                "regime_checks": regime_checks(fit),
                "heterogeneity": {**het, "source": "spectral: per-seed ln slopes"}}
        per_seed = {seed.name: {"slope_tr": np.asarray(rec["slope_tr"]),
                                "slope_P_per_volume": np.asarray(rec["slope_P"]) / seed.volume}
                    for rec, seed in zip(fit.per_seed, seeds)}
        return JointSamples(method=self.name, draws=draws, independent=True, info=info,
                            regime="provisional" if fit.regime != "diffusive" else "diffusive",
                            efficiency={"crb_width": fit.crb_width, "width": fit.width,
                                        "width_over_crb": fit.width_over_crb}, per_seed=per_seed,
                            convergence={"converged": True, "note": "independent draws (no Markov chain)"})


def regime_checks(fit: SpectralFit) -> dict:
    """The numbers behind ``fit.regime``, per quantity ("D_tr" for the tracer, "sigma" for the collective),
    whether or not they made the result provisional: the lowest ``low_ordinates`` ordinates pooled and the
    lowest one alone against the fitted spectrum (ratio data / fit and z), the level on half the band
    over the level on the full band (ratio, and z of that shift in s.e. of the difference), and the tracer's step below
    its lowest ordinate (posterior probability, mean ln factor).  A run that is still relaxing at its
    longest time scales shows as ratios below 1 with negative z long before a check fails (on the
    50-100 ps long-reference pieces the tracer's first ordinate sits at 0.92 of the fit, z -1.4 on
    average: docs/long_reference.md), so the numbers are worth reading beside a "diffusive" verdict."""
    def num(x) -> float | None:
        return float(x) if x is not None and np.isfinite(x) else None

    out: dict = {}
    for key, q in (("slope_tr", "D_tr"), ("slope_P", "sigma")):
        entry: dict = {}
        low = fit.diagnostics.get("low_check", {}).get(key)
        if low:
            entry["lowest"] = {"ordinates": int(fit.settings.get("low_ordinates", 0)),
                               "ratio": num(low.get("ratio")), "z": num(low.get("z"))}
            if "z_first" in low:
                entry["first"] = {"ratio": num(low.get("ratio_first")), "z": num(low.get("z_first"))}
        half = fit.diagnostics.get("band_check", {}).get(key)
        if half:
            # the half band's level over the full band's as compared there (before the tracer's step), and
            # z of that shift (band_check's z, with the sign of the ratio)
            entry["half_band"] = {"z": num(-half["z"]), "ratio": num(half["half_band_median"] / half["full_band_median"])}
        if entry:
            out[q] = entry
    step = fit.diagnostics.get("first_step") or {}
    if step and "D_tr" in out:
        out["D_tr"]["step_below_first"] = {"probability": num(step.get("prob_step")),
                                           "mean_ln_factor": num(step.get("delta_mean"))}
    return out


def regime_checks_line(checks: dict) -> str:
    """One line for a text summary: the lowest frequencies and the half band, per quantity."""
    parts = []
    for q, label in (("D_tr", "D*"), ("sigma", "σ")):
        c = checks.get(q)
        if not c:
            continue
        bits = []
        if c.get("lowest") and c["lowest"]["ratio"] is not None:
            bits.append(f"lowest {c['lowest']['ordinates']} frequencies {c['lowest']['ratio']:.2f} of the fit "
                        f"(z {c['lowest']['z']:+.1f})")
        if c.get("first") and c["first"]["ratio"] is not None:
            bits.append(f"the lowest alone {c['first']['ratio']:.2f} (z {c['first']['z']:+.1f})")
        if c.get("half_band") and c["half_band"]["ratio"] is not None:
            bits.append(f"on half the band x {c['half_band']['ratio']:.3f} (z {c['half_band']['z']:+.1f})")
        if bits:
            parts.append(f"{label}: " + ", ".join(bits))
    return "; ".join(parts)


def principal_values(fit: SpectralFit, data, ci_prob: float) -> dict:
    """σ and D* along the principal axes (S/cm, cm²/s): (median, lower, upper) each.

    An axis value is what the isotropic formula gives for a system in which every axis
    diffused like this one (3 x the axis slope), so the three average to σ and D*.  The
    directions (``frame``, columns, in the cell's Cartesian frame) are estimated from the
    same data; the intervals do not include their uncertainty."""
    tr = np.asarray(fit.axes["slope_tr"]["draws"])
    P = np.asarray(fit.axes["slope_P"]["draws"])
    out: dict = {"frame": fit.axes["frame"], "ci_prob": ci_prob}
    p = [0.5 - ci_prob / 2, 0.5, 0.5 + ci_prob / 2]
    for ax in range(3):
        phys = data.physical({"slope_tr": 3.0 * tr[ax][None, :], "slope_P_per_volume": 3.0 * P[ax][None, :] / data.volume_A3})
        for key in ("sigma", "D_tr"):
            lo, med, hi = np.quantile(np.asarray(phys[key]).ravel(), p)
            out.setdefault(key, []).append([float(med), float(lo), float(hi)])
    return out


def _register() -> None:
    from .base import register

    register("spectral", SpectralEstimator)


_register()
