"""``ugk report``: one directory with report.html, report.md, figures, tables and JSON."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .options import add_estimation, add_execution, add_screening, add_source, execution_client, settings_from_args
from .sources import open_campaign, refuse_analysis_options

__all__ = ["cmd_report", "register"]


def cmd_report(args) -> int:
    from ..report import write_report
    from ..results import is_results_file, load_results

    command = shlex.join(["ugk", *sys.argv[1:]]) if Path(sys.argv[0]).name == "ugk" else None
    kw = dict(overwrite=args.overwrite, by=args.by, T_target=args.T_target, keep_going=args.keep_going,
              figures=not args.no_figures, command=command)
    with execution_client(args) as client:
        if len(args.source) == 1 and is_results_file(args.source[0]):
            refuse_analysis_options(args, args.source[0])
            out = write_report(load_results(args.source[0]), args.output, client=client, **kw)
        else:
            camp = open_campaign(args.source, args)
            try:
                out = write_report(camp, args.output, settings_from_args(args), client=client, **kw)
            finally:
                camp.close()
    for lab, msg in out.failed_groups:
        print(f"error: group {lab}: {msg}", file=sys.stderr)
    if out.analysis_error:
        print(f"error: analysis failed, report holds the diagnostics only: {out.analysis_error}", file=sys.stderr)
    for p in out.problems:
        print(f"warning: {p}", file=sys.stderr)
    print(f"wrote {out.html}")
    print(f"wrote {out.markdown}, {len(out.figures)} figures, {len(out.tables)} tables in {out.out_dir}")
    return 1 if (out.failed_groups or out.analysis_error) else 0


def register(sub, common) -> None:
    s = sub.add_parser(
        "report", parents=[common], help="one-directory report: HTML page, Markdown, figures, tables, JSON",
        description="From a results file of `ugk analyze -o` (in seconds; no thermo figure, which needs the logs) or "
                    "an archive/manifest: diagnose every run, analyse every group (trusted segments only), compare "
                    "across a label, fit "
                    "Arrhenius laws when a series has 3 or more temperatures, draw the figures, and write "
                    "report.html (self-contained), report.md, figures/, tables/, results.json and "
                    "diagnostics.json into one directory.")
    add_source(s)
    s.add_argument("-o", "--output", required=True, help="report directory to create (e.g. report/)")
    s.add_argument("--overwrite", action="store_true", help="replace a previous report in that directory")
    s.add_argument("--by", help="label to compare across (default: model, when it takes 2 or more values)")
    s.add_argument("--T-target", dest="T_target", type=float, default=300.0,
                   help="temperature (K) of the Arrhenius prediction (default 300)")
    s.add_argument("--no-figures", action="store_true", help="skip the figures (faster)")
    add_estimation(s)
    add_screening(s)
    add_execution(s)
    s.set_defaults(func=cmd_report)
