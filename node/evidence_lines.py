"""``healthnet evidence``: the equivocation proofs held, in words, each checked again."""

from __future__ import annotations

from collections.abc import Sequence

from federation.errors import HealthnetError
from federation.evidence import check_proof
from federation.trust import Trust, listed_key
from node.alarms import SHAPES
from node.db.evidence import Held


def proof_lines(proofs: Sequence[Held], trust: Trust | None, *, hub: bool) -> list[str]:
    if not proofs:
        return ["no equivocation proofs held: no split view has been caught"]
    lines = [f"{len(proofs)} equivocation proof{'s' if len(proofs) != 1 else ''} held"]
    origins: set[str] = set()
    for item in proofs:
        node = trust.nodes.get(item.origin) if trust is not None else None
        name = f" ({node.name}, {node.status.value})" if node is not None else ""
        lines.append(f"{item.origin}{name} seq {item.seq}: {SHAPES.get(item.shape, item.shape)}")
        lines.append(f"    shown via {item.learned_from} at {item.at}")
        for side in ("a", "b"):
            header = item.proof[side]["record"]
            lines.append(
                f"    {side}: seq {header['seq']} {header['kind']} {header['id']} "
                f"v{header['version']}, issued {header['issued_at']}"
            )
        if trust is None:
            lines.append("    not checked: this node holds no roster")
        else:
            try:
                check_proof(item.proof, lambda o, k, s: listed_key(trust, o, k, s))
                lines.append("    checked: both headers are signed by the origin's listed key")
            except HealthnetError as exc:
                lines.append(f"    CHECK FAILED: {exc}")
        origins.add(item.origin)
    for origin in sorted(origins):
        where = "HOME" if hub else "HUB_HOME"
        lines.append(f"to stop accepting its records: healthnet roster suspend {where} {origin}")
    return lines
