#!/usr/bin/env bash
# The test command. Storage and API tests run on SQLite and, when PostgreSQL server
# binaries are present, on a throwaway PostgreSQL server that the tests start themselves
# (or on the one named by HEALTHNET_TEST_PG).
#
# The fast inner loop, without real node processes or PostgreSQL:
#   bash scripts/test.sh -m "not slow and not postgres"   (about 3 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/pytest -q "$@"
