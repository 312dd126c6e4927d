"""``ugk table KIND SOURCE``: one publication table (CSV, Markdown or LaTeX)."""

from __future__ import annotations

import sys

from ..errors import AnalysisError
from .options import add_estimation, add_execution, add_screening, add_source, settings_from_args
from .sources import obtain_result, open_campaign

__all__ = ["build_table", "cmd_table", "register"]


#: ``ugk table`` kinds (``uncertainty_gk.tables.TABLE_KINDS``, static for a light parser;
#: tests/test_cli.py checks they agree).
TABLE_KINDS = ("results", "seeds", "compare", "arrhenius", "diagnostics")


def build_table(kind: str, args):
    """The table of one kind from the CLI arguments (reads or runs the analysis as needed)."""
    from ..tables import arrhenius_table, comparison_table, diagnostics_table, results_table, seeds_table

    if kind == "diagnostics":
        from ..pipeline import screen_runs

        camp = open_campaign(args.source, args)
        try:
            records = screen_runs(camp, settings_from_args(args))
        finally:
            camp.close()
        return diagnostics_table(list(records.values())), []
    result, failed = obtain_result(args)
    if kind == "results":
        return results_table(result), failed
    if kind == "seeds":
        return seeds_table(result), failed
    if kind == "compare":
        from ..compare import compare

        return comparison_table(compare(result, by=args.by)), failed
    from ..arrhenius import arrhenius_from_result

    refused = []

    def on_error(labels, exc):
        refused.append((labels, str(exc)))
        print(f"warning: Arrhenius fit of {labels}: {exc}", file=sys.stderr)

    ci = float(result.provenance.get("settings", {}).get("ci_prob", 0.95))
    fits = arrhenius_from_result(result, T_target=args.T_target, ci_prob=ci, rng=args.seed or 0, on_error=on_error)
    if not fits and not refused:
        raise AnalysisError("no Arrhenius fit: every series needs at least 2 temperatures with resolved σ")
    return arrhenius_table(fits, refused), failed


def cmd_table(args) -> int:
    table, failed = build_table(args.kind, args)
    if args.output:
        path = table.write(args.output, overwrite=args.overwrite)
        print(f"wrote {path}")
    else:
        print(table.to_markdown())
    return 1 if failed else 0


def register(sub, common) -> None:
    s = sub.add_parser(
        "table", parents=[common], help="a publication table (CSV, Markdown or LaTeX) of one kind",
        description="Write one table from a results file (`ugk analyze -o`) or an archive/manifest (analysed "
                    "first; KIND diagnostics only diagnoses). The format follows the suffix of -o: .csv "
                    "(full-precision numbers), .md, .tex (booktabs). Without -o the table is printed as Markdown. "
                    "Values with intervals are rounded by the Particle Data Group rule.")
    s.add_argument("kind", choices=TABLE_KINDS, help="which table")
    add_source(s)
    s.add_argument("-o", "--output", help="file to write (.csv, .md, .tex); default: Markdown on screen")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    s.add_argument("--by", default="model", help="label compared by KIND compare (default: model)")
    s.add_argument("--T-target", dest="T_target", type=float, default=300.0,
                   help="temperature (K) of the predicted σ for KIND arrhenius (default 300)")
    add_estimation(s)
    add_screening(s)
    add_execution(s)
    s.set_defaults(func=cmd_table)
