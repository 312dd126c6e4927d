"""Issue 14: the archive never replaces an input, survives a full disk and kills, checks
itself, and is compact.  Every input is generated here (bundled example, synthetic runs)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from uncertainty_gk import fileio, synthetic
from uncertainty_gk.archive import _chunk_shape, ingest, open_archive, verify_archive, write_archive
from uncertainty_gk.errors import CampaignError, OutputError, SchemaError, UGKWarning
from uncertainty_gk.schema import decimals_of

from conftest import EXAMPLES, ROOT


@pytest.fixture
def tiny(tmp_path):
    dst = tmp_path / "tiny"
    shutil.copytree(EXAMPLES / "tiny", dst)
    return dst


def _dump_run(tmp_path, *, n_frames=20, name="a"):
    """A synthetic run written as a text dump (5 decimals) and a manifest for it."""
    gen = synthetic.generate(n_mobile=9, n_frames=n_frames, n_seeds=1, rng=3)
    (dump,) = gen.write_lammps_dumps(tmp_path / name, prefix=name)
    types = ", ".join(f'{k} = "{v}"' for k, v in gen.types.items())
    m = tmp_path / f"{name}.toml"
    m.write_text(f'[defaults]\ntypes = {{{types}}}\ntimestep_ps = 0.001\ntemperature_K = 800\n'
                 f'[[runs]]\ntrajectory = "{dump}"\nlabels = {{structure = "x", seed = 1}}\n')
    return m, dump


# --------------------------------------------------------------------------- finding 3: inputs
@pytest.mark.parametrize("which", ["manifest", "data_file", "log", "trajectory"])
def test_output_onto_any_input_refused_even_with_overwrite(tiny, which):
    m = tiny / "campaign.toml"
    m.write_text(m.read_text().replace("[defaults]", '[defaults]\ndata_file = "lpso_start.data"'))
    target = {"manifest": m, "data_file": tiny / "lpso_start.data", "log": next(tiny.rglob("log.lammps")),
              "trajectory": next(tiny.rglob("dump*"))}[which]
    before = target.read_bytes()
    with pytest.raises(OutputError, match="the output is one of the inputs .*not even with --overwrite"):
        ingest(m, target, overwrite=True)
    assert target.read_bytes() == before
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_cli_ingest_onto_manifest_refused(tiny):
    m = tiny / "campaign.toml"
    before = m.read_bytes()
    r = subprocess.run([sys.executable, "-m", "uncertainty_gk.cli", "ingest", str(m), "-o", str(m), "--overwrite",
                        "-q"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "one of the inputs" in r.stderr and "Traceback" not in r.stderr
    assert m.read_bytes() == before


def test_atomic_write_refuses_a_file_read_as_input(tmp_path):
    from uncertainty_gk.io.sniff import open_text

    p = tmp_path / "train.xyz"
    p.write_text("data\n")
    with open_text(p) as fh:
        fh.read()
    with pytest.raises(OutputError, match="one of the inputs"):
        fileio.atomic_write_text(p, "results")
    assert p.read_text() == "data\n"


# --------------------------------------------------------------------------- finding 4: disk full
def test_disk_full_before_writing_is_a_clean_error(tmp_path, monkeypatch):
    m, _ = _dump_run(tmp_path)
    out = tmp_path / "out" / "c.nc"
    monkeypatch.setattr(fileio, "free_bytes", lambda d: 5 << 20)
    with pytest.raises(OutputError, match=r"c\.nc: not enough free disk space .*Nothing was changed"):
        ingest(m, out)
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_disk_full_during_hdf5_write_removes_the_temp_file(tmp_path, monkeypatch):
    import h5netcdf

    m, _ = _dump_run(tmp_path)
    out = tmp_path / "out" / "c.nc"
    out.parent.mkdir()
    real = h5netcdf.Variable.__setitem__

    def full(self, key, value):
        if self.name.endswith("positions"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, key, value)

    monkeypatch.setattr(h5netcdf.Variable, "__setitem__", full)
    with pytest.raises(OutputError, match=r"c\.nc: writing failed \(the disk is full\); the partial output was "
                       "removed"):
        ingest(m, out)
    assert list(out.parent.iterdir()) == []


def test_real_full_filesystem(tmp_path):
    """A 3 MB tmpfs (needs root; skipped elsewhere): clean error, nothing left behind."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        m, _ = _dump_run(tmp_path, n_frames=400)
        (mnt / "filler").write_bytes(b"x" * (1 << 20))
        r = subprocess.run([sys.executable, "-m", "uncertainty_gk.cli", "ingest", str(m), "-o", str(mnt / "c.nc"),
                            "-q"], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
        assert sorted(p.name for p in mnt.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


# --------------------------------------------------------------------------- finding 11: kills
def _slow_ingest_script(m, out):
    return textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import uncertainty_gk.archive as a
        real = a.seal_run
        def slow(*args, **kw):           # the run is in the temporary archive, not sealed yet
            print("writing", flush=True)
            time.sleep(30)
            return real(*args, **kw)
        a.seal_run = slow
        a.ingest({str(m)!r}, {str(out)!r})
        """)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_ingest_leaves_no_temp_file_for_long(tmp_path, sig):
    m, _ = _dump_run(tmp_path)
    out = tmp_path / "out" / "c.nc"
    out.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _slow_ingest_script(m, out)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        temps = [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
        assert len(temps) == 1 and f".ugk-{proc.pid}-" in temps[0].name
        proc.send_signal(sig)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    if sig == signal.SIGTERM:
        assert left == [] and proc.returncode == 128 + signal.SIGTERM
    else:
        assert len(left) == 1               # SIGKILL: nothing can run; the next write cleans it
        with pytest.warns(UGKWarning, match="removed 1 stale temporary file"):
            ingest(m, out)
        assert sorted(p.name for p in out.parent.iterdir()) == ["c.nc"]


# --------------------------------------------------------------------------- finding 10: checksums
def _corrupt(path, run, var="positions", n=500):
    with h5py.File(path, "r+") as f:
        d = f[run][var]
        flat = d[:].reshape(-1)
        idx = np.random.default_rng(0).choice(flat.size, size=min(n, flat.size), replace=False)
        flat[idx] += 7
        d[...] = flat.reshape(d.shape)


def test_verify_archive_detects_corrupted_values(tmp_path):
    m, _ = _dump_run(tmp_path)
    out = tmp_path / "c.nc"
    ingest(m, out)
    report = verify_archive(out)
    assert report.ok and report.n_runs == 1 and report.n_arrays >= 8
    _corrupt(out, report_run(out))
    bad = verify_archive(out)
    assert not bad.ok
    assert any("array positions: checksum mismatch (values changed" in p for p in bad.problems)


def report_run(path):
    with h5py.File(path) as f:
        return next(iter(f))


def test_verify_archive_detects_changed_labels(tmp_path):
    m, _ = _dump_run(tmp_path)
    out = tmp_path / "c.nc"
    ingest(m, out)
    with h5py.File(out, "r+") as f:
        g = f[report_run(out)]
        g.attrs["labels"] = '{"seed": 99, "structure": "x"}'
    assert any("attributes" in p for p in verify_archive(out).problems)


def test_reingest_does_not_copy_a_damaged_run(tmp_path):
    """Finding 10: with unchanged inputs, 500 corrupted values were copied into the new archive."""
    m, dump = _dump_run(tmp_path)
    out = tmp_path / "c.nc"
    ingest(m, out)
    with open_archive(out) as camp:
        good = next(iter(camp.values()))["positions"].values.copy()
    _corrupt(out, report_run(out))
    with pytest.warns(UGKWarning, match="inputs unchanged, but the archived copy fails its check .*reading it "
                      "again from its inputs"):
        again = ingest(m, out)
    assert again.n_reused == 0
    assert verify_archive(out).ok
    with open_archive(out) as camp:
        np.testing.assert_array_equal(next(iter(camp.values()))["positions"].values, good)
    # and an intact archive is reused after verification
    assert ingest(m, out).n_reused == 1


def test_cli_verify(tmp_path):
    m, _ = _dump_run(tmp_path)
    out = tmp_path / "c.nc"
    ingest(m, out)
    ok = subprocess.run([sys.executable, "-m", "uncertainty_gk.cli", "verify", str(out)], capture_output=True,
                        text=True)
    assert ok.returncode == 0 and ": OK:" in ok.stdout
    _corrupt(out, report_run(out))
    bad = subprocess.run([sys.executable, "-m", "uncertainty_gk.cli", "verify", str(out)], capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "DAMAGED" in bad.stdout and "positions" in bad.stdout


# --------------------------------------------------------------------------- finding 13: size, exactness
def test_small_run_makes_a_small_archive(tmp_path):
    """Finding 13: a 2-frame 297-atom run took 12.7 MB (chunks sized for 10**9 frames)."""
    m, dump = _dump_run(tmp_path, n_frames=2)
    out = tmp_path / "c.nc"
    ingest(m, out)
    assert out.stat().st_size < 200_000
    assert _chunk_shape(2, 297) == (2, 297, 3)


def test_text_positions_stored_exactly(tmp_path):
    m, dump = _dump_run(tmp_path, n_frames=60)
    out = tmp_path / "c.nc"
    ingest(m, out)
    lines = [ln.split() for ln in dump.read_text().splitlines()]
    rows = [ln for ln in lines if len(ln) == 5 and not ln[0].startswith("ITEM")]
    text = np.array(rows)
    ids = text[:, 0].astype(int)
    n_atoms = ids.max()
    vals = text[:, 2:5].astype(float).reshape(-1, n_atoms, 3)
    order = np.argsort(ids.reshape(-1, n_atoms), axis=1, kind="stable")
    expected = np.take_along_axis(vals, order[:, :, None], axis=1)
    with open_archive(out) as camp:
        got = next(iter(camp.values()))["positions"].values
    np.testing.assert_array_equal(got, expected)      # bit for bit equal to the parsed text
    with h5py.File(out) as f:
        d = f[report_run(out)]["positions"]
        assert d.dtype == np.int64 and d.compression == "gzip" and d.shuffle
        assert d.id.get_storage_size() < 0.5 * got.nbytes


def test_values_with_more_decimals_later_fall_back_to_float64(tmp_path):
    gen = synthetic.generate(n_mobile=9, n_frames=30, n_seeds=1, rng=3)
    ds = gen.runs[0].copy(deep=True)
    pos = np.round(ds["positions"].values, 3)
    pos[25, 0, 0] += 1.23456789e-7                  # one value with many more decimals
    ds["positions"].values[...] = pos
    out = tmp_path / "c.nc"
    write_archive({"r": ds}, out, )
    with open_archive(out) as camp:
        np.testing.assert_array_equal(camp["r"]["positions"].values, pos)
    assert decimals_of(pos[:10]) == 3 and decimals_of(pos) is None


def test_run_named_dotdot_refused(tmp_path):
    gen = synthetic.generate(n_mobile=9, n_frames=5, n_seeds=1, rng=3)
    with pytest.raises(SchemaError, match=r"run name '\.\.'"):
        write_archive({"..": gen.runs[0]}, tmp_path / "c.nc")
    assert list(tmp_path.iterdir()) == []


def test_same_content_twice_in_one_group_refused(tmp_path):
    m, dump = _dump_run(tmp_path)
    copy = dump.with_name("copy.lammpstrj")
    copy.write_bytes(dump.read_bytes())
    m.write_text(m.read_text() + f'[[runs]]\ntrajectory = "{copy}"\nlabels = {{structure = "x", seed = 2}}\n')
    with pytest.raises(CampaignError, match="same content .* one run would count as two independent seeds"):
        ingest(m, tmp_path / "c.nc")


def test_stale_temp_of_dead_process_cleaned_not_of_live(tmp_path):
    target = tmp_path / "c.nc"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".c.nc.ugk-{dead.pid}-abcd1234.tmp"
    live = tmp_path / f".c.nc.ugk-{os.getpid()}-abcd1234.tmp"
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    old = tmp_path / ".c.nc.abcd1234.tmp"               # the naming before the process id
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * fileio.STALE_AGE_S,) * 2)
    with pytest.warns(UGKWarning):
        removed = fileio.clean_stale_temps(target)
    assert sorted(p.name for p in removed) == sorted([stale.name, old.name])
    assert live.exists()


def _xdatcar(path, n_frames=40, variable_cell=False):
    rng = np.random.default_rng(4)
    n = 12
    frac = (rng.uniform(0, 1, (1, n, 3)) + np.cumsum(rng.normal(0, 0.03, (n_frames, n, 3)), axis=0)) % 1.0
    lines = []
    for k in range(n_frames):
        if k == 0 or variable_cell:
            a = 10.0 + (0.01 * k if variable_cell else 0.0)
            lines += ["Li O", "1.0", f"{a:.6f} 0.0 0.0", "0.5 11.0 0.0", "0.0 0.3 12.0", "Li O", "6 6"]
        lines.append(f"Direct configuration= {k + 1:6d}")
        lines += [" ".join(f"{x:.8f}" for x in row) for row in frac[k]]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("variable_cell", [False, True])
def test_xdatcar_positions_stored_compactly_and_exactly(tmp_path, variable_cell):
    """Positions built from 8-decimal fractional text are stored as integers and decoded bit for bit,
    lazily, whatever is indexed."""
    from uncertainty_gk.io.vasp import read_xdatcar

    p = _xdatcar(tmp_path / "XDATCAR", variable_cell=variable_cell)
    direct = read_xdatcar(p, frame_interval_ps=0.1)
    m = tmp_path / "m.toml"
    m.write_text(f'[defaults]\nframe_interval_ps = 0.1\n[[runs]]\ntrajectory = "{p}"\nlabels = {{seed = 1}}\n')
    out = tmp_path / "c.nc"
    ingest(m, out)
    with h5py.File(out) as f:
        d = f[report_run(out)]["positions"]
        assert d.dtype == np.int64 and d.attrs["ugk_encoding"] == "fractional"
    with open_archive(out) as camp:
        ds = next(iter(camp.values()))
        want = direct["positions"].values
        np.testing.assert_array_equal(ds["positions"].values, want)
        np.testing.assert_array_equal(ds["positions"].isel(time=3).values, want[3])
        np.testing.assert_array_equal(ds["positions"].isel(atom=slice(2, 9, 3), xyz=1).values, want[:, 2:9:3, 1])
        np.testing.assert_array_equal(ds["positions"].isel(time=[0, 5, 7], atom=4).values, want[[0, 5, 7], 4])
        assert ds["positions"].attrs["units"] == "angstrom"
    assert verify_archive(out).ok
    assert ingest(m, out).n_reused == 1                     # reuse decodes and re-encodes exactly
    with open_archive(out) as camp:
        np.testing.assert_array_equal(next(iter(camp.values()))["positions"].values, want)
