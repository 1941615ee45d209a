#!/usr/bin/env bash
# Create .venv with the locked dependencies and the project installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -m uv --version >/dev/null 2>&1; then
  python3 -m pip install -q 'uv==0.13.9'
fi
python3 -m uv venv -q --allow-existing .venv
python3 -m uv pip sync -q --python .venv/bin/python requirements-dev.lock
python3 -m uv pip install -q --python .venv/bin/python --no-deps -e .
