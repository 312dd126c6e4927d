"""One option set per job, shared by every sub-command, and the one place settings are built.

The same option means the same thing in every command: ``--method``, ``--window``,
``--seed`` ... are defined here once and turned into an
:class:`~uncertainty_gk.settings.AnalysisSettings` by :func:`settings_from_args`; the
defaults shown in ``--help`` are read from the settings class, never restated.
"""

from __future__ import annotations

import argparse
import dataclasses

from ..errors import UGKError
from ..settings import AnalysisSettings

__all__ = ["add_source", "add_screening", "add_estimation", "add_execution", "add_output", "execution_client",
           "parse_thresholds", "parse_spectral_options", "settings_from_args"]

_DEFAULTS = AnalysisSettings()


def add_source(s: argparse.ArgumentParser, *, results: bool = True) -> None:
    """SOURCE: an archive, a manifest, trajectory files or (``results``) a results file."""
    what = "archive (.nc/.zarr), manifest (.toml), trajectory files" + (", or results (.nc from ugk analyze -o)"
                                                                       if results else "")
    s.add_argument("source", nargs="+", help=what)
    g = s.add_argument_group("trajectory files given directly (instead of a manifest)")
    g.add_argument("--types", help="LAMMPS type map for dump files, e.g. 1=Li,2=P,3=O,4=Si")
    g.add_argument("--timestep-ps", type=float, help="MD timestep for dump files without a log")
    g.add_argument("--frame-interval-ps", type=float, help="time between frames (XDATCAR, XYZ)")
    g.add_argument("--temperature-K", type=float, help="target (thermostat) temperature for trajectory files")
    g.add_argument("--mobile", help="mobile species for trajectory files, e.g. Li")
    g.add_argument("--charges", help="charges for trajectory files, e.g. Li=1,P=5,O=-2")


def add_screening(s: argparse.ArgumentParser) -> None:
    """How runs are screened by the diagnostics before they are analysed."""
    g = s.add_argument_group("screening (diagnostics)")
    g.add_argument("--training", help="MLIP training structures (extended XYZ) for the domain check")
    g.add_argument("--threshold", action="append", metavar="NAME=VALUE",
                   help="diagnostics threshold override, e.g. temperature_sigma=8 (repeatable)")
    g.add_argument("--margin-ps", type=float, default=None,
                   help=f"trusted segment ends this long before the first failure (default {_DEFAULTS.margin_ps:g} ps)")
    g.add_argument("--include-flagged", action="store_true",
                   help="analyse runs in full even when diagnostics flag a failure (default: trusted segments only)")


def add_estimation(s: argparse.ArgumentParser) -> None:
    """How σ, σ_tr, H_R are estimated."""
    g = s.add_argument_group("estimation")
    # the names are checked against the estimator registry when the analysis starts, so that
    # building the parser (ugk --help) does not import the science stack
    g.add_argument("--method", default=None, metavar="NAME",
                   help=f"estimator (default {_DEFAULTS.method}): bayes, bootstrap, block, spectral, the baselines "
                        "ols, wls, gls, or 'all' (every interval method); any estimator registered in Python")
    g.add_argument("--window", nargs=2, type=float, metavar=("START_PS", "END_PS"),
                   help="fit window in ps (default: chosen from the data)")
    g.add_argument("--reference", choices=["charge", "mass", "none"], default=None,
                   help=f"framework centre for the tracer MSD (default {_DEFAULTS.reference})")
    g.add_argument("--species", help="mobile species to analyse when there are several")
    g.add_argument("--ci", type=float, default=None, help=f"interval probability (default {_DEFAULTS.ci_prob:g})")
    g.add_argument("--seed", "--rng", dest="seed", type=int, default=None,
                   help="root random seed (default 0 on the command line; recorded in the results)")
    g.add_argument("--n-steps", type=int, default=None,
                   help=f"MCMC steps per walker of --method bayes (default {_DEFAULTS.n_steps})")
    g.add_argument("--per-seed-steps", type=int, default=None,
                   help=f"MCMC steps per walker of each seed's own fit with --method bayes "
                        f"(default {_DEFAULTS.per_seed_steps})")
    g.add_argument("--spectral-option", action="append", metavar="NAME=VALUE",
                   help="an option of the spectral estimator (repeatable; a Python literal, e.g. first_step=True "
                        "or 'first_step_prior=(0.8, 0.1)'; names and meanings: docs/spectral.md)")
    g.add_argument("--settings-from", metavar="RESULTS",
                   help="take every analysis setting from a results file (.nc or .json) to reproduce it; "
                        "options given as well override it")
    g.add_argument("--keep-going", action="store_true", help="report groups that fail and go on with the rest")


def add_execution(s: argparse.ArgumentParser) -> None:
    """Where the work runs (default: this process, no dask import)."""
    g = s.add_argument_group("execution")
    g.add_argument("--workers", type=int, default=None,
                   help="run the work of each run or group on a local dask cluster of N worker processes "
                        "(same numbers)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing dask scheduler, e.g. tcp://host:8786 (see docs/large_campaigns.md)")


def execution_client(args: argparse.Namespace):
    """A context manager giving the dask client the options ask for, or None."""
    import contextlib

    from ..execution import connect, local_client

    if getattr(args, "scheduler", None) and getattr(args, "workers", None):
        raise UGKError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    if getattr(args, "scheduler", None):
        return connect(args.scheduler)
    if getattr(args, "workers", None):
        return local_client(args.workers)
    return contextlib.nullcontext(None)


def add_output(s: argparse.ArgumentParser, *, json_help: str = "write the output as JSON to this file",
               output: str | None = None) -> None:
    g = s.add_argument_group("output")
    g.add_argument("--json", help=json_help)
    if output:
        g.add_argument("-o", "--output", help=output)
    g.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _name_value_pairs(items, option: str, example: str, valid) -> list[tuple[str, str]]:
    """The (NAME, VALUE) pairs of a repeatable ``option NAME=VALUE``, names checked against ``valid``."""
    pairs = []
    for item in items or []:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UGKError(f"{option}: expected NAME=VALUE, e.g. {example}; found {item!r}")
        if key not in valid:
            raise UGKError(f"{option}: unknown name {key!r}; valid: {', '.join(sorted(valid))}")
        pairs.append((key, val.strip()))
    return pairs


def parse_thresholds(items) -> dict:
    """NAME=VALUE pairs: numbers, or for ``skip`` a comma-separated list of checks."""
    from ..diagnostics import THRESHOLD_DOCS

    out: dict = {}
    for key, val in _name_value_pairs(items, "--threshold", "temperature_sigma=8", THRESHOLD_DOCS):
        if key == "skip":
            out[key] = tuple(v.strip() for v in val.split(",") if v.strip())
            continue
        try:
            out[key] = float(val)
        except ValueError:
            raise UGKError(f"--threshold: {key} needs a number, found {val!r}") from None
    return out


def parse_spectral_options(items) -> dict:
    """NAME=VALUE pairs of spectral estimator options: each value a Python literal (True,
    0.8, (0.8, 0.1), {"tr": 8, "P": 3}) or else a bare word (flat); names checked."""
    import ast

    from ..estimators.spectral import DEFAULTS

    out: dict = {}
    for key, val in _name_value_pairs(items, "--spectral-option", "first_step=True", DEFAULTS):
        try:
            out[key] = ast.literal_eval(val)
        except (ValueError, SyntaxError):
            out[key] = val
    return out


def settings_from_args(args: argparse.Namespace) -> AnalysisSettings:
    """The one place options become :class:`AnalysisSettings` (``--settings-from`` first, then options)."""
    base = AnalysisSettings.from_result(args.settings_from) if getattr(args, "settings_from", None) \
        else AnalysisSettings(seed=0)
    changes: dict = {}
    simple = {"method": "method", "reference": "reference", "species": "species", "ci": "ci_prob",
              "seed": "seed", "n_steps": "n_steps", "per_seed_steps": "per_seed_steps", "margin_ps": "margin_ps", "training": "training"}
    for opt, name in simple.items():
        v = getattr(args, opt, None)
        if v is not None:
            changes[name] = v
    if getattr(args, "window", None):
        changes["window_ps"] = tuple(args.window)
    if getattr(args, "include_flagged", False):
        changes["trusted_only"] = False
    th = parse_thresholds(getattr(args, "threshold", None))
    if th:
        changes["thresholds"] = th
    spectral = parse_spectral_options(getattr(args, "spectral_option", None))
    if spectral:
        changes["spectral_options"] = {**base.spectral_option_dict, **spectral}
    try:
        settings = dataclasses.replace(base, **changes) if changes else base
    except (TypeError, ValueError) as exc:
        raise UGKError(str(exc)) from None
    from ..estimators import available

    if settings.method not in (*available(), "all"):
        raise UGKError(f"--method {settings.method}: unknown estimator; choose one of "
                       f"{', '.join(available())} or all")
    if settings.spectral_options:
        from ..estimators.spectral import check_options

        try:
            check_options(settings.spectral_option_dict)
        except ValueError as exc:
            raise UGKError(f"--spectral-option: {exc}") from None
        if settings.method not in ("spectral", "all"):
            import warnings

            warnings.warn(f"--spectral-option is used by the spectral estimator only; --method {settings.method} "
                          "ignores it", stacklevel=2)
    return settings
