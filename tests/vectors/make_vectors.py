"""Generate tests/vectors/record_vectors.json: the golden records of docs/PROTOCOL.md.

Run from the repository root: ``.venv/bin/python tests/vectors/make_vectors.py``
(``--out DIR`` writes the file to DIR instead).

Everything is fixed (seeds, ids, timestamps, bodies) and Ed25519 is deterministic, so the
output is byte-for-byte reproducible. The file is committed; tests read it and never
overwrite it (tests/test_protocol_vectors.py only runs this script into a temporary
directory and compares), so a change to canonicalisation or signing breaks a test instead
of silently regenerating the expectation. Regenerate only for a deliberate change of the
wire format.

The valid records are the complete log of one origin, seq 1 to 5, each header linked to
the one before it by ``prev`` (the hash chain of docs/PROTOCOL.md section 4):

* seq 1: member M, version 1 (``prev`` null). Superseded, so published as a stub (no body).
* seq 2: member M, version 2. Current: full body.
* seq 3: event E, version 1.
* seq 4: member D, version 1. Superseded by the tombstone, so published as a stub.
* seq 5: member D, version 2: a tombstone.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from federation.canonical import b64url, canonical_bytes, sha256_tag
from federation.errors import BadSignature, BodyMismatch, SignatureError
from federation.keys import SigningKey, from_seed, node_id_for
from federation.signing import body_hash, header_hash, seal, verify_envelope
from schemas.event import EventBody
from schemas.member import MemberBody
from schemas.record import Envelope

OUT = Path(__file__).resolve().parent / "record_vectors.json"
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# RFC 8032 section 7.1, TEST 1 and TEST 2 secret keys (the 32-byte seeds).
SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
OTHER_SEED_HEX = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
KEY_ID = "ed25519:1"

MEMBER_ID = "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71"
EVENT_ID = "b7e4d2a9-1c3f-4a8e-8d6b-5f0c9e2a7b13"
DELETED_ID = "5c9a1e7f-2b4d-4f3a-a6e8-0d7b3c1f9e24"

MEMBER_V1: dict[str, Any] = {
    "name": "Radboud university medical center",
    "kind": "academic-medical-centre",
    "region": "europe",
    "country": "NL",
    "city": "Nijmegen",
    "latitude": 51.82261,
    "longitude": 5.861719,
    "website": "https://www.radboudumc.nl",
    "social": [{"platform": "x", "handle": "@radboudumc", "url": "https://x.com/radboudumc"}],
    "topics": ["patient participation"],
    "languages": ["nl", "en"],
    "network_role": "member",
    "joined": "2012-06-01",
    "contact": {
        "name": "Radboudumc Communicatie",
        "email": "communicatie@radboudumc.nl",
        "phone": "+31 24 361 11 11",
        "url": "https://www.radboudumc.nl/contact",
    },
    "description": "Academic medical centre in Nijmegen – Gelderland, the Netherlands.",
}

MEMBER_V2: dict[str, Any] = {
    **MEMBER_V1,
    "name": "Radboudumc",
    "social": [
        {"platform": "x", "handle": "@radboudumc", "url": "https://x.com/radboudumc"},
        {"platform": "linkedin", "handle": "radboudumc",
         "url": "https://www.linkedin.com/company/radboudumc"},
        {"platform": "youtube", "handle": "@radboudumc",
         "url": "https://www.youtube.com/@radboudumc"},
    ],
    "topics": ["patient participation", "digital health", "personalized healthcare"],
    "network_role": "charter-member",
    "description": (
        "Academic medical centre in Nijmegen – Gelderland, the Netherlands. "
        "Patiëntenzorg, onderzoek en onderwijs; home of the REshape Center "
        "for innovation in healthcare (santé connectée)."
    ),
}

DELETED_V1: dict[str, Any] = {
    "name": "REshape Academy",
    "kind": "other",
    "region": "europe",
    "country": "NL",
    "city": "Nijmegen",
    "latitude": None,
    "longitude": None,
    "website": None,
    "social": [],
    "topics": ["digital health"],
    "languages": ["en"],
    "network_role": "member",
    "joined": None,
    "contact": None,
    "description": None,
}

EVENT: dict[str, Any] = {
    "title": "REshape Health Social Media Day 2025",
    "description": "A day on patients, clinicians and social media – hybrid, in English.",
    "kind": "conference",
    "starts_at": "2025-10-09T09:00",
    "ends_at": "2025-10-09T17:30",
    "timezone": "Europe/Amsterdam",
    "online_url": "https://www.radboudumc.nl/events/reshape-hsm-day-2025/live",
    "venue": {
        "name": "Radboudumc Auditorium",
        "city": "Nijmegen",
        "country": "NL",
        "latitude": 51.822435,
        "longitude": 5.860011,
    },
    "organizer": "Radboudumc REshape Center",
    "region": "europe",
    "topics": ["social media", "patient participation"],
    "language": "en",
    "registration_url": "https://www.radboudumc.nl/events/reshape-hsm-day-2025",
    "status": "scheduled",
}


def _model_fixed_point(model: Any, body: dict[str, Any]) -> None:
    """Refuse a vector body that the admin API would not emit unchanged."""
    dumped = model.model_validate(body).model_dump(mode="json")
    if dumped != body:
        raise SystemExit(f"{model.__name__} does not round-trip the vector body: {dumped}")


def _resign(key: SigningKey, header: dict[str, Any]) -> str:
    return b64url(key.sign(canonical_bytes(header)))


def _valid_case(
    name: str,
    description: str,
    envelope: dict[str, Any],
    key: SigningKey,
    sealed_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    header, body = envelope["record"], envelope["body"]
    case: dict[str, Any] = {
        "name": name,
        "description": description,
        "header": header,
        "body": body,
        "sig": envelope["sig"],
        "canonical_header_hex": canonical_bytes(header).hex(),
        "canonical_body_hex": None if body is None else canonical_bytes(body).hex(),
        "body_hash": header["body_hash"],
        "header_hash": header_hash(header),
        "public_key": key.public_b64,
        "node_id": node_id_for(key.public_raw),
    }
    if sealed_body is not None:
        case["sealed_body"] = sealed_body
    return case


def build() -> dict[str, Any]:
    key = from_seed(bytes.fromhex(SEED_HEX), KEY_ID)
    other = from_seed(bytes.fromhex(OTHER_SEED_HEX), KEY_ID)
    origin = node_id_for(key.public_raw)
    public = key.private.public_key()

    for model, body in (
        (MemberBody, MEMBER_V1),
        (MemberBody, MEMBER_V2),
        (MemberBody, DELETED_V1),
        (EventBody, EVENT),
    ):
        _model_fixed_point(model, body)

    # The origin's log, in seq order: each header's prev is the hash of the one before.
    log: list[dict[str, Any]] = []

    def publish(record_id: str, kind: str, version: int, issued_at: str,
                body: dict[str, Any] | None) -> dict[str, Any]:
        prev = header_hash(log[-1]["record"]) if log else None
        envelope = seal(key=key, origin=origin, seq=len(log) + 1, record_id=record_id,
                        kind=kind, version=version, issued_at=issued_at, body=body, prev=prev)
        log.append(envelope)
        return envelope

    member_v1 = publish(MEMBER_ID, "member", 1, "2025-01-15T08:30:00Z", MEMBER_V1)
    member = publish(MEMBER_ID, "member", 2, "2025-03-14T09:26:53.589793Z", MEMBER_V2)
    event = publish(EVENT_ID, "event", 1, "2025-03-20T13:05:00Z", EVENT)
    deleted_v1 = publish(DELETED_ID, "member", 1, "2025-03-25T16:45:00Z", DELETED_V1)
    tombstone = publish(DELETED_ID, "member", 2, "2025-04-01T10:00:00Z", None)
    stub = {**member_v1, "body": None}
    deleted_stub = {**deleted_v1, "body": None}
    sealed_note = (
        " 'sealed_body' is the body it was sealed with, kept here only so seal() can "
        "reproduce the signature; it is not part of the envelope."
    )

    valid = [
        _valid_case(
            "stub",
            "Version 1 of the member, superseded by version 2: its signed header and "
            "signature, body removed. It proves that seq 1 was used and keeps the chain "
            "verifiable. The first record of the origin, so prev is null." + sealed_note,
            stub, key, sealed_body=MEMBER_V1,
        ),
        _valid_case("member", "Current version of a member: full body.", member, key),
        _valid_case("event", "An event: wall-clock times in an IANA zone.", event, key),
        _valid_case(
            "deleted_stub",
            "Version 1 of a second member, superseded by its tombstone at seq 5: a stub."
            + sealed_note,
            deleted_stub, key, sealed_body=DELETED_V1,
        ),
        _valid_case("tombstone", "A deleted record: body_hash null, deleted true, body null.",
                    tombstone, key),
    ]

    def tampered(base: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        env = copy.deepcopy(base)
        change(env)
        return env

    def set_seq(env: dict[str, Any]) -> None:
        env["record"]["seq"] = 3

    def set_name(env: dict[str, Any]) -> None:
        env["body"]["name"] = "Radboudumc Nijmegen"

    def attach_body(env: dict[str, Any]) -> None:
        env["body"] = copy.deepcopy(MEMBER_V2)

    sig = member["sig"]
    if "-" not in sig and "_" not in sig:
        raise SystemExit("the member signature has no '-' or '_'; pick another issued_at")
    last = B64URL_ALPHABET.index(sig[-1])
    if last % 16:
        raise SystemExit("an 86-character base64url signature must end in A, Q, g or w")
    # Same 64 bytes to a lenient decoder: only the 4 unused trailing bits differ.
    alias = sig[:-1] + B64URL_ALPHABET[last + 1]

    wrong_key = seal(key=other, origin=origin, seq=2, record_id=MEMBER_ID, kind="member",
                     version=2, issued_at="2025-03-14T09:26:53.589793Z", body=MEMBER_V2,
                     prev=member["record"]["prev"])

    # A signer that hashed Python's json.dumps output instead of the RFC 8785 bytes.
    wrong_hash_header = dict(member["record"])
    wrong_hash_header["body_hash"] = "sha256:" + b64url(
        hashlib.sha256(json.dumps(MEMBER_V2, sort_keys=True).encode()).digest()
    )
    wrong_hash = {"record": wrong_hash_header, "body": copy.deepcopy(MEMBER_V2),
                  "sig": _resign(key, wrong_hash_header)}

    def resealed(base: dict[str, Any], **header: Any) -> dict[str, Any]:
        """``base`` with header fields changed and signed again by the origin's key."""
        changed = {**base["record"], **header}
        return {"record": changed, "body": copy.deepcopy(base["body"]),
                "sig": _resign(key, changed)}

    # A signer that hashed Python's json.dumps output of the previous header instead of its
    # RFC 8785 bytes: correctly signed and well-formed, but the link does not match.
    prev_wrong = resealed(event, prev=sha256_tag(
        json.dumps(member["record"], sort_keys=True).encode()
    ))

    # (name, description, envelope, error, shape_valid, previous header for a chain case)
    # error: the SignatureError that verify_envelope raises, or "shape" (verify_envelope
    # accepts it, the shape check rejects it) or "chain" (only the chain check rejects it).
    invalid_specs: list[tuple[str, str, dict[str, Any], str, bool, dict[str, Any] | None]] = [
        ("tampered_header_seq", "The member record with seq changed from 2 to 3.",
         tampered(member, set_seq), "BadSignature", True, None),
        ("tampered_body_name", "The member record with body.name changed.",
         tampered(member, set_name), "BodyMismatch", True, None),
        ("wrong_key", "Claims the origin's key ed25519:1 but was signed by another key "
         "(RFC 8032 TEST 2 seed). Verify with the origin's ed25519:1 public key.",
         wrong_key, "BadSignature", True, None),
        ("sig_padded", "The member signature with '==' padding appended.",
         {**member, "sig": sig + "=="}, "BadSignature", False, None),
        ("sig_standard_alphabet", "The member signature in the standard alphabet (+ and /).",
         {**member, "sig": sig.replace("-", "+").replace("_", "/")}, "BadSignature", False, None),
        ("sig_truncated", "The member signature without its last two characters.",
         {**member, "sig": sig[:-2]}, "BadSignature", False, None),
        ("sig_noncanonical_trailing_bits", "The member signature with the last character "
         "changed so that only the 4 unused trailing bits differ: a lenient decoder yields "
         "the same 64 bytes, a strict one rejects it.",
         {**member, "sig": alias}, "BadSignature", True, None),
        ("tombstone_with_body", "The tombstone with a body attached.",
         tampered(tombstone, attach_body), "BodyMismatch", False, None),
        ("body_hash_mismatch", "A correctly signed header whose body_hash was computed over "
         "json.dumps(body, sort_keys=True) instead of the RFC 8785 bytes of the body.",
         wrong_hash, "BodyMismatch", True, None),
        ("prev_wrong", "The event (seq 3), correctly signed, but its prev was computed over "
         "json.dumps(header, sort_keys=True) of the seq 2 header instead of its RFC 8785 "
         "bytes, so it does not match the header at seq 2 ('previous_header'). Only a "
         "receiver that holds seq 2 can tell: verify_envelope accepts it.",
         prev_wrong, "chain", True, member["record"]),
        ("prev_missing_at_seq_2", "The member (seq 2), correctly signed, with prev null: only "
         "seq 1 may have a null prev.",
         resealed(member, prev=None), "shape", False, None),
        ("prev_at_seq_1", "The first record (seq 1, the stub), correctly signed, with prev set "
         "to sha256 of the empty string: seq 1 has no predecessor, so prev must be null.",
         resealed(stub, prev=sha256_tag(b"")), "shape", False, None),
    ]

    errors: dict[str, type[SignatureError]] = {
        "BadSignature": BadSignature, "BodyMismatch": BodyMismatch,
    }
    invalid = []
    for name, description, envelope, error, shape_valid, previous in invalid_specs:
        if error in errors:
            try:
                verify_envelope(envelope, public)
            except errors[error]:
                pass
            else:
                raise SystemExit(f"{name}: verify_envelope did not raise {error}")
        else:
            verify_envelope(envelope, public)  # correctly signed: a later check catches it
        if (error == "chain") != (previous is not None):
            raise SystemExit(f"{name}: a chain case, and only one, names the previous header")
        if previous is not None:
            if previous["seq"] != envelope["record"]["seq"] - 1:
                raise SystemExit(f"{name}: previous_header is not at seq - 1")
            if header_hash(previous) == envelope["record"]["prev"]:
                raise SystemExit(f"{name}: the link matches")
        try:
            Envelope.model_validate(envelope)
        except ValueError:
            parsed = False
        else:
            parsed = True
        if parsed != shape_valid:
            raise SystemExit(f"{name}: Envelope shape check gave {parsed}, want {shape_valid}")
        case = {
            "name": name,
            "description": description,
            "envelope": envelope,
            "public_key": key.public_b64,
            "error": error,
            "shape_valid": shape_valid,
        }
        if previous is not None:
            case["previous_header"] = previous
        invalid.append(case)

    for case in valid:
        verify_envelope({"record": case["header"], "body": case["body"], "sig": case["sig"]},
                        public)
        if case["body"] is not None and body_hash(case["body"]) != case["body_hash"]:
            raise SystemExit(f"{case['name']}: body hash")
        Envelope.model_validate({"record": case["header"], "body": case["body"],
                                 "sig": case["sig"]})
    headers = sorted((case["header"] for case in valid), key=lambda header: header["seq"])
    if [header["seq"] for header in headers] != list(range(1, len(headers) + 1)):
        raise SystemExit("the valid vectors are not seq 1..n of one origin")
    for before, after in zip(headers, headers[1:], strict=False):
        if after["prev"] != header_hash(before):
            raise SystemExit(f"seq {after['seq']}: prev does not link to seq {before['seq']}")

    return {
        "about": "Golden records of docs/PROTOCOL.md. Generated by tests/vectors/make_vectors.py;"
                 " do not edit by hand.",
        "key": {
            "seed_hex": SEED_HEX,
            "key_id": KEY_ID,
            "public_key": key.public_b64,
            "public_key_hex": key.public_raw.hex(),
            "node_id": origin,
        },
        "other_key": {
            "seed_hex": OTHER_SEED_HEX,
            "public_key": other.public_b64,
            "public_key_hex": other.public_raw.hex(),
        },
        "valid": valid,
        "invalid": invalid,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write record_vectors.json.")
    parser.add_argument("--out", type=Path, default=OUT.parent, help="directory to write to")
    out: Path = parser.parse_args(argv).out
    text = json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
    (out / OUT.name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
