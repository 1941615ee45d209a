#!/usr/bin/env bash
# Create .venv with the locked, hashed dependencies and the project installed in editable
# mode. Only the standard library's venv and the venv's own pip are used: nothing is
# installed into the system Python, which Debian (PEP 668) refuses anyway.
# PYTHON picks the interpreter (default python3; Python >= 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup: $PYTHON not found; install Python 3.11 or newer (Debian: apt install python3 python3-venv)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: $PYTHON is $("$PYTHON" -V 2>&1); healthnet needs Python 3.11 or newer (set PYTHON=...)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1; then
    echo "setup: $PYTHON cannot create a venv with pip; on Debian or Ubuntu: apt install python3-venv" >&2
    exit 1
  fi
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
echo "setup: ready; .venv/bin/healthnet --help"
