"""The screened analysis: diagnose every run, cut failed runs to their trusted segments,
then analyse (:func:`uncertainty_gk.analysis.analyse_runs`).

This is what ``ugk analyze`` and :func:`uncertainty_gk.analyse` do.  It sits above the
diagnostics and the analysis core, which do not know about each other.

>>> import uncertainty_gk as ugk                                      # doctest: +SKIP
>>> with ugk.open_archive("lpso_T1000.nc") as camp:
...     result = ugk.analyse(camp, ugk.AnalysisSettings(seed=0))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .analysis import analyse_runs
from .execution import map_tasks
from . import diagnostics
from .results import AnalysisResult
from .schema import labels_of
from .settings import AnalysisSettings

__all__ = ["analyse", "screen_runs", "diagnose_all", "MIN_TRUSTED_FRAMES"]

#: A trusted segment shorter than this many frames drops the run instead of truncating it.
MIN_TRUSTED_FRAMES = 20


def _diagnose_task(ds, settings: AnalysisSettings):
    return diagnostics.diagnose(ds, training=settings.training, margin_ps=settings.margin_ps,
                                **settings.threshold_dict)


def diagnose_all(campaign: Mapping, settings: AnalysisSettings | None = None, *, show_progress: bool | None = None,
                 diagnoses: Mapping | None = None, client=None) -> dict:
    """Run name -> :class:`~uncertainty_gk.diagnostics.RunDiagnosis` for every run (None for
    synthetic known-answer runs, which overlap by construction); ``diagnoses`` made before
    are reused as given.  ``client``: run the diagnoses on a dask cluster."""
    st = settings or AnalysisSettings()
    out: dict = {}
    todo = []
    for name, ds in campaign.items():
        if diagnoses is not None and name in diagnoses:
            out[name] = diagnoses[name]
        elif ds.attrs.get("reader") == "synthetic":
            out[name] = None
        else:
            out[name] = None
            todo.append(name)
    done = map_tasks(_diagnose_task, [(campaign[n], st) for n in todo], client=client, desc="diagnose", unit="run",
                     show_progress=show_progress, catch=())
    out.update(zip(todo, done))
    return out


def screen_runs(campaign: Mapping, settings: AnalysisSettings | None = None, *, show_progress: bool | None = None,
                diagnoses: Mapping | None = None) -> dict[str, dict]:
    """Run name -> screening record: ``run``, ``labels``, ``status``, ``first_flag_time_ps``,
    ``trusted_until_ps``, ``flags`` and ``action`` (``kept``, ``truncated``, ``dropped`` or
    ``included (--include-flagged)``)."""
    st = settings or AnalysisSettings()
    verdicts = diagnose_all(campaign, st, show_progress=show_progress, diagnoses=diagnoses)
    records: dict[str, dict] = {}
    for name, ds in campaign.items():
        d = verdicts[name]
        if d is None:
            records[name] = {"run": name, "labels": labels_of(ds), "status": "not diagnosed (synthetic)",
                             "first_flag_time_ps": None, "trusted_until_ps": None, "flags": [], "action": "kept"}
            continue
        rec = {"run": name, "labels": labels_of(ds), "status": d.status,
               "first_flag_time_ps": d.first_flag_time_ps, "trusted_until_ps": d.trusted_until_ps,
               "flags": [f.to_dict() for f in d.flags]}
        if d.status != "failed":
            rec["action"] = "kept"
        elif not st.trusted_only:
            rec["action"] = "included (--include-flagged)"
        else:
            n = int(d.trusted(ds).sizes["time"])
            rec["action"] = "dropped" if n < MIN_TRUSTED_FRAMES else "truncated"
        records[name] = rec
    return records


def analyse(campaign: Mapping, settings: AnalysisSettings | None = None, *, diagnoses: Mapping | None = None,
            show_progress: bool | None = None, on_group_error: Callable | None = None, client=None) -> AnalysisResult:
    """Diagnose (unless ``settings.trusted_only`` is False, then flags are still recorded),
    cut failed runs to their trusted segments, and analyse every group.

    ``diagnoses`` (run name -> RunDiagnosis) reuses verdicts made before, e.g. by ``ugk report``.
    ``client`` (a ``dask.distributed.Client``) runs the diagnoses and the groups on a cluster,
    with the same numbers as in this process (:mod:`uncertainty_gk.execution`).
    """
    st = (settings or AnalysisSettings()).resolved()
    verdicts = diagnose_all(campaign, st, show_progress=show_progress, diagnoses=diagnoses, client=client)
    records = screen_runs(campaign, st, diagnoses={k: v for k, v in verdicts.items() if v is not None})
    result = analyse_runs(campaign, st, screening=records, show_progress=show_progress,
                          on_group_error=on_group_error, client=client)
    # what a report needs later without the trajectories: the runs and their full verdicts
    result.provenance["campaign"] = campaign.summary() if hasattr(campaign, "summary") else []
    result.provenance["diagnoses"] = {k: v.to_dict() for k, v in verdicts.items() if v is not None}
    return result
