"""The training-set domain (per-pair minimum distances, coordination ranges) and extrapolation flags."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from test_diagnostics_helpers import crystal_dataset, crystal_positions

from uncertainty_gk.diagnostics import TrainingDomain, diagnose
from uncertainty_gk.diagnostics.domain import load_training


def training_set(n=20, rng=7):
    pos, species, cell = crystal_positions(n, rng=rng)
    return [Atoms(symbols=list(species), positions=p, cell=cell, pbc=True) for p in pos]


def test_domain_from_structures():
    dom = TrainingDomain.from_structures(training_set())
    assert dom.species == ["Li", "O", "P"]
    i_o, i_p = dom.species.index("O"), dom.species.index("P")
    assert 1.3 < dom.min_distance[i_o, i_p] < 1.55
    assert dom.coordination_min[i_p, i_o] == dom.coordination_max[i_p, i_o] == 4  # PO4
    assert dom.coordination_max[i_o, i_o] == 0  # never an O-O bond
    summary = dom.to_dict()
    assert summary["coordination"]["O around P"] == [4, 4] and summary["n_structures"] == 20


def test_domain_from_file(tmp_path):
    import ase.io

    ase.io.write(tmp_path / "train.xyz", training_set(5), format="extxyz")
    dom = load_training(tmp_path / "train.xyz")
    assert dom.n_structures == 5 and dom.source.endswith("train.xyz")


def test_run_inside_domain_is_ok():
    d = diagnose(crystal_dataset(100, rng=11), training=training_set())
    assert d.status == "ok", d.summary()
    assert "training_domain" in d.thresholds


def test_extrapolating_frame_flagged_with_distance_outside():
    pos, species, cell = crystal_positions(100, rng=11)
    o = np.nonzero(species == "O")
    a, b = o[0][0], o[0][5]  # two O of different tetrahedra
    k = 64
    pos[k:, b] = pos[k:, a] + [0.0, 1.9, 0.0]  # O-O 1.9 Å: not a contact (floor 1.45) but far below training
    d = diagnose(crystal_dataset(100, positions=pos, rng=11), training=training_set(),
                 skip=("min_distance", "framework", "jump", "coordination", "rdf_drift"))
    f = [x for x in d.flags_of("domain_distance") if x.subject == "O-O"]
    assert f and f[0].time_ps == pytest.approx(k * 0.02)
    assert f[0].value == pytest.approx(1.9, abs=0.02)
    assert "below the training-set minimum" in f[0].message
    assert d.status == "failed"


def test_unknown_species_is_outside_from_the_start():
    train = [Atoms(symbols=[s if s != "Li" else "Na" for s in a.get_chemical_symbols()],
                   positions=a.get_positions(), cell=a.get_cell(), pbc=True) for a in training_set(3)]
    d = diagnose(crystal_dataset(30), training=train)
    f = d.flags_of("domain_species")
    assert f and f[0].subject == "Li" and f[0].time_ps == 0.0
