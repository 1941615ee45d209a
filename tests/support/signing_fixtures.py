"""A fixed signing key, a sample member body, and ``_seal`` with defaults for the signing
tests (tests/test_signing_*.py). A test module uses the ``key`` fixture by binding it to a
module name (``key = signing_fixtures.key``).
"""

from __future__ import annotations

from typing import Any

import pytest

from federation.canonical import sha256_tag
from federation.keys import SigningKey, from_seed, node_id_for
from support.envelopes import sealed

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
OTHER_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RECORD_ID = "3f2b8c1e-7d4a-4e6b-9c15-2a8e6f0d4b71"
BODY: dict[str, Any] = {
    "name": "Radboudumc",
    "kind": "academic-medical-centre",
    "region": "europe",
    "country": "NL",
    "city": "Nijmegen",
    "social": [{"platform": "x", "handle": "@radboudumc"}],
    "topics": ["digital health"],
    "description": "Nijmegen – Gelderland",
}
# The link to a (made-up) record at seq 6, for the records at seq 7 that most tests seal.
PREV = sha256_tag(b"the canonical header at seq 6")


@pytest.fixture
def key() -> SigningKey:
    return from_seed(SEED)


def _seal(key: SigningKey, body: dict[str, Any] | None = BODY, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "origin": node_id_for(key.public_raw),
        "seq": 7,
        "record_id": RECORD_ID,
        "kind": "member",
        "version": 3,
        "issued_at": "2025-03-14T09:26:53Z",
        "prev": PREV,
    }
    args.update(kw)
    if args["seq"] == 1 and "prev" not in kw:
        args["prev"] = None
    origin, seq, prev = args.pop("origin"), args.pop("seq"), args.pop("prev")
    return sealed(key, origin, seq, prev, body, **args)
