"""Where the tests' own files are."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
VECTORS = TESTS / "vectors"
# The RFC 8785 reference suite, vendored from cyberphone/json-canonicalization (README there).
RFC8785_DIR = VECTORS / "rfc8785"
