"""Detect MLIP failure (extrapolation) in MD runs and find the trusted segment of each run.

>>> from uncertainty_gk.diagnostics import diagnose
>>> d = diagnose(ds, training="train.xyz")   # doctest: +SKIP
>>> print(d.to_json(indent=2))               # doctest: +SKIP

Modules: :mod:`.flags` (Flag, RunDiagnosis), :mod:`.thermo` (log checks),
:mod:`.structure` (trajectory checks), :mod:`.domain` (training-set domain),
:mod:`.run` (:func:`diagnose`), :mod:`.seeds` (across-seed consistency,
:func:`check_seed_consistency`).  The science is in docs/science.md, section 8 "Detecting MLIP failure".
"""

from .domain import TrainingDomain, load_training
from .flags import Flag, RunDiagnosis, collapse_flags
from .run import DEFAULT_THRESHOLDS, THRESHOLD_DOCS, diagnose
from .seeds import apply_seed_flags, check_seed_consistency

__all__ = ["diagnose", "DEFAULT_THRESHOLDS", "THRESHOLD_DOCS", "Flag", "RunDiagnosis", "collapse_flags",
           "TrainingDomain", "load_training", "check_seed_consistency", "apply_seed_flags"]
