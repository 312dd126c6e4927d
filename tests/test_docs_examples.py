"""The code examples of docs/architecture.md run (adding an estimator, a reader)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("i", range(len(_blocks())))
def test_architecture_example_runs(i, capsys):
    code = _blocks()[i]
    namespace: dict = {}
    exec(compile(code, f"{DOC.name} block {i}", "exec"), namespace)
    from uncertainty_gk.estimators.base import _KINDS, _REGISTRY

    for name in ("endpoint",):          # leave the registry as we found it
        _REGISTRY.pop(name, None)
        _KINDS.pop(name, None)
    assert capsys.readouterr().out.strip()
