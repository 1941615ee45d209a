"""Offline verification of an export: every line checked, every failure named.

Used by ``healthnet verify``. It needs nothing but the file and a public key: no database,
no network. Besides signatures it checks what a chain must be as a whole (docs/PROTOCOL.md
sections 4, 9 and 10.8):

- each origin's sequence numbers are dense and each ``prev`` links to the header before,
  so a file with records cut out of it is reported even though every remaining line
  verifies;
- per record id, no version is signed twice, and a body travels only on the version the
  directory shows (section 9): every newer version held is a withheld stub, and no newer
  version sits at an earlier seq (that is the "history" of 10.4, a stub). So a node cannot
  serve a rolled-back record, and a version shown while a newer one is withheld is named;
- the checkpoint cosignatures at the end of the file (10.8) verify under the roster the
  file carries, and each names a head that the file's chain reaches: a record covered by
  one was in the log its witness saw. A cosignature naming another head at a size the
  file holds is a split view, and a failure.

Keys come in two ways: ``--key`` (the key ids of one origin), or ``--hub-key``, from which
the roster in the file is checked and every origin's keys are read, as a node would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from federation.errors import HealthnetError
from federation.pinning import accept_hub_roster
from federation.signing import check_body, header_hash, verify_header
from federation.trust import Trust, listed_key
from federation.witness import COSIGNATURE_TYPE, WitnessKeys, check_cosignature
from node.errors import ConfigError
from schemas.record import Envelope

# (origin, key id, seq) -> the key valid for that seq, or None.
KeyFor = Callable[[str, str, int], Ed25519PublicKey | None]


@dataclass
class Verdict:
    checked: int = 0
    failures: list[str] = field(default_factory=list)
    cosignatures: int = 0
    # origin -> witness -> the size of the checkpoint it co-signed, for every witness
    # whose head the file's chain reaches (the origin itself not counted).
    witnessed: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class _Version:
    seq: int
    version: int
    body: bool
    line: int
    hash: str
    deleted: bool = False

    @property
    def withheld(self) -> bool:
        """A stub that is not a tombstone: if no newer version is held, a relay withheld
        its body (10.4 ``stub``), and the version before it is still the one shown."""
        return not self.body and not self.deleted


def keys_by_id(keys: dict[str, Ed25519PublicKey]) -> KeyFor:
    """The ``--key`` form: a record must be signed by the key it names, whatever its origin."""
    return lambda origin, key_id, seq: keys.get(key_id)


def roster_trust(lines: Iterable[str], hub_key: str) -> Trust:
    """The roster the file carries, accepted only if the pinned hub key signed it (the
    newest roster version, the one with its body; older ones are stubs)."""
    newest: tuple[int, dict[str, Any]] | None = None
    for line in lines:
        if '"roster"' not in line:
            continue  # cheap: only roster records are parsed in this pass
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            continue
        header = raw.get("record") if isinstance(raw, dict) else None
        if not isinstance(header, dict) or header.get("kind") != "roster" or not raw.get("body"):
            continue
        version = header.get("version")
        if isinstance(version, int) and (newest is None or version > newest[0]):
            newest = (version, raw)
    if newest is None:
        raise ConfigError("the file holds no roster to read the origins' keys from")
    body, version = accept_hub_roster(newest[1], hub_key=hub_key)
    return Trust.from_roster(body, version)


def trust_keys(trust: Trust) -> KeyFor:
    """Every origin's keys as the roster lists them, with their seq windows (a suspended
    or revoked origin's records signed inside a window still verify)."""
    return lambda origin, key_id, seq: listed_key(trust, origin, key_id, seq)


def verify_lines(
    lines: Iterable[str], keys: KeyFor, *, witnesses: WitnessKeys | None = None
) -> Verdict:
    """Check every line; ``witnesses`` (from ``--hub-key``) checks the cosignatures too."""
    verdict = Verdict()
    links: dict[str, dict[int, tuple[str, str | None, int]]] = {}  # seq -> (hash, prev, line)
    versions: dict[tuple[str, str], list[_Version]] = {}
    cosigs: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            verdict.checked += 1
            verdict.failures.append(f"line {number}: malformed envelope: {exc}")
            continue
        if isinstance(raw, dict) and raw.get("type") == COSIGNATURE_TYPE:
            cosigs.append((number, raw))
            continue
        verdict.checked += 1
        _record(verdict, number, raw, keys, links, versions)
    _chains(verdict, links)
    _versions(verdict, versions)
    _witnesses(verdict, cosigs, links, witnesses)
    return verdict


def _record(
    verdict: Verdict,
    number: int,
    raw: Any,
    keys: KeyFor,
    links: dict[str, dict[int, tuple[str, str | None, int]]],
    versions: dict[tuple[str, str], list[_Version]],
) -> None:
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        verdict.failures.append(f"line {number}: malformed envelope: {_first(exc)}")
        return
    header = envelope.record
    where = f"line {number} ({header.kind} {header.id} v{header.version}, seq {header.seq})"
    public = keys(header.origin, header.key_id, header.seq)
    if public is None:
        verdict.failures.append(
            f"{where}: no public key given for {header.key_id}"
            f" of {header.origin} valid for seq {header.seq}"
        )
        return
    try:
        verify_header(raw["record"], raw["sig"], public)
    except HealthnetError as exc:
        verdict.failures.append(f"{where}: {exc}")
        return
    # A verified header proves its seq was issued, whatever happened to the body.
    hashed = header_hash(raw["record"])
    links.setdefault(header.origin, {})[header.seq] = (hashed, header.prev, number)
    try:
        check_body(raw["record"], raw["body"])
    except HealthnetError as exc:
        verdict.failures.append(f"{where}: {exc}")
    versions.setdefault((header.origin, header.id), []).append(
        _Version(
            header.seq, header.version, raw["body"] is not None, number, hashed, header.deleted
        )
    )


def _chains(verdict: Verdict, links: dict[str, dict[int, tuple[str, str | None, int]]]) -> None:
    for origin, chain in sorted(links.items()):
        for seq, (_, prev, number) in sorted(chain.items()):
            before = chain.get(seq - 1)
            if before is not None and before[0] != prev:
                verdict.failures.append(
                    f"line {number}: origin {origin} seq {seq}: prev does not match the "
                    f"record at seq {seq - 1} (line {before[2]}): the chain is broken"
                )
    for origin, chain in sorted(links.items()):
        missing = sorted(set(range(1, max(chain) + 1)) - set(chain))
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            verdict.failures.append(f"origin {origin}: sequence numbers missing: {shown}")


def _versions(verdict: Verdict, versions: dict[tuple[str, str], list[_Version]]) -> None:
    """Per record id: each version signed once; a body only on the version shown."""
    for (origin, record_id), held in sorted(versions.items()):
        by_version: dict[int, _Version] = {}
        for v in sorted(held, key=lambda v: v.seq):
            twin = by_version.get(v.version)
            if twin is not None and twin.hash != v.hash:
                verdict.failures.append(
                    f"line {v.line}: {record_id} v{v.version} of {origin} is signed twice "
                    f"(seq {twin.seq}, line {twin.line}, and seq {v.seq}): equivocation"
                )
            by_version.setdefault(v.version, v)
        for v in held:
            if v.body:
                _body_rule(verdict, origin, record_id, v, held)


def _body_rule(
    verdict: Verdict, origin: str, record_id: str, v: _Version, held: list[_Version]
) -> None:
    """Section 9: ``v`` may carry its body only as the version the directory shows."""
    newer = [w for w in held if w.version > v.version]
    where = f"line {v.line}: {record_id} v{v.version} of {origin} carries a body"
    earlier = [w for w in newer if w.seq < v.seq]
    if earlier:  # 10.4 history: an older version signed after a newer one
        verdict.failures.append(
            f"{where}, but v{earlier[0].version} was signed before it (seq {earlier[0].seq}): "
            "an older version at a later seq is history and travels as a stub"
        )
        return
    superseding = [w for w in newer if not w.withheld]
    if superseding:
        w = max(superseding, key=lambda w: w.version)
        what = "a tombstone" if w.deleted else "with its body"
        verdict.failures.append(
            f"{where}, but v{w.version} is held {what} (line {w.line}): only the version "
            "shown carries its body"
        )
    elif newer:
        w = max(newer, key=lambda w: w.version)
        verdict.notes.append(
            f"{record_id} of {origin}: v{v.version} is shown; v{w.version} is held without "
            "its body (withheld by a relay)"
        )


def _witnesses(
    verdict: Verdict,
    cosigs: list[tuple[int, Any]],
    links: dict[str, dict[int, tuple[str, str | None, int]]],
    witnesses: WitnessKeys | None,
) -> None:
    if not cosigs:
        return
    if witnesses is None:
        verdict.notes.append(
            f"{len(cosigs)} checkpoint cosignatures not checked: give --hub-key to check them"
        )
        return
    for number, raw in cosigs:
        verdict.cosignatures += 1
        try:
            cosig = check_cosignature(raw, witnesses)
        except HealthnetError as exc:
            verdict.failures.append(f"line {number}: {exc}")
            continue
        cp = cosig.checkpoint
        chain = links.get(cp.origin, {})
        held = chain.get(cp.size)
        if held is None:
            verdict.notes.append(
                f"line {number}: {cosig.witness} co-signed {cp.origin} at seq {cp.size}, "
                "past what this file holds"
            )
        elif held[0] != cp.head:
            verdict.failures.append(
                f"line {number}: {cosig.witness} co-signed another head for {cp.origin} at "
                f"seq {cp.size} than this file's chain (line {held[2]}): a split view"
            )
        elif cosig.witness != cp.origin:
            seen = verdict.witnessed.setdefault(cp.origin, {})
            seen[cosig.witness] = max(seen.get(cosig.witness, 0), cp.size)


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)
