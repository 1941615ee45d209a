"""``node.verifier``'s body rule (docs/PROTOCOL.md section 9): a body travels only on the
version the directory shows. Pure: exports are built from tests/vectors/merge.json, each
case's ``after.served`` saying which seqs carry their body.

test_merge_outcomes.py shows a real node never exports anything this rule refuses; these
tests show the rule refuses what a node must not serve, and names why.
"""

from __future__ import annotations

import json

import pytest
from support.merge_vectors import MERGE, ORIGIN, signed_records

from federation.keys import public_key
from node.verifier import Verdict, verify_lines

KEY = public_key(MERGE["origin"]["public_key"])
CASES = {case["name"]: case for case in MERGE["cases"] if case["reachable"]}

FULL = signed_records()


def export(case: str, *, bodies: dict[int, bool] | None = None) -> list[str]:
    """The export of the node in ``case``'s after state; ``bodies`` overrides per seq."""
    lines = []
    for row in CASES[case]["after"]["served"]:
        env = FULL[row["header_hash"]]
        body = (bodies or {}).get(row["seq"], row["body"])
        if body and env["body"] is None:
            raise AssertionError(f"no body known for seq {row['seq']}")
        lines.append(json.dumps({**env, "body": env["body"] if body else None}))
    return lines


def check(lines: list[str]) -> Verdict:
    return verify_lines(lines, lambda origin, key_id, seq: KEY if origin == ORIGIN else None)


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n]["after"]["served"]])
def test_every_after_state_verifies(name: str) -> None:
    verdict = check(export(name))
    assert verdict.failures == []
    assert verdict.checked == len(CASES[name]["after"]["served"])


def test_a_withheld_newer_version_is_named_and_the_shown_one_kept() -> None:
    verdict = check(export("newer_version_as_stub"))
    assert verdict.ok
    [note] = verdict.notes
    assert "v2 is shown; v3 is held without its body" in note


def test_a_body_on_a_version_superseded_by_a_full_one_fails() -> None:
    # seq 1 (member v1) with its body while seq 2 (v2) carries its own
    verdict = check(export("newer_version", bodies={1: True}))
    [failure] = verdict.failures
    assert failure.startswith("line 1: ") and "v1 of" in failure
    assert "v2 is held with its body (line 2)" in failure


def test_a_body_on_a_version_a_tombstone_superseded_fails() -> None:
    # seq 4 (member v1) with its body, seq 5 its tombstone: a resurrected record
    verdict = check(export("tombstone", bodies={4: True}))
    [failure] = verdict.failures
    assert failure.startswith("line 4: ") and "v2 is held a tombstone (line 5)" in failure


def test_a_body_on_history_fails_even_when_the_newer_version_is_withheld() -> None:
    # seq 6 is v4, seq 7 is v3 signed after it: v3's body would be a rollback by replay
    assert check(export("lower_version")).ok
    verdict = check(export("lower_version", bodies={7: True}))
    [failure] = verdict.failures
    assert failure.startswith("line 7: ") and "v4 was signed before it (seq 6)" in failure
    # v4 withheld does not make v3 showable: it is still history
    verdict = check(export("lower_version", bodies={6: False, 7: True}))
    assert any(f.startswith("line 7: ") and "history" in f for f in verdict.failures)
