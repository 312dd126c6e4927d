"""Tests of uncertainty_gk.io.extxyz (extended XYZ via ASE)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from uncertainty_gk.errors import InputFormatError, SkippedFramesWarning, TruncatedInputWarning
from uncertainty_gk.io.extxyz import ExtxyzReader, read_extxyz

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LATTICE = 'Lattice="10.0 0.0 0.0 0.0 10.0 0.0 0.0 0.0 10.0"'


def frame(li, o, *, extra="", props="species:S:1:pos:R:3", cols=("", ""), lattice=LATTICE, pbc='"T T T"'):
    head = f'{lattice} Properties={props} {extra} pbc={pbc}'.replace("  ", " ")
    return f"2\n{head}\nLi {li} {cols[0]}\nO {o} {cols[1]}\n"


def write(tmp_path, text, name="traj.xyz"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture
def wrapped_file(tmp_path):
    # Li crosses +x (9.5 -> 0.5 -> 1.5), O crosses -x (1.0 -> 9.0 -> 9.5)
    return write(tmp_path, frame("9.5 5 5", "1 1 1") + frame("0.5 5 5", "9 1 1") + frame("1.5 5 5", "9.5 1 1"))


def test_wrapped_positions_unwrapped_by_hand(wrapped_file):
    ds = read_extxyz(wrapped_file, frame_interval_ps=0.02)
    np.testing.assert_allclose(ds["positions"].values[:, 0, 0], [9.5, 10.5, 11.5])
    np.testing.assert_allclose(ds["positions"].values[:, 1, 0], [1.0, -1.0, -0.5])
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.02, 0.04])
    assert ds["species"].values.tolist() == ["Li", "O"]
    assert float(ds["volume"]) == pytest.approx(1000.0)
    assert "velocities" not in ds and "forces" not in ds
    assert ds.attrs["reader"] == "extxyz"


def test_gzip(tmp_path):
    p = tmp_path / "traj.xyz.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(frame("9.5 5 5", "1 1 1") + frame("0.5 5 5", "9 1 1"))
    ds = read_extxyz(p, frame_interval_ps=0.02)
    np.testing.assert_allclose(ds["positions"].values[:, 0, 0], [9.5, 10.5])


def test_velocities_forces_time(tmp_path):
    from ase import units
    from ase.data import atomic_masses, atomic_numbers

    m_li, m_o = atomic_masses[atomic_numbers["Li"]], atomic_masses[atomic_numbers["O"]]
    v_ase = 1.0 / (units.fs * 1000.0)  # 1 Å/ps in ASE velocity units
    props = "species:S:1:pos:R:3:momenta:R:3:forces:R:3"
    text = ""
    for k, t_ps in enumerate([0.0, 0.005]):
        t_ase = t_ps * 1000.0 * units.fs
        cols = (f"{m_li * v_ase:.12e} 0 0 0.5 0 0", f"0 {-2 * m_o * v_ase:.12e} 0 0 -0.25 0")
        text += frame(f"{5 + k * 0.005} 5 5", "1 1 1", props=props, cols=cols, extra=f"time={t_ase!r}")
    p = write(tmp_path, text)
    ds = read_extxyz(p)
    np.testing.assert_allclose(ds["velocities"].values[:, 0], [[1.0, 0, 0]] * 2, atol=1e-9)
    np.testing.assert_allclose(ds["velocities"].values[:, 1], [[0, -2.0, 0]] * 2, atol=1e-9)
    np.testing.assert_allclose(ds["forces"].values[0], [[0.5, 0, 0], [0, -0.25, 0]])
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.005], atol=1e-12)
    assert ds["velocities"].attrs["units"] == "angstrom/ps"
    # a given frame interval wins over the stored times
    ds2 = read_extxyz(p, frame_interval_ps=1.0)
    np.testing.assert_allclose(ds2["time"].values, [0.0, 1.0])


def test_step_and_timestep(tmp_path):
    text = frame("5 5 5", "1 1 1", extra="step=100") + frame("5.1 5 5", "1 1 1", extra="step=120")
    ds = read_extxyz(write(tmp_path, text), timestep_ps=0.001)
    assert ds["step"].values.tolist() == [100, 120]
    np.testing.assert_allclose(ds["time"].values, [0.1, 0.12])


def test_unwrapped_file_used_as_written(tmp_path):
    # atoms outside the cell -> the file is unwrapped; a genuine 3 Å jump (0.3 cell) is kept
    text = frame("9.5 5 5", "1 1 1") + frame("10.5 5 5", "-1 1 1") + frame("13.5 5 5", "-1 1 1")
    p = write(tmp_path, text)
    ds = read_extxyz(p, frame_interval_ps=0.02)
    np.testing.assert_allclose(ds["positions"].values[:, 0, 0], [9.5, 10.5, 13.5])
    assert "not wrapped" in ds.attrs["notes"]
    with pytest.raises(InputFormatError, match="too far apart to unwrap"):
        read_extxyz(p, frame_interval_ps=0.02, wrapped=True)
    ds3 = read_extxyz(p, frame_interval_ps=0.02, wrapped=False)
    np.testing.assert_allclose(ds3["positions"].values[:, 1, 0], [1.0, -1.0, -1.0])


def test_streaming_chunks(wrapped_file):
    reader = ExtxyzReader(wrapped_file, frame_interval_ps=0.02)
    chunks = list(reader.iter_chunks(max_frames=2))
    assert [c.n_frames for c in chunks] == [2, 1]
    np.testing.assert_allclose(np.concatenate([c.positions for c in chunks])[:, 0, 0], [9.5, 10.5, 11.5])
    np.testing.assert_allclose(chunks[1].time_ps, [0.04])


# ------------------------------------------------------------------ malformed input
def test_non_periodic(tmp_path):
    p = write(tmp_path, frame("1 1 1", "2 2 2", pbc='"F F F"'))
    with pytest.raises(InputFormatError, match="frame 0: no periodic 3D cell"):
        read_extxyz(p, frame_interval_ps=0.1)


def test_no_cell(tmp_path):
    p = write(tmp_path, "2\nProperties=species:S:1:pos:R:3\nLi 1 1 1\nO 2 2 2\n")
    with pytest.raises(InputFormatError, match="no periodic 3D cell"):
        read_extxyz(p, frame_interval_ps=0.1)


def test_empty_file(tmp_path):
    p = write(tmp_path, "")
    with pytest.raises(InputFormatError, match="empty"):
        read_extxyz(p, frame_interval_ps=0.1)


def test_no_time_information(wrapped_file):
    with pytest.raises(InputFormatError, match="give frame_interval_ps"):
        read_extxyz(wrapped_file)


def test_atom_count_changes(tmp_path):
    text = frame("1 1 1", "2 2 2") + f"1\n{LATTICE} Properties=species:S:1:pos:R:3 pbc=\"T T T\"\nLi 1 1 1\n"
    p = write(tmp_path, text)
    with pytest.raises(InputFormatError, match="frame 1: the atoms changed: 1 atoms where frame 0 has 2"):
        read_extxyz(p, frame_interval_ps=0.1)


def test_corrupt_gzip(tmp_path):
    p = tmp_path / "traj.xyz.gz"
    p.write_bytes(gzip.compress(frame("1 1 1", "2 2 2").encode())[:-12])
    with pytest.raises(InputFormatError, match="no complete frame"), \
            pytest.warns(TruncatedInputWarning, match="compressed stream ends early"):
        read_extxyz(p, frame_interval_ps=0.1)


def test_garbage(tmp_path):
    p = write(tmp_path, "this is\nnot an xyz file\n")
    with pytest.raises(InputFormatError, match=r"line 1: expected an atom count .* found .this is.: not an extended XYZ"):
        read_extxyz(p, frame_interval_ps=0.1)


# ------------------------------------------------------------------ issue 14 regressions
def _traj(n, start=0):
    return "".join(frame(f"{1 + 0.01 * k} 5 5", "3 3 3", extra=f"step={10 * k}") for k in range(start, start + n))


def test_blank_line_between_joined_files_keeps_every_frame(tmp_path):
    """Finding 1: two files joined, the first ending in an empty line: 15 of 30 frames kept, no warning."""
    p = write(tmp_path, _traj(15) + "\n" + _traj(15, start=15))
    ds = read_extxyz(p, timestep_ps=0.001)
    assert ds.sizes["time"] == 30
    np.testing.assert_allclose(ds["time"].values, np.arange(30) * 0.01)


def test_truncated_xyz_keeps_complete_frames(tmp_path):
    """Finding 1: a truncated .xyz was refused as a whole."""
    text = _traj(10)
    cut = text[:text.rindex("O 3 3 3")]            # the last frame loses its last atom line
    p = write(tmp_path, cut)
    with pytest.warns(TruncatedInputWarning, match=r"frame 9 \(line 37\): the last frame is incomplete \(the "
                      r"file ends after 1 of its 2 atom lines\)"):
        ds = read_extxyz(p, timestep_ps=0.001)
    assert ds.sizes["time"] == 9


@pytest.mark.parametrize("tail", ["2", "2\nLa", '2\nLattice="10.0 0.0'])
def test_file_cut_in_the_next_frame_header_keeps_the_frame_before(tmp_path, tail):
    p = write(tmp_path, _traj(5) + tail)
    with pytest.warns(TruncatedInputWarning, match="frame 5 .*the last frame is incomplete"):
        ds = read_extxyz(p, timestep_ps=0.001)
    assert ds.sizes["time"] == 5


def test_number_cut_at_end_without_newline_is_dropped(tmp_path):
    p = write(tmp_path, _traj(5)[:-3])              # 'O 3 3 3' -> 'O 3 3' ... no newline
    with pytest.warns(TruncatedInputWarning, match="frame 4 .*does not end with a newline"):
        ds = read_extxyz(p, timestep_ps=0.001)
    assert ds.sizes["time"] == 4


def test_corrupted_count_line_mid_file_skips_one_frame(tmp_path):
    text = _traj(12).split("\n")
    assert text[4 * 5] == "2"
    text[4 * 5] = "2000000"                          # frame 5's atom count
    p = write(tmp_path, "\n".join(text))
    with pytest.warns(SkippedFramesWarning, match=r"frame 5 \(line 21\): the count line says 2000000 atoms but 2 "
                      r"atom lines follow before the next frame \(line 25\)"):
        ds = read_extxyz(p, timestep_ps=0.001)
    assert ds["step"].values.tolist() == [10 * k for k in range(12) if k != 5]


def test_unparseable_frame_is_skipped(tmp_path):
    text = _traj(6).replace("Li 1.03 5 5", "Li 1.03 five 5")
    p = write(tmp_path, text)
    with pytest.warns(SkippedFramesWarning, match=r"frame 3 \(line 13\): skipped a frame that cannot be parsed"):
        ds = read_extxyz(p, timestep_ps=0.001)
    assert ds["step"].values.tolist() == [0, 10, 20, 40, 50]


def _energy_file(tmp_path, energies, *, name="e.xyz", drop_at=None):
    text = ""
    for k, e in enumerate(energies):
        extra = "" if k == drop_at else f"energy={e}"
        text += frame(f"{1 + 0.01 * k} 5 5", "3 3 3", extra=extra)
    return write(tmp_path, text, name)


def test_frame_energies_become_a_thinned_thermo_log(tmp_path):
    """energy= of every frame -> thermo_PotEng on rows >= 0.1 ps apart; diagnose finds the drift."""
    e = -100.0 + np.zeros(60)
    p = _energy_file(tmp_path, e)
    ds = read_extxyz(p, frame_interval_ps=0.02)
    assert ds.sizes["time"] == 60 and ds.sizes["thermo"] == 12  # every 5th frame: 0.1 ps apart
    np.testing.assert_allclose(ds["thermo_time"].values, np.arange(12) * 0.1)
    np.testing.assert_array_equal(ds["thermo_step"].values, np.arange(0, 60, 5))
    assert ds["thermo_PotEng"].attrs["units"] == "eV" and int(ds["thermo_block"].max()) == 0
    assert "thermo log from the 'energy'" in str(ds.attrs["notes"])
    assert "thermo" not in read_extxyz(p, frame_interval_ps=0.02, energies=False).dims
    # frames without energy: no log, and a note says why
    q = _energy_file(tmp_path, e, name="gap.xyz", drop_at=7)
    r = ExtxyzReader(q, frame_interval_ps=0.02)
    assert r.energy_log() is None and "frame 7 has no 'energy'" in r.notes[-1]
    assert ExtxyzReader(write(tmp_path, frame("1 1 1", "2 2 2")), frame_interval_ps=0.02).energy_log() is None


def test_energy_log_through_ingest_and_diagnose(tmp_path):
    """An extended XYZ run ingested from a manifest keeps its energies; a 2 eV jump is flagged."""
    from uncertainty_gk.archive import load_runs
    from uncertainty_gk.diagnostics import diagnose

    rng = np.random.default_rng(0)
    e = -100.0 + 0.01 * rng.standard_normal(400)
    e[250:] -= 2.0  # a jump at frame 250 = 5.0 ps
    _energy_file(tmp_path, e, name="run.xyz")
    (tmp_path / "m.toml").write_text(
        '[campaign]\nname = "x"\n[defaults]\nformat = "extxyz"\nframe_interval_ps = 0.02\n'
        '[[runs]]\nname = "r"\ntrajectory = "run.xyz"\nlabels = {seed = 1}\n')
    camp = load_runs(tmp_path / "m.toml")
    ds = camp["r"].load()
    assert ds.sizes["thermo"] == 80
    d = diagnose(ds, temperature_K=300.0, skip=("rdf_drift", "jump"))
    f = d.flags_of("energy_drift")
    assert f and 4.9 <= f[0].onset_ps <= 5.0 and f[0].time_ps >= 5.0


# ------------------------------------------------------------------ real data
@pytest.mark.shared_data
def test_real_mlip_trajectory(tmp_path):
    p = DATA / "mlip" / "md_ep3_T1000.xyz.gz"
    if not p.exists():
        pytest.skip("shared data not available")
    ds = read_extxyz(p, frame_interval_ps=0.02, temperature_K=1000)
    assert ds.sizes["atom"] == 297 and ds.sizes["time"] == 166
    assert "velocities" in ds and "forces" in ds
    # kinetic temperature from the converted velocities matches the run's own log
    amu_A2_ps2_eV = 1.66053906660e-27 * 1e4 / 1.602176634e-19
    m = ds["mass"].values[None, :, None]
    ke = 0.5 * (m * ds["velocities"].values ** 2).sum(axis=(1, 2)) * amu_A2_ps2_eV
    T = 2 * ke / (3 * ds.sizes["atom"] * 8.617333262e-5)
    assert T[0] == pytest.approx(976.1, abs=0.1)
    assert T[-1] == pytest.approx(3857.5, abs=0.1)
    # positions in the file are unwrapped (ASE does not wrap): kept as written
    from ase.io import read

    plain = tmp_path / "md.xyz"
    with gzip.open(p, "rb") as src:
        plain.write_bytes(src.read())
    last = read(plain, index=-1)
    np.testing.assert_allclose(ds["positions"].values[-1], last.positions, atol=1e-9)


@pytest.mark.shared_data
def test_real_training_set_first_frames():
    p = DATA / "mlip" / "train_1000K.xyz"
    if not p.exists():
        pytest.skip("shared data not available")
    reader = ExtxyzReader(p, frame_interval_ps=0.2)
    header = reader.header()
    assert header.n_atoms == 297
    chunk = next(reader.iter_chunks(max_frames=5))
    assert chunk.n_frames == 5 and chunk.forces is not None and chunk.velocities is None
