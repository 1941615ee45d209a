"""The text of ``healthnet peers`` and ``healthnet roster show`` (pure: data in, lines out).

Lines, not tables: a table squeezed into 80 columns cuts node ids, URLs and keys with an
ellipsis, and those are what an operator copies. Each node is a heading line and
indented ``name: value`` lines, which read whole at any width and grep well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemas.roster import RosterNode


def counted(count: int, by_reason: Mapping[str, int]) -> str:
    """``none``, or ``3 records (bad-signature: 2, out-of-scope: 1)``."""
    if count == 0:
        return "none"
    reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(by_reason.items()))
    noun = "record" if count == 1 else "records"
    return f"{count} {noun}" + (f" ({reasons})" if reasons else "")


def peer_lines(status: Mapping[str, Any]) -> list[str]:
    """What /federation/status says of each peer, then quarantine and alarms."""
    lines: list[str] = []
    peers = status.get("peers", [])
    if not peers:
        lines.append("no peers: this node's roster lists no other active node")
    for p in peers:
        origins = p.get("origins", {})
        lag = sum(o["lag"] for o in origins.values())
        agrees = bool(origins) and all(o["agrees"] for o in origins.values())
        health = "healthy" if p["healthy"] else "NOT HEALTHY"
        lines.append(f"{p['name']} ({p['region']}): {health}")
        lines.append(f"    node:         {p['node_id']} at {p['url']}")
        lines.append(f"    last success: {p['last_success'] or 'never'}")
        lines.append(
            f"    lag:          {lag} records behind; "
            + ("agrees with us" if agrees else "does not agree with us yet")
        )
        if p["failures"]:
            lines.append(f"    failures:     {p['failures']} in a row")
        if p["last_error"]:
            lines.append(f"    last error:   {p['last_error']}")
    q = status.get("quarantine", {"total": 0, "by_reason": {}})
    alarms = status.get("alarms", [])
    lines.append(f"quarantine: {counted(q['total'], q['by_reason'])}")
    lines.append(f"alarms: {len(alarms) or 'none'}")
    lines.extend(
        f"    {a['origin']} seq {a['seq']} (from {a['peer']}, {a['at']}): {a['detail']}"
        for a in alarms
    )
    if any(a.get("proof") for a in alarms):
        lines.append("    proofs: GET /federation/evidence (healthnet evidence HOME shows them)")
    held = status.get("origins", [])
    barred = [o for o in held if o.get("standing", "active") not in ("active", "unlisted")]
    for o in barred:
        lines.append(
            f"{o['standing']}: {o['origin']} {o.get('name', '')}: no new record of it is "
            f"accepted; the {o['last_seq']} held stay"
        )
    return lines


def roster_lines(version: int, nodes: list[RosterNode]) -> list[str]:
    """The roster: each node with its status, URL and keys (with their seq windows)."""
    lines = [f"roster v{version}: {len(nodes)} node{'s' if len(nodes) != 1 else ''}"]
    for node in nodes:
        name = node.name + (" (placeholder)" if node.placeholder else "")
        lines.append(f"{name} ({node.region.value}): {node.status.value}")
        lines.append(f"    node: {node.node_id}")
        lines.append(f"    url:  {node.url}")
        for k in node.keys:
            window = (
                f"seq {k.from_seq} to {k.until_seq}" if k.until_seq else f"from seq {k.from_seq}"
            )
            revoked = ", revoked" if k.status == "revoked" else ""
            lines.append(f"    key:  {k.key_id}, {window}{revoked}")
            lines.append(f"          {k.public_key}")
    return lines
