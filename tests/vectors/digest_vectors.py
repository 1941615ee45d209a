"""tests/vectors/digests.json: ``federation.digest`` (docs/PROTOCOL.md 10.2 and 10.5).

The elements of the record vectors' chain (seq 1..5), a few edge elements, set digests
(empty, one record, every order), the heads a node reports after each seq, range digests,
and the modular addition. Part of make_protocol_vectors.py.
"""

from __future__ import annotations

import copy
from typing import Any

from make_vectors import EVENT_ID, MEMBER_ID

from federation import digest
from federation.canonical import canonical_bytes
from federation.signing import header_hash
from schemas.record import MAX_SAFE_INTEGER as MAX_SEQ


def _hex(value: int) -> str:
    return format(value, "064x")


def build(records: dict[str, Any]) -> dict[str, Any]:
    headers = sorted((case["header"] for case in records["valid"]), key=lambda h: h["seq"])
    prev_wrong = next(c for c in records["invalid"] if c["name"] == "prev_wrong")

    def element_row(header: dict[str, Any]) -> dict[str, Any]:
        link = header_hash(header)
        triple = [header["id"], header["version"], link]
        return {"seq": header["seq"], "header": copy.deepcopy(header), "header_hash": link,
                "element_json": canonical_bytes(triple).decode("utf-8"),
                "element": _hex(digest.element(*triple))}

    rows = [element_row(h) for h in headers]
    element_of = {row["seq"]: row["element"] for row in rows}
    # (name, record id, version, header hash, why)
    edge: list[tuple[str, str, int, str, str]] = [
        ("largest_version", MEMBER_ID, MAX_SEQ, header_hash(headers[0]),
         "version 2^53 - 1 is written as the integer 9007199254740991, never in exponent form"),
        ("version_1_of_the_same_header", MEMBER_ID, 1, header_hash(headers[0]),
         "the element of seq 1 itself: the same triple as the first record row"),
        ("equivocating_header_at_seq_3", EVENT_ID, 1,
         header_hash(prev_wrong["envelope"]["record"]),
         "record vector prev_wrong, a second header for seq 3: same id and version as the "
         "event, another header hash, so another element"),
    ]
    elements = [{"name": name, "record_id": rid, "version": version, "header_hash": link,
                 "element_json": canonical_bytes([rid, version, link]).decode("utf-8"),
                 "element": _hex(digest.element(rid, version, link)), "why": why}
                for name, rid, version, link, why in edge]
    equivocating = str(elements[-1]["element"])

    def set_case(name: str, values: list[str], why: str, seqs: list[int] | None) -> dict[str, Any]:
        total = sum(int(v, 16) for v in values)
        case: dict[str, Any] = {"name": name, "elements": values, "count": len(values),
                                "digest": _hex(total % digest.MODULUS),
                                "wraps": total >= digest.MODULUS, "why": why}
        if seqs is not None:
            case["seqs"] = seqs
        return case

    def of(seqs: list[int]) -> list[str]:
        return [element_of[s] for s in seqs]

    sets = [
        set_case("empty", [], "nothing held: 64 zeros", []),
        set_case("one_record", of([1]), "one record: the digest is its element", [1]),
        set_case("chain_in_seq_order", of([1, 2, 3, 4, 5]), "all five records of the chain",
                 [1, 2, 3, 4, 5]),
        set_case("chain_reversed", of([5, 4, 3, 2, 1]), "order does not matter: a sum",
                 [5, 4, 3, 2, 1]),
        set_case("chain_shuffled", of([3, 1, 5, 2, 4]), "order does not matter: a sum",
                 [3, 1, 5, 2, 4]),
        set_case("two_records", of([2, 4]), "any subset: seq 2 and 4", [2, 4]),
        set_case("chain_with_equivocating_seq_3", [*of([1, 2]), equivocating, *of([4, 5])],
                 "seq 3 replaced by another header for seq 3: the same count, another digest",
                 None),
    ]
    if not any(case["wraps"] for case in sets):
        raise SystemExit("no set digest wraps modulo 2^256")

    heads: list[dict[str, Any]] = []
    for n in range(len(rows) + 1):
        heads.append({"last_seq": n, "head": rows[n - 1]["header_hash"] if n else None,
                      "count": n, "digest": digest.combine([int(v, 16) for v in of(list(
                          range(1, n + 1)))])})
    for before, now in zip(heads, heads[1:], strict=False):
        if digest.add(before["digest"], int(element_of[now["last_seq"]], 16)) != now["digest"]:
            raise SystemExit("the heads digests are not incremental")

    ranges = []
    for low, high in ((1, 5), (1, 2), (3, 5), (3, 3), (1, MAX_SEQ), (6, 10)):
        inside = [s for s in element_of if low <= s <= high]
        ranges.append({"from_seq": low, "to_seq": high, "count": len(inside),
                       "digest": digest.combine([int(v, 16) for v in of(inside)])})

    ones = "f" * 64
    additions = [
        ("empty_plus_element", digest.EMPTY, element_of[1], "the first record held"),
        ("incremental", heads[1]["digest"], element_of[2], "seq 2 added to the digest of seq 1"),
        ("wrap_to_zero", ones, _hex(1), "2^256 - 1 + 1 wraps to 0"),
        ("wrap_past_zero", ones, element_of[3], "2^256 - 1 + e is e - 1"),
    ]
    return {
        "modulus": "2^256",
        "empty": digest.EMPTY,
        "records": rows,
        "elements": elements,
        "sets": sets,
        "heads": heads,
        "ranges": ranges,
        "additions": [{"name": name, "digest": start, "element": value,
                       "result": digest.add(start, int(value, 16)), "why": why}
                      for name, start, value, why in additions],
    }
