#!/usr/bin/env bash
# Lowest-versions check: do the minimum versions declared in pyproject.toml resolve
# together, install, import and pass a representative subset of the fast tests?
#
#   bash studies/dependency_check/lowest_versions.sh            # from the repository root
#   WORK=/tmp/ugk-lowest PYTHON=python3.11 bash studies/dependency_check/lowest_versions.sh
#
# Steps (docs/dependencies.md explains them):
#   1. pin every direct dependency (and the test extra) to its declared minimum (`>=X` -> `==X`);
#   2. resolve with uv, `--resolution lowest-direct` plus those pins as constraints, for
#      Python 3.11: fails if the minimums cannot be installed together;
#   3. install the resolved set into a fresh venv, the package itself with --no-deps;
#      `pip check`, and confirm that the installed direct dependencies ARE the minimums;
#   4. import the package and run the fast tests listed in TESTS below.
# Needs: python3.11 with venv, and PyPI (uv is installed from PyPI into $WORK/uv).
# Exit code 0 only if every step passes.  Nothing outside $WORK is written.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
WORK=${WORK:-/tmp/ugk-lowest}
PYTHON=${PYTHON:-python3.11}
NICE=${NICE:-nice -n 5}
TESTS=${TESTS:-tests/test_displacement.py tests/test_conductivity.py tests/test_archive.py tests/test_io_lammps_dump.py tests/test_results.py tests/test_baselines.py tests/test_io_extxyz.py tests/test_plots.py tests/test_resampling.py tests/test_blocking.py}

rm -rf "$WORK"
mkdir -p "$WORK"

echo "== 1. declared minimums (pyproject.toml) -> $WORK/minimums.txt"
"$PYTHON" - "$ROOT/pyproject.toml" > "$WORK/minimums.txt" <<'PY'
import re
import sys
import tomllib

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for req in project["dependencies"] + project["optional-dependencies"]["test"]:
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?>=([^,;]+)", req.replace(" ", ""))
    if m is None:
        sys.exit(f"cannot read a single '>=' minimum from {req!r}")
    print(f"{m.group(1)}=={m.group(3)}")
PY
cat "$WORK/minimums.txt"

echo "== 2. lowest-versions resolve (uv, Python 3.11)"
$NICE "$PYTHON" -m venv "$WORK/uv"
$NICE "$WORK/uv/bin/pip" install -q uv
UV="$WORK/uv/bin/uv"
"$UV" --version
$NICE "$UV" pip compile "$ROOT/pyproject.toml" --extra test \
    --resolution lowest-direct --constraint "$WORK/minimums.txt" \
    --python-version 3.11 --no-header --no-annotate -o "$WORK/lowest.txt"
cat "$WORK/lowest.txt"

echo "== 3. install into a fresh venv"
$NICE "$PYTHON" -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
$NICE "$PY" -m pip install -q -r "$WORK/lowest.txt"
# The package is built from a copy, so no build/ or *.egg-info lands in the source tree.
mkdir -p "$WORK/src"
cp -r "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/uncertainty_gk" "$WORK/src/"
$NICE "$PY" -m pip install -q --no-deps "$WORK/src"
"$PY" -m pip check
"$PY" - "$WORK/minimums.txt" <<'PY'
import sys
from importlib.metadata import version

from packaging.version import Version

bad = []
for line in open(sys.argv[1]):
    name, want = line.strip().split("==")
    have = version(name)
    print(f"  {name:12s} declared >= {want:10s} installed {have}")
    if Version(have) != Version(want):
        bad.append(name)
if bad:
    sys.exit(f"installed versions differ from the declared minimums: {bad}")
PY

echo "== 4. import and fast tests under the lowest versions"
# Run from $WORK so the installed package (not the source tree) is imported.
cd "$WORK"
"$PY" -c "import uncertainty_gk, sys; print('imported', uncertainty_gk.__version__, 'from', uncertainty_gk.__file__)"
existing=()
for t in $TESTS; do
    if [ -e "$ROOT/$t" ]; then existing+=("$ROOT/$t"); else echo "  (no $t, skipped)"; fi
done
PYTHONDONTWRITEBYTECODE=1 $NICE "$PY" -m pytest -m "not slow" -q -p no:cacheprovider --rootdir "$ROOT" "${existing[@]}"
echo "== lowest versions OK"
