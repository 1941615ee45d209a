"""The published JSON Schemas as the tests (tests/test_json_schemas_*.py) use them: loading
a document, validating against it, and the golden member vector to break by editing.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from node.cli_schemas import PUBLISHED_DIR
from schemas import published
from support.envelopes import vector_envelope
from support.paths import VECTORS as VECTORS_DIR

VECTORS = VECTORS_DIR / "record_vectors.json"


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((PUBLISHED_DIR / name).read_text(encoding="utf-8")))


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_valid(name: str, instance: Any) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(instance)
    ]
    assert not errors, (name, errors[:5], instance)


def _vector(name: str) -> dict[str, Any]:
    case = next(c for c in json.loads(VECTORS.read_text())["valid"] if c["name"] == name)
    return vector_envelope(case)


DROP = object()


def _edit(doc: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """A copy with members at dotted paths set, or removed (``DROP``)."""
    doc = copy.deepcopy(doc)
    for path, value in edits.items():
        *parents, last = path.split(".")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        slot: Any = int(last) if isinstance(target, list) else last
        if value is DROP:
            del target[slot]
        else:
            target[slot] = value
    return doc


def ecma_verdicts(cases: list[tuple[str, str]]) -> list[bool] | None:
    """Whether each string matches its pattern under ECMA-262 (node.js, with the ``u`` flag
    as ajv compiles patterns), or None without node.js."""
    if shutil.which("node") is None:
        return None
    script = (
        "const cs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(cs.map(([p, s]) => new RegExp(p, 'u').test(s))));"
    )
    done = subprocess.run(
        ["node", "-e", script], input=json.dumps(cases), text=True, check=True, capture_output=True
    )
    return [bool(v) for v in json.loads(done.stdout)]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


NAMES = [spec.name for spec in published.SPECS]


# Every character some engine calls a space: Unicode's White_Space (Rust), U+001C-U+001F
# (Python only), U+FEFF (ECMA-262 only), and lookalikes that none counts.
SPACES = sorted(
    {chr(c) for c in range(0x3001) if re.match(r"\s", chr(c))}
    | {"\ufeff", "\u180e", "\u200b", "\u2060"}
)


def signed_as_is(model: type[BaseModel], body: dict[str, Any]) -> bool:
    """The model accepts the body and would sign it unchanged (it is in normal form)."""
    try:
        parsed = model.model_validate(body)
    except ValidationError:
        return False
    return parsed.model_dump(mode="json", exclude_unset=True) == body
