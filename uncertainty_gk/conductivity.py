r"""σ, σ_tr, D* and the Haven ratio from MSD slopes: the physics in one place.

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
in the likelihood, never by summing their displacements.  Definitions and units:
docs/science.md.

:func:`physical_samples` applies these formulas to every joint draw of the two slopes,
so H_R = σ_tr/σ is formed draw by draw and keeps their correlation (never two
separate intervals divided).
"""

from __future__ import annotations

import numpy as np

from . import units

__all__ = ["physical_samples", "QUANTITIES"]

#: The reported quantities, in report order.
QUANTITIES = ("sigma", "sigma_tr", "haven_ratio", "D_tr")


def physical_samples(slopes: dict, *, volume_A3: float, temperature_K: float, n_mobile: int,
                     charge: float) -> dict[str, np.ndarray]:
    """Slope draws -> D* (cm²/s), σ_tr and σ (S/cm), H_R, draw by draw.

    Parameters
    ----------
    slopes : dict
        ``slope_tr`` (Å²/ps, d MSD_tr/dt) and ``slope_P_per_volume`` (e²Å²/ps/Å³,
        d⟨|ΔP|²⟩/dt / V), arrays of any (equal) shape.
    volume_A3, temperature_K, n_mobile, charge
        The group's mean volume, temperature, number and charge (e) of mobile ions.
    """
    slope_tr = np.asarray(slopes["slope_tr"], dtype=np.float64)
    rho = np.asarray(slopes["slope_P_per_volume"], dtype=np.float64)
    D_A2ps = slope_tr / 6.0
    sigma_tr = n_mobile * charge * charge * D_A2ps * units.conductivity_prefactor_S_per_cm(volume_A3, temperature_K)
    sigma = rho / 6.0 * units.conductivity_prefactor_S_per_cm(1.0, temperature_K)
    with np.errstate(divide="ignore", invalid="ignore"):
        haven = sigma_tr / sigma
    return {"D_tr": D_A2ps * units.A2_PER_PS_TO_CM2_PER_S, "sigma_tr": sigma_tr, "sigma": sigma,
            "haven_ratio": haven}
