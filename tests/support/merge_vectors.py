"""tests/vectors/merge.json, loaded once, and the origin's signed records it holds:
shared by the tests that replay its cases on a node and that build exports from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from federation.signing import header_hash

MERGE: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "merge.json").read_text(encoding="utf-8")
)
ORIGIN: str = MERGE["origin"]["node_id"]


def signed_records() -> dict[str, dict[str, Any]]:
    """Every signed record of the vector origin in merge.json (the log and every offered
    record), by header hash, with its body wherever one copy carries it."""
    found: dict[str, dict[str, Any]] = {}
    for env in [*MERGE["log"], *(case["offered"] for case in MERGE["cases"])]:
        key = header_hash(env["record"])
        if env["record"]["origin"] == ORIGIN and (env["body"] is not None or key not in found):
            found[key] = env
    return found
