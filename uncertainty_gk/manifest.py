"""Campaign manifests: a TOML file listing runs (files, labels, options).

A campaign is a set of MD runs that differ in structure, MLIP hyperparameter set
("model"), temperature and velocity seed.  The manifest names the files of each run
and the options needed to read them; ``docs/manifest.md`` is the reference.

Example::

    [defaults]
    types = {1 = "Li", 2 = "P", 3 = "O", 4 = "Si"}
    charges = {Li = 1, P = 5, Si = 4, O = -2}
    mobile = ["Li"]
    timestep_ps = 0.001
    temperature_K = 1000

    [[runs]]
    trajectory = "T1000/s1/dump.lammpstrj"
    log = "T1000/s1/log.lammps"
    labels = {structure = "struct1", model = "medium", seed = 1}

Paths are relative to the manifest.  A run may instead give ``glob`` (a pattern
relative to the manifest) and ``label_pattern`` (a regular expression with named
groups matched against each file name) to expand into one run per file.
"""

from __future__ import annotations

import glob as _glob
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ManifestError
from .schema import check_parameter

#: Options that may appear in [defaults] and in each [[runs]] entry.
OPTION_KEYS = {
    "types": "LAMMPS atom type -> element, e.g. {1 = \"Li\", 2 = \"O\"}",
    "data_file": "LAMMPS data file whose Masses section names the types",
    "charges": "element -> charge in e (default: formal oxidation states)",
    "masses": "element -> mass in amu (default: standard atomic masses)",
    "mobile": "list of mobile (diffusing) species, default [\"Li\"]",
    "timestep_ps": "MD timestep in ps (optional when a LAMMPS log gives it)",
    "frame_interval_ps": "time between frames in ps, for formats without step numbers",
    "temperature_K": "target temperature in K",
    "format": "lammps-dump | xdatcar | extxyz (default: from extension/content)",
    "max_unwrap_fraction": "largest per-frame move, as a fraction of the cell, that can be unwrapped",
    "labels": "labels shared by runs, e.g. {structure = \"s1\"}",
}
#: Keys only valid in a [[runs]] entry.
RUN_KEYS = {
    "trajectory": "trajectory file, or a list of files of one run (restarts) in order",
    "log": "LAMMPS log file (optional)",
    "name": "run name in the archive (default: built from the labels)",
    "glob": "pattern of trajectory files; one run per file",
    "label_pattern": "regular expression with named groups giving labels from each globbed file name",
}
TOP_KEYS = {"defaults", "runs", "campaign"}
CAMPAIGN_KEYS = {"name", "description"}
#: The built-in formats (more can be registered, see :mod:`uncertainty_gk.io.registry`).
FORMATS = ("lammps-dump", "xdatcar", "extxyz")


@dataclass
class RunSpec:
    """One run of a campaign: its files, labels and reading options."""

    name: str
    trajectory: list[Path]
    log: Path | None = None
    labels: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    origin: str = ""

    @property
    def format(self) -> str:
        return self.options.get("format") or detect_format(self.trajectory[0])

    def group_labels(self) -> dict:
        """Labels that define the run's group: all but the seed."""
        return {k: v for k, v in self.labels.items() if k != "seed"}


@dataclass
class Manifest:
    path: Path | None
    runs: list[RunSpec]
    campaign: dict = field(default_factory=dict)

    def input_files(self) -> list:
        """Every file the manifest reads: itself, each run's trajectory, log and data file."""
        out = [self.path] if self.path is not None else []
        for r in self.runs:
            out += list(r.trajectory) + ([r.log] if r.log else [])
            if "data_file" in r.options:
                out.append(r.options["data_file"])
        return out


def detect_format(path: Path) -> str:
    """Trajectory format from the file name, or by asking the registered readers (content)."""
    from .errors import InputFormatError
    from .io.registry import base_name, reader_names, sniff_format

    base = base_name(path)
    if "xdatcar" in base:
        return "xdatcar"
    if base.endswith((".xyz", ".extxyz")):
        return "extxyz"
    if base.endswith((".lammpstrj", ".dump")) or base.startswith("dump"):
        return "lammps-dump"
    try:
        fmt = sniff_format(path)
    except (OSError, InputFormatError) as exc:
        raise ManifestError(f"{path}: cannot open trajectory: {exc}") from None
    if fmt is None:
        raise ManifestError(
            f"{path}: cannot tell the trajectory format from the name or the first lines; "
            f"give format = one of {', '.join(reader_names())}")
    return fmt


def _check_keys(table: Mapping, allowed: set, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(allowed)}")


def _normalise_options(opts: Mapping, where: str) -> dict:
    out = dict(opts)
    if "types" in out:
        try:
            out["types"] = {int(k): str(v) for k, v in dict(out["types"]).items()}
        except (TypeError, ValueError):
            raise ManifestError(f"{where}: types must map integer LAMMPS types to elements, "
                                f"e.g. {{1 = \"Li\"}}; found {out['types']!r}") from None
    if "mobile" in out:
        m = out["mobile"]
        if isinstance(m, str):
            m = [m]
        if not isinstance(m, list) or not m or not all(isinstance(x, str) and x for x in m):
            raise ManifestError(f"{where}: mobile must be an element or a list of elements, e.g. [\"Li\"]; "
                                f"found {m!r}")
        out["mobile"] = list(m)
    if "format" in out:
        from .io.registry import reader_names

        if out["format"] not in reader_names():
            raise ManifestError(f"{where}: format {out['format']!r} is not one of {', '.join(reader_names())}")
    if "data_file" in out and not isinstance(out["data_file"], str):
        raise ManifestError(f"{where}: data_file must be a path (a string), found {out['data_file']!r}")
    for key in ("timestep_ps", "frame_interval_ps", "temperature_K", "max_unwrap_fraction"):
        if key in out:
            out[key] = check_parameter(key, out[key], where)
    if "labels" in out:
        out["labels"] = _check_labels(out["labels"], where)
    for key in ("charges", "masses"):
        if key in out:
            try:
                out[key] = {str(k): float(v) for k, v in dict(out[key]).items()}
            except (TypeError, ValueError):
                raise ManifestError(f"{where}: {key} must map elements to numbers, found {out[key]!r}") from None
    return out


def _check_labels(labels, where: str) -> dict:
    """Labels must be a table of strings, integers, floats or booleans."""
    if not isinstance(labels, Mapping):
        raise ManifestError(f"{where}: labels must be a table such as {{structure = \"s1\", seed = 1}}, found "
                            f"{labels!r}")
    for k, v in labels.items():
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise ManifestError(f"{where}: label {k} = {v!r} ({type(v).__name__}); labels must be strings or "
                                "numbers (quote dates and times: \"2024-05-01\")")
        if isinstance(v, float) and not math.isfinite(v):
            raise ManifestError(f"{where}: label {k} = {v!r} is not a finite number")
    return dict(labels)


def _check_path_value(value, key: str, where: str, *, many: bool = False) -> list[str]:
    """A path (or for ``many`` a non-empty list of paths) from the manifest, as a list."""
    items = value if (many and isinstance(value, list)) else [value]
    if not items or not all(isinstance(x, str) and x.strip() for x in items):
        kind = "a path or a list of paths" if many else "a path"
        raise ManifestError(f"{where}: {key} must be {kind} (a string), found {value!r}")
    return list(items)


def _label_value(v):
    if isinstance(v, str) and re.fullmatch(r"[+-]?\d+", v):
        return int(v)
    return v


def run_name(labels: Mapping, fallback: str) -> str:
    """A readable, netCDF-safe group name from the labels, e.g. ``struct1_medium_T1000_seed1``."""
    parts = []
    for k, v in labels.items():
        if k == "seed":
            parts.append(f"seed{v}")
        elif k == "temperature_K":
            parts.append(f"T{v:g}" if isinstance(v, (int, float)) else f"T{v}")
        else:
            parts.append(str(v))
    name = "_".join(parts) or fallback
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", name).lstrip(".")
    return name or re.sub(r"[^A-Za-z0-9_.-]", "-", fallback).lstrip(".") or "run"


def load_manifest(path) -> Manifest:
    """Read and validate a campaign manifest; every file it names must exist."""
    from .fileio import note_input

    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        note_input(path)
    except FileNotFoundError:
        raise ManifestError(f"{path}: manifest not found") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not a text (UTF-8) TOML file") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: invalid TOML: {exc}") from None
    return manifest_from_dict(doc, base=path.parent, origin=str(path))


def manifest_from_dict(doc: Mapping, *, base=".", origin: str = "<manifest>") -> Manifest:
    base = Path(base)
    _check_keys(doc, TOP_KEYS, origin)
    for key in ("campaign", "defaults"):
        if key in doc and not isinstance(doc[key], Mapping):
            raise ManifestError(f"{origin}: [{key}] must be a table, found {key} = {doc[key]!r}")
    campaign = dict(doc.get("campaign", {}))
    _check_keys(campaign, CAMPAIGN_KEYS, f"{origin} [campaign]")
    for k, v in campaign.items():
        if not isinstance(v, str):
            raise ManifestError(f"{origin} [campaign]: {k} must be a string, found {v!r}")
    defaults = dict(doc.get("defaults", {}))
    _check_keys(defaults, set(OPTION_KEYS), f"{origin} [defaults]")
    defaults = _normalise_options(defaults, f"{origin} [defaults]")
    entries = doc.get("runs")
    if not entries:
        raise ManifestError(f"{origin}: no [[runs]] entries; add at least one with trajectory = \"...\"")
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise ManifestError(f"{origin}: runs must be an array of tables ([[runs]] entries), found "
                            f"runs = {entries!r}"[:300])
    runs: list[RunSpec] = []
    for i, entry in enumerate(entries):
        where = f"{origin} runs[{i}]"
        _check_keys(entry, set(OPTION_KEYS) | set(RUN_KEYS), where)
        for key in ("log", "name", "glob", "label_pattern"):
            if key in entry and not isinstance(entry[key], str):
                raise ManifestError(f"{where}: {key} must be a string, found {entry[key]!r}")
        opts = _normalise_options({k: v for k, v in entry.items() if k in OPTION_KEYS}, where)
        merged = {**defaults, **opts}
        if "data_file" in merged:
            merged["data_file"] = str(base / merged["data_file"])
        labels = {**defaults.get("labels", {}), **entry.get("labels", {})}
        merged.pop("labels", None)
        if "glob" in entry:
            if "trajectory" in entry:
                raise ManifestError(f"{where}: give either trajectory or glob, not both")
            runs.extend(_expand_glob(entry, merged, labels, base, where))
            continue
        if "trajectory" not in entry:
            raise ManifestError(f"{where}: missing key 'trajectory' (the trajectory file of this run)")
        if "label_pattern" in entry:
            raise ManifestError(f"{where}: label_pattern needs glob")
        files = _check_path_value(entry["trajectory"], "trajectory", where, many=True)
        spec = RunSpec(name=str(entry.get("name", "")), trajectory=[base / f for f in files],
                       log=(base / entry["log"]) if entry.get("log") else None,
                       labels=labels, options=merged, origin=where)
        runs.append(spec)
    for spec in runs:
        _finish(spec)
    names = [r.name for r in runs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ManifestError(f"{origin}: runs with identical labels/names {dup}; give each run distinct "
                            "labels (e.g. seed = ...) or a distinct name")
    _check_files_once_per_group(runs, origin)
    return Manifest(path=Path(origin) if origin != "<manifest>" else None, runs=runs, campaign=campaign)


def _check_files_once_per_group(runs: list[RunSpec], origin: str) -> None:
    """The same trajectory file in two runs of one group would be pooled as two independent seeds."""
    seen: dict[tuple[str, str], str] = {}
    for spec in runs:
        key = repr(sorted(spec.group_labels().items(), key=lambda kv: kv[0]))
        for f in spec.trajectory:
            real = os.path.realpath(f)
            other = seen.get((key, real))
            if other is not None and other != spec.origin:
                raise ManifestError(f"{spec.origin}: trajectory {f} is also listed by {other} in the same group "
                                    f"{spec.group_labels()}; one file is one seed: remove the duplicate")
            seen[(key, real)] = spec.origin


def _expand_glob(entry, merged, labels, base, where) -> list[RunSpec]:
    pattern = str(base / entry["glob"])
    files = sorted(_glob.glob(pattern))
    if not files:
        raise ManifestError(f"{where}: glob {entry['glob']!r} matches no file under {base}")
    try:
        regex = re.compile(entry["label_pattern"]) if "label_pattern" in entry else None
    except re.error as exc:
        raise ManifestError(f"{where}: label_pattern {entry['label_pattern']!r} is not a valid regular expression "
                            f"({exc})") from None
    out = []
    for f in files:
        run_labels = dict(labels)
        if regex is not None:
            m = regex.search(os.path.basename(f))
            if m is None:
                raise ManifestError(f"{where}: label_pattern {regex.pattern!r} does not match {os.path.basename(f)}")
            run_labels.update({k: _label_value(v) for k, v in m.groupdict().items() if v is not None})
        out.append(RunSpec(name="", trajectory=[Path(f)], log=None, labels=run_labels, options=dict(merged),
                           origin=f"{where} ({os.path.basename(f)})"))
    return out


def _finish(spec: RunSpec) -> None:
    """Check files exist, put temperature into the labels, name the run."""
    for f in spec.trajectory + ([spec.log] if spec.log else []) + (
            [Path(spec.options["data_file"])] if "data_file" in spec.options else []):
        if not Path(f).is_file():
            raise ManifestError(f"{spec.origin}: file not found: {f}")
    if "temperature_K" in spec.options and "temperature_K" not in spec.labels:
        t = spec.options["temperature_K"]
        spec.labels["temperature_K"] = int(t) if float(t).is_integer() else t
    if not spec.name:
        spec.name = run_name(spec.labels, Path(spec.trajectory[0]).name)
    elif not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", spec.name):
        raise ManifestError(f"{spec.origin}: run name {spec.name!r} may contain only letters, digits, '_', '.', '-' "
                            "and must not start with '.'")
