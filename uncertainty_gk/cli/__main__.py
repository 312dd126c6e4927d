"""``python -m uncertainty_gk.cli``: the same as the ``ugk`` command."""

from .main import run

run()
