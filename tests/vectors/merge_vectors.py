"""tests/vectors/merge.json: verdicts of ``federation.merge.merge`` (docs/PROTOCOL.md 10.4).

Each case is a verified envelope offered to a receiver, the receiver's state as documented
values (its tip and head for the origin, the header hash it holds at the offered seq, the
versions it holds of the record id, which origin holds the id), and merge()'s verdict. The
held states are derived from real logs: prefixes of the record vectors' chain (seq 1..5),
extended at seq 6 and 7 where a case needs it. Part of make_protocol_vectors.py.
"""

from __future__ import annotations

import copy
from typing import Any

from make_vectors import (
    DELETED_ID,
    DELETED_V1,
    KEY_ID,
    MEMBER_ID,
    OTHER_SEED_HEX,
    SEED_HEX,
    _model_fixed_point,
)

from federation.keys import SigningKey, from_seed, node_id_for
from federation.merge import Held, Tip, Verdict, merge
from federation.signing import header_hash, seal, verify_envelope
from schemas.instants import format_utc, parse_utc
from schemas.member import MemberBody

NEW_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"  # a record the chain of seq 1..5 never named

Envelope = dict[str, Any]


def _instant(text: str) -> str:
    """Refuse an ``issued_at`` that is not in the one UTC form of schemas/instants.py."""
    if format_utc(parse_utc(text)) != text:
        raise SystemExit(f"{text} is not YYYY-MM-DDTHH:MM:SSZ")
    return text


def _member(name: str) -> dict[str, Any]:
    body = {**DELETED_V1, "name": name}
    _model_fixed_point(MemberBody, body)
    return body


# --------------------------------------------------------------------------- merge.json


def build(records: dict[str, Any], key: SigningKey, other_origin: str) -> dict[str, Any]:
    origin = node_id_for(key.public_raw)
    valid = {case["name"]: case for case in records["valid"]}
    invalid = {case["name"]: case for case in records["invalid"]}

    def held_form(name: str) -> Envelope:
        case = valid[name]
        return copy.deepcopy({"record": case["header"], "body": case["body"], "sig": case["sig"]})

    def full(name: str) -> Envelope:
        """A stub of the record vectors with the body it was sealed with: the live copy."""
        return {**held_form(name), "body": copy.deepcopy(valid[name]["sealed_body"])}

    chain = [held_form(n) for n in ("stub", "member", "event", "deleted_stub", "tombstone")]

    def after(log: list[Envelope], record_id: str, version: int, body: dict[str, Any] | None,
              issued_at: str) -> Envelope:
        """The next record of ``log``: seq and prev follow on from it."""
        return seal(key=key, origin=origin, seq=len(log) + 1, record_id=record_id,
                    kind="member", version=version, issued_at=_instant(issued_at), body=body,
                    prev=header_hash(log[-1]["record"]))

    def stub(env: Envelope) -> Envelope:
        return {**env, "body": None}

    m_v2_again = after(chain, MEMBER_ID, 2, _member("Radboudumc, a second version 2"),
                       "2025-04-02T09:00:00Z")
    m_v1_again = after(chain, MEMBER_ID, 1, _member("Radboudumc, a second version 1"),
                       "2025-04-02T09:05:00Z")
    m_v3 = after(chain, MEMBER_ID, 3, _member("Radboudumc version 3"), "2025-04-02T09:10:00Z")
    d_v3 = after(chain, DELETED_ID, 3, _member("REshape Academy"), "2025-04-02T09:15:00Z")
    new_tomb = after(chain, NEW_ID, 1, None, "2025-04-02T09:20:00Z")
    m_v4 = after(chain, MEMBER_ID, 4, _member("Radboudumc version 4"), "2025-04-02T09:25:00Z")
    longer = [*chain, m_v4]  # seq 6 is member M version 4, skipping version 3
    late_v3 = after(longer, MEMBER_ID, 3, _member("Radboudumc version 3"), "2025-04-02T09:30:00Z")
    late_tomb = after(longer, MEMBER_ID, 3, None, "2025-04-02T09:35:00Z")

    # (name, held log, offered, verdict, why); the FOREIGN ones' id is other_origin's
    specs: list[tuple[str, list[Envelope], Envelope, Verdict, str]] = [
        ("first_record", [], full("stub"), Verdict.APPLY,
         "nothing held of the origin, seq 1 with prev null, a body: becomes current"),
        ("first_record_as_stub", [], held_form("stub"), Verdict.STUB,
         "seq 1 extends the chain but carries no body and is not deleted: a stub, held as "
         "history, the version's content withheld"),
        ("newer_version", chain[:1], held_form("member"), Verdict.APPLY,
         "version 2 of a record held at version 1 (owner is the origin itself, not foreign)"),
        ("new_record", chain[:2], held_form("event"), Verdict.APPLY,
         "a record id not held yet, next seq, prev is the tip's header hash"),
        ("new_record_as_stub", chain[:3], held_form("deleted_stub"), Verdict.STUB,
         "a new record id offered without its body: a stub"),
        ("tombstone", chain[:4], held_form("tombstone"), Verdict.APPLY,
         "a tombstone of a newer version is an ordinary version: applied, removes the record "
         "and is kept; body null is not a stub because deleted is true"),
        ("tombstone_of_a_record_never_held", chain, new_tomb, Verdict.APPLY,
         "a tombstone for an id not held: applied (and kept, so no older copy can appear)"),
        ("newer_version_after_tombstone", chain, d_v3, Verdict.APPLY,
         "version 3 after the tombstone at version 2: only the origin can bring a record back, "
         "by signing a newer version"),
        ("newer_version_as_stub", chain, stub(m_v3), Verdict.STUB,
         "version 3 of a record held at version 2, without its body: a stub; the directory "
         "keeps version 2"),
        ("duplicate", chain, held_form("member"), Verdict.DUPLICATE,
         "seq 2 already held with the same header hash: skipped"),
        ("duplicate_stub_of_held_record", chain, stub(held_form("member")), Verdict.DUPLICATE,
         "the stub of a held record has the same header: a body alone differing is no evidence"),
        ("old_version_replayed", chain, full("stub"), Verdict.DUPLICATE,
         "version 1 replayed at its own seq 1: a duplicate, never a rollback"),
        ("stale_copy_after_tombstone", chain, full("deleted_stub"), Verdict.DUPLICATE,
         "the live copy of version 1 after its tombstone, at its own seq 4: a duplicate, so "
         "it cannot resurrect the record"),
        ("equivocation_at_held_seq", chain, copy.deepcopy(invalid["prev_wrong"]["envelope"]),
         Verdict.EQUIVOCATION,
         "a validly signed header for seq 3 that differs from the one held at seq 3"),
        ("gap", chain[:1], held_form("event"), Verdict.GAP,
         "seq 3 while the tip is 1: seq 2 is missing, nothing after it can be placed"),
        ("gap_when_nothing_is_held", [], held_form("member"), Verdict.GAP,
         "seq 2 while nothing of the origin is held"),
        ("equivocation_prev_not_tip", chain[:2], copy.deepcopy(invalid["prev_wrong"]["envelope"]),
         Verdict.EQUIVOCATION,
         "seq 3 is next, but its prev is not the header hash held at seq 2: two histories"),
        ("equivocation_same_version_as_current", chain, m_v2_again, Verdict.EQUIVOCATION,
         "extends the chain, but version 2 of the record is held with another header"),
        ("equivocation_version_held_as_history", chain, m_v1_again, Verdict.EQUIVOCATION,
         "extends the chain, but version 1 of the record is held (as a stub) with another "
         "header: an old version number can never be signed again"),
        ("lower_version", longer, late_v3, Verdict.HISTORY,
         "version 3 after version 4 (3 never held): kept as history, never made current"),
        ("lower_version_as_stub", longer, stub(late_v3), Verdict.HISTORY,
         "a stub of a lower version: history, since the version is checked before the body"),
        ("lower_version_tombstone", longer, late_tomb, Verdict.HISTORY,
         "a tombstone of version 3 after version 4: history; it deletes nothing"),
        ("withheld_body_restored", chain[:1], full("stub"), Verdict.DUPLICATE,
         "seq 1 is held as a stub that is still the newest version of its id (a relay "
         "withheld the body): the full copy is a duplicate that gives the stub its body back"),
        ("foreign", [], full("stub"), Verdict.FOREIGN,
         "the record id is already held under another origin: no origin can take over, "
         "replace or delete another's record"),
        ("foreign_before_gap", [], held_form("event"), Verdict.FOREIGN,
         "ownership is checked first: a foreign id is refused even where the seq is a gap"),
    ]

    other_log = _other_log(valid)
    cases = []
    for name, log, offered, verdict, why in specs:
        owner = other_origin if verdict is Verdict.FOREIGN else None
        if log != longer[:len(log)]:
            raise SystemExit(f"{name}: every held log is a prefix of the top-level log")
        case = _merge_case(name, log, offered, verdict, why, origin, owner, reachable=True)
        case["after"] = _after(log, other_log if owner else [], offered, verdict, origin)
        cases.append(case)
    # A branch that no consistent receiver reaches: a header held as the current version sits
    # at a seq <= tip, so it cannot also be the next seq. merge() still answers.
    unreachable = _merge_case(
        "same_header_as_current_at_next_seq", chain, m_v4, Verdict.DUPLICATE,
        "defensive branch: the held state claims version 4 with this very header, yet the tip "
        "is 5; a dense log cannot be in this state", origin, None, reachable=False,
    )
    claimed = {"version": 4, "header_hash": header_hash(m_v4["record"])}
    unreachable["held"]["versions"].append(claimed)
    cases.append(unreachable)

    public = key.private.public_key()
    for case in cases:
        verify_envelope(case["offered"], public)
        got = _place(case)
        if got is not Verdict(case["verdict"]):
            raise SystemExit(f"{case['name']}: merge() says {got.value}, want {case['verdict']}")
    if {case["verdict"] for case in cases} != {v.value for v in Verdict}:
        raise SystemExit("merge.json does not cover every verdict")
    return {
        "origin": {"node_id": origin, "key_id": KEY_ID, "seed_hex": SEED_HEX,
                   "public_key": key.public_b64},
        "other_origin": other_origin,
        "other_public_key": from_seed(bytes.fromhex(OTHER_SEED_HEX), KEY_ID).public_b64,
        "verdicts": [v.value for v in Verdict],
        "log": copy.deepcopy(longer),
        "other_log": other_log,
        "cases": cases,
    }


def _other_log(valid: dict[str, Any]) -> list[Envelope]:
    """other_origin's log in the ``foreign`` cases: it holds the ids the origin offers."""
    key = from_seed(bytes.fromhex(OTHER_SEED_HEX), KEY_ID)
    origin = node_id_for(key.public_raw)
    member = seal(key=key, origin=origin, seq=1, record_id=MEMBER_ID, kind="member", version=1,
                  issued_at=_instant("2025-03-01T08:00:00Z"),
                  body=_member("Another origin's member"), prev=None)
    event = seal(key=key, origin=origin, seq=2, record_id=valid["event"]["header"]["id"],
                 kind="event", version=1, issued_at=_instant("2025-03-01T08:05:00Z"),
                 body=copy.deepcopy(valid["event"]["body"]), prev=header_hash(member["record"]))
    return [member, event]


class _Receiver:
    """What a receiver holds of one origin after each offer: the effect column of
    docs/PROTOCOL.md 10.4, written here from the document and independently of node/
    (tests/test_merge_outcomes.py checks a real node against what it computes)."""

    def __init__(self, owners: dict[str, str]) -> None:
        self.log: dict[int, Envelope] = {}  # seq -> the envelope as held (body None: a stub)
        self.owners = owners  # record id -> the other origin that holds it

    def versions(self, record_id: str) -> dict[int, str]:
        return {env["record"]["version"]: header_hash(env["record"])
                for env in self.log.values() if env["record"]["id"] == record_id}

    def offer(self, env: Envelope) -> Verdict:
        header = env["record"]
        seq, rid = header["seq"], header["id"]
        versions = self.versions(rid)
        top = max(versions, default=None)
        tip = len(self.log)
        verdict = merge(
            header, env["body"], incoming_hash=header_hash(header),
            tip=Tip(tip, header_hash(self.log[tip]["record"]) if tip else None),
            held_at_seq=header_hash(self.log[seq]["record"]) if seq in self.log else None,
            current=None if top is None else Held(top, versions[top],
                                                   frozenset(versions) - {top}),
            claimed_by=self.owners.get(rid),
        )
        if verdict is Verdict.APPLY:  # the version before becomes a stub
            self._strip(rid)
            self.log[seq] = copy.deepcopy(env)
        elif verdict in (Verdict.HISTORY, Verdict.STUB):
            self.log[seq] = {**copy.deepcopy(env), "body": None}
        elif verdict is Verdict.DUPLICATE and self._withheld(env):
            self._strip(rid)
            self.log[seq] = copy.deepcopy(env)
        return verdict

    def _withheld(self, env: Envelope) -> bool:
        """A stub held at the offered seq, no tombstone, its id's newest version held."""
        header, held = env["record"], self.log[env["record"]["seq"]]
        return (env["body"] is not None and held["body"] is None and not header["deleted"]
                and header["version"] == max(self.versions(header["id"])))

    def _strip(self, record_id: str) -> None:
        for seq, env in self.log.items():
            if env["record"]["id"] == record_id:
                self.log[seq] = {**env, "body": None}

    def shown(self, record_id: str) -> int | None:
        """The version of ``record_id`` the directory shows: the one held with its body."""
        live = [env["record"]["version"] for env in self.log.values()
                if env["record"]["id"] == record_id and env["body"] is not None]
        return max(live, default=None)


QUARANTINE = {Verdict.FOREIGN: "OutOfScope", Verdict.EQUIVOCATION: "equivocation",
              Verdict.GAP: "gap"}


def _after(log: list[Envelope], other_log: list[Envelope], offered: Envelope, verdict: Verdict,
           origin: str) -> dict[str, Any]:
    """What the receiver holds, shows and serves once ``offered`` was merged."""
    receiver = _Receiver({env["record"]["id"]: env["record"]["origin"] for env in other_log})
    for env in log:  # the held state is one an honest receiver reaches by pulling the log
        if receiver.offer(env) not in (Verdict.APPLY, Verdict.STUB, Verdict.HISTORY):
            raise SystemExit(f"the held log does not merge cleanly at seq {env['record']['seq']}")
    if receiver.offer(offered) is not verdict:
        raise SystemExit(f"{offered['record']['seq']}: the receiver model disagrees with merge()")
    tip = len(receiver.log)
    rid = offered["record"]["id"]
    return {
        "last_seq": tip,
        "head": header_hash(receiver.log[tip]["record"]) if tip else None,
        "served": [{"seq": seq, "header_hash": header_hash(env["record"]),
                    "body": env["body"] is not None} for seq, env in sorted(receiver.log.items())],
        "shown": (None if receiver.owners.get(rid) else receiver.shown(rid)),
        "quarantined": QUARANTINE.get(verdict),
    }


def _merge_case(name: str, log: list[Envelope], offered: Envelope, verdict: Verdict, why: str,
                origin: str, owner: str | None, *, reachable: bool) -> dict[str, Any]:
    """The receiver's state for ``offered`` when it holds ``log`` (seq 1..n of the origin)."""
    header = offered["record"]
    seq = header["seq"]
    versions = sorted({(env["record"]["version"], header_hash(env["record"]))
                       for env in log if env["record"]["id"] == header["id"]})
    if owner is not None and versions:
        raise SystemExit(f"{name}: an id held by the origin cannot be another origin's")
    return {
        "name": name,
        "held": {
            "last_seq": len(log),
            "head": header_hash(log[-1]["record"]) if log else None,
            "at_seq": header_hash(log[seq - 1]["record"]) if seq <= len(log) else None,
            "versions": [{"version": v, "header_hash": h} for v, h in versions],
            "owner": owner if owner is not None else (origin if versions else None),
        },
        "offered": copy.deepcopy(offered),
        "offered_header_hash": header_hash(header),
        "verdict": verdict.value,
        "why": why,
        "reachable": reachable,
    }


def _place(case: dict[str, Any]) -> Verdict:
    held, offered = case["held"], case["offered"]
    versions = {v["version"]: v["header_hash"] for v in held["versions"]}
    top = max(versions, default=None)
    current = None if top is None else Held(top, versions[top], frozenset(versions) - {top})
    return merge(offered["record"], offered["body"],
                 incoming_hash=header_hash(offered["record"]),
                 tip=Tip(held["last_seq"], held["head"]), held_at_seq=held["at_seq"],
                 current=current, claimed_by=held["owner"])
