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
    with pytest.raises(ManifestError, match=r"timestep_ps = -1 is outside the physical range \[1e-06, 0.1\]"):
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


# --------------------------------------------------------------------------- issue 14 regressions
@pytest.mark.parametrize("old,new,match", [
    ('labels = {structure = "struct1", model = "medium", seed = 1}', 'labels = "seed1"', "labels must be a table"),
    ('trajectory = "a/dump.lammpstrj"', "trajectory = 5", "trajectory must be a path or a list of paths"),
    ('trajectory = "a/dump.lammpstrj"', "trajectory = []", "trajectory must be a path or a list of paths"),
    ('log = "a/log.lammps"', "log = 5", "log must be a string, found 5"),
    ('mobile = ["Li"]', "mobile = 3", "mobile must be an element or a list of elements"),
    ('labels = {structure = "struct1", model = "medium", seed = 1}',
     "labels = {structure = 2024-05-01T10:00:00, seed = 1}", r"label structure = datetime.*quote dates"),
    ("temperature_K = 1000", "temperature_K = inf", r"temperature_K = inf is outside the physical range"),
    ("temperature_K = 1000", "temperature_K = 1e9", r"temperature_K = 1000000000.0 is outside"),
    ("timestep_ps = 0.001", "timestep_ps = 1e-30", r"timestep_ps = 1e-30 is outside the physical range"),
    ("timestep_ps = 0.001", "timestep_ps = nan", r"timestep_ps = nan is outside"),
    ('trajectory = "a/dump.lammpstrj"', 'trajectory = "a/dump.lammpstrj"\nname = ".."', "must not start with '.'"),
    ('trajectory = "a/dump.lammpstrj"', 'trajectory = "a/dump.lammpstrj"\nname = "a/b"', "may contain only"),
])
def test_manifest_type_errors_are_clear(tmp_path, old, new, match):
    """Finding 8/9: wrong types gave tracebacks; absurd values were accepted."""
    assert old in GOOD
    with pytest.raises(ManifestError, match=match):
        load_manifest(write(tmp_path, GOOD.replace(old, new)))


@pytest.mark.parametrize("text,match", [
    ("defaults = 5\n[[runs]]\ntrajectory = 'a/dump.lammpstrj'", r"\[defaults\] must be a table"),
    ("runs = [1]", "runs must be an array of tables"),
    ("[[runs]]\nglob = 'a/*.lammpstrj'\nlabel_pattern = '(?P<seed'", "label_pattern .* is not a valid regular"),
])
def test_manifest_structure_errors_are_clear(tmp_path, text, match):
    with pytest.raises(ManifestError, match=match):
        load_manifest(write(tmp_path, text))


def test_same_file_twice_in_one_group_refused(tmp_path):
    """Finding 9: the same file listed as two seeds was pooled as two independent seeds."""
    text = GOOD + GOOD[GOOD.index("[[runs]]"):].replace("seed = 1", "seed = 2")
    with pytest.raises(ManifestError, match=r"runs\[1\]: trajectory .*dump.lammpstrj is also listed by .*runs\[0\] "
                       "in the same group"):
        load_manifest(write(tmp_path, text))


def test_generated_run_names_cannot_escape(tmp_path):
    text = GOOD.replace('labels = {structure = "struct1", model = "medium", seed = 1}', 'labels = {structure = ".."}')
    (run,) = load_manifest(write(tmp_path, text)).runs
    assert not run.name.startswith(".") and "/" not in run.name
