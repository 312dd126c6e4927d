"""End-to-end ingest: manifest -> archive; positions equal the inputs; re-ingest by hash."""

import gzip
import json
import shutil

import numpy as np
import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.archive import ingest, open_archive
from uncertainty_gk.errors import CampaignError, UGKError
from uncertainty_gk.io.lammps_dump import read_lammps_dump
from uncertainty_gk.schema import sha256_file, validate

from conftest import EXAMPLES


def parse_dump_text(path):
    """Independent minimal parser of an `id type xu yu zu` dump: (frames, atoms, 3) sorted by id."""
    opener = gzip.open if str(path).endswith(".gz") else open
    frames = []
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    i = 0
    while i < len(lines):
        assert lines[i] == "ITEM: TIMESTEP"
        n = int(lines[i + 3])
        rows = np.array([line.split() for line in lines[i + 9:i + 9 + n]], dtype=float)
        rows = rows[np.argsort(rows[:, 0])]
        frames.append(rows[:, 2:5])
        i += 9 + n
    return np.array(frames)


@pytest.fixture
def tiny_copy(tmp_path):
    dst = tmp_path / "tiny"
    shutil.copytree(EXAMPLES / "tiny", dst)
    return dst


def test_tiny_example_roundtrip(tiny_copy, tmp_path):
    out = tmp_path / "tiny.nc"
    before = {p: sha256_file(p) for p in tiny_copy.rglob("*") if p.is_file()}
    report = ingest(tiny_copy / "campaign.toml", out)
    assert report.runs[0].n_atoms == 297
    after = {p: sha256_file(p) for p in tiny_copy.rglob("*") if p.is_file()}
    assert before == after, "inputs must never be modified"
    dump = next(tiny_copy.rglob("dump*"))
    expected = parse_dump_text(dump)
    with open_archive(out) as camp:
        (name, ds), = camp.items()
        validate(ds, name=name)
        np.testing.assert_array_equal(ds["positions"].values, expected)
        assert ds.attrs["timestep_ps"] == pytest.approx(0.001)  # from the log
        assert ds["time"].values[1] - ds["time"].values[0] == pytest.approx(0.02)
        assert sorted(set(ds["species"].values.tolist())) == ["Li", "O", "P", "Si"]
        assert "thermo_Temp" in ds and ds["thermo_Temp"].attrs["units"] == "K"
        roles = {s["role"] for s in json.loads(ds.attrs["sources"])}
        assert roles == {"trajectory", "log"}
        q = dict(zip(ds["species"].values.tolist(), ds["charge"].values.tolist()))
        assert q["Li"] == pytest.approx(0.6) and q["O"] == pytest.approx(-1.2)


def test_reingest_reuses_unchanged_runs(tiny_copy, tmp_path):
    out = tmp_path / "tiny.nc"
    ingest(tiny_copy / "campaign.toml", out)
    again = ingest(tiny_copy / "campaign.toml", out)
    assert again.n_reused == 1
    with open_archive(out) as camp:
        ds = next(iter(camp.values()))
        assert ds.sizes["time"] == 101
    # change an option -> the run is read again
    m = tiny_copy / "campaign.toml"
    m.write_text(m.read_text().replace('mobile = ["Li"]', 'mobile = ["Li", "O"]'))
    third = ingest(m, out)
    assert third.n_reused == 0


def test_archive_with_foreign_runs_is_not_silently_dropped(tiny_copy, tmp_path):
    out = tmp_path / "tiny.nc"
    ingest(tiny_copy / "campaign.toml", out)
    m = tiny_copy / "campaign.toml"
    m.write_text(m.read_text().replace("seed = 1", "seed = 7"))
    with pytest.raises(UGKError, match="holds runs not in the manifest"):
        ingest(m, out)
    assert ingest(m, out, overwrite=True).runs[0].name.endswith("seed7_T1000")


def test_output_equal_to_input_refused(tiny_copy):
    dump = next(tiny_copy.rglob("dump*"))
    with pytest.raises(UGKError, match="the output is one of the inputs"):
        ingest(tiny_copy / "campaign.toml", dump)


def _two_systems(tmp_path, **second):
    a = synthetic.generate(n_mobile=9, n_frames=20, n_seeds=1, rng=1)
    b = synthetic.generate(**{"n_mobile": 9, "n_frames": 20, "n_seeds": 1, "rng": 2, **second})
    pa = a.write_lammps_dumps(tmp_path / "a", prefix="a")[0]
    pb = b.write_lammps_dumps(tmp_path / "b", prefix="b")[0]
    types = ", ".join(f'{k} = "{v}"' for k, v in a.types.items())
    m = tmp_path / "c.toml"
    m.write_text(f"""
[defaults]
types = {{{types}}}
timestep_ps = 0.001
temperature_K = 800
[[runs]]
trajectory = "{pa}"
labels = {{structure = "x", seed = 1}}
[[runs]]
trajectory = "{pb}"
labels = {{structure = "x", seed = 2}}
""")
    return m


def test_seeds_with_different_atoms_are_refused(tmp_path):
    m = _two_systems(tmp_path, n_mobile=18)
    with pytest.raises(CampaignError, match="different atoms"):
        ingest(m, tmp_path / "c.nc")
    assert not (tmp_path / "c.nc").exists()


def test_seeds_with_different_frame_intervals_are_refused(tmp_path):
    m = _two_systems(tmp_path, frame_interval_ps=0.2)
    with pytest.raises(CampaignError, match="different frame intervals"):
        ingest(m, tmp_path / "c.nc")


def test_shared_lpso_positions_equal_dumps(shared_data, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    subprocess.run([sys.executable, str(ROOT / "studies/shared_data/make_manifests.py"), str(shared_data),
                    str(tmp_path)], check=True, capture_output=True)
    out = tmp_path / "lpso.nc"
    report = ingest(tmp_path / "lpso_T1000.toml", out)
    assert [r.n_frames for r in report.runs] == [501, 501, 501]
    with open_archive(out) as camp:
        for s in (1, 2, 3):
            ds = camp.select(seed=s)
            (ds,) = ds.values()
            dump = shared_data / "lammps" / "lpso_T1000" / f"dump.T1000_s{s}.lammpstrj"
            np.testing.assert_array_equal(ds["positions"].values, parse_dump_text(dump))
            assert ds["time"].values[-1] == pytest.approx(100.0)
            assert int(ds.sizes["thermo"]) > 0


def test_shared_argyrodite_17_runs(shared_data, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    subprocess.run([sys.executable, str(ROOT / "studies/shared_data/make_manifests.py"), str(shared_data),
                    str(tmp_path)], check=True, capture_output=True)
    report = ingest(tmp_path / "argyrodite.toml", tmp_path / "argy.nc")
    assert len(report.runs) == 17
    with open_archive(tmp_path / "argy.nc") as camp:
        assert {len(g) for g in camp.groups().values()} == {5, 6}
        assert sorted({camp.labels(n)["disorder"] for n in camp}) == ["0p", "100p", "50p"]
        ds = next(iter(camp.values()))
        assert ds.sizes["atom"] == 416


def test_read_lammps_dump_matches_archive(tiny_copy, tmp_path):
    dump = next(tiny_copy.rglob("dump*"))
    ds = read_lammps_dump(dump, types={1: "Li", 2: "P", 3: "O", 4: "Si"}, timestep_ps=0.001)
    np.testing.assert_array_equal(ds["positions"].values, parse_dump_text(dump))
