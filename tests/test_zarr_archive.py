"""zarr campaign stores: same data and checksums as netCDF, appendable, atomic per run,
read transparently by every command, converted both ways (uncertainty_gk.zarr_archive)."""

import json
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

pytest.importorskip("zarr")

from uncertainty_gk import synthetic  # noqa: E402
from uncertainty_gk.archive import ingest, open_archive, verify_archive, write_archive  # noqa: E402
from uncertainty_gk.cli import main  # noqa: E402
from uncertainty_gk.errors import OutputError, UGKError, UGKWarning  # noqa: E402
from uncertainty_gk.zarr_archive import (COMPLETE_ATTR, convert_archive, copy_run_zarr, create_store,  # noqa: E402
                                         require_zarr)

from conftest import EXAMPLES  # noqa: E402


@pytest.fixture(scope="module")
def system():
    return synthetic.generate(n_mobile=12, n_frames=400, n_seeds=2, rng=11)


@pytest.fixture(scope="module")
def both(system, tmp_path_factory):
    """The same runs written as a netCDF archive and as a zarr store."""
    d = tmp_path_factory.mktemp("both")
    write_archive(system.runs, d / "a.nc")
    write_archive(system.runs, d / "a.zarr")
    return d / "a.nc", d / "a.zarr"


def checksums(path) -> dict:
    with open_archive(path) as camp:
        return {name: json.loads(ds.attrs["ugk_checksums"]) for name, ds in camp.items()}


def assert_same_runs(path_a, path_b):
    """Every variable (values and dtype) and attribute of every run is the same."""
    with open_archive(path_a) as a, open_archive(path_b) as b:
        assert sorted(a) == sorted(b)
        for name in a:
            da, db = a[name].load(), b[name].load()
            assert set(da.variables) == set(db.variables)
            for v in da.variables:
                assert da[v].dtype == db[v].dtype, (name, v)
                np.testing.assert_array_equal(da[v].values, db[v].values)
            strip = {"ugk_checksums", "ugk_complete"}
            assert {k for k in da.attrs if k not in strip} == {k for k in db.attrs if k not in strip}
            for k in set(da.attrs) - strip:
                va, vb = np.asarray(da.attrs[k]).reshape(-1), np.asarray(db.attrs[k]).reshape(-1)
                if va.dtype.kind == "f":     # the frame interval is the median of the time steps (roundoff)
                    np.testing.assert_allclose(va, vb, rtol=1e-12, err_msg=k)
                else:
                    assert va.tolist() == vb.tolist(), k


def shared_checksums_equal(a: dict, b: dict):
    """The checksums of every array stored in both (netCDF also stores bare dimension scales)."""
    for name in a:
        common = set(a[name]["arrays"]) & set(b[name]["arrays"])
        assert {"positions", "time", "cell", "species", "mobile", "charge"} <= common
        for k in common:
            assert a[name]["arrays"][k] == b[name]["arrays"][k], (name, k)


def test_zarr_store_holds_the_same_runs_and_checksums_as_netcdf(both, system):
    nc, zs = both
    assert zs.is_dir() and (zs / "zarr.json").is_file()
    assert_same_runs(nc, zs)
    shared_checksums_equal(checksums(nc), checksums(zs))
    report = verify_archive(zs)
    assert report.ok and report.n_runs == 2 and not report.incomplete
    with open_archive(zs) as camp:       # the generated positions, exactly
        np.testing.assert_array_equal(camp[next(iter(camp))]["positions"].values, system.runs[0]["positions"].values)


def test_convert_both_ways_keeps_data_and_checksums(both, tmp_path):
    nc, _ = both
    zs, back = tmp_path / "c.zarr", tmp_path / "back.nc"
    assert main(["convert", str(nc), str(zs), "-q"]) == 0
    assert main(["convert", str(zs), str(back), "-q"]) == 0
    assert_same_runs(nc, zs)
    assert_same_runs(nc, back)
    shared_checksums_equal(checksums(nc), checksums(back))
    shared_checksums_equal(checksums(nc), checksums(zs))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]     # no temporary left
    with pytest.raises(OutputError, match="one of the inputs"):
        convert_archive(zs, zs, overwrite=True)
    with pytest.raises(UGKError, match="exists"):
        convert_archive(nc, zs)
    before = checksums(zs)
    convert_archive(back, zs, overwrite=True)            # replaced as a whole
    assert checksums(zs) == before


def test_ingest_appends_a_run_without_rewriting_the_others(tmp_path, system):
    tiny = tmp_path / "tiny"
    shutil.copytree(EXAMPLES / "tiny", tiny)
    store = tmp_path / "camp.zarr"
    first = ingest(tiny / "campaign.toml", store)
    name = first.runs[0].name
    stamp = {p.relative_to(store): (p.stat().st_ino, p.stat().st_mtime_ns)
             for p in (store / name).rglob("*") if p.is_file()}
    dump = system.write_lammps_dumps(tmp_path / "syn", prefix="syn")[0]
    manifest = (tiny / "campaign.toml").read_text() + f"""
[[runs]]
trajectory = "{dump}"
labels = {{structure = "synthetic", model = "pedone", seed = 1}}
types = {json.dumps({str(k): v for k, v in system.types.items()}).replace('": ', '" = ')}
frame_interval_ps = 0.1
"""
    (tiny / "two.toml").write_text(manifest)
    second = ingest(tiny / "two.toml", store)
    assert [r.reused for r in second.runs] == [True, False]
    after = {p.relative_to(store): (p.stat().st_ino, p.stat().st_mtime_ns)
             for p in (store / name).rglob("*") if p.is_file()}
    assert after == stamp                                # the first run was not touched
    with open_archive(store) as camp:
        assert len(camp) == 2
        np.testing.assert_allclose(camp[second.runs[1].name]["positions"].values,      # the dump's 8 decimals
                                   system.runs[0]["positions"].values, rtol=0, atol=5.01e-9)
    assert verify_archive(store).ok
    # the same two ingests into netCDF give the same runs
    ingest(tiny / "campaign.toml", tmp_path / "camp.nc")
    ingest(tiny / "two.toml", tmp_path / "camp.nc")
    assert_same_runs(tmp_path / "camp.nc", store)
    # runs the manifest no longer lists are kept unless --overwrite
    with pytest.raises(UGKError, match="not in the manifest"):
        ingest(tiny / "campaign.toml", store)


def test_incomplete_groups_are_ignored_reported_and_cleaned(both, tmp_path):
    _, zs = both
    store = tmp_path / "s.zarr"
    shutil.copytree(zs, store)
    zarr = require_zarr()
    runs = sorted(p.name for p in store.iterdir() if p.is_dir())
    # a writer killed after writing everything but the completion marker ...
    shutil.copytree(store / runs[0], store / "half")
    g = zarr.open_group(str(store), path="half", mode="r+")
    del g.attrs[COMPLETE_ATTR]
    # ... and one killed mid-write, under its temporary name (pid 2**22 + 1 cannot exist)
    dead = f".{runs[1]}.ugk-{2**22 + 1}-deadbeef.tmp"
    shutil.copytree(store / runs[1], store / dead)
    with open_archive(store) as camp:
        assert sorted(camp) == runs
    report = verify_archive(store)
    assert report.ok and report.n_runs == 2 and sorted(report.incomplete) == sorted([dead, "half"])
    assert "2 incomplete run group(s)" in report.summary()
    # a new run added by another writer removes the dead writer's temporary group
    with open_archive(zs) as camp, pytest.warns(UGKWarning, match="stale temporary"):
        copy_run_zarr(store, "extra", camp[runs[0]])
    assert not (store / dead).exists()
    assert sorted(open_archive(store)) == sorted(runs + ["extra"])


def _write_one(store, source, name):
    with open_archive(source) as camp:
        copy_run_zarr(store, f"copy_{name}", camp[name])
    return os.getpid()


def test_parallel_writers_each_write_their_own_run(both, tmp_path):
    nc, _ = both
    store = create_store(tmp_path / "p.zarr")
    names = sorted(open_archive(nc))
    with ProcessPoolExecutor(2) as pool:
        pids = list(pool.map(_write_one, [store] * 2, [nc] * 2, names))
    assert os.getpid() not in pids
    report = verify_archive(store)
    assert report.ok and report.n_runs == 2
    with open_archive(store) as out, open_archive(nc) as src:
        for n in names:
            np.testing.assert_array_equal(out[f"copy_{n}"]["positions"].values, src[n]["positions"].values)


def test_every_command_reads_either_format(both, capsys):
    import uncertainty_gk as ugk
    from uncertainty_gk.archive import load_runs

    nc, zs = both
    for path in (nc, zs):
        assert main(["verify", str(path)]) == 0
        assert main(["info", str(path)]) == 0
        assert main(["diagnose", str(path), "-q"]) == 0
    assert "OK" in capsys.readouterr().out
    settings = ugk.AnalysisSettings(method="block", per_seed=False, seed=1)
    results = []
    for path in (nc, zs):                                # what `ugk analyze` does with either
        with load_runs(path) as camp:
            results.append(ugk.analyse(camp, settings))
    for q in ("sigma", "sigma_tr", "D_tr"):
        a, b = (r.groups[0].quantities[q] for r in results)
        assert np.array_equal([a.median, a.lower, a.upper], [b.median, b.lower, b.upper], equal_nan=True)
    assert results[0].groups[0].fitted_lags_ps == results[1].groups[0].fitted_lags_ps


def test_missing_zarr_is_a_clear_error(tmp_path, monkeypatch, system):
    monkeypatch.setitem(sys.modules, "zarr", None)       # as if the extra were not installed
    with pytest.raises(UGKError, match=r"uncertainty_gk\[zarr\]"):
        write_archive(system.runs[:1], tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()


def test_huge_run_path_reads_a_zarr_store_out_of_core(both, tmp_path):
    """The out-of-core MSD (atom spool) over a zarr-backed run equals the in-memory one bit for bit."""
    from uncertainty_gk.displacement import polarisation_msd, tracer_msd

    _, zs = both
    with open_archive(zs) as camp:
        lazy = camp[next(iter(camp))]
        tr = tracer_msd(lazy, chunk_atoms=5, out_of_core=True, spool_dir=tmp_path)
        po = polarisation_msd(lazy)
        mem = lazy.load()
    np.testing.assert_array_equal(tr["msd"].values, tracer_msd(mem)["msd"].values)
    np.testing.assert_array_equal(po["msd"].values, polarisation_msd(mem)["msd"].values)
