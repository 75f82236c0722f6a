#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment holding Evidently 0.7.15 (the lab's version) with
# the lab's numpy/pandas/scipy: .cache/evidently-venv at the repo root. It is used to record the
# expected values of packages/core/src/drift's tests and by benchmarks; the tests themselves need no
# Python.
#   bash scripts/evidently-venv.sh     prints the venv's evidently version on success
set -euo pipefail

# Evidently 0.7.15 cannot import under pandas 3 (infer_dtype_from_object is gone), and a plain
# install pulls pandas 3: pin the lab's pandas, numpy and scipy.
spec="evidently==0.7.15 pandas==2.3.3 numpy==2.3.5 scipy==1.17.1"

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache"
venv="$cache/evidently-venv"
lock="$cache/evidently-venv.lock"
# The marker names the spec, so changing a pin above rebuilds the venv instead of reusing a stale one.
marker="$venv/.streamflow-ready"
python="${STREAMFLOW_PYTHON:-python3}"

ready() { [ -f "$marker" ] && [ "$(cat "$marker")" = "$spec" ] && [ -x "$venv/bin/python" ]; }
print_version() { "$venv/bin/python" -c 'import importlib.metadata as m; print("evidently " + m.version("evidently"))'; }

if ready; then print_version; exit 0; fi

if ! command -v "$python" >/dev/null 2>&1; then
  echo "evidently-venv: '$python' not found. Install Python 3.10+ with venv and pip (Debian: apt-get install python3 python3-venv python3-pip)." >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "evidently-venv: '$python' lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)." >&2
  exit 1
fi

mkdir -p "$cache"
# mkdir is atomic: the one that creates the lock dir builds the venv, the others wait for it. A lock
# whose owner pid is gone was left by a killed build and is taken over.
while ! mkdir "$lock" 2>/dev/null; do
  owner="$(cat "$lock/pid" 2>/dev/null || true)"
  if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
    rm -rf "$lock"
    continue
  fi
  if ready; then print_version; exit 0; fi
  sleep 2
done
echo $$ >"$lock/pid"
trap 'rm -rf "$lock"' EXIT

if ready; then print_version; exit 0; fi

echo "evidently-venv: creating $venv with $spec (a few minutes the first time)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
# shellcheck disable=SC2086 # $spec is a list of requirements
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $spec >&2; then
  echo "evidently-venv: 'pip install $spec' failed (is PyPI reachable? see pip's output above)." >&2
  rm -rf "$venv"
  exit 1
fi
"$venv/bin/python" -c 'import evidently' >/dev/null
printf '%s' "$spec" >"$marker"
print_version
