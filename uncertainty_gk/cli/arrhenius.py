"""``ugk arrhenius``: E_a, ln A and σ(T) with intervals across temperatures."""

from __future__ import annotations

import sys

from ..errors import AnalysisError
from .commands import write_json
from .options import add_estimation, add_execution, add_output, add_screening, add_source
from .sources import obtain_result

__all__ = ["cmd_arrhenius", "register"]


def _ci(result) -> float:
    return float(result.provenance.get("settings", {}).get("ci_prob", 0.95))


#: Quantities an Arrhenius fit takes (``uncertainty_gk.arrhenius.QUANTITIES``; static so that
#: building the parser imports no science code; tests/test_cli.py checks they agree).
ARRHENIUS_QUANTITIES = ("sigma", "sigma_tr")


def cmd_arrhenius(args) -> int:
    from ..arrhenius import arrhenius_from_result, format_arrhenius

    result, failed = obtain_result(args)

    def on_error(labels, exc):
        failed.append((labels, exc))
        print(f"error: group {labels}: {exc}", file=sys.stderr)

    fits = arrhenius_from_result(result, quantity=args.quantity, T_target=args.T_target, ci_prob=_ci(result),
                                 rng=args.seed if args.seed is not None else 0, force=args.force,
                                 on_error=on_error if args.keep_going else None)
    if not fits:
        if failed:
            raise AnalysisError(f"no group could be fitted: {len(failed)} refused or failed (see the errors above; "
                                "a curved series is fitted anyway with --force)")
        raise AnalysisError("no group could be fitted (each needs at least 2 temperatures with resolved "
                            f"{args.quantity})")
    print(format_arrhenius(fits))
    if args.json:
        write_json(args.json, {"fits": [f.to_dict() for f in fits], "analysis": result.to_dict()})
        print(f"wrote {args.json}")
    return 1 if failed else 0


def register(sub, common) -> None:
    s = sub.add_parser(
        "arrhenius", parents=[common], help="E_a, ln A and σ(T) with intervals across temperatures",
        description="Fit ln(σT) = ln A - E_a/(k_B T) across temperatures for every group of labels other than "
                    "temperature_K, propagating each temperature's posterior draws. Refuses to extrapolate when "
                    "curvature (non-Arrhenius behaviour) is credible unless --force. SOURCE is a results file "
                    "from `ugk analyze -o` (instant) or an archive/manifest (analysed first).")
    add_source(s)
    s.add_argument("--quantity", choices=list(ARRHENIUS_QUANTITIES), default="sigma", help="quantity to fit (default sigma)")
    s.add_argument("--T-target", dest="T_target", type=float, default=300.0,
                   help="temperature (K) for the predicted σ (default 300)")
    s.add_argument("--force", action="store_true", help="extrapolate even when curvature is credible")
    add_estimation(s)
    add_screening(s)
    add_execution(s)
    add_output(s, json_help="write the fits (and the underlying analysis) as JSON to this file")
    s.set_defaults(func=cmd_arrhenius)
