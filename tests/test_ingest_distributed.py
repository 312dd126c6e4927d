"""`ugk ingest` on a real dask LocalCluster of 2 worker processes (no mocks): each run is
parsed in a worker task into a part file, the parent copies the parts into the archive;
the archive holds the same arrays and attributes, bit for bit, as the single-process one."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import warnings

import h5py
import numpy as np
import pytest

from uncertainty_gk.archive import ingest, open_archive, verify_archive
from uncertainty_gk.errors import DuplicateFramesWarning, InputFormatError

from conftest import EXAMPLES

dd = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    from uncertainty_gk.execution import local_client

    with local_client(2) as c:
        yield c


def _attrs(f, obj) -> dict:
    """Attributes with dimension-scale references shown as the names they point to."""
    out = {}
    for k in obj.attrs:
        v = obj.attrs[k]
        if k == "DIMENSION_LIST":
            v = [[f[r].name for r in np.atleast_1d(row)] for row in v]
        elif k == "REFERENCE_LIST":
            v = [(f[r].name, int(axis)) for r, axis in v]
        elif isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind not in "OSU":
            v = (v.dtype.str, np.shape(v), np.asarray(v).tobytes())        # bit for bit (NaN fill values too)
        elif isinstance(v, (np.ndarray, np.generic)):
            v = (v.dtype.str, np.asarray(v).tolist())
        out[k] = v
    return out


def contents(path) -> dict:
    """Every group and dataset of an HDF5 file: values (raw, as stored), dtype, shape, chunking,
    filters and attributes; and the order of the runs.  The root's creation time is left out."""
    out = {}
    with h5py.File(path, "r") as f:
        root = _attrs(f, f)
        root.pop("created")
        out["/"] = root
        out["runs"] = list(f.keys())

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                raw = np.asarray(obj[()])
                data = repr(raw.tolist()).encode() if raw.dtype.kind in "OSU" else raw.tobytes()
                out[name] = (raw.dtype.str, obj.shape, obj.chunks, obj.compression, obj.compression_opts,
                             obj.shuffle, hashlib.sha256(data).hexdigest(), _attrs(f, obj))
            else:
                out[name] = _attrs(f, obj)

        f.visititems(visit)
    return out


FRAMES = 30


def _campaign(tmp_path, *, bad: bool = False, repeated: bool = False):
    """The bundled 3-seed example cut to its first FRAMES frames, with its logs; optionally a
    4th run whose second frame lost an atom (`bad`) and a 5th whose dump repeats a frame
    (`repeated`, read with a warning)."""
    src = EXAMPLES / "lpso_T1000"
    text = (src / "campaign.toml").read_text()
    frame = None
    for seed in (1, 2, 3):
        run = tmp_path / "runs" / "T1000" / f"s{seed}"
        run.mkdir(parents=True)
        with gzip.open(src / "runs" / "T1000" / f"s{seed}" / "dump.lammpstrj.gz", "rt") as fh:
            lines = fh.read().splitlines(keepends=True)
        frame = 9 + int(lines[3])
        (run / "dump.lammpstrj").write_text("".join(lines[:FRAMES * frame]))
        shutil.copy(src / "runs" / "T1000" / f"s{seed}" / "log.lammps", run / "log.lammps")
    text = text.replace("dump.lammpstrj.gz", "dump.lammpstrj")
    n = frame - 9
    if bad:
        two = lines[:2 * frame]
        two[frame + 3] = f"{n - 1}\n"
        del two[-1]
        (tmp_path / "bad.lammpstrj").write_text("".join(two))
        text += ('\n[[runs]]\ntrajectory = "bad.lammpstrj"\ntimestep_ps = 0.001\n'
                 'labels = {structure = "lpso", model = "pedone", seed = 4}\n')
    if repeated:
        (tmp_path / "rep.lammpstrj").write_text("".join(lines[:3 * frame] + lines[2 * frame:3 * frame]
                                                        + lines[3 * frame:5 * frame]))
        text += ('\n[[runs]]\ntrajectory = "rep.lammpstrj"\ntimestep_ps = 0.001\n'
                 'labels = {structure = "lpso", model = "pedone", seed = 5}\n')
    (tmp_path / "campaign.toml").write_text(text)
    return tmp_path / "campaign.toml"


def test_two_workers_write_the_single_process_archive(tmp_path, client):
    m = _campaign(tmp_path, repeated=True)
    with pytest.warns(DuplicateFramesWarning):
        here = ingest(m, tmp_path / "one.nc")
    with pytest.warns(DuplicateFramesWarning, match="rep.lammpstrj"):       # the worker's warning, re-raised here
        there = ingest(m, tmp_path / "two.nc", client=client)
    assert [(r.name, r.n_frames, r.notes) for r in here.runs] == [(r.name, r.n_frames, r.notes) for r in there.runs]
    one, two = contents(tmp_path / "one.nc"), contents(tmp_path / "two.nc")
    assert one.keys() == two.keys()
    for key in one:
        assert one[key] == two[key], key
    assert verify_archive(tmp_path / "two.nc").ok
    with open_archive(tmp_path / "one.nc") as a, open_archive(tmp_path / "two.nc") as b:
        for name in a.runs:
            assert a.runs[name].identical(b.runs[name])
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []      # parts removed

    # re-ingest: seed 2's log changed, seeds 1, 3 and 5 are copied from the archive
    log = tmp_path / "runs" / "T1000" / "s2" / "log.lammps"
    log.write_text(log.read_text() + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again_here = ingest(m, tmp_path / "one.nc")
        again_there = ingest(m, tmp_path / "two.nc", client=client)
    assert [r.reused for r in again_here.runs] == [r.reused for r in again_there.runs] == [True, False, True, True]
    assert contents(tmp_path / "one.nc") == contents(tmp_path / "two.nc")


def test_a_bad_run_is_named_and_the_others_are_archived(tmp_path, client):
    m = _campaign(tmp_path, bad=True)
    out = tmp_path / "c.nc"
    with pytest.raises(InputFormatError, match=r"bad\.lammpstrj frame 1.*expected 297 atoms, found 296"):
        ingest(m, out, client=client)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    failed_there, failed_here = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = ingest(m, out, client=client, on_run_error=lambda name, exc: failed_there.append((name, str(exc))))
        ingest(m, tmp_path / "one.nc", on_run_error=lambda name, exc: failed_here.append((name, str(exc))))
    assert [r.name for r in report.runs] == ["lpso_pedone_seed1_T1000", "lpso_pedone_seed2_T1000",
                                             "lpso_pedone_seed3_T1000"]
    assert failed_there == failed_here and len(failed_there) == 1 and "bad.lammpstrj" in failed_there[0][1]
    assert contents(out) == contents(tmp_path / "one.nc")


def test_cli_ingest_on_a_running_scheduler(tmp_path, client, capsys):
    from uncertainty_gk.cli import main

    m = _campaign(tmp_path, bad=True)
    out = tmp_path / "c.nc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["ingest", str(m), "-o", str(out), "--scheduler", client.scheduler.address, "--keep-going",
                     "-q"])
    err = capsys.readouterr()
    assert code == 1
    assert "error: run lpso_pedone_seed4_T1000:" in err.err and "expected 297 atoms, found 296" in err.err
    assert "3 runs" in err.out and "lpso_pedone_seed4_T1000" in err.out
    assert verify_archive(out).ok


def test_parts_of_a_killed_ingest_are_removed_by_the_next_write(tmp_path):
    from uncertainty_gk import fileio

    parts = tmp_path / ".c.nc.ugk-999999999-abcd.tmp"          # no such process
    parts.mkdir()
    (parts / "run0.nc").write_bytes(b"partial")
    with pytest.warns(UserWarning, match="stale temporary"):
        removed = fileio.clean_stale_temps(tmp_path / "c.nc")
    assert removed == [parts] and not parts.exists()


def _fix_bad_dump(tmp_path) -> None:
    """Replace the corrupted dump by the first two frames of seed 3 (a readable run)."""
    lines = (tmp_path / "runs" / "T1000" / "s3" / "dump.lammpstrj").read_text().splitlines(keepends=True)
    frame = 9 + int(lines[3])
    (tmp_path / "bad.lammpstrj").write_text("".join(lines[:2 * frame]))


GOOD = ["lpso_pedone_seed1_T1000", "lpso_pedone_seed2_T1000", "lpso_pedone_seed3_T1000"]
BAD = "lpso_pedone_seed4_T1000"


@pytest.mark.parametrize("where", ["here", "workers"])
def test_zarr_keep_going_writes_the_good_runs_and_names_the_bad_one(tmp_path, client, capsys, where):
    """`ugk ingest -o x.zarr --keep-going` as for netCDF: the readable runs are written
    complete, the bad one is named (file, frame) and leaves no trace, exit status 1; after
    the file is fixed a rerun adds only that run."""
    pytest.importorskip("zarr")
    from uncertainty_gk.cli import main

    m = _campaign(tmp_path, bad=True)
    store = tmp_path / "c.zarr"
    run_on = ["--scheduler", client.scheduler.address] if where == "workers" else []
    code = main(["ingest", str(m), "-o", str(store), "--keep-going", "-q", *run_on])
    out = capsys.readouterr()
    assert code == 1
    assert f"error: run {BAD}:" in out.err and "bad.lammpstrj frame 1" in out.err
    assert "expected 297 atoms, found 296" in out.err
    assert "3 runs" in out.out and BAD in out.out
    assert sorted(p.name for p in store.iterdir()) == sorted(GOOD + ["zarr.json"])   # no trace of the bad run
    report = verify_archive(store)
    assert report.ok and report.n_runs == 3 and not report.incomplete
    with open_archive(store) as camp:
        assert sorted(camp) == GOOD
        assert all(camp[name].sizes["time"] == FRAMES for name in GOOD)
    # the same runs as a netCDF ingest with --keep-going
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest(m, tmp_path / "c.nc", on_run_error=lambda name, exc: None)
    with open_archive(store) as a, open_archive(tmp_path / "c.nc") as b:
        for name in GOOD:
            np.testing.assert_array_equal(a[name]["positions"].values, b[name]["positions"].values)
    # without --keep-going the bad run is raised (the good runs stay, as written)
    with pytest.raises(InputFormatError, match=r"bad\.lammpstrj frame 1"):
        ingest(m, store, client=client if where == "workers" else None)
    assert sorted(p.name for p in store.iterdir()) == sorted(GOOD + ["zarr.json"])
    stamp = {p: p.stat().st_mtime_ns for p in store.rglob("*") if p.is_file() and p.parent != store}
    _fix_bad_dump(tmp_path)
    again = ingest(m, store, client=client if where == "workers" else None)
    assert [r.reused for r in again.runs] == [True, True, True, False]
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp           # the good runs were not rewritten
    assert sorted(p.name for p in store.iterdir()) == sorted(GOOD + [BAD, "zarr.json"])
    with open_archive(store) as camp:
        assert camp[BAD].sizes["time"] == 2
    assert verify_archive(store).ok


def test_zarr_keep_going_when_no_run_can_be_read(tmp_path):
    pytest.importorskip("zarr")
    from uncertainty_gk.errors import UGKError

    m = _campaign(tmp_path, bad=True)
    text = m.read_text()
    head, runs = text.split("[[runs]]", 1)
    m.write_text(head + "[[runs]]" + runs.split("[[runs]]")[-1])          # only the bad run
    failed = []
    with pytest.raises(UGKError, match="no run of the manifest could be read"):
        ingest(m, tmp_path / "c.zarr", on_run_error=lambda name, exc: failed.append(name))
    assert failed == [BAD] and not (tmp_path / "c.zarr").exists()
