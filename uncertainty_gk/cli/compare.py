"""``ugk compare``: σ, σ_tr, H_R side by side across one label, with P(A > B)."""

from __future__ import annotations

from .options import add_estimation, add_execution, add_output, add_screening, add_source
from .sources import obtain_result

__all__ = ["cmd_compare", "register"]


def cmd_compare(args) -> int:
    from ..compare import compare, format_comparison

    result, failed = obtain_result(args)
    cmp = compare(result, by=args.by)
    print(format_comparison(cmp))
    if args.json:
        cmp.to_json(args.json)
        print(f"wrote {args.json}")
    if args.csv:
        cmp.to_csv(args.csv)
        print(f"wrote {args.csv}")
    return 1 if failed else 0


def register(sub, common) -> None:
    s = sub.add_parser(
        "compare", parents=[common], help="σ, σ_tr, H_R side by side across one label, with P(A > B)",
        description="For each combination of the other labels list σ, σ_tr and H_R of every value of --by side "
                    "by side with the posterior probability that one exceeds the other (resolved values only), and "
                    "the runs that diagnostics flagged, truncated or dropped. SOURCE is a results file from "
                    "`ugk analyze -o` (instant) or an archive/manifest (analysed first).")
    add_source(s)
    s.add_argument("--by", default="model", help="label whose values are compared (default: model)")
    add_estimation(s)
    add_screening(s)
    add_execution(s)
    add_output(s, json_help="write the comparison as JSON to this file")
    s.add_argument("--csv", help="write the comparison as CSV to this file")
    s.set_defaults(func=cmd_compare)
