"""``ugk ingest``, ``info``, ``diagnose``, ``analyze``: the commands of the data and analysis core."""

from __future__ import annotations

import json
import os
import sys

from ..errors import UGKError
from ..fileio import json_default
from .options import add_estimation, add_execution, add_output, add_screening, add_source, execution_client
from .sources import obtain_result, open_campaign


def write_json(path, obj) -> None:
    from ..fileio import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=2, default=json_default) + "\n")


def _no_blas_threads() -> None:
    """Ingesting multiplies no large matrices: unless the user chose otherwise, ask OpenBLAS
    for no worker threads before numpy loads it.  Started, its workers spin for about
    0.05 s of CPU while the inputs are hashed and the parser's modules load.  Processes
    started from here (``--workers``) inherit the setting."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def cmd_ingest(args) -> int:
    _no_blas_threads()
    from ..archive import ingest

    failed: list = []

    def on_error(name, exc):
        failed.append(name)
        print(f"error: run {name}: {exc}", file=sys.stderr)

    with execution_client(args) as client:
        report = ingest(args.manifest, args.output, overwrite=args.overwrite,
                        log=None if args.quiet else (lambda m: print(m, file=sys.stderr)), client=client,
                        on_run_error=on_error if args.keep_going else None)
    frames = sum(r.n_frames for r in report.runs)
    print(f"wrote {report.path}: {len(report.runs)} runs, {frames} frames"
          + (f" ({report.n_reused} reused unchanged)" if report.n_reused else "")
          + (f"; {len(failed)} run(s) could not be read and are missing: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def cmd_verify(args) -> int:
    from ..archive import verify_archive

    report = verify_archive(args.archive)
    print(report.summary())
    return 0 if report.ok else 1


def cmd_convert(args) -> int:
    from ..zarr_archive import convert_archive

    report = convert_archive(args.source, args.output, overwrite=args.overwrite)
    frames = sum(r.n_frames for r in report.runs)
    print(f"wrote {report.path}: {len(report.runs)} runs, {frames} frames, every array's checksum unchanged")
    return 0


def cmd_info(args) -> int:
    camp = open_campaign(args.source, args)
    rows = camp.summary()
    if args.json:
        write_json(args.json, {"source": str(args.source), "runs": rows})
    print(f"{args.source[0] if len(args.source) == 1 else args.source}: {len(rows)} runs")
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
        print(f"  {r['name']}: {comp}; mobile {','.join(r['mobile'])}; T {r['temperature_K']:g} K; "
              f"reader {r['reader']}")
        for e in r["events"]:
            print(f"    log {e['kind']} at step {e['step']}: {e['message']}")
        for n in r["notes"]:
            print(f"    note: {n}")
    camp.close()
    return 0


def cmd_diagnose(args) -> int:
    from ..diagnostics import THRESHOLD_DOCS
    from ..diagnostics.seeds import apply_seed_flags, check_seed_consistency
    from ..pipeline import diagnose_all
    from .options import settings_from_args

    settings = settings_from_args(args)
    camp = open_campaign(args.source, args)
    with execution_client(args) as client:
        verdicts = diagnose_all(camp, settings, client=client)
    reports = [(n, d) for n, d in verdicts.items() if d is not None]
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
        shown = {k: used[k] for k in sorted(THRESHOLD_DOCS) if k in used and k != "subsample"}
        print("thresholds: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        statements = sorted({d.thresholds.get("subsample", {}).get("statement", "") for _, d in reports} - {""})
        for st in statements[:3]:
            print(f"frames examined: {st}")
        if len(statements) > 3:
            print(f"frames examined: ... ({len(statements)} different statements; see --json, thresholds.subsample)")
    if args.json:
        out: dict = {"runs": [dict(d.to_dict(), run=name) for name, d in reports]}
        out["seed_check"] = {"alpha": args.seed_alpha, "groups": seed_groups} if seed_groups is not None else \
            {"skipped": "--no-seed-check"}
        write_json(args.json, out)
        print(f"wrote {args.json}")
    camp.close()
    failed = any(d.status == "failed" for _, d in reports)
    return 3 if (failed and args.fail_on_failed) else 0


def cmd_analyze(args) -> int:
    from ..analysis import format_table
    from ..results import save_results

    if args.output and not str(args.output).endswith(".nc"):
        raise UGKError(f"-o {args.output}: results are written as netCDF; give a name ending in .nc")
    result, failed = obtain_result(args, say_if_stored=True)
    print(format_table(result))
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    if args.output:
        save_results(result, args.output, overwrite=args.overwrite)
        print(f"wrote {args.output} (read it with ugk plot|table|compare|arrhenius|report)")
    return 1 if failed else 0


def register(sub, common) -> None:
    s = sub.add_parser("ingest", parents=[common], help="read a campaign manifest and write the archive (.nc or .zarr)",
                       description="Read every run of a campaign manifest (TOML) and write one netCDF archive, or a "
                                   "zarr store (-o NAME.zarr) written run by run and appended to. Runs whose inputs "
                                   "are unchanged (SHA-256) are reused from an existing archive.")
    s.add_argument("manifest", help="campaign manifest (TOML), see docs/manifest.md")
    s.add_argument("-o", "--output", required=True,
                   help="archive to write: netCDF4/HDF5 (campaign.nc) or a zarr store (campaign.zarr, needs the "
                        "[zarr] extra)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace an existing archive even if it holds runs the manifest no longer lists")
    s.add_argument("--keep-going", action="store_true",
                   help="report runs that cannot be read and archive the others (exit status 1)")
    add_execution(s)
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("verify", parents=[common], help="check every stored array of an archive against its checksum",
                       description="Recompute the checksum of every array of a campaign archive; exit 1 if any differs.")
    s.add_argument("archive", help="campaign archive (.nc or .zarr; a zarr store's incomplete runs are listed)")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("convert", parents=[common], help="copy an archive to the other format (.nc <-> .zarr)",
                       description="Copy a campaign archive between netCDF (.nc) and zarr (.zarr), run by run, "
                                   "with the same arrays, attributes and checksums; the output is written "
                                   "atomically and the input is never changed.")
    s.add_argument("source", help="campaign archive to read (.nc or .zarr)")
    s.add_argument("output", help="archive to write in the other format (.zarr or .nc)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output (never the input)")
    s.set_defaults(func=cmd_convert)

    s = sub.add_parser("info", parents=[common], help="list runs, labels, atoms, frames, time spans, log events",
                       description="Summarise a campaign archive, a manifest, or trajectory files.")
    add_source(s, results=False)
    s.add_argument("--json", help="also write the summary as JSON to this file")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("analyze", parents=[common], help="σ, σ_tr, Haven ratio and D* with intervals per group",
                       description="Diagnose every run, then estimate σ, σ_tr, H_R and D* with credible intervals "
                                   "for every group of runs (runs sharing all labels but the seed) from their "
                                   "trusted segments. -o results.nc keeps everything (draws included) for "
                                   "ugk plot, table, compare, arrhenius and report.")
    add_source(s, results=False)
    add_estimation(s)
    add_screening(s)
    add_output(s, json_help="write the results summary as JSON to this file",
               output="write the full results (with draws) to this netCDF file")
    add_execution(s)
    s.set_defaults(func=cmd_analyze)

    s = sub.add_parser("diagnose", parents=[common], help="flag runs in which the potential failed",
                       description="Check every run for signs of a failing (extrapolating) potential: log errors, "
                                   "temperature and energy excursions, close contacts, broken polyhedra, framework "
                                   "atoms leaving their sites, RDF drift, jumps, and frames outside the training "
                                   "domain. Prints status, first flagged time and trusted segment per run.")
    add_source(s, results=False)
    add_screening(s)
    s.add_argument("--json", help="write the diagnoses as JSON to this file")
    s.add_argument("--fail-on-failed", action="store_true", help="exit with status 3 if any run failed")
    s.add_argument("--no-seed-check", action="store_true",
                   help="skip the across-seed check (a seed whose σ_tr or σ disagrees with its siblings gets a "
                        "seed_inconsistent warning)")
    s.add_argument("--seed-alpha", type=float, default=0.01,
                   help="family-wise level of the across-seed check per group (default 0.01)")
    add_execution(s)
    s.set_defaults(func=cmd_diagnose)


__all__ = ["register", "write_json"]
