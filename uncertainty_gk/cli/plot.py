"""``ugk plot KIND SOURCE``: one figure from an archive or manifest, written to a file."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UGKError
from .options import add_estimation, add_screening, add_source
from .sources import open_campaign, refuse_analysis_options

__all__ = ["KINDS", "cmd_plot", "register"]

KINDS = ("msd", "running", "haven", "thermo", "arrhenius", "forest")


def _parse_select(items) -> dict:
    out = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise UGKError(f"--select: expected KEY=VALUE, e.g. temperature_K=1000; found {item!r}")
        out[key.strip()] = val.strip()
    return out


def _analyse(camp, args):
    from ..pipeline import analyse
    from .options import settings_from_args

    failed: list = []

    def on_error(labels, exc):
        failed.append((labels, exc))
        print(f"error: group {labels}: {exc}", file=sys.stderr)

    result = analyse(camp, settings_from_args(args), on_group_error=on_error if args.keep_going else None)
    return result, failed


def _result_for(args, select):
    """The result to draw: read from a results file (restricted to ``select``) or analysed now."""
    from ..campaign import labels_match
    from ..results import AnalysisResult, is_results_file, load_results

    src = args.source
    if len(src) == 1 and is_results_file(src[0]):
        refuse_analysis_options(args, src[0])
        res = load_results(src[0])
        if select:
            res = AnalysisResult([g for g in res.groups if labels_match(g.labels, select)], res.provenance)
        return res, []
    source = open_campaign(src, args)
    try:
        camp = source.select(**select) if select else source
        return _analyse(camp, args)
    finally:
        source.close()


def _make_figure(args, select):
    from ..plots import (arrhenius_figure, forest_figure, haven_figure, msd_figure, running_figure, style,
                         thermo_figure)

    kind = args.kind
    if kind == "thermo":
        from ..pipeline import diagnose_all
        from .options import settings_from_args

        source = open_campaign(args.source, args)
        try:
            camp = source.select(**select) if select else source
            diagnoses = diagnose_all(camp, settings_from_args(args))
            return thermo_figure(camp, diagnoses, width=args.width, max_runs=args.max_runs), "thermo", []
        finally:
            source.close()
    result, failed = _result_for(args, select)
    if not result.groups:
        raise UGKError("no group could be analysed; nothing to plot")
    if kind in ("msd", "running", "haven"):
        group = args.group if args.group is not None else 0
        if select and args.group is None and len(result.groups) > 1:
            raise UGKError(f"--select {select} matches {len(result.groups)} groups; add labels or give --group N: "
                           + "; ".join(f"[{i}] {style.label_text(g.labels)}" for i, g in enumerate(result.groups)))
        from ..plots.groupdata import resolve_group

        g = resolve_group(result, group)
        slug = style.label_slug(g.labels)
        if kind == "msd":
            return msd_figure(result, g, width=args.width), f"msd_{slug}", failed
        if kind == "running":
            return running_figure(result, g, width=args.width), f"running_{slug}", failed
        return haven_figure(result, g, width=args.width), f"haven_{slug}", failed
    if kind == "forest":
        return forest_figure(result, args.quantity or "sigma", args.by, width=args.width), \
            f"forest_{args.quantity or 'sigma'}", failed
    from ..arrhenius import arrhenius_from_result

    def on_fit_error(labels, exc):
        print(f"warning: no Arrhenius fit for {labels}: {exc}", file=sys.stderr)

    quantities = [args.quantity] if args.quantity else ["sigma", "sigma_tr"]
    if args.quantity not in (None, "sigma", "sigma_tr"):
        raise UGKError(f"--quantity {args.quantity}: an Arrhenius plot takes sigma or sigma_tr")
    fits = []
    for q in quantities:
        fits += arrhenius_from_result(result, quantity=q, T_target=args.T_target,
                                      ci_prob=float(result.provenance.get("settings", {}).get("ci_prob", 0.95)),
                                      rng=args.seed or 0,
                                      on_error=on_fit_error)
    if not fits:
        raise UGKError("no Arrhenius fit possible (each needs ≥ 2 temperatures with a resolved quantity)")
    return arrhenius_figure(fits, T_extrapolate=args.T_target, width=args.width), "arrhenius", failed


def cmd_plot(args) -> int:
    from ..plots.save import FORMATS, save_figure

    select = _parse_select(args.select)
    out = Path(args.output) if args.output else None
    if out is not None and out.suffix.lower().lstrip(".") not in FORMATS:
        raise UGKError(f"-o {out}: give a file name ending in {', '.join('.' + f for f in FORMATS)}")
    fig, default_name, failed = _make_figure(args, select)
    if out is None:
        out = Path(f"{default_name}.png")
    for path in save_figure(fig, out, formats=(out.suffix.lstrip("."),), overwrite=args.overwrite):
        print(f"wrote {path}")
    return 1 if failed else 0


def register(subparsers, common_parent) -> None:
    """Add ``ugk plot`` to an argparse sub-parser collection."""
    s = subparsers.add_parser(
        "plot", parents=[common_parent], help="publication figures: msd, running, haven, thermo, arrhenius, forest",
        description="Draw one figure from SOURCE: a results file of `ugk analyze -o` (instant; read only) or an "
                    "archive/manifest (analysed first): msd (MSD per seed with the pooled "
                    "fit and its credible band), running (σ_tr and σ against the end of the fit window), haven "
                    "(σ against σ_tr and the H_R posterior), thermo (T and PE per run with diagnostics flags; no "
                    "analysis; needs the archive), arrhenius (σT against 1000/T with fits) or forest (one row per group). "
                    "See docs/figures.md.")
    s.add_argument("kind", choices=KINDS, help="which figure")
    add_source(s)
    s.add_argument("-o", "--output", help="file to write (.png, .pdf or .svg; default KIND_LABELS.png here)")
    s.add_argument("--group", type=int, help="group index for msd/running/haven (default 0; see ugk analyze)")
    s.add_argument("--select", action="append", metavar="KEY=VALUE",
                   help="only runs with this label, e.g. --select temperature_K=1000 (repeatable)")
    s.add_argument("--width", choices=["single", "double"], default="double",
                   help="journal column width: single 3.35 in, double 7.0 in (default double)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    s.add_argument("--quantity", choices=["sigma", "sigma_tr", "haven_ratio", "D_tr"],
                   help="forest: quantity (default sigma); arrhenius: fit only this one (default both σ and σ_tr)")
    s.add_argument("--by", default="model", help="forest: label whose values colour the rows (default model)")
    s.add_argument("--T-target", dest="T_target", type=float, default=300.0,
                   help="arrhenius: extrapolation temperature in K (default 300)")
    s.add_argument("--max-runs", type=int, default=12, help="thermo: at most this many runs (default 12)")
    add_estimation(s)
    add_screening(s)
    s.set_defaults(func=cmd_plot)
