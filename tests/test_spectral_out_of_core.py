"""The spectral estimator out of core: the tracer reduced to TracerStatistics ion chunk by
ion chunk from a lazily opened archive gives the numbers of the in-memory increments, and
the chunk loop holds one chunk of ions at a time (uncertainty_gk.estimators.spectral)."""

from __future__ import annotations

import numpy as np
import pytest

from uncertainty_gk import displacement, synthetic
from uncertainty_gk.analysis import analyse_group
from uncertainty_gk.archive import open_archive, write_archive
from uncertainty_gk.estimators.data import prepare_seed
from uncertainty_gk.estimators.spectral import (SpectralSeries, TracerStatistics, fit_spectral, sine_coefficients,
                                                spectral_series_of)
from uncertainty_gk.settings import AnalysisSettings

N_MOBILE = 15          # not a multiple of the chunk sizes below: the last chunk is short


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    """Two synthetic seeds (15 Li with correlated hops and a rattle, 1200 frames) in an archive."""
    system = synthetic.generate(n_mobile=N_MOBILE, n_frames=1200, n_seeds=2, haven_ratio=0.6,
                                rattle_amplitude=0.3, rattle_time_ps=0.2, rng=913)
    path = tmp_path_factory.mktemp("spectral_ooc") / "runs.nc"
    write_archive(system.runs, path)
    return system, path


def in_memory_series(ds) -> SpectralSeries:
    """The seed's increments as whole arrays, written out independently of spectral_series_of."""
    seed = prepare_seed(ds)
    pos = np.asarray(ds["positions"].values)[:, seed.mobile_index]
    rel = pos - seed.framework_displacement[:, None, :]
    return SpectralSeries(name=seed.name, dt_ps=seed.dt_ps, tracer_increments=np.diff(rel, axis=0),
                          polarisation_increments=np.diff(seed.polarisation, axis=0))


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_archive_chunks_equal_the_in_memory_increments(archived, tmp_path, monkeypatch):
    system, path = archived
    monkeypatch.setenv("TMPDIR", str(tmp_path))              # the atom spool goes here
    mem = [in_memory_series(ds.load()) for ds in system.runs]
    with open_archive(path) as camp:
        lazy = [camp[k] for k in camp]
        assert not lazy[0]["positions"].variable._in_memory
        ooc = [spectral_series_of(prepare_seed(ds), chunk_atoms=4) for ds in lazy]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("ugk-spool")] == []   # spool removed
    for m, o in zip(mem, ooc):
        st = o.tracer_increments
        assert isinstance(st, TracerStatistics)
        # the chunk loop held at most 4 ions (the chunk), 4 chunks in all
        assert st.chunks == [4, 4, 4, 3] and st.n_filled == st.n_ions == N_MOBILE
        ref = TracerStatistics.of(m.tracer_increments)
        assert rel_diff(st.cross, ref.cross) < 1e-12
        assert rel_diff(st.low, ref.low) < 1e-12
        assert rel_diff(st.block_sums, ref.block_sums) < 1e-12
        # and the statistics are what they claim: the ion-averaged periodogram, the lowest
        # coefficients, the block sums of the increments themselves
        c = sine_coefficients(m.tracer_increments)
        assert rel_diff(st.periodogram(), np.mean(c**2, axis=1)) < 1e-12
        assert rel_diff(st.low, c[:64]) < 1e-12
        B = st.block_length
        assert rel_diff(st.block_sums[-1], np.sum(m.tracer_increments[7 * B:8 * B], axis=0)) < 1e-12
        np.testing.assert_array_equal(o.polarisation_increments, m.polarisation_increments)
    a = fit_spectral(mem, rng=np.random.default_rng(4), n_draws=2000)
    b = fit_spectral(ooc, rng=np.random.default_rng(4), n_draws=2000)
    # (1e-10, not 1e-12: the fit's 1-D search for the relaxation time stops where the last
    # bits of its input put it, which moves the draws by ~1e-12 relative)
    for key in ("slope_tr", "slope_P"):
        assert rel_diff(b.draws[key], a.draws[key]) < 1e-10
        assert rel_diff(b.axes[key]["estimate"], a.axes[key]["estimate"]) < 1e-10
    assert rel_diff(b.diagnostics["ion_correlation_R"], a.diagnostics["ion_correlation_R"]) < 1e-12
    assert rel_diff(b.diagnostics["kappa"], a.diagnostics["kappa"]) < 1e-12
    assert b.regime == a.regime and b.n_coefficients == a.n_coefficients


def test_default_chunks_follow_the_msd_paths_chunk_setting(archived, monkeypatch):
    """No knob of its own: the chunks are the tracer MSD's (DEFAULT_CHUNK_BYTES / chunk_atoms)."""
    system, _ = archived
    ds = system.runs[0]
    seed = prepare_seed(ds)
    monkeypatch.setattr(displacement, "DEFAULT_CHUNK_BYTES", 2 * ds.sizes["time"] * 24)    # 2 atoms
    st = spectral_series_of(seed).tracer_increments
    assert st.chunks == [2] * 7 + [1]
    parts = [len(p) for p, _ in displacement.atom_chunks(ds, seed.mobile_index)]
    assert parts == st.chunks
    whole = TracerStatistics.of(in_memory_series(ds).tracer_increments)
    assert rel_diff(st.cross, whole.cross) < 1e-12


def test_archive_route_through_the_core_equals_in_memory(archived):
    """``ugk analyze --method spectral`` route: a lazily opened archive gives the in-memory numbers."""
    system, path = archived
    st = AnalysisSettings(seed=0, method="spectral", per_seed=False)
    mem = analyse_group([ds.load() for ds in system.runs], st)
    with open_archive(path) as camp:
        lazy = analyse_group([camp[k] for k in camp], st)
    for q in ("D_tr", "sigma", "haven_ratio"):
        a, b = mem.quantities[q], lazy.quantities[q]
        assert b.median == pytest.approx(a.median, rel=1e-12)
        assert b.lower == pytest.approx(a.lower, rel=1e-12) and b.upper == pytest.approx(a.upper, rel=1e-12)


def test_rotated_statistics_equal_the_statistics_of_rotated_increments():
    rng = np.random.default_rng(900417)
    x = rng.normal(size=(500, 7, 3)) * np.array([1.0, 0.3, 2.0])
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    a = TracerStatistics.of(x).rotated(q)
    b = TracerStatistics.of(x @ q)
    for name in ("cross", "low", "block_sums"):
        assert rel_diff(getattr(a, name), getattr(b, name)) < 1e-12


def test_statistics_refuse_what_does_not_fit():
    rng = np.random.default_rng(900418)
    x = rng.normal(size=(300, 5, 3))
    P = rng.normal(size=(300, 3))
    st = TracerStatistics(300, 5)
    st.accumulate(x[:, :3])
    with pytest.raises(ValueError, match="3 of 5 ions"):
        fit_spectral([SpectralSeries(name="half", dt_ps=0.1, tracer_increments=st, polarisation_increments=P)],
                     rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="does not fit"):
        st.accumulate(x)
    with pytest.raises(ValueError, match=r"\(300, n, 3\)"):
        st.accumulate(x[:299, 3:])
    st.accumulate(x[:, 3:])
    s = SpectralSeries(name="s", dt_ps=0.1, tracer_increments=st, polarisation_increments=P)
    with pytest.raises(ValueError, match="kurtosis_blocks=8; the fit asks for .*kurtosis_blocks=4"):
        fit_spectral([s], rng=np.random.default_rng(0), kurtosis_blocks=4)
    with pytest.raises(ValueError, match="tracer statistics of 300 increments, the polarisation has 299"):
        fit_spectral([SpectralSeries(name="s", dt_ps=0.1, tracer_increments=st, polarisation_increments=P[1:])],
                     rng=np.random.default_rng(0))


def test_tracer_statistics_made_in_the_msd_pass_read_the_archive_once(archived, tmp_path, monkeypatch):
    """prepare_seed(tracer_statistics=True) makes the spectral reduction in the tracer MSD's
    own pass: the same numbers, bit for bit, as a separate pass, and the spectral fit then
    reads no position of the archive again (a separate pass read every mobile ion again)."""
    system, path = archived
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(displacement, "DEFAULT_CHUNK_BYTES", 4 * 1200 * 3 * 8)    # 4 ions per chunk: spooled
    reads = []

    def no_read(*args):
        reads.append(args)
        raise AssertionError("positions read again")

    with open_archive(path) as camp:
        ds = camp[list(camp)[0]]
        two_pass = spectral_series_of(prepare_seed(ds))
        one = prepare_seed(ds, tracer_statistics=True)
        with monkeypatch.context() as m:
            m.setattr(displacement, "_load", no_read)
            m.setattr(displacement, "_weighted_sums", no_read)
            m.setattr(displacement.AtomSpool, "load", no_read)
            single = spectral_series_of(one)
    assert reads == []                                   # nothing read for the spectral fit
    a, b = single.tracer_increments, two_pass.tracer_increments
    assert a.chunks == b.chunks == [4, 4, 4, 3]
    for name in ("cross", "low", "block_sums"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # and through the analysis core (the spectral default prepares the seeds this way)
    with open_archive(path) as camp:
        res = analyse_group({k: camp[k] for k in camp}, AnalysisSettings(seed=2, per_seed=False))
    assert res.method == "spectral" and np.isfinite(res.quantities["sigma"].median)


def test_tracer_chunk_pieces_do_not_change_the_statistics(archived, monkeypatch):
    """tracer_chunk reduces a large atom chunk in pieces (bounded memory beside the chunk):
    pieces of one ion give the statistics of the whole chunk at once, to rounding."""
    from uncertainty_gk.estimators import spectral

    system, _ = archived
    seed = prepare_seed(system.runs[0])
    pos = np.asarray(system.runs[0]["positions"].values)[:, seed.mobile_index]
    whole = TracerStatistics(seed.n_frames - 1, N_MOBILE)
    spectral.tracer_chunk(whole, pos, seed.framework_displacement)
    monkeypatch.setattr(spectral, "TRACER_PIECE_BYTES", 1)          # one ion per piece
    pieces = TracerStatistics(seed.n_frames - 1, N_MOBILE)
    spectral.tracer_chunk(pieces, pos, seed.framework_displacement)
    assert whole.chunks == [N_MOBILE] and pieces.chunks == [1] * N_MOBILE
    for name in ("cross", "low", "block_sums"):
        np.testing.assert_allclose(getattr(pieces, name), getattr(whole, name), rtol=1e-12, atol=1e-12)
