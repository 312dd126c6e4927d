"""Fault study: bad inputs and faults of every category of issue 14, run through ``ugk``.

    python studies/fault_study/run_faults.py [--workdir DIR] [--markdown]

Every input is generated here (synthetic runs written as LAMMPS dumps, XDATCAR and
extended XYZ files, the bundled example's log and data file), damaged in one way, and
given to the ``ugk`` command line in a subprocess (``python -m uncertainty_gk.cli``, so
that ``PYTHONPATH`` selects the code under test).  Each outcome is classified:

clear error
    exit status != 0, one ``error:`` line naming the file (and frame or line where one
    applies), no traceback;
unclear error
    exit status != 0 without a traceback, but the message does not say where;
warning
    exit 0, a ``warning:`` line, and nothing lost (every complete frame kept);
traceback
    a Python traceback or a crash (signal);
silent
    exit 0 with no warning for input that is wrong (bad data accepted);
lost
    exit 0 with fewer frames than the input's complete frames and no warning saying so,
    or a temporary file left behind / an input changed.

The table (tried / clear error / unclear error / warning / traceback / silent / lost) is
printed per category and in total.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "tiny"
#: The interpreter (and flags) for every subprocess; FAULT_PYFLAGS="-S" with PYTHONPATH runs other code.
PY = [sys.executable, *os.environ.get("FAULT_PYFLAGS", "").split()]
CATEGORIES = {
    1: "extxyz blank line / truncation", 2: "dump corrupted count / resync", 3: "outputs onto inputs",
    4: "disk full", 5: "bad cells", 6: "truncated XDATCAR.gz", 7: "log damaged rows", 8: "manifest types",
    9: "wrong science", 10: "damaged archive", 11: "killed runs", 12: "injection", 13: "archive size"}


def ugk(*args, cwd=None, timeout=600, env=None):
    return subprocess.run([*PY, "-m", "uncertainty_gk.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


# --------------------------------------------------------------------------- generated inputs
def synthetic_run(n_frames=30, rng=5):
    sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
    from uncertainty_gk import synthetic

    return synthetic.generate(n_mobile=9, n_frames=n_frames, n_seeds=1, rng=rng)


def dump_text(n_frames=30) -> tuple[str, dict]:
    gen = synthetic_run(n_frames)
    d = Path(tempfile.mkdtemp())
    (p,) = gen.write_lammps_dumps(d, prefix="s")
    text = p.read_text()
    shutil.rmtree(d)
    return text, dict(gen.types)


def xdatcar_text(n_frames=30, *, numbers=None, cell="10.0 0.0 0.0\n0.0 10.0 0.0\n0.0 0.0 10.0") -> str:
    rng = np.random.default_rng(2)
    n = 8
    frac = (rng.uniform(0, 1, (1, n, 3)) + np.cumsum(rng.normal(0, 0.01, (n_frames, n, 3)), axis=0)) % 1.0
    out = [f"Li4 O4\n1.0\n{cell}\nLi O\n4 4"]
    for k in range(n_frames):
        out.append(f"Direct configuration= {k + 1 if numbers is None else numbers[k]:6d}")
        out += [" ".join(f"{x:.8f}" for x in row) for row in frac[k]]
    return "\n".join(out) + "\n"


def extxyz_text(n_frames=30, lattice="10.0 0.0 0.0 0.0 10.0 0.0 0.0 0.0 10.0") -> str:
    rng = np.random.default_rng(3)
    out = []
    for k in range(n_frames):
        out.append(f'4\nLattice="{lattice}" Properties=species:S:1:pos:R:3 step={20 * k} pbc="T T T"')
        pos = 5 + rng.normal(0, 0.2, (4, 3)) + 0.01 * k
        out += [f"{s} {p[0]:.6f} {p[1]:.6f} {p[2]:.6f}" for s, p in zip(["Li", "Li", "O", "O"], pos)]
    return "\n".join(out) + "\n"


def complete_frames(text: str, cut: int, marker: str) -> int:
    """Frames of ``text`` that end (with their newline) at or before byte ``cut``."""
    starts = [m.start() for m in re.finditer(marker, text)] + [len(text)]
    return sum(1 for end in starts[1:] if end <= cut)


def manifest(path: Path, trajectories, *, defaults="", fmt=None, extra_run="", logs=None, labels=None) -> Path:
    lines = ["[defaults]", defaults]
    if fmt:
        lines.append(f'format = "{fmt}"')
    for i, t in enumerate(trajectories):
        lab = (labels or [f"{{structure = \"x\", seed = {i + 1}}}"] * len(trajectories))[i]
        lines += ["[[runs]]", f'trajectory = "{t}"', f"labels = {lab}"]
        if logs:
            lines.append(f'log = "{logs[i]}"')
        lines.append(extra_run)
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- cases
@dataclass
class Case:
    category: int
    name: str
    run: object                 # (workdir) -> (CompletedProcess, info dict)


def frames_in(archive: Path) -> list[int] | None:
    code = ("import sys, json, warnings; warnings.simplefilter('ignore');"
            "from uncertainty_gk.archive import open_archive;"
            "c = open_archive(sys.argv[1]); print(json.dumps([ds.sizes['time'] for ds in c.values()]))")
    r = subprocess.run([*PY, "-c", code, str(archive)], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


def ingest_case(text_fn, name, *, expect_frames=None, types=None, fmt=None, defaults="", compress=False,
                extra=None, benign=False):
    """Write the damaged file, ingest it, count frames.  ``expect_frames``: complete frames in it."""
    def run(wd: Path):
        data = text_fn()
        p = wd / name
        p.write_bytes(gzip.compress(data.encode()) if compress and isinstance(data, str) else
                      data if isinstance(data, bytes) else data.encode())
        dflt = defaults
        if types:
            dflt += "\ntypes = {" + ", ".join(f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001"
        m = manifest(wd / "m.toml", [p], defaults=dflt, fmt=fmt)
        r = ugk("ingest", m, "-o", wd / "c.nc", "-q")
        info = {"frames": frames_in(wd / "c.nc") if r.returncode == 0 else None, "expect": expect_frames,
                "file": name, "benign": benign}
        if extra:
            info.update(extra(wd, r))
        return r, info
    return run


def classify(r, info) -> str:
    err = r.stderr
    if "Traceback" in err or r.returncode < 0 or r.returncode > 3:
        return "traceback"
    if info.get("leftover"):
        return "lost"
    if info.get("input_changed"):
        return "lost"
    if r.returncode != 0:
        first = next((ln for ln in err.splitlines() if ln.startswith("error: ")), "")
        if not first and "DAMAGED" in r.stdout:
            return "clear error"
        where = info.get("file")
        names = where is None or (where in first) or re.search(r"(line|frame|run|runs\[\d\]|\.toml|\.nc)", first)
        return "clear error" if first and names else "unclear error"
    if info.get("ok_if_exit0"):
        return "warning" if "warning:" in err else "clean"
    if info.get("benign") and info.get("frames") is not None and sum(info["frames"]) >= (info.get("expect") or 0):
        return "warning" if "warning:" in err else "clean"
    warned = "warning:" in err
    frames = info.get("frames")
    expect = info.get("expect")
    if frames is not None and expect is not None and sum(frames) < expect and not warned:
        return "lost"
    if warned and (expect is None or frames is None or sum(frames) >= expect):
        return "warning"
    if warned:
        return "lost"
    return "silent"


def build_cases() -> list[Case]:
    cases: list[Case] = []
    dump, types = dump_text(30)
    dump_lines = dump.split("\n")
    per = 9 + int(dump_lines[3])                          # lines per dump frame

    def add(cat, name, run):
        cases.append(Case(cat, name, run))

    # 1: extended XYZ
    xyz = extxyz_text(30)
    add(1, "two files joined after a blank line", ingest_case(
        lambda: extxyz_text(15) + "\n" + "\n".join(extxyz_text(30).split("\n")[15 * 6:]), "j.xyz", expect_frames=30,
        defaults="timestep_ps = 0.001", benign=True))
    for cut in (0.3, 0.5, 0.77, 0.95, 0.999):
        add(1, f"truncated at {cut:.0%}", ingest_case(
            lambda cut=cut: xyz[:int(len(xyz) * cut)], "t.xyz", defaults="timestep_ps = 0.001",
            expect_frames=complete_frames(xyz, int(len(xyz) * cut), r"(?m)^4$")))
    for k in (5, 20):
        add(1, f"atom count of frame {k} corrupted", ingest_case(
            lambda k=k: "\n".join("400000" if i == 6 * k else ln for i, ln in enumerate(xyz.split("\n"))),
            "c.xyz", expect_frames=29, defaults="timestep_ps = 0.001"))
    add(1, "unparseable coordinate", ingest_case(lambda: xyz.replace("Li 5.", "Li x5.", 1), "u.xyz",
                                                 expect_frames=29, defaults="timestep_ps = 0.001"))
    add(1, "gzip truncated", ingest_case(lambda: gzip.compress(xyz.encode())[:-300], "g.xyz.gz",
                                         defaults="timestep_ps = 0.001"))
    # 2: LAMMPS dump
    for k in (3, 10, 25):
        add(2, f"NUMBER OF ATOMS of frame {k} x10000", ingest_case(
            lambda k=k: "\n".join(ln + "0000" if i == per * k + 3 else ln for i, ln in enumerate(dump_lines)),
            "d.lammpstrj", types=types, expect_frames=29))
    for cut in (0.4, 0.8, 0.999):
        add(2, f"truncated at {cut:.0%}", ingest_case(
            lambda cut=cut: dump[:int(len(dump) * cut)], "t.lammpstrj", types=types,
            expect_frames=complete_frames(dump, int(len(dump) * cut), r"(?m)^ITEM: TIMESTEP$")))
    add(2, "gzip truncated", ingest_case(lambda: gzip.compress(dump.encode())[:-500], "t.lammpstrj.gz",
                                         types=types))
    add(2, "garbage line inside frame 7", ingest_case(
        lambda: "\n".join(dump_lines[:per * 7 + 12] + ["#### garbage"] + dump_lines[per * 7 + 12:]), "g.lammpstrj",
        types=types, expect_frames=29))
    add(2, "non-numeric coordinate in frame 12", ingest_case(
        lambda: "\n".join(ln.replace(".", "x", 1) if i == per * 12 + 11 else ln for i, ln in enumerate(dump_lines)),
        "n.lammpstrj", types=types, expect_frames=29))
    add(2, "atom line cut in frame 9", ingest_case(
        lambda: "\n".join(" ".join(ln.split()[:3]) if i == per * 9 + 14 else ln for i, ln in enumerate(dump_lines)),
        "f.lammpstrj", types=types, expect_frames=29))
    add(2, "timestep value damaged", ingest_case(
        lambda: "\n".join("1x0" if i == per * 4 + 1 else ln for i, ln in enumerate(dump_lines)), "s.lammpstrj",
        types=types, expect_frames=29))
    add(2, "binary garbage file", ingest_case(lambda: bytes(range(256)) * 50, "b.lammpstrj", types=types))
    add(2, "empty file", ingest_case(lambda: "", "e.lammpstrj", types=types))
    # 3: outputs onto inputs
    for which in ("manifest", "data_file", "log", "trajectory"):
        def run(wd, which=which):
            tiny = wd / "tiny"
            shutil.copytree(EXAMPLES, tiny)
            m = tiny / "campaign.toml"
            m.write_text(m.read_text().replace("[defaults]", '[defaults]\ndata_file = "lpso_start.data"'))
            target = {"manifest": m, "data_file": tiny / "lpso_start.data", "log": next(tiny.rglob("log.lammps")),
                      "trajectory": next(tiny.rglob("dump*"))}[which]
            before = target.read_bytes()
            r = ugk("ingest", m, "-o", target, "--overwrite", "-q")
            return r, {"input_changed": target.read_bytes() != before, "file": target.name}
        add(3, f"-o {which} --overwrite", run)
    for name in ("..", "../escape", "a/b"):
        def run(wd, name=name):
            p = wd / "d.lammpstrj"
            p.write_text(dump)
            m = manifest(wd / "m.toml", [p], defaults="types = {" + ", ".join(
                f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001", extra_run=f'name = "{name}"')
            r = ugk("ingest", m, "-o", wd / "c.nc", "-q")
            ok_back = frames_in(wd / "c.nc") is not None if r.returncode == 0 else True
            return r, {"file": "m.toml", "lost": not ok_back}
        add(3, f"run named {name!r}", run)
    # 4: disk full (needs root for a tmpfs)
    def disk_full(wd):
        mnt = wd / "mnt"
        mnt.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                          capture_output=True).returncode != 0:
            return None, {}
        try:
            big, _ = dump_text(600)
            p = wd / "big.lammpstrj"
            p.write_text(big)
            m = manifest(wd / "m.toml", [p], defaults="types = {" + ", ".join(
                f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001")
            (mnt / "filler").write_bytes(b"x" * (1 << 20))
            r = ugk("ingest", m, "-o", mnt / "c.nc", "-q")
            left = sorted(x.name for x in mnt.iterdir()) != ["filler"]
            return r, {"leftover": left, "file": "c.nc"}
        finally:
            subprocess.run(["umount", str(mnt)], capture_output=True)
    add(4, "archive on a full 2 MB tmpfs", disk_full)
    # 5: cells
    for label, cellspec in (("NaN", "nan 0.0 0.0\n0.0 10.0 0.0\n0.0 0.0 10.0"),
                            ("zero volume", "10.0 0.0 0.0\n10.0 0.0 0.0\n0.0 0.0 10.0"),
                            ("left-handed", "10.0 0.0 0.0\n0.0 0.0 10.0\n0.0 10.0 0.0"),
                            ("infinite", "inf 0.0 0.0\n0.0 10.0 0.0\n0.0 0.0 10.0")):
        add(5, f"XDATCAR {label} cell", ingest_case(lambda c=cellspec: xdatcar_text(cell=c), "XDATCAR",
                                                     defaults="frame_interval_ps = 0.1"))
    for label, lat in (("NaN", "nan 0 0 0 10 0 0 0 10"), ("zero volume", "10 0 0 10 0 0 0 0 10"),
                       ("left-handed", "10 0 0 0 0 10 0 10 0")):
        add(5, f"extxyz {label} cell", ingest_case(lambda lat=lat: extxyz_text(lattice=lat), "cell.xyz",
                                                    defaults="timestep_ps = 0.001"))
    for label, box in (("NaN box", "0 nan"), ("zero-width box", "0 0"), ("inverted box", "10 0")):
        add(5, f"dump {label}", ingest_case(
            lambda box=box: "\n".join(box if (i % per) == 5 else ln for i, ln in enumerate(dump_lines)),
            "box.lammpstrj", types=types))
    # 6: truncated XDATCAR.gz, through ingest and info
    xgz = gzip.compress(xdatcar_text(60).encode())
    for cut in (0.2, 0.5, 0.8, 0.95):
        add(6, f"ingest XDATCAR.gz cut at {cut:.0%}", ingest_case(lambda cut=cut: xgz[:int(len(xgz) * cut)],
                                                                  "XDATCAR.gz", defaults="frame_interval_ps = 0.1"))
    for cut in (0.3, 0.7):
        def info_case(wd, cut=cut):
            p = wd / "XDATCAR.gz"
            p.write_bytes(xgz[:int(len(xgz) * cut)])
            return ugk("info", p, "--frame-interval-ps", "0.1", "-q"), {"file": p.name}
        add(6, f"ugk info XDATCAR.gz cut at {cut:.0%}", info_case)
    # 7: log
    log = (EXAMPLES / "runs" / "T1000" / "s1" / "log.lammps").read_text()
    rows = [m.start() for m in re.finditer(r"(?m)^\s+\d+\s+-?\d", log)]
    tiny_dump = EXAMPLES / "runs" / "T1000" / "s1" / "dump.lammpstrj.gz"

    baseline = {}

    def thermo_rows(wd: Path, lp: Path):
        d = wd / "dump.lammpstrj.gz"
        shutil.copy(tiny_dump, d)
        m = manifest(wd / "m.toml", [d], logs=[lp], defaults='types = {1 = "Li", 2 = "P", 3 = "O", 4 = "Si"}')
        r = ugk("ingest", m, "-o", wd / "c.nc", "-q")
        if r.returncode != 0:
            return r, None
        code = ("import sys, warnings; warnings.simplefilter('ignore');"
                "from uncertainty_gk.archive import open_archive; c = open_archive(sys.argv[1]);"
                "print(sum(ds.sizes.get('thermo', 0) for ds in c.values()))")
        out = subprocess.run([*PY, "-c", code, str(wd / "c.nc")], capture_output=True, text=True)
        return r, (int(out.stdout) if out.returncode == 0 else None)

    def log_case(mutator, name, damaged_rows=1, benign=False):
        def run(wd):
            if "rows" not in baseline:
                (wd / "base").mkdir()
                lp0 = wd / "base" / "log.lammps"
                lp0.write_text(log)
                baseline["rows"] = thermo_rows(wd / "base", lp0)[1]
            if name == "gz":
                lp = wd / "log.lammps.gz"
                raw = gzip.compress(log.encode())
                lp.write_bytes(raw[: len(raw) * 2 // 3])
                r, rows_out = thermo_rows(wd, lp)
                return r, {"frames": None if rows_out is None else [rows_out], "expect": None,
                           "file": "log.lammps.gz"}
            lp = wd / "log.lammps"
            lp.write_text(mutator(log))
            r, rows_out = thermo_rows(wd, lp)
            return r, {"frames": None if rows_out is None else [rows_out],
                       "expect": baseline["rows"] - damaged_rows, "file": "log.lammps", "benign": benign}
        return run

    def _unused(mutator, name):
        def run(wd):
            lp = wd / "log.lammps"
            lp.write_text(mutator(log))
            d = wd / "dump.lammpstrj.gz"
            shutil.copy(tiny_dump, d)
            m = manifest(wd / "m.toml", [d], logs=[lp], defaults='types = {1 = "Li", 2 = "P", 3 = "O", 4 = "Si"}')
            r = ugk("ingest", m, "-o", wd / "c.nc", "-q")
            rows_out = None
            if r.returncode == 0:
                code = ("import sys, warnings; warnings.simplefilter('ignore');"
                        "from uncertainty_gk.archive import open_archive; c = open_archive(sys.argv[1]);"
                        "print(sum(ds.sizes.get('thermo', 0) for ds in c.values()))")
                out = subprocess.run([*PY, "-c", code, str(wd / "c.nc")], capture_output=True, text=True)
                rows_out = int(out.stdout) if out.returncode == 0 else None
            return r, {"frames": None if rows_out is None else [rows_out], "expect": len(rows) - 1,
                       "file": "log.lammps"}
        return run
    for k in (40, 120, 180):
        add(7, f"non-numeric value in thermo row {k}", log_case(
            lambda t, k=k: t[:rows[k] + 12] + "x" + t[rows[k] + 13:], "row"))
    add(7, "blank line inside the production block", log_case(lambda t: t[:rows[150]] + "\n" + t[rows[150]:], "blank",
                                                               damaged_rows=0, benign=True))
    add(7, "thermo row cut in half", log_case(lambda t: t[:rows[100] + 30] + "\n" + t[rows[101]:], "cut"))
    # 8: manifest types
    good_run = 'trajectory = "d.lammpstrj"\nlabels = {seed = 1}'
    for label, text in (("labels = \"seed1\"", 'trajectory = "d.lammpstrj"\nlabels = "seed1"'),
                        ("trajectory = 5", "trajectory = 5\nlabels = {seed = 1}"),
                        ("log = 5", good_run + "\nlog = 5"), ("mobile = 3", good_run + "\nmobile = 3"),
                        ("defaults = 5", None), ("runs = [1]", None),
                        ("datetime label", 'trajectory = "d.lammpstrj"\nlabels = {seed = 1979-05-27T07:32:00Z}'),
                        ("invalid label_pattern", 'glob = "*.lammpstrj"\nlabel_pattern = "(?P<seed"'),
                        ("types = 5", good_run + "\ntypes = 5"), ("charges = [1]", good_run + "\ncharges = [1]"),
                        ("name = 7", good_run + "\nname = 7")):
        def run(wd, label=label, text=text):
            (wd / "d.lammpstrj").write_text(dump)
            m = wd / "m.toml"
            if label == "defaults = 5":
                m.write_text(f"defaults = 5\n[[runs]]\n{good_run}\n")
            elif label == "runs = [1]":
                m.write_text("runs = [1]\n")
            else:
                m.write_text('[defaults]\ntypes = {1 = "Li", 2 = "O", 3 = "P"}\ntimestep_ps = 0.001\n'
                             f"[[runs]]\n{text}\n")
            return ugk("ingest", m, "-o", wd / "c.nc", "-q"), {"file": "m.toml"}
        add(8, label, run)
    # 9: wrong science
    def same_file(wd, copy=False):
        p = wd / "d.lammpstrj"
        p.write_text(dump)
        q = p
        if copy:
            q = wd / "d2.lammpstrj"
            q.write_text(dump)
        m = manifest(wd / "m.toml", [p, q], defaults="types = {" + ", ".join(
            f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001")
        return ugk("ingest", m, "-o", wd / "c.nc", "-q"), {"file": "m.toml"}
    add(9, "the same file as two seeds", same_file)
    add(9, "a copy of one file as a second seed", lambda wd: same_file(wd, True))
    for label, nums in (("repeated", [1, 2, 3, 3] + list(range(4, 30))), ("backwards", [1, 2, 4, 3] + list(range(5, 31)))):
        add(9, f"XDATCAR configurations {label}", ingest_case(lambda nums=nums: xdatcar_text(numbers=nums), "XDATCAR",
                                                               defaults="frame_interval_ps = 0.1"))
    add(9, "XDATCAR configuration missing (gap)", ingest_case(
        lambda: xdatcar_text(numbers=[1, 2, 3] + list(range(5, 32))), "XDATCAR", defaults="frame_interval_ps = 0.1"))
    add(9, "number cut at the end of a dump", ingest_case(lambda: dump.rstrip("\n")[:-3], "e.lammpstrj", types=types))
    add(9, "number cut at the end of an XDATCAR", ingest_case(lambda: xdatcar_text().rstrip("\n")[:-4], "XDATCAR",
                                                               defaults="frame_interval_ps = 0.1"))
    add(9, "number cut at the end of an extxyz", ingest_case(lambda: xyz.rstrip("\n")[:-3], "e.xyz",
                                                              defaults="timestep_ps = 0.001"))
    for label, dflt in (("temperature_K = inf", "temperature_K = inf"), ("temperature_K = -5", "temperature_K = -5"),
                        ("timestep_ps = 1e-30", "timestep_ps = 1e-30"), ("frame_interval_ps = nan",
                                                                         "frame_interval_ps = nan")):
        add(9, label, ingest_case(lambda: xdatcar_text(), "XDATCAR", defaults=dflt + (
            "\nframe_interval_ps = 0.1" if "frame_interval" not in dflt else "")))
    add(9, "coordinate 1e300 in a dump", ingest_case(
        lambda: "\n".join(ln.rsplit(" ", 1)[0] + " 1e300" if i == per * 8 + 12 else ln
                          for i, ln in enumerate(dump_lines)), "big.lammpstrj", types=types))
    add(9, "log with 'timestep 1e-30'", log_case(lambda t: t.replace("timestep", "timestep 1e-30 #", 1), "ts"))

    def training_dump(wd):
        p = wd / "d.lammpstrj"
        p.write_text(dump)
        m = manifest(wd / "m.toml", [p], defaults="types = {" + ", ".join(
            f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001")
        ugk("ingest", m, "-o", wd / "c.nc", "-q")
        return ugk("diagnose", wd / "c.nc", "--training", p, "-q"), {"file": "d.lammpstrj"}
    add(9, "--training given a dump", training_dump)
    # 10: damaged archive
    def damaged(wd, what):
        p = wd / "d.lammpstrj"
        p.write_text(dump)
        m = manifest(wd / "m.toml", [p], defaults="types = {" + ", ".join(
            f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001")
        ugk("ingest", m, "-o", wd / "c.nc", "-q")
        import h5py

        with h5py.File(wd / "c.nc", "r+") as f:
            g = next(iter(f.values()))
            if what == "positions":
                v = g["positions"][:]
                v.reshape(-1)[:500] += 7
                g["positions"][...] = v
            else:
                g.attrs["labels"] = '{"seed": 9}'
        if what == "verify":
            return ugk("verify", wd / "c.nc"), {"file": "c.nc"}
        r = ugk("ingest", m, "-o", wd / "c.nc", "-q")
        code = ("import sys, json, warnings; warnings.simplefilter('ignore');"
                "from uncertainty_gk.archive import open_archive; from uncertainty_gk.io.lammps_dump import "
                "read_lammps_dump; c = open_archive(sys.argv[1]); ds = next(iter(c.values()));"
                "ref = read_lammps_dump(sys.argv[2], types={int(k): v for k, v in json.loads(sys.argv[3]).items()}, timestep_ps=0.001);"
                "print(bool((ds['positions'].values == ref['positions'].values).all()))")
        out = subprocess.run([*PY, "-c", code, str(wd / "c.nc"), str(p), json.dumps({int(k): v for k, v in types.items()})],
                             capture_output=True, text=True)
        good = out.stdout.strip() == "True"
        if r.returncode == 0 and not good:
            return r, {"input_changed": True, "file": "c.nc"}
        return r, {"file": "c.nc"}
    add(10, "re-ingest after 500 position values corrupted", lambda wd: damaged(wd, "positions"))
    add(10, "re-ingest after the labels were changed", lambda wd: damaged(wd, "labels"))
    add(10, "ugk verify of a corrupted archive", lambda wd: damaged(wd, "verify"))
    # 11: killed runs
    def killed(wd, sig):
        big, _ = dump_text(300)
        p = wd / "big.lammpstrj"
        p.write_text(big)
        m = manifest(wd / "m.toml", [p], defaults="types = {" + ", ".join(
            f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001")
        out = wd / "out"
        out.mkdir()
        script = textwrap.dedent(f"""
            import sys, time
            import uncertainty_gk.archive as a
            real = a.time_axis                  # called for every chunk once the temporary archive exists
            def slow(*args, **kw):
                print("writing", flush=True)
                time.sleep(60)
                return real(*args, **kw)
            a.time_axis = slow
            from uncertainty_gk.cli import main
            sys.exit(main(["ingest", {str(m)!r}, "-o", {str(out / 'c.nc')!r}, "-q"]))
            """)
        proc = subprocess.Popen([*PY, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = ""
        t0 = time.time()
        while time.time() - t0 < 60 and proc.poll() is None:
            line = proc.stdout.readline()
            if "writing" in line:
                break
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        r2 = ugk("ingest", m, "-o", out / "c.nc", "-q")      # the next run
        left = [x.name for x in out.iterdir() if x.name.endswith(".tmp")]
        r = subprocess.CompletedProcess(proc.args, proc.returncode if proc.returncode > 0 else 143, "", err)
        return r, {"leftover": bool(left) or r2.returncode != 0, "file": "c.nc"}
    add(11, "SIGTERM during ingest, then ingest again", lambda wd: killed(wd, signal.SIGTERM))
    add(11, "SIGKILL during ingest, then ingest again", lambda wd: killed(wd, signal.SIGKILL))
    # 12: injection (Markdown and CSV writers)
    for label, value in (("<script> label in Markdown", "<script>alert(1)</script>"),
                         ("<img onerror> file name in Markdown", "<img src=x onerror=alert(1)>"),
                         ("=HYPERLINK label in CSV", '=HYPERLINK("http://x","y")'),
                         ("@SUM label in CSV", "@SUM(1+1)*cmd"), ("-cmd label in CSV", "-2+3+cmd")):
        def run(wd, value=value):
            code = textwrap.dedent(f"""
                import sys, csv, io
                from uncertainty_gk.tables import Column, Table
                t = Table(columns=[Column("model"), Column("x", kind="number")], rows=[[{value!r}, -1.5]])
                md, text = t.to_markdown(), t.to_csv()
                row = list(csv.reader(io.StringIO(text)))[1]
                bad = ("<script" in md or "<img" in md or row[0][:1] in "=+-@" or row[1] != "-1.5")
                print("injected" if bad else "escaped")
                """)
            out = subprocess.run([*PY, "-c", code], capture_output=True, text=True)
            r = subprocess.CompletedProcess(out.args, 0 if "escaped" in out.stdout else 0, out.stdout, out.stderr)
            return r, {"ok_if_exit0": "escaped" in out.stdout, "silent_if": "injected" in out.stdout}
        add(12, label, run)
    # 13: archive size
    def size_case(wd):
        two = "\n".join(dump_lines[:2 * per]) + "\n"
        p = wd / "two.lammpstrj"
        p.write_text(two)
        m = manifest(wd / "m.toml", [p], defaults="types = {" + ", ".join(
            f'{k} = "{v}"' for k, v in types.items()) + "}\ntimestep_ps = 0.001")
        r = ugk("ingest", m, "-o", wd / "c.nc", "-q")
        size = (wd / "c.nc").stat().st_size if (wd / "c.nc").exists() else 0
        small = size < 100_000 + 10 * len(two.encode())      # netCDF metadata plus the data, not empty chunks
        return r, {"ok_if_exit0": small, "silent_if": not small, "size": size}
    add(13, "2-frame run archive size", size_case)

    # ---- more damage of the same kinds (cases 89 on, added after the first measurement)
    add(2, "NaN coordinate in frame 20 (a blown-up run)", ingest_case(
        lambda: "\n".join(ln.rsplit(" ", 1)[0] + " nan" if i == per * 20 + 12 else ln
                          for i, ln in enumerate(dump_lines)), "nan.lammpstrj", types=types))
    add(2, "an atom id changed in frame 6", ingest_case(
        lambda: "\n".join("999 " + ln.split(" ", 1)[1] if i == per * 6 + 9 else ln for i, ln in enumerate(dump_lines)),
        "id.lammpstrj", types=types))
    add(2, "frames 10-12 repeated (restart overlap)", ingest_case(
        lambda: "\n".join(dump_lines[:per * 13] + dump_lines[per * 10:]), "rep.lammpstrj", types=types,
        expect_frames=30))
    add(2, "a flipped byte in a gzip dump", ingest_case(
        lambda: (lambda b: b[:len(b) // 2] + bytes([b[len(b) // 2] ^ 0xFF]) + b[len(b) // 2 + 1:])(
            gzip.compress(dump.encode())), "flip.lammpstrj.gz", types=types))
    add(6, "XDATCAR configuration with a missing line", ingest_case(
        lambda: "\n".join(ln for i, ln in enumerate(xdatcar_text().split("\n")) if i != 7 + 9 * 12 + 3),
        "XDATCAR", defaults="frame_interval_ps = 0.1", expect_frames=29))
    add(6, "XDATCAR coordinate '*******' (Fortran overflow)", ingest_case(
        lambda: "\n".join("0.1 ******* 0.3" if i == 7 + 9 * 5 + 2 else ln
                          for i, ln in enumerate(xdatcar_text().split("\n"))),
        "XDATCAR", defaults="frame_interval_ps = 0.1", expect_frames=29))
    add(6, "XDATCAR atom counts line damaged", ingest_case(
        lambda: xdatcar_text().replace("\n4 4\n", "\n4 x\n", 1), "XDATCAR", defaults="frame_interval_ps = 0.1"))
    add(1, "extxyz species changed in frame 8", ingest_case(
        lambda: "\n".join(("Na" + ln[2:]) if i == 6 * 8 + 2 else ln for i, ln in enumerate(xyz.split("\n"))),
        "sp.xyz", defaults="timestep_ps = 0.001"))
    add(1, "extxyz frame without Lattice", ingest_case(
        lambda: "\n".join(ln.replace('Lattice="10.0 0.0 0.0 0.0 10.0 0.0 0.0 0.0 10.0" ', "") if i == 6 * 9 + 1
                          else ln for i, ln in enumerate(xyz.split("\n"))), "nolat.xyz",
        defaults="timestep_ps = 0.001"))
    add(7, "log.lammps.gz cut short", log_case(lambda t: t, "gz"))
    add(7, "thermo header line damaged", log_case(
        lambda t: t.replace("Step          Time", "St#p          Time", 1), "hdr", damaged_rows=0))

    def data_case(mutator, label):
        def run(wd):
            tiny = wd / "tiny"
            shutil.copytree(EXAMPLES, tiny)
            d = tiny / "lpso_start.data"
            d.write_text(mutator(d.read_text()))
            m = tiny / "campaign.toml"
            m.write_text(m.read_text().replace('types = {1 = "Li", 2 = "P", 3 = "O", 4 = "Si"}',
                                               'data_file = "lpso_start.data"'))
            return ugk("ingest", m, "-o", wd / "c.nc", "-q"), {"file": "lpso_start.data"}
        add(8, label, run)
    data_case(lambda t: t.replace("1 6.941", "1 six", 1), "data file: mass not a number")
    data_case(lambda t: t.replace("Masses", "Mases", 1), "data file: no Masses section")
    for label, text in (("unknown key", good_run + "\ntemprature_K = 300"),
                        ("missing trajectory file", 'trajectory = "nope.lammpstrj"\nlabels = {seed = 1}'),
                        ("max_unwrap_fraction = 7", good_run + "\nmax_unwrap_fraction = 7")):
        def run(wd, text=text):
            (wd / "d.lammpstrj").write_text(dump)
            m = wd / "m.toml"
            m.write_text('[defaults]\ntypes = {1 = "Li", 2 = "O", 3 = "P"}\ntimestep_ps = 0.001\n'
                         f"[[runs]]\n{text}\n")
            return ugk("ingest", m, "-o", wd / "c.nc", "-q"), {"file": "m.toml"}
        add(8, label, run)
    return cases


def run_all(workdir: Path, only=None, first=0) -> list[tuple[Case, str, str]]:
    results = []
    for i, case in enumerate(build_cases()):
        if (only and case.category not in only) or i < first:
            continue
        wd = workdir / f"case{i:03d}"
        wd.mkdir(parents=True, exist_ok=True)
        try:
            r, info = case.run(wd)
        except subprocess.TimeoutExpired:
            results.append((case, "traceback", "timeout"))
            continue
        if r is None:
            continue                                       # not possible here (e.g. no tmpfs)
        if "leftover" in info and case.category == 11:
            outcome = "lost" if info["leftover"] else "clean"
        elif info.get("silent_if"):
            outcome = "silent"
        elif info.get("ok_if_exit0") and r.returncode == 0:
            outcome = "warning" if "warning:" in r.stderr else "clean"
        else:
            outcome = classify(r, info)
        msg = next((ln for ln in (r.stderr + r.stdout).splitlines() if ln.startswith(("error:", "warning:"))), "")
        results.append((case, outcome, msg[:160]))
        print(f"#{i:03d} [{case.category:2d}] {case.name:<48} {outcome:<14} {msg[:110]}", flush=True)
    return results


COLUMNS = ("clear error", "unclear error", "warning", "clean", "traceback", "silent", "lost")


_LINE = re.compile(r"^(?:#(\d+) )?\[\s*(\d+)\] (.{48}) (clear error|unclear error|warning|clean|traceback|silent|lost)")


def results_from_logs(paths) -> list[tuple[Case, str, str]]:
    """Outcomes printed by earlier runs; later logs override earlier ones case by case
    (lines without a case number are numbered in order, as the first version printed them)."""
    found: dict[int, tuple[Case, str, str]] = {}
    for path in paths:
        k = 0
        for line in Path(path).read_text().splitlines():
            m = _LINE.match(line)
            if not m:
                continue
            idx = int(m.group(1)) if m.group(1) else k
            k += 1
            found[idx] = (Case(int(m.group(2)), m.group(3).strip(), None), m.group(4), "")
    return [found[i] for i in sorted(found)]


def table(results) -> str:
    by = defaultdict(Counter)
    for case, outcome, _ in results:
        by[case.category][outcome] += 1
    head = "| # | category | tried | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (3 + len(COLUMNS))]
    total = Counter()
    for cat in sorted(by):
        c = by[cat]
        total.update(c)
        lines.append(f"| {cat} | {CATEGORIES[cat]} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in COLUMNS)
                     + " |")
    lines.append(f"| | **all** | **{sum(total.values())}** | " + " | ".join(f"**{total[k]}**" for k in COLUMNS)
                 + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, help="keep the cases here (default: a temporary folder)")
    ap.add_argument("--only", type=int, nargs="*", help="only these categories")
    ap.add_argument("--from-case", type=int, default=0, help="only cases with this number or higher")
    ap.add_argument("--table", type=Path, nargs="+", metavar="LOG",
                    help="print the table of the outcomes in these printed logs (later ones override) and stop")
    args = ap.parse_args(argv)
    if args.table:
        print(table(results_from_logs(args.table)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="faults_"))
    code = subprocess.run([*PY, "-c", "import uncertainty_gk, sys; print(uncertainty_gk.__file__)"],
                          capture_output=True, text=True).stdout.strip()
    print(f"code under test: {code}")
    results = run_all(workdir, args.only, args.from_case)
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
