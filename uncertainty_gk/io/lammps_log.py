"""LAMMPS log files: thermo blocks, units, timestep, run lengths, ERROR/WARNING events.

:func:`parse_lammps_log` reads a ``log.lammps`` (plain or gzip) into a
:class:`LammpsLog`; :meth:`LammpsLog.to_dataset` gives the Dataset form that
:func:`uncertainty_gk.schema.merge_log` merges into a run Dataset.

What is recognised
------------------
* echoed input commands: ``units``, ``timestep``, ``run N`` (also ``run N upto``),
  ``minimize``, ``rerun``.  Lines still containing ``$`` variable references are
  skipped when LAMMPS echoes the substituted line right after them (its default);
  otherwise simple ``${name}``/``$x`` references are resolved from the echoed
  ``variable`` commands (recorded in :attr:`LammpsLog.notes`).
* thermo blocks (``thermo_style one`` or ``custom``): a header line of thermo keywords
  (first keyword ``Step``, or followed by a numeric row of the same width), then numeric
  rows until ``Loop time of ...`` or a line that is not a row.  ``WARNING`` lines inside
  a block are kept as events and do not end it.  ``nan``, ``-nan``, ``inf`` values are
  kept (parsed as NaN/inf).
* ``ERROR``/``WARNING`` lines, with the last thermo step printed before them.

Each thermo block corresponds to one ``run``/``minimize`` command; a command that ends
before printing a header (e.g. an immediate error) gives a block without rows.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputFormatError, LogEventWarning, SkippedFramesWarning, TruncatedInputWarning
from ..schema import THERMO_UNITS_METAL, add_metadata
from ..units import LAMMPS_DEFAULT_TIMESTEP, LAMMPS_UNITS
from .sniff import open_text, stream_was_cut

__all__ = ["ThermoBlock", "LogEvent", "LammpsLog", "parse_lammps_log", "sanitize_column",
           "open_text"]

_KEYWORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_\[\]\.:/\-]*$")
_KNOWN_KEYWORDS = {"Step", "Elapsed", "Elaplong", "Time", "Temp", "PotEng", "KinEng", "TotEng",
                   "E_pair", "E_mol", "Press", "Volume", "Lx", "Ly", "Lz", "CPU", "Dt", "Atoms",
                   "Enthalpy", "Density", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz", "Ecoul", "E_long",
                   "E_vdwl", "Xlo", "Xhi", "Ylo", "Yhi", "Zlo", "Zhi", "Cella", "Cellb", "Cellc",
                   "CellAlpha", "CellBeta", "CellGamma", "Fmax", "Fnorm", "Nbuild", "Ndanger", "T/CPU",
                   "S/CPU", "CPULeft", "Part", "TimeoutLeft"}
_COMMANDS = {"units", "timestep", "run", "minimize", "minimize/kk", "rerun", "variable"}
_LOOP = re.compile(r"^Loop time of\s+\S+\s+on\s+\d+\s+procs?\s+for\s+(\d+)\s+steps")
_VARREF = re.compile(r"\$\{([^}]+)\}|\$([A-Za-z0-9_])")
# Lines LAMMPS prints after an ERROR that do not count as "something happened after it".
_TRAILER = re.compile(r"^(For more information see|Last command:|application called MPI_Abort|"
                      r"\(src/|--------|MPI_ABORT|with errorcode|NOTE: |=====|$)")


def sanitize_column(name: str) -> str:
    """A thermo column name as a valid netCDF/Python identifier: ``c_msdLi[4]`` -> ``c_msdLi_4``."""
    out = re.sub(r"[^A-Za-z0-9_]+", "_", name)
    out = re.sub(r"_+", "_", out).strip("_")
    if not out:
        out = "col"
    if out[0].isdigit():
        out = "_" + out
    return out


def _to_float(tok: str) -> float:
    """Parse a thermo value; accepts nan/-nan/inf/-inf in any case."""
    try:
        return float(tok)
    except ValueError:
        low = tok.lower().lstrip("+")
        if low in ("-nan", "nan", "-nan(ind)", "nan(ind)", "-1.#ind", "1.#qnan", "-1.#qnan"):
            return math.nan
        if low in ("inf", "infinity", "1.#inf"):
            return math.inf
        if low in ("-inf", "-infinity", "-1.#inf"):
            return -math.inf
        raise


def _parse_row(line: str, width: int) -> list[float] | None:
    toks = line.split()
    if len(toks) != width:
        return None
    try:
        return [_to_float(t) for t in toks]
    except ValueError:
        return None


def _looks_numeric_row(line: str) -> bool:
    toks = line.split()
    if not toks:
        return False
    try:
        for t in toks:
            _to_float(t)
    except ValueError:
        return False
    return True


#: Lines looked ahead for the next valid row of a thermo block after a damaged line.
RESYNC_LINES = 8


def _corrupted_row(line: str, lines: list[str], i: int, block, last_step: int) -> int:
    """Number of damaged lines starting with ``line`` (inside a thermo block) before the
    block's rows go on (a valid row within :data:`RESYNC_LINES` lines, ``lines[i]`` on,
    with no header, ``Loop time``, ERROR or WARNING line before it), else 0."""
    def stops(text: str) -> bool:
        toks = text.split()
        return text.startswith(("Loop time of", "ERROR", "WARNING")) or (
            _is_header(toks) and len(set(toks)) == len(toks))

    if not line or stops(line):
        return 0
    for j in range(i, min(len(lines), i + RESYNC_LINES)):
        text = lines[j].strip()
        if not text:
            continue
        if _parse_row(text, len(block.columns)) is not None:
            return j - i + 1
        if stops(text):
            return 0
    return 0


def _is_header(tokens: list[str]) -> bool:
    return bool(tokens) and all(_KEYWORD.match(t) for t in tokens) and (
        tokens[0] == "Step" or any(t in _KNOWN_KEYWORDS or t[:2] in ("c_", "v_", "f_") for t in tokens))


@dataclass
class ThermoBlock:
    """One thermo block (one ``run``/``minimize``) of a log."""

    index: int
    columns: list[str]
    rows: np.ndarray  # (n_rows, n_columns) float64
    header_line: int | None  # 1-based, None for a command that printed no header
    command: str | None = None  # "run", "minimize", "rerun" or None
    command_line: int | None = None
    requested_steps: int | None = None
    steps_done: int | None = None  # from "Loop time ... for N steps", else last - first step
    completed: bool = False  # True when the block ended with "Loop time of"
    timestep: float | None = None  # in the LAMMPS units style's time unit
    units: str | None = None

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.rows[:, self.columns.index(name)]

    @property
    def steps(self) -> np.ndarray:
        if "Step" in self.columns:
            return self.column("Step").astype(np.int64)
        return np.full(self.n_rows, -1, dtype=np.int64)

    @property
    def ended_early(self) -> bool:
        return (self.requested_steps is not None and self.steps_done is not None
                and self.command == "run" and self.steps_done < self.requested_steps)


@dataclass
class LogEvent:
    kind: str  # "ERROR" or "WARNING"
    message: str
    line: int  # 1-based line number
    step: int  # last thermo step printed before the line, -1 if none


@dataclass
class LammpsLog:
    """A parsed LAMMPS log."""

    path: str
    units: str | None
    timestep: float | None  # last timestep set, in the units style's time unit
    blocks: list[ThermoBlock]
    events: list[LogEvent]
    run_lengths: list[int]  # every `run N` command, in order (requested steps)
    ended_with_error: bool = False
    version: str | None = None
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ derived
    @property
    def time_unit_ps(self) -> float | None:
        if self.units in LAMMPS_UNITS:
            return float(LAMMPS_UNITS[self.units]["time_ps"])
        return None

    @property
    def timestep_ps(self) -> float | None:
        """Timestep of the production block (else the last one set) in ps."""
        f = self.time_unit_ps
        pb = self.production_block
        dt = self.blocks[pb].timestep if pb is not None and self.blocks[pb].timestep is not None else self.timestep
        return None if f is None or dt is None else float(dt) * f

    @property
    def production_block(self) -> int | None:
        """Index of the last block with thermo rows (None when no block has rows)."""
        for b in reversed(self.blocks):
            if b.n_rows:
                return b.index
        return None

    @property
    def steps_done(self) -> list[int | None]:
        return [b.steps_done for b in self.blocks]

    @property
    def errors(self) -> list[LogEvent]:
        return [e for e in self.events if e.kind == "ERROR"]

    @property
    def warnings(self) -> list[LogEvent]:
        return [e for e in self.events if e.kind == "WARNING"]

    @property
    def columns(self) -> list[str]:
        """Union of thermo columns of all blocks, in order of first appearance."""
        out: list[str] = []
        for b in self.blocks:
            out.extend(c for c in b.columns if c not in out)
        return out

    def column_names(self) -> dict[str, str]:
        """Thermo column -> Dataset variable name (``thermo_<sanitized>``), collision-free."""
        names: dict[str, str] = {}
        used = {"thermo_step", "thermo_time", "thermo_block"}
        for col in self.columns:
            base = "thermo_" + sanitize_column(col)
            name, k = base, 2
            while name in used or name.lower() in {u.lower() for u in used}:
                name, k = f"{base}_{k}", k + 1
            used.add(name)
            names[col] = name
        return names

    # ------------------------------------------------------------------ Dataset
    def to_dataset(self) -> xr.Dataset:
        """The log as a Dataset with dims ``thermo`` and ``event`` (see module docstring)."""
        f = self.time_unit_ps
        names = self.column_names()
        steps, times, block_idx = [], [], []
        for b in self.blocks:
            if not b.n_rows:
                continue
            s = b.steps
            if "Time" in b.columns and f is not None:
                t = b.column("Time") * f
            elif f is not None and b.timestep is not None and "Step" in b.columns:
                t = s.astype(np.float64) * b.timestep * f
            else:
                t = np.full(b.n_rows, np.nan)
            steps.append(s)
            times.append(t)
            block_idx.append(np.full(b.n_rows, b.index, dtype=np.int64))
        n = int(sum(len(s) for s in steps))
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt)) if steps else (lambda xs, dt: np.zeros(0, dt))
        data_vars = {}
        for col, vname in names.items():
            if col == "Step":
                continue  # it is the thermo_step coordinate
            parts = [b.column(col) if col in b.columns else np.full(b.n_rows, np.nan)
                     for b in self.blocks if b.n_rows]
            data_vars[vname] = ("thermo", cat(parts, np.float64) if parts else np.zeros(n))
        ev = self.events
        coords = {
            "thermo_step": ("thermo", cat(steps, np.int64)),
            "thermo_time": ("thermo", cat(times, np.float64)),
            "thermo_block": ("thermo", cat(block_idx, np.int64)),
            "event_step": ("event", np.array([e.step for e in ev], dtype=np.int64)),
            "event_kind": ("event", np.array([e.kind for e in ev], dtype=str) if ev else np.zeros(0, "<U7")),
            "event_message": ("event", np.array([e.message for e in ev], dtype=str) if ev
                              else np.zeros(0, "<U1")),
            "event_line": ("event", np.array([e.line for e in ev], dtype=np.int64)),
        }
        tsp = self.timestep_ps
        pb = self.production_block
        attrs = {
            "units": self.units or "unknown",
            "timestep_ps": float("nan") if tsp is None else tsp,
            "run_lengths": json.dumps(list(self.run_lengths)),
            "steps_done": json.dumps(self.steps_done),
            "block_commands": json.dumps([b.command for b in self.blocks]),
            "block_requested_steps": json.dumps([b.requested_steps for b in self.blocks]),
            "ended_with_error": int(bool(self.ended_with_error)),
            "production_block": -1 if pb is None else int(pb),
            "path": self.path,
            "notes": json.dumps(list(self.notes)),
        }
        ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
        for col, vname in names.items():
            if vname not in ds:
                continue
            if self.units == "metal" or self.units is None:
                unit = THERMO_UNITS_METAL.get(col, "unknown")
            else:
                unit = "1" if col == "Step" else f"LAMMPS {self.units} units"
            ds[vname].attrs.update(units=unit, long_name=f"thermo output {col}")
        return add_metadata(ds)


# --------------------------------------------------------------------------- parser
def _strip_comment(line: str) -> str:
    # '#' inside quotes is rare in the commands we care about; a plain split is enough
    return line.split("#", 1)[0].strip()


def _substitute(text: str, variables: dict[str, str]) -> str | None:
    """Replace ${name}/$x by echoed variable values; None if any is unknown or $(...)."""
    if "$(" in text:
        return None
    ok = True

    def rep(m):
        nonlocal ok
        name = m.group(1) or m.group(2)
        if name not in variables:
            ok = False
            return m.group(0)
        return variables[name]

    out = _VARREF.sub(rep, text)
    return out if ok and "$" not in out else None


def parse_lammps_log(path, *, warn: bool = True) -> LammpsLog:
    """Parse a LAMMPS log file (plain or gzip).

    Raises :class:`InputFormatError` for an empty file or one that is not a LAMMPS log.
    Emits :class:`LogEventWarning` when the log contains ERROR lines (``warn=False``
    silences it; the events are recorded either way).
    """
    path = Path(path)
    try:
        with open_text(path) as fh:
            lines = fh.read().splitlines()
            cut = stream_was_cut(fh)
    except FileNotFoundError:
        raise InputFormatError("file not found", path=path) from None
    except (OSError, EOFError) as exc:
        raise InputFormatError(f"cannot read the log: {exc}", path=path) from None
    if cut:
        warnings.warn(f"{path}: the compressed stream ends early (file cut short); read the {len(lines)} lines "
                      "before the cut, the last of which may be incomplete", TruncatedInputWarning, stacklevel=2)
    if not any(ln.strip() for ln in lines):
        raise InputFormatError("the file is empty; expected a LAMMPS log (log.lammps)", path=path)

    units: str | None = None
    timestep: float | None = None
    version: str | None = None
    variables: dict[str, str] = {}
    notes: list[str] = []
    blocks: list[ThermoBlock] = []
    events: list[LogEvent] = []
    run_lengths: list[int] = []
    pending: dict | None = None  # last run/minimize command without a thermo header yet
    last_step = -1
    last_structural = 0  # line number of last thermo row / header / Loop / wall-time line
    saw_command = False

    def new_block(columns, header_line, cmd):
        cmd = cmd or {}
        blocks.append(ThermoBlock(index=len(blocks), columns=columns, rows=np.zeros((0, len(columns))),
                                  header_line=header_line, command=cmd.get("command"),
                                  command_line=cmd.get("line"), requested_steps=cmd.get("requested"),
                                  timestep=timestep if timestep is not None else (
                                      LAMMPS_DEFAULT_TIMESTEP.get(units) if units else None),
                                  units=units))
        return blocks[-1]

    def handle_command(text: str, lineno: int, next_line: str) -> None:
        nonlocal units, timestep, pending, saw_command
        if "$" in text:
            nxt = _strip_comment(next_line)
            if nxt and nxt.split()[0] == text.split()[0]:
                return  # LAMMPS echoes the (partly) substituted line next; handle that one
            if text.split()[0] not in _COMMANDS:
                return
            sub = _substitute(text, variables)
            if sub is None:
                return
            notes.append(f"line {lineno}: {text!r} resolved as {sub!r} from echoed variable commands "
                         "(values given with -var on the command line are not visible in the log)")
            text = sub
        toks = text.split()
        cmd = toks[0]
        if cmd == "variable" and len(toks) >= 4:
            name, style = toks[1], toks[2]
            if style in ("index", "string", "equal", "world", "universe", "uloop", "internal"):
                if style == "index" and name in variables:
                    return  # index variables keep their first value
                variables[name] = toks[3].strip('"\'')
            return
        if cmd == "units" and len(toks) >= 2:
            saw_command = True
            units = toks[1]
            timestep = None  # LAMMPS resets the timestep to the style's default
            return
        if cmd == "timestep" and len(toks) >= 2:
            saw_command = True
            try:
                timestep = float(toks[1])
            except ValueError:
                notes.append(f"line {lineno}: could not parse timestep from {text!r}")
            return
        if cmd in ("run", "minimize", "rerun", "minimize/kk"):
            saw_command = True
            requested = None
            try:
                if cmd == "run" and len(toks) >= 2:
                    requested = int(float(toks[1]))
                    if "upto" in toks[2:]:
                        requested = max(requested - max(last_step, 0), 0)
                    run_lengths.append(requested)
                elif cmd.startswith("minimize") and len(toks) >= 4:
                    requested = int(float(toks[3]))  # maxiter
            except ValueError:
                notes.append(f"line {lineno}: could not parse run length from {text!r}")
            if pending is not None:  # previous command printed no thermo header
                b = new_block([], None, pending)
                b.steps_done = 0
            pending = {"command": "minimize" if cmd.startswith("minimize") else cmd, "line": lineno,
                       "requested": requested}

    i = 0
    n_lines = len(lines)
    skipped_rows: list[tuple[int, str]] = []
    orphan: list[tuple[int, int]] = []          # consecutive numeric lines outside any thermo block
    orphan_runs: list[tuple[int, int, int]] = []  # (first line, last line, count)

    def _flush_orphans():
        if orphan:
            orphan_runs.append((orphan[0][0], orphan[-1][0], len(orphan)))
        orphan.clear()
    block: ThermoBlock | None = None
    rows: list[list[float]] = []

    def close_block(steps_from_loop: int | None, completed: bool) -> None:
        nonlocal block, rows
        if block is None:
            return
        block.rows = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(block.columns))
        if steps_from_loop is not None:
            block.steps_done = steps_from_loop
        elif block.n_rows and "Step" in block.columns:
            s = block.steps
            block.steps_done = int(s[-1] - s[0])
        else:
            block.steps_done = 0
        block.completed = completed
        block, rows = None, []

    while i < n_lines:
        raw = lines[i]
        lineno = i + 1
        stripped = raw.strip()
        i += 1
        if version is None and stripped.startswith("LAMMPS ("):
            version = stripped[len("LAMMPS ("):].rstrip(")")
            continue
        if stripped.startswith("ERROR") or stripped.startswith("WARNING"):
            kind = "ERROR" if stripped.startswith("ERROR") else "WARNING"
            events.append(LogEvent(kind=kind, message=stripped, line=lineno, step=last_step))
            if kind == "ERROR":
                close_block(None, False)
            continue
        if block is not None:
            row = _parse_row(stripped, len(block.columns))
            if row is not None and "Step" in block.columns and rows \
                    and row[block.columns.index("Step")] < last_step:
                skipped_rows.append((lineno, stripped))
                notes.append(f"line {lineno}: skipped a thermo row whose step goes backwards "
                             f"({int(row[block.columns.index('Step')])} after {last_step}) in block {block.index}")
                continue
            if row is not None:
                rows.append(row)
                if "Step" in block.columns:
                    last_step = int(row[block.columns.index("Step")])
                last_structural = lineno
                continue
            m = _LOOP.match(stripped)
            if m:
                close_block(int(m.group(1)), True)
                last_structural = lineno
                continue
            if not stripped and _corrupted_row("blank", lines, i, block, last_step):
                continue                      # a blank line inside a block carries nothing
            bad = _corrupted_row(stripped, lines, i, block, last_step)
            if bad:
                for k in range(bad):          # this line and the damaged ones after it
                    text = lines[i - 1 + k].strip()
                    if text:
                        skipped_rows.append((lineno + k, text))
                i += bad - 1
                notes.append(f"line {lineno}: skipped {bad} damaged line(s) in thermo block {block.index}; the "
                             "block continues")
                continue
            if _looks_numeric_row(stripped):
                notes.append(f"line {lineno}: thermo row with {len(stripped.split())} values where the "
                             f"header has {len(block.columns)} (truncated output?); block {block.index} "
                             "ends before it")
            close_block(None, False)
            # fall through: the line may be a command or a new header
        if not stripped:
            continue
        toks = stripped.split()
        if len(toks) >= 3 and toks[0].isdigit() and _looks_numeric_row(stripped):
            orphan.append((lineno, len(toks)))
            continue
        _flush_orphans()
        if stripped.startswith("Loop time of"):
            last_structural = lineno
            continue
        if stripped.startswith("Total wall time"):
            last_structural = lineno
            continue
        toks = stripped.split()
        if _is_header(toks) and len(set(toks)) == len(toks):
            nxt = lines[i].strip() if i < n_lines else ""
            if _parse_row(nxt, len(toks)) is not None or toks[0] == "Step":
                block = new_block(toks, lineno, pending)
                pending = None
                rows = []
                last_structural = lineno
                continue
        text = _strip_comment(stripped)
        if text:
            handle_command(text, lineno, lines[i] if i < n_lines else "")
    close_block(None, False)
    _flush_orphans()
    if pending is not None:
        b = new_block([], None, pending)
        b.steps_done = 0

    if not blocks and not saw_command and version is None:
        raise InputFormatError(
            "not a LAMMPS log: no 'LAMMPS (version)' banner, no echoed units/timestep/run commands "
            "and no thermo block (a header line such as 'Step Temp PotEng ...' followed by numeric rows)",
            path=path)

    errors = [e for e in events if e.kind == "ERROR"]
    ended_with_error = False
    if errors:
        last_err = errors[-1]
        after = [ln.strip() for ln in lines[last_err.line:]]
        ended_with_error = last_err.line > last_structural and all(
            _TRAILER.match(a) or a.startswith("ERROR") for a in after)
    log = LammpsLog(path=str(path), units=units, timestep=timestep if timestep is not None else (
        LAMMPS_DEFAULT_TIMESTEP.get(units) if units else None), blocks=blocks, events=events,
        run_lengths=run_lengths, ended_with_error=ended_with_error, version=version, notes=notes)
    if units is None:
        notes.append("no 'units' command found in the log: thermo times cannot be converted to ps")
    elif units not in LAMMPS_UNITS:
        notes.append(f"units style {units!r} is not supported for time conversion "
                     f"(supported: {sorted(LAMMPS_UNITS)}); thermo_time is NaN")
    if orphan_runs:
        n_orph = sum(c for _, _, c in orphan_runs)
        shown = ", ".join(f"lines {a}-{b}" for a, b, _ in orphan_runs[:5])
        warnings.warn(f"{path}: ignored {n_orph} numeric line(s) outside any thermo block ({shown}): thermo rows "
                      "whose header line is missing or damaged?", SkippedFramesWarning, stacklevel=2)
        notes.append(f"ignored {n_orph} numeric lines outside any thermo block ({shown})")
    if skipped_rows:
        shown = "; ".join(f"line {ln}: {txt[:60]!r}" for ln, txt in skipped_rows[:5])
        more = f"; and {len(skipped_rows) - 5} more" if len(skipped_rows) > 5 else ""
        warnings.warn(f"{path}: skipped {len(skipped_rows)} corrupted thermo row(s) inside thermo blocks and kept "
                      f"the rows after them: {shown}{more}", SkippedFramesWarning, stacklevel=2)
    if warn and errors:
        e = errors[-1]
        if ended_with_error:
            msg = (f"{path}: line {e.line}: the run ended with an error after step {e.step}: {e.message}; "
                   "frames after this step do not exist and the last frames before it may be unphysical")
        else:
            msg = f"{path}: line {e.line}: the log contains {len(errors)} ERROR line(s), last: {e.message}"
        warnings.warn(msg, LogEventWarning, stacklevel=2)
    return log
