"""Out of core: MSDs of a lazily opened archive, streamed through the atom spool, equal the
in-memory MSDs bit for bit (uncertainty_gk.displacement, "Out of core")."""

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.archive import open_archive, write_archive
from uncertainty_gk.displacement import (AtomSpool, direct_msd, framework_displacement, polarisation_msd,
                                         tracer_msd)
from uncertainty_gk.estimators.data import prepare_seed


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    """One synthetic run (12 Li, 3 PO4, 600 frames) in an archive."""
    system = synthetic.generate(n_mobile=12, n_frames=600, n_seeds=1, rng=7)
    path = tmp_path_factory.mktemp("ooc") / "run.nc"
    write_archive(system.runs, path)
    return system.runs[0], path


@pytest.mark.parametrize("chunk_atoms", [1, 3, 7])
def test_spooled_msds_equal_in_memory_bit_for_bit(archived, tmp_path, chunk_atoms):
    mem, path = archived
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    with open_archive(path) as camp:
        lazy = camp[next(iter(camp))]
        assert not lazy["positions"].variable._in_memory
        tr = tracer_msd(lazy, chunk_atoms=chunk_atoms, per_atom=True, out_of_core=True, spool_dir=spool_dir)
        po = polarisation_msd(lazy, chunk_atoms=chunk_atoms)
        loaded = lazy.load()
    assert list(spool_dir.iterdir()) == []                 # temporary files removed
    ref_tr = tracer_msd(loaded, per_atom=True)
    ref_po = polarisation_msd(loaded)
    for name in ("msd", "msd_per_atom", "framework_displacement"):
        np.testing.assert_array_equal(tr[name].values, ref_tr[name].values)
    np.testing.assert_array_equal(po["msd"].values, ref_po["msd"].values)
    np.testing.assert_array_equal(po["polarisation"].values, ref_po["polarisation"].values)
    # and the archive decodes to the generated positions, so this is the MSD of the run itself
    np.testing.assert_array_equal(loaded["positions"].values, mem["positions"].values)


def test_streamed_msd_matches_direct_reference(archived):
    """Independent check: the O(T^2) direct MSD of framework-relative positions."""
    mem, path = archived
    with open_archive(path) as camp:
        lazy = camp[next(iter(camp))]
        tr = tracer_msd(lazy, chunk_atoms=2, out_of_core=True)
    centre = framework_displacement(mem)
    mobile = np.asarray(mem["mobile"].values, dtype=bool)
    rel = np.asarray(mem["positions"].values)[:, mobile] - centre[:, None, :]
    np.testing.assert_allclose(tr["msd"].values[0], direct_msd(rel, average=True), rtol=1e-10, atol=1e-10)


def test_default_streams_lazy_runs_larger_than_a_chunk(archived, tmp_path):
    """Without out_of_core, a lazy run needing several chunks goes through the spool too."""
    _, path = archived
    with open_archive(path) as camp:
        lazy = camp[next(iter(camp))]
        auto = tracer_msd(lazy, chunk_atoms=2)
        direct = tracer_msd(lazy, chunk_atoms=2, out_of_core=False)
        seed = prepare_seed(lazy)
    np.testing.assert_array_equal(auto["msd"].values, direct["msd"].values)
    np.testing.assert_array_equal(seed.msd_tr, auto["msd"].values[0])


def test_spool_round_trips_and_cleans_up(tmp_path):
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(50, 9, 3))
    parts = [np.array([0, 4]), np.array([5, 6, 8]), np.array([2])]
    with AtomSpool(parts, 50, tmp_path) as spool:
        for a in range(0, 50, 13):
            spool.append(pos[a:a + 13])
        for i, p in enumerate(parts):
            np.testing.assert_array_equal(spool.load(i), pos[:, p])
    assert list(tmp_path.iterdir()) == []


def test_spool_refuses_to_read_before_it_is_full(tmp_path):
    with AtomSpool([np.array([0])], 10, tmp_path) as spool:
        spool.append(np.zeros((4, 2, 3)))
        with pytest.raises(RuntimeError, match="4 of 10 frames"):
            spool.load(0)


def test_block_and_bootstrap_inputs_read_a_lazy_run_once(archived, monkeypatch):
    """The block and bootstrap estimators' per-ion inputs use the tracer MSD's atom chunks:
    a lazily opened run needing several chunks is read once through the spool (it was read
    once per chunk), with the numbers of the in-memory run."""
    from uncertainty_gk import displacement
    from uncertainty_gk.estimators.resampling import block_slope_series, per_ion_window_msd

    _, path = archived
    monkeypatch.setattr(displacement, "DEFAULT_CHUNK_BYTES", 3 * 600 * 3 * 8)      # 3 ions per chunk
    fills = []
    sums = displacement._weighted_sums

    def counting(ds, weights, **kw):
        if kw.get("spool") is not None:
            fills.append(1)
        return sums(ds, weights, **kw)

    with open_archive(path) as camp:
        lazy = camp[next(iter(camp))]
        seed = prepare_seed(lazy)
        monkeypatch.setattr(displacement, "_weighted_sums", counting)
        per_ion = per_ion_window_msd(seed, [5, 20, 60])
        z_tr, z_P = block_slope_series(seed, [5, 60], np.array([-1.0, 1.0]) / (55 * seed.dt_ps))
        mem = prepare_seed(lazy.load())
    assert fills == [1, 1]                                   # one pass over the archive each, 4 chunks
    np.testing.assert_allclose(per_ion, per_ion_window_msd(mem, [5, 20, 60]), rtol=1e-12)
    np.testing.assert_allclose(per_ion.mean(axis=0), seed.msd_tr[[5, 20, 60]], rtol=1e-12)
    ref_tr, ref_P = block_slope_series(mem, [5, 60], np.array([-1.0, 1.0]) / (55 * seed.dt_ps))
    np.testing.assert_allclose(z_tr, ref_tr, rtol=1e-12)
    np.testing.assert_array_equal(z_P, ref_P)
