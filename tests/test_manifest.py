"""Campaign manifest parsing and its error messages."""

import pytest

from uncertainty_gk.errors import ManifestError
from uncertainty_gk.manifest import detect_format, load_manifest


def write(tmp_path, text, files=("a/dump.lammpstrj", "a/log.lammps")):
    for f in files:
        p = tmp_path / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("ITEM: TIMESTEP\n0\n")
    m = tmp_path / "campaign.toml"
    m.write_text(text)
    return m


GOOD = """
[defaults]
types = {1 = "Li", 2 = "P", 3 = "O", 4 = "Si"}
charges = {Li = 1, P = 5, Si = 4, O = -2}
mobile = ["Li"]
timestep_ps = 0.001
temperature_K = 1000

[[runs]]
trajectory = "a/dump.lammpstrj"
log = "a/log.lammps"
labels = {structure = "struct1", model = "medium", seed = 1}
"""


def test_issue_example_form(tmp_path):
    m = load_manifest(write(tmp_path, GOOD))
    (run,) = m.runs
    assert run.trajectory == [tmp_path / "a/dump.lammpstrj"]
    assert run.log == tmp_path / "a/log.lammps"
    assert run.options["types"] == {1: "Li", 2: "P", 3: "O", 4: "Si"}
    assert run.options["timestep_ps"] == 0.001
    assert run.labels == {"structure": "struct1", "model": "medium", "seed": 1, "temperature_K": 1000}
    assert run.group_labels() == {"structure": "struct1", "model": "medium", "temperature_K": 1000}
    assert run.name == "struct1_medium_seed1_T1000"
    assert run.format == "lammps-dump"


def test_unknown_key_names_valid_keys(tmp_path):
    text = GOOD.replace("mobile = [\"Li\"]", "mobil = [\"Li\"]")
    with pytest.raises(ManifestError, match=r"\[defaults\]: unknown key\(s\) \['mobil'\]; valid keys"):
        load_manifest(write(tmp_path, text))


def test_unknown_run_key(tmp_path):
    text = GOOD + 'trajectroy = "x"\n'
    with pytest.raises(ManifestError, match=r"runs\[0\]: unknown key\(s\) \['trajectroy'\]"):
        load_manifest(write(tmp_path, text))


def test_missing_file_is_named(tmp_path):
    text = GOOD.replace("a/log.lammps", "a/log.missing")
    with pytest.raises(ManifestError, match=r"runs\[0\]: file not found: .*a/log.missing"):
        load_manifest(write(tmp_path, text))


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        load_manifest(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path):
    with pytest.raises(ManifestError, match="invalid TOML"):
        load_manifest(write(tmp_path, "[defaults\n"))


def test_no_runs(tmp_path):
    with pytest.raises(ManifestError, match=r"no \[\[runs\]\] entries"):
        load_manifest(write(tmp_path, "[defaults]\nmobile = ['Li']\n"))


def test_bad_number(tmp_path):
    with pytest.raises(ManifestError, match="timestep_ps must be a positive number, found -1"):
        load_manifest(write(tmp_path, GOOD.replace("timestep_ps = 0.001", "timestep_ps = -1")))


def test_bad_types(tmp_path):
    with pytest.raises(ManifestError, match="types must map integer LAMMPS types"):
        load_manifest(write(tmp_path, GOOD.replace('1 = "Li"', 'Li = "Li"')))


def test_duplicate_runs(tmp_path):
    text = GOOD + GOOD[GOOD.index("[[runs]]"):]
    with pytest.raises(ManifestError, match="identical labels"):
        load_manifest(write(tmp_path, text))


def test_glob_with_label_pattern(tmp_path):
    files = [f"aimd/Li6PS5Cl_{d}_run{r}.XDATCAR.gz" for d in ("0p", "50p") for r in (1, 2)]
    text = """
[defaults]
frame_interval_ps = 0.1
temperature_K = 500
[[runs]]
glob = "aimd/*.XDATCAR.gz"
label_pattern = 'Li6PS5Cl_(?P<disorder>\\w+?)_run(?P<seed>\\d+)'
labels = {structure = "argyrodite"}
"""
    m = load_manifest(write(tmp_path, text, files=files))
    assert len(m.runs) == 4
    labels = [r.labels for r in m.runs]
    assert {"structure": "argyrodite", "disorder": "0p", "seed": 1, "temperature_K": 500} in labels
    assert all(r.format == "xdatcar" for r in m.runs)
    assert len({r.name for r in m.runs}) == 4


def test_glob_matching_nothing(tmp_path):
    text = '[[runs]]\nglob = "nothing/*.xyz"\n'
    with pytest.raises(ManifestError, match="matches no file"):
        load_manifest(write(tmp_path, text))


def test_detect_format_by_content(tmp_path):
    p = tmp_path / "traj.txt"
    p.write_text("ITEM: TIMESTEP\n0\n")
    assert detect_format(p) == "lammps-dump"
    q = tmp_path / "mystery.bin"
    q.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ManifestError, match="cannot tell the trajectory format"):
        detect_format(q)
