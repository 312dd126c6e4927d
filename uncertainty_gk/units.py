"""Physical constants and unit conversions: the only numbers with units in the package.

Internal units (the trajectory schema, docs/schema.md):

=============  =========================
quantity       unit
=============  =========================
length         Å (angstrom)
time           ps
volume         Å^3
charge         e (elementary charge)
mass           amu (unified atomic mass unit)
temperature    K
energy         eV (LAMMPS ``metal``)
=============  =========================

Reported: diffusion coefficients in cm^2/s, conductivities in S/cm (and mS/cm).
Constants are CODATA 2018 exact or recommended values.
"""

from __future__ import annotations

__all__ = [
    "ELEMENTARY_CHARGE_C", "BOLTZMANN_J_PER_K", "BOLTZMANN_EV_PER_K", "ANGSTROM_M", "ANGSTROM_CM", "PS_S",
    "FS_PS", "AMU_KG", "AMU_A2_PER_PS2_IN_EV", "A2_PER_PS_TO_CM2_PER_S", "S_PER_M_TO_S_PER_CM", "S_PER_CM_TO_MS_PER_CM",
    "conductivity_prefactor_S_per_cm", "LAMMPS_UNITS", "LAMMPS_DEFAULT_TIMESTEP"
]

#: Elementary charge, C (exact, SI 2019).
ELEMENTARY_CHARGE_C = 1.602176634e-19
#: Boltzmann constant, J/K (exact, SI 2019).
BOLTZMANN_J_PER_K = 1.380649e-23
#: Boltzmann constant, eV/K.
BOLTZMANN_EV_PER_K = BOLTZMANN_J_PER_K / ELEMENTARY_CHARGE_C

ANGSTROM_M = 1e-10
ANGSTROM_CM = 1e-8
PS_S = 1e-12
FS_PS = 1e-3
#: Atomic mass unit, kg (CODATA 2018).
AMU_KG = 1.66053906660e-27
#: Kinetic energy of 1 amu moving at 1 Å/ps, in eV: m v² in amu Å²/ps² times this is eV.
AMU_A2_PER_PS2_IN_EV = AMU_KG * ANGSTROM_M ** 2 / PS_S ** 2 / ELEMENTARY_CHARGE_C

#: 1 Å^2/ps expressed in cm^2/s (= 1e-4).
A2_PER_PS_TO_CM2_PER_S = ANGSTROM_CM**2 / PS_S
#: 1 S/m in S/cm.
S_PER_M_TO_S_PER_CM = 1e-2
#: 1 S/cm in mS/cm.
S_PER_CM_TO_MS_PER_CM = 1e3


def conductivity_prefactor_S_per_cm(volume_A3: float, temperature_K: float) -> float:
    """Factor turning a slope of <|Σ q Δr|^2> (e^2 Å^2/ps) into σ·6 in S/cm.

    σ = slope / (6 V k_B T) with slope in e^2 Å^2 / ps; this returns
    e^2 Å^2/ps / (V k_B T) in S/cm, so that ``sigma = slope * factor / 6``.
    """
    if volume_A3 <= 0 or temperature_K <= 0:
        raise ValueError(f"volume ({volume_A3} Å^3) and temperature ({temperature_K} K) must be positive")
    e2_A2_per_ps_SI = ELEMENTARY_CHARGE_C**2 * ANGSTROM_M**2 / PS_S
    V_SI = volume_A3 * ANGSTROM_M**3
    return e2_A2_per_ps_SI / (V_SI * BOLTZMANN_J_PER_K * temperature_K) * S_PER_M_TO_S_PER_CM


#: LAMMPS ``units`` styles -> (time unit in ps, length unit in Å, velocity factor to Å/ps).
LAMMPS_UNITS = {
    "metal": {"time_ps": 1.0, "length_A": 1.0, "velocity_A_per_ps": 1.0, "force": "eV/Å", "energy": "eV"},
    "real": {"time_ps": 1e-3, "length_A": 1.0, "velocity_A_per_ps": 1e3, "force": "kcal/mol/Å", "energy": "kcal/mol"},
    "electron": {"time_ps": 1e-3, "length_A": 0.52917721067, "velocity_A_per_ps": 0.52917721067 / 1.03275e-3, "force": "Hartree/Bohr", "energy": "Hartree"},
}
#: Default LAMMPS timestep (in the style's time unit) when the input sets none.
LAMMPS_DEFAULT_TIMESTEP = {"metal": 0.001, "real": 1.0, "electron": 0.001}
