"""Generate tests/vectors/record_vectors.json: the golden records of docs/PROTOCOL.md.

Run from the repository root: ``.venv/bin/python tests/vectors/make_vectors.py``.

Everything is fixed (seeds, ids, timestamps, bodies) and Ed25519 is deterministic, so the
output is byte-for-byte reproducible. The file is committed; tests read it and never call
this script, so a change to canonicalisation or signing breaks a test instead of silently
regenerating the expectation. Regenerate only for a deliberate change of the wire format.

The valid records are one plausible log of one origin:

* seq 1: member M, version 1. Superseded, so it is published as a stub (no body).
* seq 2: member M, version 2. Current: full body.
* seq 3: event E, version 1.
* seq 4: member D, version 1 (not in the vectors).
* seq 5: member D, version 2: a tombstone.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from federation.canonical import b64url, canonical_bytes
from federation.errors import BadSignature, BodyMismatch, SignatureError
from federation.keys import SigningKey, from_seed, node_id_for
from federation.signing import body_hash, seal, verify_envelope
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

    for model, body in ((MemberBody, MEMBER_V1), (MemberBody, MEMBER_V2), (EventBody, EVENT)):
        _model_fixed_point(model, body)

    member_v1 = seal(key=key, origin=origin, seq=1, record_id=MEMBER_ID, kind="member",
                     version=1, issued_at="2025-01-15T08:30:00Z", body=MEMBER_V1)
    member = seal(key=key, origin=origin, seq=2, record_id=MEMBER_ID, kind="member",
                  version=2, issued_at="2025-03-14T09:26:53.589793Z", body=MEMBER_V2)
    event = seal(key=key, origin=origin, seq=3, record_id=EVENT_ID, kind="event",
                 version=1, issued_at="2025-03-20T13:05:00Z", body=EVENT)
    tombstone = seal(key=key, origin=origin, seq=5, record_id=DELETED_ID, kind="member",
                     version=2, issued_at="2025-04-01T10:00:00Z", body=None)
    stub = {**member_v1, "body": None}

    valid = [
        _valid_case("member", "Current version of a member: full body.", member, key),
        _valid_case("event", "An event: wall-clock times in an IANA zone.", event, key),
        _valid_case("tombstone", "A deleted record: body_hash null, deleted true, body null.",
                    tombstone, key),
        _valid_case(
            "stub",
            "Version 1 of the member, superseded by version 2: its signed header and "
            "signature, body removed. It proves that seq 1 was used. 'sealed_body' is the "
            "body it was sealed with, kept here only so seal() can reproduce the signature; "
            "it is not part of the envelope.",
            stub, key, sealed_body=MEMBER_V1,
        ),
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
                     version=2, issued_at="2025-03-14T09:26:53.589793Z", body=MEMBER_V2)

    # A signer that hashed Python's json.dumps output instead of the RFC 8785 bytes.
    wrong_hash_header = dict(member["record"])
    wrong_hash_header["body_hash"] = "sha256:" + b64url(
        hashlib.sha256(json.dumps(MEMBER_V2, sort_keys=True).encode()).digest()
    )
    wrong_hash = {"record": wrong_hash_header, "body": copy.deepcopy(MEMBER_V2),
                  "sig": _resign(key, wrong_hash_header)}

    invalid_specs: list[tuple[str, str, dict[str, Any], type[SignatureError], bool]] = [
        ("tampered_header_seq", "The member record with seq changed from 2 to 3.",
         tampered(member, set_seq), BadSignature, True),
        ("tampered_body_name", "The member record with body.name changed.",
         tampered(member, set_name), BodyMismatch, True),
        ("wrong_key", "Claims the origin's key ed25519:1 but was signed by another key "
         "(RFC 8032 TEST 2 seed). Verify with the origin's ed25519:1 public key.",
         wrong_key, BadSignature, True),
        ("sig_padded", "The member signature with '==' padding appended.",
         {**member, "sig": sig + "=="}, BadSignature, False),
        ("sig_standard_alphabet", "The member signature in the standard alphabet (+ and /).",
         {**member, "sig": sig.replace("-", "+").replace("_", "/")}, BadSignature, False),
        ("sig_truncated", "The member signature without its last two characters.",
         {**member, "sig": sig[:-2]}, BadSignature, False),
        ("sig_noncanonical_trailing_bits", "The member signature with the last character "
         "changed so that only the 4 unused trailing bits differ: a lenient decoder yields "
         "the same 64 bytes, a strict one rejects it.",
         {**member, "sig": alias}, BadSignature, True),
        ("tombstone_with_body", "The tombstone with a body attached.",
         tampered(tombstone, attach_body), BodyMismatch, False),
        ("body_hash_mismatch", "A correctly signed header whose body_hash was computed over "
         "json.dumps(body, sort_keys=True) instead of the RFC 8785 bytes of the body.",
         wrong_hash, BodyMismatch, True),
    ]

    invalid = []
    for name, description, envelope, error, shape_valid in invalid_specs:
        try:
            verify_envelope(envelope, public)
        except error:
            pass
        else:
            raise SystemExit(f"{name}: verify_envelope did not raise {error.__name__}")
        try:
            Envelope.model_validate(envelope)
        except ValueError:
            parsed = False
        else:
            parsed = True
        if parsed != shape_valid:
            raise SystemExit(f"{name}: Envelope shape check gave {parsed}, want {shape_valid}")
        invalid.append({
            "name": name,
            "description": description,
            "envelope": envelope,
            "public_key": key.public_b64,
            "error": error.__name__,
            "shape_valid": shape_valid,
        })

    for case in valid:
        verify_envelope({"record": case["header"], "body": case["body"], "sig": case["sig"]},
                        public)
        if case["body"] is not None and body_hash(case["body"]) != case["body_hash"]:
            raise SystemExit(f"{case['name']}: body hash")

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


def main() -> None:
    text = json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
    OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
