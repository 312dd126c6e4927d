"""Tests of uncertainty_gk.io.vasp (XDATCAR reader) with hand-checked unwrapping."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from uncertainty_gk.errors import SkippedFramesWarning, InputFormatError, TruncatedInputWarning
from uncertainty_gk.io.vasp import XdatcarReader, read_xdatcar

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VASP = DATA / "vasp" / "argyrodite_Li6PS5Cl"

HEAD = "Li1 O1\n1.0\n{a}\n{b}\n{c}\nLi O\n1 1\n"
CUBIC = dict(a="10.0 0.0 0.0", b="0.0 10.0 0.0", c="0.0 0.0 10.0")
# Li crosses the +x face, O the -x face (hand-checked below)
FRAMES = [("0.95 0.50 0.50", "0.10 0.10 0.10"),
          ("0.05 0.50 0.50", "0.90 0.10 0.10"),
          ("0.15 0.50 0.50", "0.95 0.10 0.10")]


def xdatcar(frames=FRAMES, head=None, numbers=None):
    head = HEAD.format(**CUBIC) if head is None else head
    out = head
    for k, (li, o) in enumerate(frames):
        out += f"Direct configuration=     {k + 1 if numbers is None else numbers[k]}\n{li}\n{o}\n"
    return out


@pytest.fixture
def fixed(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar())
    return p


def test_unwrap_by_hand(fixed):
    ds = read_xdatcar(fixed, frame_interval_ps=0.1)
    x = ds["positions"].values[:, :, 0]
    np.testing.assert_allclose(x[:, 0], [9.5, 10.5, 11.5])  # Li: 0.95 -> 1.05 -> 1.15 (x 10 Å)
    np.testing.assert_allclose(x[:, 1], [1.0, -1.0, -0.5])  # O: 0.10 -> -0.10 -> -0.05
    np.testing.assert_allclose(ds["positions"].values[:, 0, 1], 5.0)
    assert ds["species"].values.tolist() == ["Li", "O"]
    assert ds["atom_id"].values.tolist() == [1, 2]
    assert ds["step"].values.tolist() == [1, 2, 3]
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.1, 0.2])
    assert ds["cell"].dims == ("cell_vector", "xyz")
    assert float(ds["volume"]) == pytest.approx(1000.0)
    assert ds.attrs["reader"] == "vasp-xdatcar"


def test_time_is_frame_index_times_interval(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar(numbers=[50, 100, 150]))
    ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds["step"].values.tolist() == [50, 100, 150]
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.1, 0.2])


def test_triclinic_by_hand(tmp_path):
    head = HEAD.format(a="10.0 0.0 0.0", b="5.0 8.0 0.0", c="0.0 0.0 10.0")
    frames = [("0.50 0.95 0.50", "0.1 0.1 0.1"), ("0.50 0.05 0.50", "0.1 0.1 0.1")]
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar(frames, head))
    pos = read_xdatcar(p, frame_interval_ps=1.0)["positions"].values
    # frac (0.5, 1.05, 0.5) -> 0.5 a + 1.05 b + 0.5 c
    np.testing.assert_allclose(pos[1, 0], [10.25, 8.4, 5.0])
    np.testing.assert_allclose(pos[0, 0], [9.75, 7.6, 5.0])


def test_variable_cell(tmp_path):
    out = ""
    for k, (L, li) in enumerate([(10.0, "0.95 0.5 0.5"), (11.0, "0.05 0.5 0.5"), (10.5, "0.10 0.5 0.5")]):
        out += HEAD.format(a=f"{L} 0 0", b=f"0 {L} 0", c=f"0 0 {L}")
        out += f"Direct configuration=     {k + 1}\n{li}\n0.2 0.2 0.2\n"
    p = tmp_path / "XDATCAR"
    p.write_text(out)
    reader = XdatcarReader(p, frame_interval_ps=0.05)
    ds = read_xdatcar(p, frame_interval_ps=0.05)
    assert ds["cell"].dims == ("time", "cell_vector", "xyz")
    # fractional unwrapped 0.95, 1.05, 1.10, each converted with its own cell
    np.testing.assert_allclose(ds["positions"].values[:, 0, 0], [9.5, 11.55, 11.55])
    np.testing.assert_allclose(ds["volume"].values, [1000.0, 1331.0, 10.5**3])
    list(reader.iter_chunks())
    assert reader.variable_cell


def test_scale_factor_and_gzip(tmp_path):
    head = "x\n2.0\n5.0 0 0\n0 5.0 0\n0 0 5.0\nLi O\n1 1\n"
    p = tmp_path / "XDATCAR.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(xdatcar(head=head))
    ds = read_xdatcar(p, frame_interval_ps=0.1)
    np.testing.assert_allclose(ds["positions"].values[:, 0, 0], [9.5, 10.5, 11.5])


def test_streaming_chunks_match(fixed):
    reader = XdatcarReader(fixed, frame_interval_ps=0.1)
    chunks = list(reader.iter_chunks(max_frames=2))
    assert [c.n_frames for c in chunks] == [2, 1]
    pos = np.concatenate([c.positions for c in chunks])
    whole = next(XdatcarReader(fixed, frame_interval_ps=0.1).iter_chunks()).positions
    np.testing.assert_array_equal(pos, whole)
    np.testing.assert_allclose(chunks[1].time_ps, [0.2])
    assert chunks[0].cell.shape == (2, 3, 3)


# ------------------------------------------------------------------ malformed input
def test_truncated_last_configuration_dropped(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar() + "Direct configuration=     4\n0.2 0.5 0.5\n")
    with pytest.warns(TruncatedInputWarning, match="configuration 3 .*1 of 2 coordinate lines"):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds.sizes["time"] == 3
    assert "dropped" in ds.attrs["notes"]


def test_incomplete_last_line_dropped(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar() + "Direct configuration=     4\n0.2 0.5 0.5\n0.95 0.1")
    with pytest.warns(TruncatedInputWarning, match="incomplete"):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds.sizes["time"] == 3


def test_too_few_coordinate_lines(tmp_path):
    text = xdatcar().replace("0.05 0.50 0.50\n", "", 1)
    p = tmp_path / "XDATCAR"
    p.write_text(text)
    with pytest.warns(SkippedFramesWarning, match=r"frame 1 \(line \d+\): configuration 2 has 1 coordinate lines"):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds["step"].values.tolist() == [1, 3]
    assert ds["time"].values.tolist() == pytest.approx([0.0, 0.2])    # the gap stays on the time axis


def test_too_many_coordinate_lines(tmp_path):
    text = xdatcar().replace("0.05 0.50 0.50\n", "0.05 0.50 0.50\n0.3 0.3 0.3\n", 1)
    p = tmp_path / "XDATCAR"
    p.write_text(text)
    with pytest.warns(SkippedFramesWarning, match="more coordinate lines than the 2 atoms"):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds["step"].values.tolist() == [1, 3]


def test_non_numeric_coordinate(tmp_path):
    text = xdatcar().replace("0.05 0.50 0.50", "0.05 ******** 0.50", 1)
    p = tmp_path / "XDATCAR"
    p.write_text(text)
    with pytest.warns(SkippedFramesWarning, match=r"line 12\): configuration 2: expected 3 fractional coordinates"):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds["step"].values.tolist() == [1, 3]


def test_empty_file(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text("")
    with pytest.raises(InputFormatError, match="empty"):
        read_xdatcar(p, frame_interval_ps=0.1)


def test_elements_and_counts_disagree(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar(head=HEAD.format(**CUBIC).replace("1 1\n", "1 1 2\n")))
    with pytest.raises(InputFormatError, match=r"2 element\(s\) \['Li', 'O'\] but 3 atom count"):
        read_xdatcar(p, frame_interval_ps=0.1)


def test_non_integer_counts(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar(head=HEAD.format(**CUBIC).replace("1 1\n", "1 one\n")))
    with pytest.raises(InputFormatError, match="line 7: expected integer atom counts"):
        XdatcarReader(p, frame_interval_ps=0.1).header()


def test_not_an_xdatcar(tmp_path):
    p = tmp_path / "XDATCAR"
    p.write_text("hello\nworld\n1 2 3\n4 5 6\n7 8 9\nLi\n1\n")
    with pytest.raises(InputFormatError, match="scale factor"):
        XdatcarReader(p, frame_interval_ps=0.1).header()


def test_frame_interval_required(fixed):
    with pytest.raises(InputFormatError, match="give frame_interval_ps"):
        read_xdatcar(fixed)


def test_jump_too_large(tmp_path):
    frames = [("0.10 0.5 0.5", "0.1 0.1 0.1"), ("0.45 0.5 0.5", "0.1 0.1 0.1")]
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar(frames))
    with pytest.raises(InputFormatError, match=r"frame 1: atom 0 moved .*too far apart to unwrap"):
        read_xdatcar(p, frame_interval_ps=0.1)


# ------------------------------------------------------------------ real data
def _real_files():
    return sorted(VASP.glob("*.XDATCAR.gz")) if VASP.exists() else []


@pytest.mark.shared_data
@pytest.mark.parametrize("name", [p.name for p in _real_files()] or ["missing"])
def test_real_xdatcar(name):
    p = VASP / name
    if not p.exists():
        pytest.skip("shared data not available")
    ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds.sizes["atom"] == 416
    sp = ds["species"].values
    assert {s: int((sp == s).sum()) for s in ("Li", "P", "S", "Cl")} == {"Li": 192, "P": 32, "S": 160, "Cl": 32}
    assert ds.sizes["time"] in (70, 140)
    assert ds["step"].values[0] == 1
    assert np.all(np.isfinite(ds["positions"].values))
    assert float(ds["volume"]) == pytest.approx(20.312**3, rel=1e-3)


def _independent_unwrap(path):
    """Straightforward reference: parse with plain Python, loop over frames, cumulative sum."""
    import gzip as gz

    with gz.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    scale = float(lines[1])
    cell = np.array([[float(v) for v in lines[i].split()] for i in (2, 3, 4)]) * scale
    n = sum(int(v) for v in lines[6].split())
    frames = []
    i = 7
    while i < len(lines):
        assert lines[i].startswith("Direct configuration=")
        frames.append(np.array([[float(v) for v in lines[i + 1 + k].split()] for k in range(n)]))
        i += n + 1
    out = np.empty((len(frames), n, 3))
    current = frames[0].copy()
    out[0] = current @ cell
    for f in range(1, len(frames)):
        d = frames[f] - frames[f - 1]
        d = d - np.round(d)
        current = current + d
        out[f] = current @ cell
    return out


@pytest.mark.shared_data
def test_real_unwrap_matches_independent_implementation():
    p = VASP / "Li6PS5Cl_50p_run5.XDATCAR.gz"
    if not p.exists():
        pytest.skip("shared data not available")
    ref = _independent_unwrap(p)
    chunks = list(XdatcarReader(p, frame_interval_ps=0.1).iter_chunks(max_frames=16))
    pos = np.concatenate([c.positions for c in chunks])
    np.testing.assert_allclose(pos, ref, rtol=0, atol=1e-9)
    # some atoms really cross the cell boundary in this run
    assert np.abs(pos).max() > 20.4 or pos.min() < -0.1


# --------------------------------------------------------------------------- issue 14 regressions
def test_truncated_gzip_keeps_complete_configurations(tmp_path):
    """Finding 6: a truncated XDATCAR.gz gave an EOFError traceback."""
    import gzip

    frames = [(f"0.{k:02d} 0.5 0.5", "0.5 0.5 0.5") for k in range(1, 60)]
    raw = gzip.compress(xdatcar(frames=frames).encode())
    for cut in (len(raw) // 3, len(raw) // 2, len(raw) - 9):
        p = tmp_path / "XDATCAR.gz"
        p.write_bytes(raw[:cut])
        with pytest.warns(TruncatedInputWarning, match="ends"):
            ds = read_xdatcar(p, frame_interval_ps=0.1)
        assert 1 <= ds.sizes["time"] <= 59           # a cut trailer loses no data, but is reported
        assert ds["step"].values.tolist() == list(range(1, ds.sizes["time"] + 1))


@pytest.mark.parametrize("compress", ["bz2", "lzma"])
def test_bz2_and_xz_are_read(tmp_path, compress):
    import importlib

    mod = importlib.import_module(compress)
    p = tmp_path / "XDATCAR.z"
    p.write_bytes(mod.compress(xdatcar().encode()))
    ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds.sizes["time"] == 3


@pytest.mark.parametrize("numbers,match", [([1, 2, 2], "configuration number 2 follows 2"),
                                          ([1, 3, 2], "configuration number 2 follows 3")])
def test_repeated_or_backwards_configuration_numbers_refused(tmp_path, numbers, match):
    """Finding 9: repeated or backwards configurations silently shifted the time axis."""
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar(numbers=numbers))
    with pytest.raises(InputFormatError, match=match + r".*must increase"):
        read_xdatcar(p, frame_interval_ps=0.1)


def test_missing_configuration_keeps_its_place_in_time(tmp_path):
    frames = FRAMES + FRAMES[:1]
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar(frames=frames, numbers=[1, 2, 3, 5]))
    with pytest.warns(SkippedFramesWarning, match="configuration 5 follows 3; 1 configuration"):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds["time"].values.tolist() == pytest.approx([0.0, 0.1, 0.2, 0.4])


def test_number_cut_at_end_of_file_is_not_a_coordinate(tmp_path):
    """Finding 9: '0.95' cut to '0.9' at the very end was read as a coordinate."""
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar()[:-6])         # last line '0.5 0.5 0.5' -> '0.5 0'... without newline
    text = xdatcar()
    p.write_text(text[:-2])              # '... 0.50' -> '... 0.5', no final newline
    with pytest.warns(TruncatedInputWarning, match="does not end with a newline"):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds.sizes["time"] == 2


@pytest.mark.parametrize("tail", ["Dir", "Direct configurat", "Direct configuration=     4\n0.1 0.2"])
def test_file_cut_in_the_next_configuration_keeps_the_one_before(tmp_path, tail):
    p = tmp_path / "XDATCAR"
    p.write_text(xdatcar() + tail)
    with pytest.warns(TruncatedInputWarning):
        ds = read_xdatcar(p, frame_interval_ps=0.1)
    assert ds.sizes["time"] == 3
