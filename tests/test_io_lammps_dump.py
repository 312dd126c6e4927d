"""LAMMPS text dump reader: hand-checked values, column variants, boxes, joins, real data."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from uncertainty_gk.errors import DuplicateFramesWarning
from uncertainty_gk.io import lammps_dump
from uncertainty_gk.io.lammps_dump import LammpsDumpReader, read_lammps_dump

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_DUMP = SHARED / "lammps" / "lpso_T1000" / "dump.T1000_s1.lammpstrj"


# --------------------------------------------------------------------------- helpers
def write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"))
    return path


def frame(step, rows, columns="id type xu yu zu", bounds=((0, 10), (0, 10), (0, 10)), n=None,
          box_flags="pp pp pp"):
    """Text of one frame; ``rows`` are lists of values, ``bounds`` 3 rows of 2 or 3 numbers."""
    head = "BOX BOUNDS " + ("xy xz yz " if len(bounds[0]) == 3 else "") + box_flags
    lines = ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(len(rows) if n is None else n),
             f"ITEM: {head}"]
    lines += [" ".join(str(v) for v in b) for b in bounds]
    lines.append(f"ITEM: ATOMS {columns}")
    lines += [" ".join(str(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


def read_all(paths, **kw):
    reader = LammpsDumpReader(paths, **kw)
    chunks = list(reader.iter_chunks())
    cat = {name: (None if getattr(chunks[0], name) is None else
                  np.concatenate([getattr(c, name) for c in chunks]))
           for name in ("positions", "cell", "step", "velocities", "forces")}
    return reader, chunks, cat


def reference_parse(path):
    """Slow, obviously-correct parser of the frames of a dump (any column variant, any box)."""
    opener = gzip.open if Path(path).read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    out = []
    i = 0
    while i < len(lines):
        assert lines[i] == "ITEM: TIMESTEP"
        step = int(lines[i + 1])
        n = int(lines[i + 3])
        bounds = [[float(v) for v in lines[i + 5 + k].split()] for k in range(3)]
        cols = lines[i + 8].split()[2:]
        rows = [lines[i + 9 + k].split() for k in range(n)]
        i += 9 + n
        if len(bounds[0]) == 3:
            (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = bounds
            xlo = xlo_b - min(0.0, xy, xz, xy + xz)
            xhi = xhi_b - max(0.0, xy, xz, xy + xz)
            ylo = ylo_b - min(0.0, yz)
            yhi = yhi_b - max(0.0, yz)
        else:
            (xlo, xhi), (ylo, yhi), (zlo, zhi) = bounds
            xy = xz = yz = 0.0
        a = np.array([xhi - xlo, 0, 0])
        b = np.array([xy, yhi - ylo, 0])
        c = np.array([xz, yz, zhi - zlo])
        origin = np.array([xlo, ylo, zlo])
        atoms = {}
        for r in rows:
            d = dict(zip(cols, r))
            if "xu" in d:
                p = np.array([float(d["xu"]), float(d["yu"]), float(d["zu"])])
            elif "x" in d:
                p = np.array([float(d["x"]), float(d["y"]), float(d["z"])])
                p = p + int(d["ix"]) * a + int(d["iy"]) * b + int(d["iz"]) * c
            elif "xsu" in d:
                s = [float(d["xsu"]), float(d["ysu"]), float(d["zsu"])]
                p = origin + s[0] * a + s[1] * b + s[2] * c
            else:
                s = [float(d["xs"]) + int(d["ix"]), float(d["ys"]) + int(d["iy"]), float(d["zs"]) + int(d["iz"])]
                p = origin + s[0] * a + s[1] * b + s[2] * c
            atoms[int(d["id"])] = p
        ids = sorted(atoms)
        out.append((step, np.array([atoms[k] for k in ids]), np.array([a, b, c])))
    return out


# --------------------------------------------------------------------------- basic
def test_orthogonal_xu_hand_values(tmp_path):
    p = write(tmp_path / "dump.lammpstrj", """
ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
0.0 10.0
-1.0 11.0
2.0 16.0
ITEM: ATOMS id type xu yu zu
1 1 0.5 1.5 2.5
2 2 3.0 4.0 5.0
3 1 -1.25 12.5 7.0
ITEM: TIMESTEP
100
ITEM: NUMBER OF ATOMS
3
ITEM: BOX BOUNDS pp pp pp
0.0 10.0
-1.0 11.0
2.0 16.0
ITEM: ATOMS id type xu yu zu
1 1 0.75 1.5 2.5
2 2 3.0 4.25 5.0
3 1 -1.5 12.5 7.125
""")
    reader, chunks, d = read_all(p)
    h = reader.header()
    np.testing.assert_array_equal(h.atom_id, [1, 2, 3])
    np.testing.assert_array_equal(h.lammps_type, [1, 2, 1])
    assert h.species is None and h.mass is None and h.charge is None
    assert d["positions"].dtype == np.float64 and d["positions"].shape == (2, 3, 3)
    np.testing.assert_array_equal(d["positions"][0], [[0.5, 1.5, 2.5], [3.0, 4.0, 5.0], [-1.25, 12.5, 7.0]])
    np.testing.assert_array_equal(d["positions"][1], [[0.75, 1.5, 2.5], [3.0, 4.25, 5.0], [-1.5, 12.5, 7.125]])
    np.testing.assert_array_equal(d["cell"][0], np.diag([10.0, 12.0, 14.0]))
    assert d["step"].dtype == np.int64 and d["step"].tolist() == [0, 100]
    assert d["velocities"] is None and d["forces"] is None
    info = reader.info()
    assert info.reader == "lammps_dump" and info.notes == []
    assert info.sources[0].role == "trajectory" and info.sources[0].path == str(p.resolve())
    assert reader.n_frames_estimate() == 2


def test_image_flags_orthogonal(tmp_path):
    rows0 = [[1, 1, 9.5, 0.5, 1.0, 0, 0, 0], [2, 1, 0.5, 9.0, 2.0, -1, 2, 0]]
    rows1 = [[2, 1, 0.25, 9.0, 2.0, -1, 3, -2], [1, 1, 0.5, 0.5, 1.0, 1, 0, 0]]
    cols = "id type x y z ix iy iz"
    bounds = ((0, 10), (0, 20), (-5, 25))
    p = write(tmp_path / "d.lammpstrj", frame(0, rows0, cols, bounds) + frame(10, rows1, cols, bounds))
    _, _, d = read_all(p)
    np.testing.assert_allclose(d["positions"][0], [[9.5, 0.5, 1.0], [0.5 - 10, 9.0 + 40, 2.0]])
    np.testing.assert_allclose(d["positions"][1], [[10.5, 0.5, 1.0], [0.25 - 10, 9.0 + 60, 2.0 - 60]])


def test_scaled_coordinates_with_images_and_origin(tmp_path):
    cols = "id type xs ys zs ix iy iz"
    bounds = ((-2, 8), (1, 5), (0, 2))       # L = 10, 4, 2; origin (-2, 1, 0)
    rows = [[1, 1, 0.5, 0.25, 0.0, 0, 0, 0], [2, 1, 0.1, 0.5, 0.75, 1, -1, 2]]
    p = write(tmp_path / "d.lammpstrj", frame(5, rows, cols, bounds))
    _, _, d = read_all(p)
    np.testing.assert_allclose(d["positions"][0], [[3.0, 2.0, 0.0], [-2 + 11.0, 1 - 2.0, 5.5]])


def test_scaled_unwrapped_columns(tmp_path):
    cols = "id type xsu ysu zsu"
    bounds = ((-2, 8), (1, 5), (0, 2))
    rows = [[1, 1, 1.5, -0.25, 0.5], [2, 1, 0.0, 0.0, 3.0]]
    p = write(tmp_path / "d.lammpstrj", frame(5, rows, cols, bounds))
    _, _, d = read_all(p)
    np.testing.assert_allclose(d["positions"][0], [[13.0, 0.0, 1.0], [-2.0, 1.0, 6.0]])


# --------------------------------------------------------------------------- boxes
# lo/hi: x 0..10, y 0..8, z 0..6; tilts xy=2, xz=-1, yz=0.5 -> bounds per the LAMMPS docs:
# xlo_bound = 0 + min(0, 2, -1, 1) = -1, xhi_bound = 10 + max(0, 2, -1, 1) = 12,
# ylo_bound = 0 + min(0, 0.5) = 0, yhi_bound = 8 + 0.5 = 8.5
TRICLINIC = ((-1.0, 12.0, 2.0), (0.0, 8.5, -1.0), (0.0, 6.0, 0.5))
A, B, C = np.array([10.0, 0, 0]), np.array([2.0, 8.0, 0]), np.array([-1.0, 0.5, 6.0])


def test_triclinic_box_and_image_flags(tmp_path):
    cols = "id type x y z ix iy iz"
    rows = [[1, 1, 1.0, 2.0, 3.0, 1, 0, 0], [2, 2, 4.0, 5.0, 1.0, -1, 1, 2]]
    p = write(tmp_path / "d.lammpstrj", frame(0, rows, cols, TRICLINIC, box_flags="pp pp pp"))
    _, _, d = read_all(p)
    np.testing.assert_allclose(d["cell"][0], np.array([A, B, C]))
    np.testing.assert_allclose(d["positions"][0], [[11.0, 2.0, 3.0],
                                                   np.array([4.0, 5.0, 1.0]) - A + B + 2 * C])


def test_triclinic_scaled(tmp_path):
    cols = "id type xs ys zs"
    rows = [[1, 1, 0.5, 0.5, 0.5, 0, 0, 0]]
    text = frame(0, rows, cols + " ix iy iz", TRICLINIC)
    p = write(tmp_path / "d.lammpstrj", text)
    _, _, d = read_all(p)
    np.testing.assert_allclose(d["positions"][0, 0], 0.5 * (A + B + C))   # origin is (0, 0, 0)


def test_box_changing_over_time(tmp_path):
    rows = [[1, 1, 1.0, 1.0, 1.0], [2, 1, 2.0, 2.0, 2.0]]
    text = (frame(0, rows, bounds=((0, 10), (0, 10), (0, 10)))
            + frame(1, rows, bounds=((0, 10.5), (0, 10), (0, 9.5)))
            + frame(2, rows, bounds=((0.5, 10), (0, 10), (0, 10))))
    p = write(tmp_path / "d.lammpstrj", text)
    _, _, d = read_all(p)
    np.testing.assert_allclose(d["cell"][:, [0, 1, 2], [0, 1, 2]], [[10, 10, 10], [10.5, 10, 9.5], [9.5, 10, 10]])
    ds = read_lammps_dump(p, types={1: "Li"}, timestep_ps=0.001)
    assert ds["cell"].dims == ("time", "cell_vector", "xyz")
    np.testing.assert_allclose(ds["volume"].values, [1000.0, 997.5, 950.0])


# --------------------------------------------------------------------------- atoms
def test_shuffled_atom_order_and_sparse_ids(tmp_path):
    f0 = [[10, 2, 1.0, 0, 0], [5, 1, 2.0, 0, 0], [7, 3, 3.0, 0, 0]]
    f1 = [[7, 3, 3.5, 0, 0], [10, 2, 1.5, 0, 0], [5, 1, 2.5, 0, 0]]
    f2 = [[5, 1, 2.75, 0, 0], [7, 3, 3.75, 0, 0], [10, 2, 1.75, 0, 0]]
    p = write(tmp_path / "d.lammpstrj", frame(0, f0) + frame(1, f1) + frame(2, f2))
    reader, _, d = read_all(p)
    np.testing.assert_array_equal(reader.header().atom_id, [5, 7, 10])
    np.testing.assert_array_equal(reader.header().lammps_type, [1, 3, 2])
    np.testing.assert_array_equal(d["positions"][:, :, 0], [[2.0, 3.0, 1.0], [2.5, 3.5, 1.5], [2.75, 3.75, 1.75]])


def test_velocities_forces_and_column_order(tmp_path):
    cols = "fz vx id xu fx vy type zu vz yu fy"
    rows = [[0.3, 1.0, 2, 5.0, 0.1, 2.0, 1, 7.0, 3.0, 6.0, 0.2],
            [-0.3, -1.0, 1, 1.0, -0.1, -2.0, 1, 3.0, -3.0, 2.0, -0.2]]
    p = write(tmp_path / "d.lammpstrj", frame(0, rows, cols))
    _, _, d = read_all(p)
    np.testing.assert_array_equal(d["positions"][0], [[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(d["velocities"][0], [[-1.0, -2.0, -3.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(d["forces"][0], [[-0.1, -0.2, -0.3], [0.1, 0.2, 0.3]])
    ds = read_lammps_dump(p, types={1: "Li"}, timestep_ps=0.002)
    assert "velocities" in ds and "forces" in ds


def test_element_mass_and_charge_columns(tmp_path):
    cols = "id element mass q xu yu zu"
    rows = [[2, "O", 15.999, -1.2, 1, 1, 1], [1, "Li", 6.94, 0.6, 0, 0, 0], [3, "Li", 6.94, 0.6, 2, 2, 2]]
    p = write(tmp_path / "d.lammpstrj", frame(0, rows, cols) + frame(1, rows[::-1], cols))
    reader, _, d = read_all(p)
    h = reader.header()
    assert h.species.tolist() == ["Li", "O", "Li"] and h.lammps_type is None
    np.testing.assert_array_equal(h.mass, [6.94, 15.999, 6.94])
    np.testing.assert_array_equal(h.charge, [0.6, -1.2, 0.6])
    np.testing.assert_array_equal(d["positions"][1], [[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    ds = read_lammps_dump(p, timestep_ps=0.001)
    assert ds["species"].values.tolist() == ["Li", "O", "Li"]
    np.testing.assert_array_equal(ds["charge"].values, [0.6, -1.2, 0.6])
    assert ds["mobile"].values.tolist() == [True, False, True]


def test_padded_and_irregular_whitespace(tmp_path):
    plain = frame(0, [[1, 1, 1.5, -2.0, 3.0], [2, 1, 4.0, 5.0, -6.25]])
    padded = plain.replace("1 1 1.5 -2.0 3.0", "   1   1   1.5000  -2.0000   3.0000 ")
    padded = padded.replace("2 1 4.0 5.0 -6.25", "   2   1   4.0000   5.0000  -6.2500 ")
    trailing = plain.replace("3.0\n", "3.0 \n").replace("-6.25\n", "-6.25 \n")
    _, _, ref = read_all(write(tmp_path / "a", plain))
    for name, text in (("b", padded), ("c", trailing), ("d", plain.replace("\n", "\r\n"))):
        _, _, d = read_all(write(tmp_path / name, text))
        np.testing.assert_array_equal(d["positions"], ref["positions"])


def test_units_and_time_items_are_skipped(tmp_path):
    text = "ITEM: UNITS\nmetal\nITEM: TIME\n0.5\n" + frame(500, [[1, 1, 1.0, 2.0, 3.0]])
    text += "ITEM: UNITS\nmetal\nITEM: TIME\n0.6\n" + frame(600, [[1, 1, 1.5, 2.0, 3.0]])
    _, _, d = read_all(write(tmp_path / "d", text))
    assert d["step"].tolist() == [500, 600]
    np.testing.assert_array_equal(d["positions"][:, 0, 0], [1.0, 1.5])


# --------------------------------------------------------------------------- files
def test_gzip_detected_by_magic_bytes(tmp_path):
    text = frame(0, [[1, 1, 1.0, 2.0, 3.0]]) + frame(1, [[1, 1, 1.25, 2.0, 3.0]])
    plain = write(tmp_path / "plain.lammpstrj", text)
    with gzip.open(tmp_path / "dump.gz", "wt") as fh:
        fh.write(text)
    shutil.copy(tmp_path / "dump.gz", tmp_path / "no_extension.lammpstrj")
    _, _, ref = read_all(plain)
    for name in ("dump.gz", "no_extension.lammpstrj"):
        _, _, d = read_all(tmp_path / name)
        np.testing.assert_array_equal(d["positions"], ref["positions"])
        assert d["step"].tolist() == [0, 1]


def test_restart_join_removes_duplicate_frames(tmp_path):
    def part(steps):
        return "".join(frame(s, [[1, 1, s / 100, 0, 0], [2, 1, 0, s / 100, 0]]) for s in steps)

    p1 = write(tmp_path / "run1.lammpstrj", part([0, 100, 200, 300]))
    p2 = write(tmp_path / "run2.lammpstrj", part([200, 300, 400, 500]))
    with pytest.warns(DuplicateFramesWarning, match=r"removed 2 frame\(s\).*steps 200, 300"):
        reader, chunks, d = read_all([p1, p2])
    assert d["step"].tolist() == [0, 100, 200, 300, 400, 500]
    np.testing.assert_array_equal(d["positions"][:, 0, 0], [0, 1, 2, 3, 4, 5])
    notes = reader.info().notes
    assert len(notes) == 1 and "removed 2 frame" in notes[0] and "run2.lammpstrj" in notes[0]
    assert [s.path for s in reader.info().sources] == [str(p1.resolve()), str(p2.resolve())]
    with pytest.warns(DuplicateFramesWarning):
        ds = read_lammps_dump([p1, p2], types={1: "Li"}, timestep_ps=0.001)
    np.testing.assert_allclose(ds["time"].values, [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert "removed 2 frame" in ds.attrs["notes"]


def test_repeated_frame_within_a_file(tmp_path):
    rows = [[1, 1, 0.0, 0, 0]]
    p = write(tmp_path / "d", frame(0, rows) + frame(100, rows) + frame(100, rows) + frame(200, rows))
    with pytest.warns(DuplicateFramesWarning, match="steps 100"):
        _, _, d = read_all(p)
    assert d["step"].tolist() == [0, 100, 200]


def test_chunking(tmp_path):
    text = "".join(frame(k, [[2, 1, k, 0, 0], [1, 1, -k, 0, 0]]) for k in range(7))
    p = write(tmp_path / "d", text)
    reader = LammpsDumpReader(p, chunk_frames=3)
    sizes = [c.n_frames for c in reader.iter_chunks()]
    assert sizes == [3, 3, 1]
    assert [c.n_frames for c in reader.iter_chunks(max_frames=2)] == [2, 2, 2, 1]
    pos = np.concatenate([c.positions for c in reader.iter_chunks(max_frames=4)])
    np.testing.assert_array_equal(pos[:, :, 0], [[-k, k] for k in range(7)])


@pytest.mark.parametrize("block_bytes", [7, 300, 5000, 1 << 20])
@pytest.mark.parametrize("variant", ["xu", "image", "scaled"])
def test_random_dump_matches_reference_parser(tmp_path, monkeypatch, block_bytes, variant):
    """Triclinic box changing every frame, shuffled atoms, images; tiny blocks force refills."""
    monkeypatch.setattr(lammps_dump, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(block_bytes)
    n_atoms, n_frames = 13, 9
    ids = rng.choice(np.arange(1, 100), n_atoms, replace=False)
    cols = {"xu": "id type xu yu zu", "image": "id type x y z ix iy iz", "scaled": "xs id ys zs type ix iy iz"}[variant]
    text = ""
    for k in range(n_frames):
        lo = rng.uniform(-1, 1, 3)
        hi = lo + rng.uniform(8, 12, 3)
        xy, xz, yz = rng.uniform(-2, 2, 3)
        bounds = ((lo[0] + min(0, xy, xz, xy + xz), hi[0] + max(0, xy, xz, xy + xz), xy),
                  (lo[1] + min(0, yz), hi[1] + max(0, yz), xz), (lo[2], hi[2], yz))
        bounds = tuple(tuple(float(f"{v:.6f}") for v in b) for b in bounds)
        rows = []
        for i in rng.permutation(n_atoms):
            vals = {"id": ids[i], "type": 1 + i % 3}
            r = rng.uniform(-20, 20, 3)
            img = rng.integers(-3, 4, 3)
            s = rng.uniform(0, 1, 3)
            for axis, name in enumerate("xyz"):
                vals[f"{name}u"] = f"{r[axis]:.5f}"
                vals[name] = f"{r[axis]:.5f}"
                vals[f"{name}s"] = f"{s[axis]:.6f}"
                vals[f"i{name}"] = img[axis]
            rows.append([vals[c] for c in cols.split()])
        text += frame(1000 * k, rows, cols, bounds)
    p = write(tmp_path / "dump.lammpstrj", text)
    reader, chunks, d = read_all(p, chunk_frames=4)
    ref = reference_parse(p)
    assert [c.n_frames for c in chunks] == [4, 4, 1]
    assert d["step"].tolist() == [s for s, _, _ in ref]
    np.testing.assert_allclose(d["positions"], np.array([pp for _, pp, _ in ref]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(d["cell"], np.array([c for _, _, c in ref]), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(reader.header().atom_id, np.sort(ids))


def test_read_lammps_dump_dataset(tmp_path):
    rows = [[1, 1, 0.0, 0, 0], [2, 2, 1.0, 1, 1]]
    p = write(tmp_path / "d", frame(0, rows) + frame(200, rows) + frame(400, rows))
    ds = read_lammps_dump(p, types={1: "Li", 2: "O"}, timestep_ps=0.001, labels={"seed": 1})
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.2, 0.4])
    assert ds["species"].values.tolist() == ["Li", "O"]
    assert ds.attrs["reader"] == "lammps_dump"
    assert '"seed": 1' in ds.attrs["labels"]
    ds2 = read_lammps_dump(p, types={1: "Li", 2: "O"}, frame_interval_ps=0.5)
    np.testing.assert_allclose(ds2["time"].values, [0.0, 0.5, 1.0])


# --------------------------------------------------------------------------- real data
@pytest.mark.shared_data
def test_real_lpso_dump():
    if not REAL_DUMP.exists():
        pytest.skip(f"{REAL_DUMP} not present")
    reader = LammpsDumpReader(REAL_DUMP, timestep_ps=0.001)
    chunks = list(reader.iter_chunks())
    pos = np.concatenate([c.positions for c in chunks])
    steps = np.concatenate([c.step for c in chunks])
    assert pos.shape == (501, 297, 3)
    assert reader.header().n_atoms == 297
    assert steps[0] == 0 and np.all(np.diff(steps) > 0)
    # positions equal the numbers in the text, parsed independently
    text = REAL_DUMP.read_text().splitlines()
    per = 9 + 297
    for k in (0, 1, 250, 500):
        rows = np.array([[float(v) for v in line.split()] for line in text[k * per + 9:(k + 1) * per]])
        rows = rows[np.argsort(rows[:, 0])]
        np.testing.assert_array_equal(pos[k], rows[:, 2:5])
        assert steps[k] == int(text[k * per + 1])
    cell = np.concatenate([c.cell for c in chunks])
    bounds = [[float(v) for v in text[5 + i].split()] for i in range(3)]
    np.testing.assert_array_equal(np.diag(cell[0]), [b[1] - b[0] for b in bounds])
    assert reader.info().notes == []


@pytest.mark.parametrize("threads", [1, 2])
def test_parsing_in_threads_keeps_file_order_and_errors(tmp_path, monkeypatch, threads):
    """Batches parsed in threads ahead of the one delivered: the frames come out in file
    order, a corrupted frame in a middle batch is skipped as when read one batch at a
    time, and an error found by the scanner while earlier batches are still being parsed
    is raised only after those frames were delivered."""
    from uncertainty_gk.errors import InputFormatError, SkippedFramesWarning

    monkeypatch.setattr(lammps_dump, "BLOCK_BYTES", 300)        # a few frames per batch
    monkeypatch.setattr(lammps_dump, "PARSE_THREADS", threads)
    rows = [[1, 1, 0.5, 0, 0], [2, 1, 0, 0.25, 0], [3, 2, 0, 0, 0.125]]

    def dump(lost: int | None) -> Path:
        text = ""
        for k in range(40):
            r = [[i, t, x + k, y, z] for i, t, x, y, z in rows]
            if k == 12:
                r[1][3] = "abc"                                    # not a number: frame 12 is skipped
            text += frame(10 * k, r[:2] if k == lost else r)       # frame `lost`: an atom lost
        return write(tmp_path / f"dump{lost}.lammpstrj", text)

    p = dump(30)

    def delivered(ahead):
        monkeypatch.setattr(lammps_dump, "PARSE_AHEAD", ahead)
        got = []
        with pytest.raises(InputFormatError, match=r"expected 3 atoms, found 2") as err:
            for chunk in LammpsDumpReader(p).iter_chunks(max_frames=1):
                got.append(chunk)
        assert "frame 30" in str(err.value)
        return [int(c.step[0]) for c in got], [c.positions[0, 0, 0] for c in got]

    serial = delivered(0)           # one batch at a time: every batch before frame 30's
    steps, x = delivered(2)
    assert (steps, x) == serial
    # frames of the batch holding frame 30 may be withheld, as when read one batch at a time
    expected = [k for k in range(30) if k != 12]
    assert 20 <= len(steps) <= len(expected)
    assert steps == [10 * k for k in expected[:len(steps)]]
    np.testing.assert_array_equal(x, [0.5 + k for k in expected[:len(steps)]])
    # without the lost atom the whole file is read and the skipped frame reported at its end
    p = dump(None)
    with pytest.warns(SkippedFramesWarning, match=r"skipped 1 corrupted frame\(s\).*frame 12"):
        chunks = list(LammpsDumpReader(p).iter_chunks(max_frames=7))
    steps = np.concatenate([c.step for c in chunks])
    assert steps.tolist() == [10 * k for k in range(40) if k != 12]


def test_frames_larger_than_a_block_are_read_in_growing_reads(tmp_path, monkeypatch):
    """A frame of many blocks is read with reads that double the buffer (a few per frame),
    not one block at a time (which copies the growing buffer once per block), and its
    values are those of small frames read whole."""
    monkeypatch.setattr(lammps_dump, "BLOCK_BYTES", 64)
    rows = [[i + 1, 1, 0.125 * i, 1.5, -2.25] for i in range(2000)]           # about 40 kB per frame
    p = write(tmp_path / "big.lammpstrj", "".join(frame(10 * k, rows) for k in range(3)))
    reads = []
    original = lammps_dump._Scanner._fill

    def counted(self):
        reads.append(len(self.buf) - self.pos)
        original(self)

    monkeypatch.setattr(lammps_dump._Scanner, "_fill", counted)
    chunks = list(LammpsDumpReader(p).iter_chunks())
    pos = np.concatenate([c.positions for c in chunks])
    assert pos.shape == (3, 2000, 3)
    np.testing.assert_array_equal(pos[:, :, 0], np.tile(0.125 * np.arange(2000), (3, 1)))
    assert len(reads) < 3 * 20, len(reads)          # one block at a time: about 1900 reads
