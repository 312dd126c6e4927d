"""uncertainty_gk: trustworthy ionic conductivities from multi-seed MD.

σ, σ_tr and the Haven ratio with calibrated credible intervals, plus diagnostics
that flag runs in which a machine-learned potential went wrong.

>>> import uncertainty_gk as ugk                                       # doctest: +SKIP
>>> ugk.ingest("campaign.toml", "campaign.nc")
>>> with ugk.open_archive("campaign.nc") as camp:
...     result = ugk.analyse(camp, ugk.AnalysisSettings(seed=0))
>>> ugk.save_results(result, "results.nc")
>>> ugk.compare(ugk.load_results("results.nc"), by="model")

Names are imported on first use, so ``import uncertainty_gk`` (and ``ugk --version``)
stays fast.  The architecture: docs/architecture.md.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

#: public name -> module that defines it
_API = {
    "AnalysisSettings": "settings",
    "ingest": "archive",
    "open_archive": "archive",
    "load_runs": "archive",
    "Campaign": "campaign",
    "analyse": "pipeline",
    "screen_runs": "pipeline",
    "analyse_runs": "analysis",
    "analyse_group": "analysis",
    "AnalysisResult": "results",
    "GroupResult": "results",
    "Estimate": "results",
    "save_results": "results",
    "load_results": "results",
    "diagnose": "diagnostics",
    "compare": "compare",
    "arrhenius": "arrhenius",
    "arrhenius_from_result": "arrhenius",
    "write_report": "report",
    "report": "report",
    "GroupData": "estimators",
    "build_group_data": "estimators",
    "register_estimator": "estimators",
    "UGKError": "errors",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    alias = {"register_estimator": ("estimators", "register"), "arrhenius": ("arrhenius", "arrhenius_from_result"),
             "report": ("report", "write_report")}
    if name in alias:
        mod, attr = alias[name]
        return getattr(importlib.import_module(f".{mod}", __name__), attr)
    mod = _API.get(name)
    if mod is None:
        raise AttributeError(f"module 'uncertainty_gk' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{mod}", __name__), name)


def __dir__() -> list[str]:
    return __all__
