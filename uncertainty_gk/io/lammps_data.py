"""LAMMPS data files: atom type -> element map from the ``Masses`` section.

``read_type_elements`` uses, for each type, in order of preference:

1. the comment after the mass when it is an element symbol (``1 6.941  # Li``),
2. the label of the ``Atom Type Labels`` section when it is an element symbol,
3. the element whose standard mass is within 0.1 amu of the mass
   (:func:`uncertainty_gk.elements.element_from_mass`).

Only the header and the ``Masses``/``Atom Type Labels`` sections are read.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..elements import element_from_mass, is_element
from ..errors import InputFormatError
from .sniff import open_text

__all__ = ["read_masses", "read_type_elements", "read_masses_section"]

# Section keywords of the LAMMPS data format (a line holding only the keyword).
_SECTIONS = {
    "Atoms", "Velocities", "Masses", "Ellipsoids", "Lines", "Triangles", "Bodies", "Bonds",
    "Angles", "Dihedrals", "Impropers", "Pair Coeffs", "PairIJ Coeffs", "Bond Coeffs",
    "Angle Coeffs", "Dihedral Coeffs", "Improper Coeffs", "BondBond Coeffs", "BondAngle Coeffs",
    "MiddleBondTorsion Coeffs", "EndBondTorsion Coeffs", "AngleTorsion Coeffs",
    "AngleAngleTorsion Coeffs", "BondBond13 Coeffs", "AngleAngle Coeffs", "Atom Type Labels",
    "Bond Type Labels", "Angle Type Labels", "Dihedral Type Labels", "Improper Type Labels",
}
_NTYPES = re.compile(r"^\s*(\d+)\s+atom\s+types\b")


def _element_of(text: str | None) -> str | None:
    """An element symbol from a comment or label (``Li``, ``li``, ``Li1``, ``Li+``), else None."""
    if not text:
        return None
    tok = text.strip().split()[0] if text.strip() else ""
    for cand in (tok, tok.capitalize(), re.sub(r"[^A-Za-z].*$", "", tok),
                 re.sub(r"[^A-Za-z].*$", "", tok).capitalize()):
        if cand and is_element(cand):
            return cand
    return None


def read_masses_section(path) -> tuple[dict[int, float], dict[int, str | None], dict[int, str], int | None]:
    """Parse a data file's header and ``Masses`` section.

    Returns ``(masses, comments, labels, n_types)``: type -> mass (amu), type -> comment
    text after ``#`` (or None), type -> label from ``Atom Type Labels``, and the
    ``N atom types`` count of the header (None if absent).
    """
    path = Path(path)
    try:
        fh = open_text(path)
    except FileNotFoundError:
        raise InputFormatError("file not found", path=path) from None
    masses: dict[int, float] = {}
    comments: dict[int, str | None] = {}
    labels: dict[int, str] = {}
    n_types: int | None = None
    section: str | None = None
    saw_content = False
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1:  # title line: free text
                saw_content = bool(raw.strip())
                continue
            body, _, comment = raw.partition("#")
            body = body.strip()
            if body:
                saw_content = True
            if section is None:
                m = _NTYPES.match(body)
                if m:
                    n_types = int(m.group(1))
                    continue
            if body in _SECTIONS:
                if masses and body not in ("Masses", "Atom Type Labels"):
                    break  # what we need is read; Atoms and later sections can be long
                section = body
                continue
            if not body:
                continue
            if section == "Masses":
                toks = body.split()
                if len(toks) < 2:
                    raise InputFormatError(f"Masses section: expected 'type mass', found {raw.strip()!r}",
                                           path=path, line=lineno)
                try:
                    mass = float(toks[1])
                except ValueError:
                    raise InputFormatError(f"Masses section: mass {toks[1]!r} is not a number "
                                           f"(line {raw.strip()!r})", path=path, line=lineno) from None
                try:
                    t = int(toks[0])
                except ValueError:  # a type label instead of a number (LAMMPS type labels)
                    if n_types is None:
                        raise InputFormatError(f"Masses section: atom type {toks[0]!r} is not an integer",
                                               path=path, line=lineno) from None
                    lab = toks[0]
                    inv = {v: k for k, v in labels.items()}
                    if lab not in inv:
                        raise InputFormatError(f"Masses section: atom type label {lab!r} is not defined "
                                               "in an 'Atom Type Labels' section before it",
                                               path=path, line=lineno) from None
                    t = inv[lab]
                if mass <= 0:
                    raise InputFormatError(f"Masses section: type {t} has non-positive mass {mass}",
                                           path=path, line=lineno)
                masses[t] = mass
                comments[t] = comment.strip() or None
            elif section == "Atom Type Labels":
                toks = body.split()
                if len(toks) >= 2:
                    try:
                        labels[int(toks[0])] = toks[1]
                    except ValueError:
                        raise InputFormatError(f"Atom Type Labels: type {toks[0]!r} is not an integer",
                                               path=path, line=lineno) from None
    if not saw_content:
        raise InputFormatError("the file is empty; expected a LAMMPS data file", path=path)
    if not masses:
        raise InputFormatError(
            "no 'Masses' section: cannot tell which element each atom type is; add a Masses "
            "section (e.g. '1 6.941 # Li'), or give the type map explicitly "
            "(types = {1 = \"Li\", ...} in the manifest or --types 1=Li,2=P,...)", path=path)
    if n_types is not None:
        missing = sorted(set(range(1, n_types + 1)) - set(masses))
        if missing:
            raise InputFormatError(f"the header declares {n_types} atom types but the Masses section "
                                   f"has no entry for type(s) {missing}", path=path)
    return masses, comments, labels, n_types


def read_masses(path) -> dict[int, float]:
    """LAMMPS atom type -> mass (amu, as written in the data file's ``Masses`` section)."""
    return read_masses_section(path)[0]


def read_type_elements(path, *, tol: float = 0.1) -> dict[int, str]:
    """LAMMPS atom type -> element symbol from a data file (see module docstring).

    Raises :class:`InputFormatError` if there is no ``Masses`` section or a type's element
    can be found neither from its comment/label nor from its mass.
    """
    masses, comments, labels, _ = read_masses_section(path)
    out: dict[int, str] = {}
    for t in sorted(masses):
        el = _element_of(comments.get(t)) or _element_of(labels.get(t)) or element_from_mass(masses[t], tol)
        if el is None:
            raise InputFormatError(
                f"atom type {t}: mass {masses[t]} amu matches no element within {tol} amu and the "
                f"Masses line has no element comment; write e.g. '{t} {masses[t]} # Li' in the data "
                "file or give types = {...} explicitly", path=path)
        out[t] = el
    return out
