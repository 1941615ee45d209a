"""One origin's hash chain for the merge tests: a fixed key, three record ids, really
sealed envelopes chained by ``prev``, and the worked log ``LOG``."""

from __future__ import annotations

from typing import Any

from federation.keys import from_seed, node_id_for
from federation.merge import Tip
from federation.signing import header_hash

from .envelopes import sealed

KEY = from_seed(bytes([42]) * 32)
ORIGIN = node_id_for(KEY.public_raw)
IDS = [
    "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71",
    "5c9a1e7f-2b4d-4f3a-a6e8-0d7b3c1f9e24",
    "b7e4d2a9-1c3f-4e5a-8b6d-9f0e2a4c6b81",
]
X, Y, Z = IDS


def body(record_id: str, version: int, tag: str = "") -> dict[str, Any]:
    return {
        "name": f"Member {record_id[:4]} v{version}{tag}",
        "kind": "hospital",
        "region": "europe",
        "country": "NL",
    }


def logged(
    seq: int,
    record_id: str,
    version: int,
    *,
    prev: str | None,
    deleted: bool = False,
    tag: str = "",
    issued_at: str = "2026-02-01T10:00:00Z",
) -> dict[str, Any]:
    content = None if deleted else body(record_id, version, tag)
    return sealed(
        KEY, ORIGIN, seq, prev, content, record_id=record_id, version=version, issued_at=issued_at
    )


def chain(ops: list[tuple[str, bool]], *, tag: str = "") -> list[dict[str, Any]]:
    """One origin's log: ``ops`` is (record id, deleted) per seq; versions count per id."""
    out: list[dict[str, Any]] = []
    versions: dict[str, int] = {}
    prev = None
    for seq, (record_id, deleted) in enumerate(ops, start=1):
        versions[record_id] = versions.get(record_id, 0) + 1
        env = logged(seq, record_id, versions[record_id], prev=prev, deleted=deleted, tag=tag)
        out.append(env)
        prev = header_hash(env["record"])
    return out


def as_stub(env: dict[str, Any]) -> dict[str, Any]:
    return {**env, "body": None}


def h(env: dict[str, Any]) -> str:
    return header_hash(env["record"])


EMPTY = Tip(0, None)
LOG = chain([(X, False), (Y, False), (X, False), (Z, False), (X, True), (Y, False)])
# seq:        1 X v1       2 Y v1       3 X v2       4 Z v1       5 X v3 del  6 Y v2
