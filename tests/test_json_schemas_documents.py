"""The published JSON Schemas (docs/SCHEMAS.md) as documents: up to date with the models,
valid draft 2020-12, self-contained, and with patterns that mean the same in every engine.

The checks run on ``jsonschema``, an implementation independent of pydantic, and on node.js
(ECMA-262) where it is installed: the point of publishing is that other tools can rely on the
documents, so they are tested the way those tools would use them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import pytest
from jsonschema import Draft202012Validator
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from referencing import Registry, Resource
from support.cli import hn
from support.envelopes import vector_envelope
from support.json_schema_docs import (
    NAMES,
    SPACES,
    VECTORS,
    _edit,
    _vector,
    assert_valid,
    ecma_verdicts,
    load,
    signed_as_is,
    validator,
    walk,
)

from node.cli_schemas import PUBLISHED_DIR, stale
from schemas import published
from schemas.member import MemberBody
from schemas.record import PROTOCOL_VERSION

# 1. The committed files are what the models generate.


def test_published_files_match_the_models() -> None:
    problems = stale(PUBLISHED_DIR, published.files())
    assert not problems, (
        "the published JSON Schemas are stale (models changed?): "
        + "; ".join(problems)
        + ". Run `healthnet schemas` and commit schemas/json/."
    )


def test_schemas_command_writes_and_checks(tmp_path: Path) -> None:
    hn("schemas", "--check")
    hn("schemas", "--out", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(published.files())
    hn("schemas", "--check", "--out", tmp_path)
    (tmp_path / "member.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old.schema.json").write_text("{}\n", encoding="utf-8")
    result = hn("schemas", "--check", "--out", tmp_path, code=1)
    assert "member.schema.json: out of date" in result.stderr
    assert "old.schema.json: no longer generated" in result.stderr
    assert "run `healthnet schemas`" in result.stderr
    hn("schemas", "--out", tmp_path)  # rewrites the stale file, leaves the stray one alone
    assert (tmp_path / "member.schema.json").read_text() == published.files()["member.schema.json"]
    assert (tmp_path / "old.schema.json").exists()


def test_a_validator_without_a_rule_stops_the_generation() -> None:
    """A custom check that JSON Schema would silently drop must be decided on, not lost."""

    class Stricter(MemberBody):
        @field_validator("name")
        @classmethod
        def _no_shouting(cls, value: str) -> str:
            return value

    spec = published.Spec("x.schema.json", "x", "x", Stricter, "validation")
    with pytest.raises(LookupError, match="Stricter._no_shouting has no entry"):
        published.document(spec)


def test_a_normalising_string_without_a_rule_stops_the_generation() -> None:
    """``to_lower`` would make the signed form lower case: the schema must say so."""

    class Lowered(BaseModel):
        model_config = ConfigDict(extra="forbid")
        tag: Annotated[str, StringConstraints(to_lower=True)]

    spec = published.Spec("x.schema.json", "x", "x", Lowered, "validation")
    with pytest.raises(LookupError, match="string flag to_lower has no entry"):
        published.document(spec)


@pytest.mark.parametrize("escape", ["\\s", "\\S", "\\d", "\\w", "\\b"])
def test_an_engine_dependent_escape_stops_the_generation(escape: str) -> None:
    """A model pattern is run by Rust's regex (pydantic), a published one by ECMA-262: an
    escape that means different characters in the two would make them disagree."""

    class Loose(BaseModel):
        model_config = ConfigDict(extra="forbid")
        code: Annotated[str, Field(pattern=f"^a{escape}z$")]

    spec = published.Spec("x.schema.json", "x", "x", Loose, "validation")
    with pytest.raises(ValueError, match="differs between engines"):
        published.document(spec)


# 2. Every document is a valid 2020-12 schema, self-contained, with portable patterns.


@pytest.mark.parametrize("name", NAMES)
def test_documents_are_valid_2020_12(name: str) -> None:
    doc = load(name)
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # an absolute URI (2020-12 8.2.1) naming no host, with the protocol version
    assert doc["$id"] == f"urn:healthnet:schema:v{PROTOCOL_VERSION}:" + name.split(".")[0]
    assert doc["title"] and doc["description"]
    refs = {item["$ref"] for item in walk(doc) if isinstance(item.get("$ref"), str)}
    for ref in refs:  # self-contained: every ref points into this document's $defs
        assert ref == "#" or ref.removeprefix("#/$defs/") in doc.get("$defs", {}), ref
    # ... and resolves against the id, with nothing else in the registry
    resolver = Registry().with_resource(doc["$id"], Resource.from_contents(doc)).resolver()
    for ref in refs:
        assert resolver.lookup(doc["$id"] + ref).contents is not None, ref
    # extra="forbid" on every model: no model schema lets unknown members through
    for model in [doc, *doc.get("$defs", {}).values()]:
        if "properties" in model:
            assert model["additionalProperties"] is False, model["title"]


def test_index_lists_every_document() -> None:
    index = load("index.json")
    assert [s["name"] for s in index["schemas"]] == NAMES
    assert all(s["url"] == f"/schemas/{s['name']}" for s in index["schemas"])
    assert all(s["id"] == load(s["name"])["$id"] for s in index["schemas"])
    assert sorted(p.name for p in PUBLISHED_DIR.glob("*.json")) == sorted([*NAMES, "index.json"])


def test_other_schemas_can_refer_to_the_documents_by_id() -> None:
    """The use docs/SCHEMAS.md describes: load the files into a registry under their ids,
    and ``$ref`` an id. Nothing is fetched (``retrieve`` would fail the test)."""

    def retrieve(uri: str) -> Resource:
        raise AssertionError(f"tried to fetch {uri}")

    docs = [load(name) for name in NAMES]
    registry = Registry(retrieve=retrieve).with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in docs
    )
    mine = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "array",
        "items": {"$ref": f"urn:healthnet:schema:v{PROTOCOL_VERSION}:envelope"},
    }
    check = Draft202012Validator(mine, registry=registry)
    good = _vector("member")
    assert check.is_valid([good, _vector("event")])
    assert not check.is_valid([good, _edit(good, {"body.name": "   "})])


def test_patterns_are_ecma_262() -> None:
    """2020-12 patterns are ECMA-262 regular expressions, not Python ones. Some escapes are
    valid in ECMA-262, Python's ``re`` and Rust's regex but mean different characters: ``\\d``
    is any Unicode digit in Rust and Python, ``\\s`` a different set of spaces in each (U+FEFF
    only in ECMA-262, U+001C-U+001F only in Python), and ``\\w``/``\\b`` follow. The documents
    avoid them and spell the class out."""
    python_only = re.compile(r"\(\?P|\(\?[aiLmsux]|\\[AZz]|\(\?#|\[\[:")
    ambiguous = re.compile(r"(?<!\\)(?:\\\\)*\\[dDsSwWbB]")
    patterns = sorted({i["pattern"] for n in NAMES for i in walk(load(n)) if "pattern" in i})
    for pattern in patterns:
        assert not python_only.search(pattern), pattern
        assert not ambiguous.search(pattern), pattern
        assert pattern.startswith("^") and pattern.endswith("$"), pattern  # anchored
    if shutil.which("node") is None:
        pytest.skip("no node.js to compile the patterns as ECMA-262")
    script = (
        "const ps = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "for (const p of ps) new RegExp(p, 'u');"
    )
    subprocess.run(["node", "-e", script], input=json.dumps(patterns), text=True, check=True)


def test_spaces_mean_the_same_to_the_model_and_the_schema() -> None:
    """For each of ``SPACES`` in an e-mail address, a URL and a name, the model (pydantic's
    Rust regex, Python's re, strip_whitespace) and the schema agree, both in
    python-jsonschema and in ECMA-262 (node.js). The review's case: the node signs
    ``a\\ufeffb@x.org``, so an ECMA validator must accept it."""
    member = _vector("member")["body"]
    doc = load("member.schema.json")
    email = doc["$defs"]["Contact"]["properties"]["email"]["anyOf"][0]["pattern"]
    url = doc["properties"]["website"]["anyOf"][0]["pattern"]
    padded = doc["properties"]["name"]["not"]["pattern"]
    rows: list[tuple[str, str, str, bool]] = []  # field, value, pattern, valid iff it matches
    for c in SPACES:
        rows += [
            ("contact.email", f"a{c}b@x.org", email, True),
            ("contact.email", f"a@x.org{c}", email, True),
            ("website", f"https://a{c}b.org", url, True),
            ("website", f"https://x.org/{c}", url, True),
            ("name", f"{c}Radboudumc", padded, False),
            ("name", f"Radboudumc{c}", padded, False),
            ("name", f"Radboud{c}umc", padded, False),
        ]
    check = validator("member.schema.json")
    ecma = ecma_verdicts([(pattern, value) for _, value, pattern, _ in rows])
    for index, (field, value, _pattern, if_match) in enumerate(rows):
        model = signed_as_is(MemberBody, _edit(member, {field: value}))
        # python-jsonschema uses Python's re, whose $ also matches before a final line feed
        # (docs/SCHEMAS.md): an ECMA-262 validator refuses "a@x.org\n", it accepts it.
        if not (value.endswith("\n") and field != "name"):
            assert check.is_valid(_edit(member, {field: value})) is model, (field, value)
        if ecma is not None:
            assert (ecma[index] is if_match) is model, (field, value, "ECMA-262")
    assert signed_as_is(MemberBody, _edit(member, {"contact.email": "a\ufeffb@x.org"}))
    if ecma is None:
        pytest.skip("no node.js to run the patterns as ECMA-262")


def test_envelope_schema_agrees_with_the_golden_vectors() -> None:
    """Section 12: each invalid vector says whether the envelope's shape is valid."""
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    check = validator("envelope.schema.json")
    for case in vectors["valid"]:
        assert_valid("envelope.schema.json", vector_envelope(case))
    for case in vectors["invalid"]:
        assert check.is_valid(case["envelope"]) is case["shape_valid"], case["name"]
