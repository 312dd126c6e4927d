"""Opening what a command is given: an archive, a manifest, trajectory files, or a results file."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ..errors import UGKError
from .options import execution_client, settings_from_args

__all__ = ["say", "open_campaign", "obtain_result", "refuse_analysis_options", "ANALYSIS_OPTIONS"]


def _parse_types(text: str | None) -> dict | None:
    if not text:
        return None
    out = {}
    for item in text.split(","):
        key, _, val = item.partition("=")
        if not key.strip().isdigit() or not val.strip():
            raise UGKError(f"--types: expected TYPE=ELEMENT pairs like 1=Li,2=O; found {item!r}")
        out[int(key)] = val.strip()
    return out


def _parse_mapping(text: str | None, option: str) -> dict | None:
    if not text:
        return None
    out = {}
    for item in text.split(","):
        key, _, val = item.partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            raise UGKError(f"{option}: expected ELEMENT=NUMBER pairs like Li=1,O=-2; found {item!r}") from None
    return out


def say(args):
    return None if getattr(args, "quiet", False) else (lambda m: print(m, file=sys.stderr))


def open_campaign(paths, args):
    """A Campaign from an archive, a manifest, or trajectory files (one group, one seed each)."""
    from ..archive import load_runs

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    for p in paths:
        if not Path(p).exists():
            raise UGKError(f"{p}: no such file")
    first = Path(paths[0])
    if first.suffix.lower() in (".nc", ".h5", ".toml", ".zarr"):
        if len(paths) > 1:
            raise UGKError("give one archive or manifest, or several trajectory files")
        from ..results import is_results_file

        if is_results_file(first):
            raise UGKError(f"{first} holds analysis results, not trajectories; this command needs the archive "
                           "or manifest the results were computed from")
        return load_runs(first, log=say(args))
    from ..archive import ingest, open_archive
    from ..campaign import Campaign
    from ..manifest import manifest_from_dict

    opts: dict = {}
    if getattr(args, "types", None):
        opts["types"] = {str(k): v for k, v in (_parse_types(args.types) or {}).items()}
    for key in ("frame_interval_ps", "timestep_ps", "temperature_K"):
        if getattr(args, key, None):
            opts[key] = getattr(args, key)
    if getattr(args, "mobile", None):
        opts["mobile"] = args.mobile.split(",")
    charges = _parse_mapping(getattr(args, "charges", None), "--charges")
    if charges:
        opts["charges"] = charges
    runs = [{"trajectory": str(Path(p).resolve()),
             "labels": {"seed": i + 1} if len(paths) > 1 else {"file": Path(p).name}} for i, p in enumerate(paths)]
    doc = {"defaults": opts, "runs": runs}
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "files.nc"
        ingest(manifest_from_dict(doc, base=first.parent, origin=str(first)), out, log=say(args))
        camp = open_archive(out)
        loaded = Campaign({k: v.load() for k, v in camp.runs.items()}, attrs=camp.attrs,
                          source=", ".join(map(str, paths)))
        camp.close()
    return loaded


def _results_path(args) -> Path | None:
    from ..results import is_results_file

    src = args.source if isinstance(args.source, list) else [args.source]
    if len(src) == 1 and is_results_file(src[0]):
        return Path(src[0])
    return None


#: Options that change an analysis: refused when the source already holds results.
ANALYSIS_OPTIONS = ("method", "window", "reference", "species", "ci", "n_steps", "per_seed_steps", "settings_from",
                    "training", "threshold", "margin_ps", "include_flagged")


def refuse_analysis_options(args, path) -> None:
    """A results file was computed with its own settings: options that would change them are an error."""
    given = [o for o in ANALYSIS_OPTIONS if getattr(args, o, None)]
    if given:
        raise UGKError(f"{path} holds results computed before; --{given[0].replace('_', '-')} cannot change them "
                       "(rerun `ugk analyze` on the archive with the new options)")


def obtain_result(args, *, say_if_stored: bool = False):
    """The analysis result a command works on: read from a results file, or computed now
    (diagnose, then analyse, with the settings from the options).  Returns (result, failed groups).
    With ``say_if_stored`` (``ugk analyze``, whose output would otherwise look like a new analysis),
    a results file is announced on stderr as shown, not recomputed."""
    from ..results import load_results

    path = _results_path(args)
    if path is not None:
        refuse_analysis_options(args, path)
        result = load_results(path)
        if say_if_stored:
            version = result.provenance.get("uncertainty_gk_version", "an unknown version")
            print(f"note: {path} holds results computed before (uncertainty_gk {version}); they are shown as "
                  "stored, not recomputed - run `ugk analyze` on the archive to recompute them with this version",
                  file=sys.stderr)
        return result, []
    from ..pipeline import analyse

    settings = settings_from_args(args)
    camp = open_campaign(args.source, args)
    failed: list = []

    def on_error(labels, exc):
        failed.append((labels, exc))
        print(f"error: group {labels}: {exc}", file=sys.stderr)

    try:
        with execution_client(args) as client:
            result = analyse(camp, settings, on_group_error=on_error if getattr(args, "keep_going", False) else None,
                             client=client)
    finally:
        camp.close()
    return result, failed
