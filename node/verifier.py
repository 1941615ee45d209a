"""Offline verification of an export: every line checked, every failure named.

Used by ``healthnet verify``. It needs nothing but the file and a public key: no database,
no network. Besides signatures it checks that each origin's sequence numbers are dense, so
a file with records cut out of it is reported even though every remaining line verifies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from federation.errors import HealthnetError
from federation.signing import check_body, header_hash, verify_header
from schemas.record import Envelope


@dataclass
class Verdict:
    checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def verify_lines(lines: Iterable[str], keys: dict[str, Ed25519PublicKey]) -> Verdict:
    """``keys`` maps key id → public key; a record must be signed by the key it names."""
    verdict = Verdict()
    seqs: dict[str, set[int]] = {}
    links: dict[str, dict[int, tuple[str, str | None, int]]] = {}  # seq -> (hash, prev, line)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        verdict.checked += 1
        try:
            raw = json.loads(line)
            envelope = Envelope.model_validate(raw)
        except (json.JSONDecodeError, ValidationError) as exc:
            verdict.failures.append(f"line {number}: malformed envelope: {_first(exc)}")
            continue
        header = envelope.record
        where = f"line {number} ({header.kind} {header.id} v{header.version}, seq {header.seq})"
        public = keys.get(header.key_id)
        if public is None:
            verdict.failures.append(f"{where}: no public key given for {header.key_id}")
            continue
        try:
            verify_header(raw["record"], raw["sig"], public)
        except HealthnetError as exc:
            verdict.failures.append(f"{where}: {exc}")
            continue
        # A verified header proves its seq was issued, whatever happened to the body.
        seqs.setdefault(header.origin, set()).add(header.seq)
        try:
            check_body(raw["record"], raw["body"])
        except HealthnetError as exc:
            verdict.failures.append(f"{where}: {exc}")
        links.setdefault(header.origin, {})[header.seq] = (
            header_hash(raw["record"]),
            header.prev,
            number,
        )
    for origin, chain in sorted(links.items()):
        for seq, (_, prev, number) in sorted(chain.items()):
            before = chain.get(seq - 1)
            if before is not None and before[0] != prev:
                verdict.failures.append(
                    f"line {number}: origin {origin} seq {seq}: prev does not match the "
                    f"record at seq {seq - 1} (line {before[2]}): the chain is broken"
                )
    for origin, held in sorted(seqs.items()):
        missing = sorted(set(range(1, max(held) + 1)) - held)
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            verdict.failures.append(f"origin {origin}: sequence numbers missing: {shown}")
    return verdict


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)
