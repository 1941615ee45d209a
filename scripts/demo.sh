#!/usr/bin/env bash
# Set up the environment and run the demo federation (hub + five continental nodes) on
# 127.0.0.1:8100-8105. Extra arguments go to `healthnet demo` (e.g. --data DIR to keep state).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/healthnet demo "$@"
