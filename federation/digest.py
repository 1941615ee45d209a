"""Set digests of what a node holds per origin. Pure, incremental.

The digest is the sum, modulo 2**256, of SHA-256 over the canonical JSON of
``[record id, version, header hash]`` for every record held (every sequence number,
superseded stubs included). Adding a record adds its element, so the digest is maintained
in O(1) per write and never recomputed; two nodes with equal (count, last seq, digest) hold
the same records. A relay cannot make an incomplete set look complete by leaving records
out: each element is a hash of signed data, and the count and the chain head are
published alongside. Ranges of sequence numbers can be digested the same way, so two nodes
can bisect to where they differ without a full transfer.
"""

from __future__ import annotations

import hashlib

from federation.canonical import canonical_bytes

MODULUS = 2**256
EMPTY = "0" * 64


def element(record_id: str, version: int, header_hash: str) -> int:
    data = canonical_bytes([record_id, version, header_hash])
    return int.from_bytes(hashlib.sha256(data).digest(), "big")


def add(digest: str, value: int) -> str:
    return format((int(digest, 16) + value) % MODULUS, "064x")


def combine(elements: list[int]) -> str:
    return format(sum(elements) % MODULUS, "064x")
