"""Tests of uncertainty_gk.io.lammps_data (type -> element map from the Masses section)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from uncertainty_gk.errors import InputFormatError
from uncertainty_gk.io.lammps_data import read_masses, read_type_elements

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

HEADER = """\
Masses test # with a comment in the title: Masses

4 atoms
{ntypes} atom types

0 10 xlo xhi
0 10 ylo yhi
0 10 zlo zhi

"""
ATOMS = """
Atoms # charge

1 1 0.6 0 0 0
2 2 3.0 1 1 1
3 3 -1.2 2 2 2
4 3 -1.2 3 3 3
"""


def write(tmp_path, masses_block, ntypes=3, name="test.data"):
    p = tmp_path / name
    p.write_text(HEADER.format(ntypes=ntypes) + masses_block + ATOMS)
    return p


def test_comments_are_used(tmp_path):
    p = write(tmp_path, "Masses\n\n1 6.941 # Li\n2 30.97 # P\n3 15.999  #O\n")
    assert read_type_elements(p) == {1: "Li", 2: "P", 3: "O"}
    assert read_masses(p) == {1: 6.941, 2: 30.97, 3: 15.999}


def test_comment_beats_mass(tmp_path):
    # a deuterium-like heavy mass with an explicit element comment
    p = write(tmp_path, "Masses\n\n1 7.5 # Li\n2 30.97 # P\n3 15.999 # O\n")
    assert read_type_elements(p)[1] == "Li"


def test_mass_inference_when_comment_is_not_an_element(tmp_path):
    p = write(tmp_path, "Masses\n\n1 6.941 # mobile ion\n2 30.973762\n3 15.9994 # 3\n")
    assert read_type_elements(p) == {1: "Li", 2: "P", 3: "O"}


def test_atom_type_labels(tmp_path):
    p = write(tmp_path, "Atom Type Labels\n\n1 Li\n2 P\n3 O\n\nMasses\n\n1 7.5\n2 31.0\n3 16.0\n")
    assert read_type_elements(p) == {1: "Li", 2: "P", 3: "O"}


def test_gzip(tmp_path):
    p = tmp_path / "test.data.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(HEADER.format(ntypes=2) + "Masses\n\n1 6.941\n2 15.999\n" + ATOMS)
    assert read_type_elements(p) == {1: "Li", 2: "O"}


# ------------------------------------------------------------------ malformed input
def test_no_masses_section(tmp_path):
    p = write(tmp_path, "")
    with pytest.raises(InputFormatError, match="no 'Masses' section"):
        read_type_elements(p)


def test_non_numeric_mass(tmp_path):
    p = write(tmp_path, "Masses\n\n1 six # Li\n2 30.97\n3 15.999\n")
    with pytest.raises(InputFormatError, match=r"line 12: .*mass 'six' is not a number"):
        read_masses(p)


def test_missing_type(tmp_path):
    p = write(tmp_path, "Masses\n\n1 6.941\n2 30.97\n", ntypes=3)
    with pytest.raises(InputFormatError, match=r"3 atom types .* type\(s\) \[3\]"):
        read_masses(p)


def test_unknown_mass_without_comment(tmp_path):
    p = write(tmp_path, "Masses\n\n1 6.941\n2 30.97\n3 123.456\n")
    with pytest.raises(InputFormatError, match="atom type 3: mass 123.456 amu matches no element"):
        read_type_elements(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.data"
    p.write_text("")
    with pytest.raises(InputFormatError, match="empty"):
        read_type_elements(p)


# ------------------------------------------------------------------ real data
@pytest.mark.shared_data
def test_real_lpso_data():
    p = DATA / "lammps" / "lpso_T1000" / "lpso_332.data"
    if not p.exists():
        pytest.skip("shared data not available")
    assert read_type_elements(p) == {1: "Li", 2: "P", 3: "O", 4: "Si"}
    m = read_masses(p)
    assert m[1] == pytest.approx(6.941) and m[4] == pytest.approx(28.0855)
