"""Element data: formal oxidation states (default charges) and atomic masses.

Formal oxidation numbers are the default charges of docs/science.md, section 2.1 (Li +1, Na +1, P +5,
Si +4, S -2, O -2, Cl -1, I -1, ...).  Users override them in the manifest
(``charges = {...}``) or by keyword.  Masses come from ASE's IUPAC table.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import SchemaError

__all__ = ["FORMAL_CHARGES", "atomic_mass", "is_element", "element_from_mass", "charges_for", "masses_for"]

#: Formal oxidation states used as default charges (e).
FORMAL_CHARGES: dict[str, float] = {
    "H": 1, "Li": 1, "Na": 1, "K": 1, "Rb": 1, "Cs": 1, "Ag": 1, "Cu": 1,
    "Be": 2, "Mg": 2, "Ca": 2, "Sr": 2, "Ba": 2, "Zn": 2,
    "B": 3, "Al": 3, "Ga": 3, "In": 3, "Y": 3, "La": 3, "Sc": 3,
    "C": 4, "Si": 4, "Ge": 4, "Sn": 4, "Ti": 4, "Zr": 4, "Hf": 4,
    "N": -3, "P": 5, "As": 5, "Sb": 5, "Nb": 5, "Ta": 5, "V": 5,
    "O": -2, "S": -2, "Se": -2, "Te": -2,
    "F": -1, "Cl": -1, "Br": -1, "I": -1,
}


def atomic_mass(symbol: str) -> float:
    """Standard atomic mass of ``symbol`` in amu (from ASE)."""
    from ase.data import atomic_masses, atomic_numbers

    try:
        return float(atomic_masses[atomic_numbers[symbol]])
    except KeyError:
        raise SchemaError(f"unknown element symbol {symbol!r}; use a chemical symbol such as 'Li' or 'O'") from None


def is_element(symbol: str) -> bool:
    from ase.data import atomic_numbers

    return symbol in atomic_numbers and symbol != "X"


def element_from_mass(mass: float, tol: float = 0.1) -> str | None:
    """The element whose standard mass is within ``tol`` amu of ``mass``, or None."""
    from ase.data import atomic_masses, chemical_symbols

    diff = np.abs(np.asarray(atomic_masses[1:]) - mass)
    i = int(np.argmin(diff))
    return chemical_symbols[i + 1] if diff[i] <= tol else None


def charges_for(species, overrides: Mapping[str, float] | None = None, *, source: str = "") -> np.ndarray:
    """Per-atom charges (e) from species symbols, formal oxidation states by default."""
    overrides = dict(overrides or {})
    table = {**FORMAL_CHARGES, **overrides}
    species = np.asarray(species)
    out = np.empty(species.shape, dtype=np.float64)
    for sym in np.unique(species):
        if sym not in table:
            where = f"{source}: " if source else ""
            raise SchemaError(
                f"{where}no charge known for species {sym!r}; give one with "
                f"charges = {{{sym} = ...}} in the manifest or charges={{'{sym}': ...}}")
        out[species == sym] = float(table[sym])
    return out


def masses_for(species, overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """Per-atom masses (amu) from species symbols."""
    overrides = dict(overrides or {})
    species = np.asarray(species)
    out = np.empty(species.shape, dtype=np.float64)
    for sym in np.unique(species):
        out[species == sym] = float(overrides[sym]) if sym in overrides else atomic_mass(str(sym))
    return out
