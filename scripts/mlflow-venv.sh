#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment holding a real MLflow server of one line, for
# the integration tests: .cache/mlflow-venv-2 or .cache/mlflow-venv-3 at the repo root.
#   bash scripts/mlflow-venv.sh 2|3     prints the venv's mlflow version on success
# packages/test-utils/src/mlflow-server.ts runs this same script when the venv is missing, so CI may
# pre-create both venvs before the tests or let the first test do it.
set -euo pipefail

line="${1:-}"
case "$line" in
  # 2.16 is the line the lab ran; 2.16.2 is its last patch. Its server imports a pool class that
  # SQLAlchemy 2.1 removed, so SQLAlchemy stays at the lab's 2.0.36.
  # 3.17.2 is the newest 3.x that installs: mlflow 3.18.0 pins mlflow-skinny==3.18.0, which PyPI does not have.
  # onnx + onnxruntime let the tests load exported models with mlflow.pyfunc (MLflow's onnx flavour).
  # The 2.x line keeps onnx 1.20.1: 1.23.2 needs protobuf>=6.31.1 and mlflow-skinny 2.16.2 pins protobuf<6.
  2) spec="mlflow==2.16.2 sqlalchemy==2.0.36 onnx==1.20.1 onnxruntime==1.32.0" ;;
  3) spec="mlflow==3.17.2 onnx==1.23.2 onnxruntime==1.32.0" ;;
  *) echo "usage: $0 2|3" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache"
venv="$cache/mlflow-venv-$line"
lock="$cache/mlflow-venv-$line.lock"
# The marker names the spec, so changing a pin above rebuilds the venv instead of reusing a stale one.
marker="$venv/.streamflow-ready"
python="${STREAMFLOW_PYTHON:-python3}"

ready() { [ -f "$marker" ] && [ "$(cat "$marker")" = "$spec" ] && [ -x "$venv/bin/mlflow" ]; }
print_version() { "$venv/bin/python" -c 'import importlib.metadata as m; print("mlflow " + m.version("mlflow"))'; }

if ready; then print_version; exit 0; fi

if ! command -v "$python" >/dev/null 2>&1; then
  echo "mlflow-venv: '$python' not found. Install Python 3.10+ with venv and pip (Debian: apt-get install python3 python3-venv python3-pip)." >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "mlflow-venv: '$python' lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)." >&2
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

echo "mlflow-venv: creating $venv with $spec (a few minutes the first time)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
# shellcheck disable=SC2086 # $spec is a list of requirements
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $spec >&2; then
  echo "mlflow-venv: 'pip install $spec' failed (is PyPI reachable? see pip's output above)." >&2
  rm -rf "$venv"
  exit 1
fi
"$venv/bin/mlflow" --version >/dev/null
printf '%s' "$spec" >"$marker"
print_version
