"""LAMMPS dump reader on malformed input: every error names file, frame, line and a remedy."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from uncertainty_gk.errors import InputFormatError, SkippedFramesWarning, TruncatedInputWarning
from uncertainty_gk.io.lammps_dump import LammpsDumpReader, read_lammps_dump

# Each frame below has 3 atoms: 9 header lines + 3 atom lines = 12 lines, so frame k
# starts on line 12k + 1 and its atom lines are 12k + 10 ... 12k + 12.


def frame(step, rows=None, n=None, columns="id type xu yu zu"):
    rows = rows if rows is not None else [f"{i} 1 {i}.0 {step / 100} 0.5" for i in (1, 2, 3)]
    head = (f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(rows) if n is None else n}\n"
            "ITEM: BOX BOUNDS pp pp pp\n0 10\n0 10\n0 10\n" f"ITEM: ATOMS {columns}\n")
    return head + "".join(r + "\n" for r in rows)


def dump(tmp_path, text, name="dump.lammpstrj") -> Path:
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


def read(path, **kw):
    reader = LammpsDumpReader(path, **kw)
    chunks = list(reader.iter_chunks())
    return reader, chunks


def n_frames(chunks):
    return sum(c.n_frames for c in chunks)


# --------------------------------------------------------------------------- truncation
def test_truncated_last_frame_is_dropped_with_warning(tmp_path):
    text = frame(0) + frame(100) + frame(200)
    cut = text[:text.rindex("2 1 2.0")]              # last frame ends after one atom line
    p = dump(tmp_path, cut)
    with pytest.warns(TruncatedInputWarning, match=r"dump\.lammpstrj frame 2 \(line 25\): the last frame is "
                      r"incomplete \(the file ends after 1 of its 3 atom lines\); dropped it and kept the 2"):
        reader, chunks = read(p)
    assert n_frames(chunks) == 2
    assert np.concatenate([c.step for c in chunks]).tolist() == [0, 100]
    assert any("incomplete last frame 2" in n for n in reader.info().notes)


def test_truncated_inside_frame_header(tmp_path):
    p = dump(tmp_path, frame(0) + frame(100) + "ITEM: TIMESTEP\n200\nITEM: NUMBER OF ATOMS\n")
    with pytest.warns(TruncatedInputWarning, match="frame 2 .*ends inside the frame header"):
        _, chunks = read(p)
    assert n_frames(chunks) == 2


@pytest.mark.parametrize("cut", ["ITEM: TIMESTE", "ITEM", "I"])
def test_file_cut_inside_the_next_frame_header_keeps_the_frame_before(tmp_path, cut):
    p = dump(tmp_path, frame(0) + frame(100) + cut)
    with pytest.warns(TruncatedInputWarning, match="frame 2 .*ends inside the frame header"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0, 100]


def test_file_cut_mid_line_without_newline(tmp_path):
    text = frame(0) + frame(100)
    p = dump(tmp_path, text[:-3])                     # '3 1 3.0 1.0 0.5' cut to '3 1 3.0 1.0'
    with pytest.warns(TruncatedInputWarning, match="does not end with a newline"):
        _, chunks = read(p)
    assert n_frames(chunks) == 1


def test_truncated_gzip_stream(tmp_path):
    raw = gzip.compress((frame(0) + frame(100) * 1).encode() + b"".join(
        frame(100 * k).encode() for k in range(2, 40)))
    p = dump(tmp_path, raw[:len(raw) * 2 // 3], name="dump.lammpstrj.gz")
    with pytest.warns(TruncatedInputWarning):
        _, chunks = read(p)
    assert 1 <= n_frames(chunks) < 40


# --------------------------------------------------------------------------- atoms
def test_atom_count_changes_between_frames(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0 0"]
    p = dump(tmp_path, frame(0) + frame(100, rows))
    with pytest.raises(InputFormatError, match=r"dump\.lammpstrj frame 1 \(line 16\): expected 3 atoms, found 2 "
                       r"\(NUMBER OF ATOMS changed; run ended with 'Lost atoms'\?\)") as exc:
        read(p)
    assert exc.value.frame == 1 and exc.value.line == 16 and exc.value.path == str(p)


def steps_of(chunks):
    return np.concatenate([c.step for c in chunks]).tolist()


def test_fewer_atom_lines_than_declared_skips_only_that_frame(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0 0"]
    p = dump(tmp_path, frame(0) + frame(100, rows, n=3) + frame(200))
    with pytest.warns(SkippedFramesWarning, match=r"skipped 1 corrupted frame\(s\) and kept every other frame: "
                      r"frame 1 \(line 22\): expected 3 atoms, found 2 before 'ITEM: TIMESTEP' \(line 24\)"):
        reader, chunks = read(p)
    assert steps_of(chunks) == [0, 200]
    assert any("skipped corrupted frame(s) [1]" in n for n in reader.info().notes)


def test_more_atom_lines_than_declared_skips_only_that_frame(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0 0", "3 1 3.0 0 0", "4 1 4.0 0 0"]
    p = dump(tmp_path, frame(0) + frame(100, rows, n=3) + frame(200))
    with pytest.warns(SkippedFramesWarning, match=r"frame 1 \(line 22\): expected 3 atoms \(NUMBER OF ATOMS\), "
                      r"but line 25 after them is '4 1 4.0 0 0' instead of 'ITEM: TIMESTEP'"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0, 200]


def test_corrupted_atom_count_mid_file_keeps_later_frames(tmp_path):
    """Finding 2: '297' -> '2970000' in one frame header dropped every later frame."""
    text = "".join(frame(100 * k) for k in range(50))
    lines = text.split("\n")
    assert lines[12 * 10 + 3] == "3"
    lines[12 * 10 + 3] = "3000000"                       # frame 10's NUMBER OF ATOMS
    p = dump(tmp_path, "\n".join(lines))
    with pytest.warns(SkippedFramesWarning, match=r"frame 10 \(line 124\): NUMBER OF ATOMS is 3000000 \(every "
                      r"other frame has 3\), but 3 atom lines follow"):
        _, chunks = read(p, chunk_frames=7)
    assert steps_of(chunks) == [100 * k for k in range(50) if k != 10]


def test_corrupted_atom_count_in_last_frame(tmp_path):
    text = frame(0) + frame(100) + frame(200).replace("ATOMS\n3\n", "ATOMS\n30\n")
    p = dump(tmp_path, text)
    with pytest.warns(SkippedFramesWarning, match=r"frame 2 .*NUMBER OF ATOMS is 30"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0, 100]


def test_atom_ids_change_between_frames(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0 0", "4 1 3.0 0 0"]
    p = dump(tmp_path, frame(0) + frame(100) + frame(200, rows))
    with pytest.raises(InputFormatError, match=r"frame 2 \(line 34\): the atom ids differ from the first frame "
                       r"\(missing ids \[3\]; new ids \[4\]\)"):
        read(p)


def test_duplicate_atom_id_in_first_frame(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0 0", "2 1 3.0 0 0"]
    p = dump(tmp_path, frame(0, rows))
    with pytest.raises(InputFormatError, match="atom id 2 appears more than once"):
        LammpsDumpReader(p).header()


@pytest.mark.parametrize("bad", ["nan", "-nan", "inf", "-inf"])
def test_non_finite_coordinates(tmp_path, bad):
    rows = ["1 1 1.0 0 0", f"2 1 2.0 {bad} 0", "3 1 3.0 0 0"]
    p = dump(tmp_path, frame(0) + frame(100) + frame(200, rows) + frame(300))
    with pytest.raises(InputFormatError, match=rf"frame 2 \(line 35\): non-finite value '{re.escape(bad)}' in "
                       r"column 'yu' of atom 2: the simulation blew up"):
        read(p)


def test_row_with_wrong_number_of_fields_skips_the_frame(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0", "3 1 3.0 0 0"]
    p = dump(tmp_path, frame(0) + frame(100, rows) + frame(200))
    with pytest.warns(SkippedFramesWarning, match=r"frame 1 \(line 23\): atom line has 4 fields, expected 5 for "
                      r"the columns 'id type xu yu zu': '2 1 2.0 0'"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0, 200]


def test_row_with_extra_field_skips_the_frame(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0 0 7", "3 1 3.0 0 0"]
    p = dump(tmp_path, frame(0) + frame(100, rows))
    with pytest.warns(SkippedFramesWarning, match=r"frame 1 \(line 23\): atom line has 6 fields, expected 5"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0]


def test_non_numeric_value_skips_the_frame(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 2.0 0 0", "3 1 3.0 0.5abc 0"]
    p = dump(tmp_path, frame(0) + frame(100) + frame(200, rows) + frame(300))
    with pytest.warns(SkippedFramesWarning, match=r"frame 2 \(line 36\): cannot read '0.5abc' in column 'yu' "
                      "as a number"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0, 100, 300]


def test_non_numeric_value_in_first_frame(tmp_path):
    rows = ["1 1 1.0 0 0", "2 1 x 0 0", "3 1 3.0 0 0"]
    p = dump(tmp_path, frame(0, rows))
    with pytest.raises(InputFormatError, match=r"frame 0 \(line 11\): cannot read 'x' in column 'xu'"):
        read(p)


# --------------------------------------------------------------------------- columns
def test_wrapped_coordinates_without_image_flags(tmp_path):
    p = dump(tmp_path, frame(0, columns="id type x y z"))
    with pytest.raises(InputFormatError, match=r"frame 0 \(line 9\): the dump has wrapped coordinates \(x y z\) "
                       r"without image flags.*id type xu yu zu.*ix iy iz"):
        read(p)


def test_scaled_wrapped_coordinates_without_image_flags(tmp_path):
    p = dump(tmp_path, frame(0, columns="id type xs ys zs"))
    with pytest.raises(InputFormatError, match=r"wrapped coordinates \(xs ys zs\) without image flags"):
        LammpsDumpReader(p).header()


def test_missing_position_columns(tmp_path):
    p = dump(tmp_path, frame(0, columns="id type vx vy vz"))
    with pytest.raises(InputFormatError, match="no position columns in 'ITEM: ATOMS id type vx vy vz': "
                       "expected xu yu zu"):
        read(p)


def test_incomplete_position_columns(tmp_path):
    rows = ["1 1 1.0 0", "2 1 2.0 0", "3 1 3.0 0"]
    p = dump(tmp_path, frame(0, rows, columns="id type xu yu"))
    with pytest.raises(InputFormatError, match="incomplete coordinate columns: found xu yu, missing zu"):
        read(p)


def test_missing_id_column(tmp_path):
    rows = ["1 1.0 0 0", "1 2.0 0 0", "1 3.0 0 0"]
    p = dump(tmp_path, frame(0, rows, columns="type xu yu zu"))
    with pytest.raises(InputFormatError, match="no 'id' column .*add 'id' to the dump columns"):
        read(p)


def test_columns_change_between_files(tmp_path):
    p1 = dump(tmp_path, frame(0), name="a.lammpstrj")
    rows = ["1 1 1.0 0 0 0.1", "2 1 2.0 0 0 0.2", "3 1 3.0 0 0 0.3"]
    p2 = dump(tmp_path, frame(100, rows, columns="id type xu yu zu q"), name="b.lammpstrj")
    with pytest.raises(InputFormatError, match=r"b\.lammpstrj frame 0 \(line 9\): the columns changed"):
        read([p1, p2])


# --------------------------------------------------------------------------- files
def test_empty_file(tmp_path):
    p = dump(tmp_path, "")
    with pytest.raises(InputFormatError, match=r"dump\.lammpstrj: the file is empty: no frames"):
        read(p)


def test_blank_file(tmp_path):
    p = dump(tmp_path, "\n\n   \n")
    with pytest.raises(InputFormatError, match="the file is empty"):
        read_lammps_dump(p, types={1: "Li"}, timestep_ps=0.001)


def test_binary_garbage(tmp_path):
    rng = np.random.default_rng(1)
    p = dump(tmp_path, rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(InputFormatError, match="not a LAMMPS text dump: it contains binary data"):
        read(p)


def test_netcdf_file_is_named(tmp_path):
    p = dump(tmp_path, b"CDF\x01\x00\x00\x00\x00" + bytes(200))
    with pytest.raises(InputFormatError, match="netCDF"):
        read(p)


def test_text_that_is_not_a_dump(tmp_path):
    p = dump(tmp_path, "3\ncomment line\nLi 0 0 0\nLi 1 1 1\nO 2 2 2\n")
    with pytest.raises(InputFormatError, match=r"frame 0 \(line 1\): not a LAMMPS text dump: expected "
                       r"'ITEM: TIMESTEP' on the first line, found '3' \(an XYZ file\?"):
        read(p)


def test_timestep_goes_backwards_within_a_file(tmp_path):
    p = dump(tmp_path, frame(0) + frame(100) + frame(200) + frame(150))
    with pytest.raises(InputFormatError, match=r"frame 3 \(line 38\): timestep 150 is smaller than the previous "
                       r"frame's timestep 200 \(line 26\)"):
        read(p)


def test_non_integer_timestep_skips_the_frame(tmp_path):
    p = dump(tmp_path, frame(0) + frame(100).replace("100\n", "1e2x\n", 1) + frame(200))
    with pytest.warns(SkippedFramesWarning, match=r"frame 1 \(line 14\): expected an integer timestep"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0, 200]


def test_garbage_between_frames(tmp_path):
    p = dump(tmp_path, frame(0) + "some garbage line\n" + frame(100))
    with pytest.raises(InputFormatError, match=r"frame 0 \(line 10\): expected 3 atoms \(NUMBER OF ATOMS\), "
                       "but line 13 after them is 'some garbage line'"):
        read(p)


def test_missing_file(tmp_path):
    with pytest.raises(InputFormatError, match="file not found"):
        LammpsDumpReader(tmp_path / "nope.lammpstrj").header()


def test_error_is_a_valueerror_and_no_warning_for_good_file(tmp_path):
    p = dump(tmp_path, frame(0) + frame(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, chunks = read(p)
    assert n_frames(chunks) == 2
    assert issubclass(InputFormatError, ValueError)


def test_line_numbers_with_units_and_time_items(tmp_path):
    def f(step):
        return f"ITEM: UNITS\nmetal\nITEM: TIME\n{step / 1000}\n" + frame(step)    # 16 lines per frame

    p = dump(tmp_path, f(0) + f(100) + f(50))
    with pytest.raises(InputFormatError, match=r"frame 2 \(line 38\): timestep 50 is smaller than the previous "
                       r"frame's timestep 100 \(line 22\)"):
        read(p)


def test_bad_box_bounds(tmp_path):
    p = dump(tmp_path, frame(0) + frame(100).replace("0 10\n0 10\n0 10", "0 10\n0 ten\n0 10"))
    with pytest.warns(SkippedFramesWarning, match=r"frame 1 \(line 19\): expected numbers in BOX BOUNDS line 2, "
                      "found '0 ten'"):
        _, chunks = read(p)
    assert steps_of(chunks) == [0]
