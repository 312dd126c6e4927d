"""The ``ugk`` command line: argument parsing -> public API -> files and tables.

No physics or statistics here.  Bad input gives one ``error: ...`` line and exit
status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from . import __version__, progress
from .errors import UGKError
from .fileio import json_default


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


# --------------------------------------------------------------------------- commands
def cmd_ingest(args) -> int:
    from .archive import ingest

    report = ingest(args.manifest, args.output, overwrite=args.overwrite,
                    log=None if args.quiet else (lambda m: print(m, file=sys.stderr)))
    frames = sum(r.n_frames for r in report.runs)
    print(f"wrote {report.path}: {len(report.runs)} runs, {frames} frames"
          + (f" ({report.n_reused} reused unchanged)" if report.n_reused else ""))
    return 0


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


def _open_any(paths, args):
    """A Campaign from an archive, a manifest, or trajectory files (one group, one seed each)."""
    from .archive import load_runs

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    for p in paths:
        if not Path(p).exists():
            raise UGKError(f"{p}: no such file")
    say = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    first = Path(paths[0])
    if first.suffix.lower() in (".nc", ".h5", ".toml"):
        if len(paths) > 1:
            raise UGKError("give one archive or manifest, or several trajectory files")
        return load_runs(first, log=say)
    import tempfile

    from .archive import ingest, open_archive
    from .campaign import Campaign
    from .manifest import manifest_from_dict

    opts = {}
    if getattr(args, "types", None):
        opts["types"] = {str(k): v for k, v in _parse_types(args.types).items()}
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
        ingest(manifest_from_dict(doc, base=first.parent, origin=str(first)), out, log=say)
        camp = open_archive(out)
        loaded = Campaign({k: v.load() for k, v in camp.runs.items()}, attrs=camp.attrs,
                          source=", ".join(map(str, paths)))
        camp.close()
    return loaded


def analyse_source(args, **kwargs):
    """Open ``args.source``, analyse every group, close it; returns (result, failed groups).

    Shared by ``analyze``, ``compare`` and ``arrhenius``: with ``--keep-going`` a group
    that cannot be analysed is reported on stderr and skipped.
    """
    from .analysis import analyse

    camp = _open_any(args.source, args)
    failed = []

    def on_error(labels, exc):
        failed.append((labels, exc))
        print(f"error: group {labels}: {exc}", file=sys.stderr)

    try:
        result = analyse(camp, ci_prob=args.ci, rng=args.rng, n_steps=args.n_steps,
                         on_group_error=on_error if args.keep_going else None,
                         trusted_only=not args.include_flagged, **kwargs)
    finally:
        camp.close()
    return result, failed


def add_analysis_options(s) -> None:
    """Options every command that runs the analysis accepts."""
    s.add_argument("--ci", type=float, default=0.95, help="interval probability (default 0.95)")
    s.add_argument("--rng", type=int, default=0, help="random seed for MCMC and bootstrap (default 0)")
    s.add_argument("--n-steps", type=int, default=2000, help="MCMC steps per walker (default 2000)")
    s.add_argument("--keep-going", action="store_true", help="report groups that fail and go on with the rest")
    s.add_argument("--include-flagged", action="store_true",
                   help="analyse runs in full even when diagnostics flag a failure (default: trusted segments only)")


def add_estimator_options(s) -> None:
    """How ``analyze`` and ``report`` estimate: method, fit window, drift reference, species."""
    s.add_argument("--method", choices=["bayes", "bootstrap", "block", "all"], default="bayes",
                   help="estimator (default: bayes; 'all' reports every method)")
    s.add_argument("--window", nargs=2, type=float, metavar=("START_PS", "END_PS"),
                   help="fit window in ps (default: chosen automatically)")
    s.add_argument("--reference", choices=["charge", "mass", "none"], default="charge",
                   help="framework centre for the tracer MSD (default: |charge|-weighted)")
    s.add_argument("--species", help="mobile species to analyse when there are several")


def add_screening_options(s) -> None:
    """How commands that analyse screen runs first: training domain, threshold overrides, margin."""
    s.add_argument("--training", help="MLIP training structures (extended XYZ) for the domain check")
    s.add_argument("--threshold", action="append", metavar="NAME=VALUE",
                   help="diagnostics threshold override, as for ugk diagnose (repeatable)")
    s.add_argument("--margin-ps", type=float, default=1.0,
                   help="trusted segment ends this long before the first failure (default 1 ps)")


def cmd_analyze(args) -> int:
    from .analysis import format_table

    result, failed = analyse_source(
        args, method=args.method, window=tuple(args.window) if args.window else None,
        reference=args.reference, species=args.species, training=args.training,
        diagnose_thresholds=dict(_parse_thresholds(args.threshold), margin_ps=args.margin_ps))
    print(format_table(result))
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    return 1 if failed else 0


def cmd_info(args) -> int:
    camp = _open_any(args.source, args)
    rows = camp.summary()
    if args.json:
        _write_json(args.json, {"source": str(args.source), "runs": rows})
    print(f"{args.source}: {len(rows)} runs")
    header = f"{'run':<34} {'labels':<44} {'atoms':>6} {'frames':>7} {'t (ps)':>15} {'dt (ps)':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        labels = ", ".join(f"{k}={v}" for k, v in r["labels"].items())
        span = f"{r['t_start_ps']:.4g}-{r['t_end_ps']:.4g}"
        print(f"{r['name']:<34} {labels:<44} {r['n_atoms']:>6} {r['n_frames']:>7} {span:>15} "
              f"{r['frame_interval_ps']:>8.4g}")
    for r in rows:
        comp = " ".join(f"{s}{n}" for s, n in r["composition"].items())
        extra = f"  {r['name']}: {comp}; mobile {','.join(r['mobile'])}; T {r['temperature_K']:g} K; " \
                f"reader {r['reader']}"
        print(extra)
        for e in r["events"]:
            print(f"    log {e['kind']} at step {e['step']}: {e['message']}")
        for n in r["notes"]:
            print(f"    note: {n}")
    camp.close()
    return 0


def _parse_thresholds(items) -> dict:
    """NAME=VALUE pairs: numbers, or for ``skip`` a comma-separated list of checks."""
    from .diagnostics import THRESHOLD_DOCS

    out = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UGKError(f"--threshold: expected NAME=VALUE, e.g. temperature_sigma=8; found {item!r}")
        if key not in THRESHOLD_DOCS:
            raise UGKError(f"--threshold: unknown name {key!r}; valid: {', '.join(sorted(THRESHOLD_DOCS))}")
        if key == "skip":
            out[key] = tuple(v.strip() for v in val.split(",") if v.strip())
            continue
        try:
            out[key] = float(val)
        except ValueError:
            raise UGKError(f"--threshold: {key} needs a number, found {val!r}") from None
    return out


def cmd_diagnose(args) -> int:
    from .diagnostics import THRESHOLD_DOCS, diagnose
    from .diagnostics.seeds import apply_seed_flags, check_seed_consistency

    thresholds = _parse_thresholds(args.threshold)
    camp = _open_any(args.source, args)
    reports = []
    from . import progress as _p

    with _p.bar(total=len(camp), desc="diagnose", unit="run") as bar:
        for name, ds in camp.items():
            d = diagnose(ds, training=args.training, margin_ps=args.margin_ps, **thresholds)
            reports.append((name, d))
            bar.update(1)
    seed_groups = None
    if not args.no_seed_check:
        seed_flags, seed_groups = check_seed_consistency(camp, dict(reports), alpha=args.seed_alpha)
        apply_seed_flags(dict(reports), seed_flags)
    header = f"{'run':<36} {'status':<8} {'first flag (ps)':>15} {'trusted to (ps)':>16}  checks"
    print(header)
    print("-" * len(header))
    for name, d in reports:
        first = "-" if d.first_flag_time_ps is None else f"{d.first_flag_time_ps:.4g}"
        trusted = "-" if d.trusted_until_ps is None else f"{d.trusted_until_ps:.4g}"
        checks = ", ".join(sorted({f.check for f in d.flags})) or "-"
        print(f"{name:<36} {d.status:<8} {first:>15} {trusted:>16}  {checks}")
    for name, d in reports:
        for f in d.flags:
            when = "" if f.time_ps != f.time_ps else f" at {f.time_ps:.4g} ps"
            if f.start_ps < f.time_ps:
                when += f" (onset {f.start_ps:.4g} ps)"
            print(f"  {name} [{f.severity}] {f.check}{when}: {f.message}")
    if seed_groups is not None:
        multi = [g for g in seed_groups if "skipped" not in g]
        skipped = [g for g in seed_groups if "skipped" in g and len(g["runs"]) > 1]
        print(f"seed check (alpha={args.seed_alpha:g}, Bonferroni over the seeds of a group): "
              f"{len(multi)} group(s) checked" + (f", {len(skipped)} skipped" if skipped else ""))
        for g in skipped:
            print(f"  skipped {g['labels']}: {g['skipped']}")
    else:
        print("seed check: skipped (--no-seed-check)")
    if reports:
        used = reports[0][1].thresholds
        shown = {k: used[k] for k in sorted(THRESHOLD_DOCS) if k in used}
        print("thresholds: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    if args.json:
        out = {"runs": [dict(d.to_dict(), run=name) for name, d in reports]}
        out["seed_check"] = {"alpha": args.seed_alpha, "groups": seed_groups} if seed_groups is not None else \
            {"skipped": "--no-seed-check"}
        _write_json(args.json, out)
        print(f"wrote {args.json}")
    camp.close()
    failed = any(d.status == "failed" for _, d in reports)
    return 3 if (failed and args.fail_on_failed) else 0


def _write_json(path, obj) -> None:
    from .fileio import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=2, default=json_default) + "\n")



# --------------------------------------------------------------------------- parser
def _add_file_options(s) -> None:
    """Options describing trajectory files given directly instead of a manifest."""
    s.add_argument("--types", help="LAMMPS type map for dump files, e.g. 1=Li,2=P,3=O,4=Si")
    s.add_argument("--timestep-ps", type=float, help="MD timestep for dump files without a log")
    s.add_argument("--frame-interval-ps", type=float, help="time between frames (XDATCAR, XYZ)")
    s.add_argument("--temperature-K", type=float, help="target (thermostat) temperature for trajectory files")
    s.add_argument("--mobile", help="mobile species for trajectory files, e.g. Li")
    s.add_argument("--charges", help="charges for trajectory files, e.g. Li=1,P=5,O=-2")


#: Modules (relative to the package) that add their own sub-command.
COMMAND_MODULES = ("arrhenius", "compare", "tables", "report", "plots.cli")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ugk", description="Trustworthy ionic conductivities from multi-seed MD "
                                "(σ, σ_tr, Haven ratio with calibrated intervals; MLIP failure flags).")
    p.add_argument("--version", action="version", version=f"uncertainty_gk {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars or per-run messages")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("ingest", parents=[common], help="read a campaign manifest and write the netCDF archive",
                       description="Read every run of a campaign manifest (TOML) and write one netCDF archive. "
                                   "Runs whose inputs are unchanged (SHA-256) are reused from an existing archive.")
    s.add_argument("manifest", help="campaign manifest (TOML), see docs/manifest.md")
    s.add_argument("-o", "--output", required=True, help="archive to write (netCDF4/HDF5, e.g. campaign.nc)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace an existing archive even if it holds runs the manifest no longer lists")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("info", parents=[common], help="list runs, labels, atoms, frames, time spans, log events",
                       description="Summarise a campaign archive, a manifest, or a single trajectory file.")
    s.add_argument("source", help="archive (.nc), manifest (.toml) or trajectory file")
    s.add_argument("--types", help="LAMMPS type map for a single dump, e.g. 1=Li,2=P,3=O,4=Si")
    s.add_argument("--frame-interval-ps", type=float, help="time between frames (XDATCAR, XYZ)")
    s.add_argument("--timestep-ps", type=float, help="MD timestep for a single dump without a log")
    s.add_argument("--json", help="also write the summary as JSON to this file")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("analyze", parents=[common], help="σ, σ_tr, Haven ratio and D* with intervals per group",
                       description="Estimate σ, σ_tr, H_R and D* with credible intervals for every group of runs "
                                   "(runs sharing all labels but the seed). SOURCE is an archive, a manifest, or "
                                   "trajectory files (one seed each).")
    s.add_argument("source", nargs="+", help="archive (.nc), manifest (.toml), or trajectory files")
    add_estimator_options(s)
    s.add_argument("--json", help="write the results as JSON to this file")
    _add_file_options(s)
    add_analysis_options(s)
    add_screening_options(s)
    s.set_defaults(func=cmd_analyze)

    s = sub.add_parser("diagnose", parents=[common], help="flag runs in which the potential failed",
                       description="Check every run for signs of a failing (extrapolating) potential: log errors, "
                                   "temperature and energy excursions, close contacts, broken polyhedra, framework "
                                   "atoms leaving their sites, RDF drift, jumps, and frames outside the training "
                                   "domain. Prints status, first flagged time and trusted segment per run.")
    s.add_argument("source", nargs="+", help="archive (.nc), manifest (.toml), or trajectory files")
    s.add_argument("--training", help="MLIP training structures (extended XYZ) for the domain check")
    s.add_argument("--margin-ps", type=float, default=1.0, help="trusted segment ends this long before "
                   "the first failure (default 1 ps)")
    s.add_argument("--threshold", action="append", metavar="NAME=VALUE",
                   help="override a threshold, e.g. --threshold temperature_sigma=8 (repeatable)")
    s.add_argument("--json", help="write the diagnoses as JSON to this file")
    s.add_argument("--fail-on-failed", action="store_true", help="exit with status 3 if any run failed")
    s.add_argument("--no-seed-check", action="store_true",
                   help="skip the across-seed check (a seed whose σ_tr or σ disagrees with its siblings gets a "
                        "seed_inconsistent warning)")
    s.add_argument("--seed-alpha", type=float, default=0.01,
                   help="family-wise level of the across-seed check per group (default 0.01)")
    _add_file_options(s)
    s.set_defaults(func=cmd_diagnose)

    import importlib

    # commands that live next to their code: each module has register_cli(subparsers, common)
    for module in COMMAND_MODULES:
        importlib.import_module(f".{module}", __package__).register_cli(sub, common)
    return p


class _OneLineWarnings:
    def __enter__(self):
        self._old = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            print(f"warning: {message}", file=sys.stderr)

        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        warnings.showwarning = self._old
        return False


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress.QUIET = bool(getattr(args, "quiet", False))
    debug = bool(getattr(args, "debug", False))
    try:
        with _OneLineWarnings():
            return int(args.func(args) or 0)
    except (UGKError, OSError, KeyError, ValueError) as exc:
        if debug:
            raise
        msg = str(exc)
        if isinstance(exc, OSError) and not isinstance(exc, UGKError):
            msg = f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
        print(f"error: {msg.splitlines()[0] if msg else type(exc).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
