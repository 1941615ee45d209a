"""What JSON Schema makes of each custom validator of the wire models.

pydantic turns field types and constraints into JSON Schema, but it silently drops every
custom validator (country codes, a header's chain rule, country-in-region ...). The
generator here meets each validator on its way through the core schema and looks it up in
``RULES``: what JSON Schema *can* say (a pattern, ``uniqueItems``, an ``if``/``then``) is
added, and what it cannot is said in a description. A validator missing from ``RULES``
stops the generation, so a rule added to a model can never be dropped without anyone
noticing: whoever adds it decides here how the published schemas carry it. The same goes
for a string type that normalises its value (``strip_whitespace`` ...): ``NORMALISERS`` says
how the normal form reads in JSON Schema.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from schemas.fields import URL_PATTERN, WHITESPACE

UNCHECKED = "Not checked by this schema: "


@dataclass(frozen=True)
class Rule:
    """How one validator appears in JSON Schema.

    ``keywords`` join the schema the validator wraps (a field type); ``on_model`` becomes
    one more ``allOf`` entry of the model whose field or model validator it is (a
    cross-field rule); ``note`` is what the schema cannot check, said in the description
    of the field, or of the model for a model validator.
    """

    note: str = ""
    keywords: dict[str, Any] = field(default_factory=dict)
    on_model: dict[str, Any] = field(default_factory=dict)
    # ``keywords["pattern"]`` admits only trimmed text (a URL has no whitespace at all), so
    # on a type that also strips whitespace it makes the ``TRIMMED`` keywords redundant.
    trimmed: bool = False


def add_note(description: str | None, note: str) -> str:
    """Gather the unchecked rules of one schema in a single final paragraph."""
    paragraphs = [p for p in (description or "").split("\n\n") if p]
    if paragraphs and paragraphs[-1].startswith(UNCHECKED):
        if note in paragraphs[-1]:
            return "\n\n".join(paragraphs)
        paragraphs[-1] = paragraphs[-1].removesuffix(".") + "; " + note + "."
    else:
        paragraphs.append(UNCHECKED + note + ".")
    return "\n\n".join(paragraphs)


def _is(name: str, json_type: str) -> dict[str, Any]:
    """``name`` is present with this JSON type (optional fields may be absent or null)."""
    return {"required": [name], "properties": {name: {"type": json_type}}}


def _iff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {"if": a, "then": b, "else": {"not": b}}


# Trimmed text: it neither starts nor ends with whitespace (the White_Space set that
# pydantic's strip_whitespace removes; ``minLength`` says whether it may be empty). A ``not``
# beside the type's own ``pattern``, so the two combine. It reads the same in ECMA-262,
# Rust regex and Python re, and it holds even where ``$`` also matches before a final line
# feed (Python's re, so python-jsonschema): a line feed is whitespace.
TRIMMED: dict[str, Any] = {
    "$comment": "trimmed: no whitespace at either end",
    "not": {"pattern": rf"^[{WHITESPACE}]|[{WHITESPACE}]$"},
}

# String flags of pydantic's core schema that change the value before it is signed: the
# signed (normal) form is what the published schema describes.
NORMALISERS: dict[str, Rule] = {"strip_whitespace": Rule(keywords=TRIMMED)}
_STRING_FLAGS = ("strip_whitespace", "to_lower", "to_upper")

_EXACT_DATE = "(`format` is an annotation unless a validator is told to assert formats)"
_PAIR = Rule(on_model=_iff(_is("latitude", "number"), _is("longitude", "number")))
_NO_NUL = Rule(note="no string in the body, object keys included, contains U+0000")

# Keyed by the validator function's module and qualified name.
RULES: dict[str, Rule] = {
    # Field types (schemas/fields.py, schemas/geo.py), in the normal form the origin signs.
    "schemas.fields._check_url": Rule(
        keywords={"pattern": URL_PATTERN, "$comment": "an absolute http(s) URL, no whitespace"},
        trimmed=True,
    ),
    # Lower case and trimmed: a space may not come last.
    "schemas.fields._check_topic": Rule(
        keywords={"pattern": r"^[a-z0-9](?:[a-z0-9 &+/-]{0,58}[a-z0-9&+/-])?$"}
    ),
    "schemas.fields._unique": Rule(keywords={"uniqueItems": True}),
    "schemas.fields.<lambda>": Rule(note="the origin rounds the value to 6 decimal places"),
    "schemas.geo.check_country": Rule(
        note="the code is an assigned ISO 3166-1 alpha-2 code", keywords={"pattern": r"^[A-Z]{2}$"}
    ),
    "schemas.geo.check_language": Rule(
        note="the tag is a valid BCP 47 tag in its normalised form (en, nl, pt-BR)"
    ),
    "schemas.geo.check_timezone": Rule(note="the name is an IANA time zone (Europe/Amsterdam)"),
    "schemas.member._check_date": Rule(
        note="the date exists " + _EXACT_DATE, keywords={"format": "date"}
    ),
    "schemas.event._check_local": Rule(
        note="the date and time exist in the calendar",
        keywords={"pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$"},
    ),
    "schemas.record._real_instant": Rule(
        note="the date and time exist " + _EXACT_DATE, keywords={"format": "date-time"}
    ),
    # Model and cross-field rules.
    "schemas.member.MemberBody._no_nul": _NO_NUL,
    "schemas.event.EventBody._no_nul": _NO_NUL,
    "schemas.roster.RosterBody._no_nul": _NO_NUL,
    "schemas.member.MemberBody._country_in_region": Rule(
        note="the country lies in `region` when it belongs to one (charter scope)"
    ),
    "schemas.member.MemberBody._pair": _PAIR,
    "schemas.event.Venue._pair": _PAIR,
    "schemas.member.SocialAccount._handle_or_url": Rule(
        on_model={"anyOf": [_is("handle", "string"), _is("url", "string")]}
    ),
    "schemas.event.EventBody._start_exists": Rule(
        note="the wall-clock time exists in `timezone` (a clock change can skip it)"
    ),
    "schemas.event.EventBody._end_after_start": Rule(
        note="the wall-clock time exists in `timezone` and is after `starts_at` as an instant"
    ),
    "schemas.event.EventBody._where": Rule(
        note="the venue's country lies in `region` when it belongs to one (charter scope)",
        on_model={"anyOf": [_is("online_url", "string"), _is("venue", "object")]},
    ),
    "schemas.record.RecordHeader._exact_int": Rule(
        note="the value is written as the integer 1 (JSON Schema cannot tell 1.0 from 1)"
    ),
    "schemas.record.RecordHeader._chain_starts_at_one": Rule(
        on_model=_iff(
            {"required": ["seq"], "properties": {"seq": {"const": 1}}}, _is("prev", "null")
        )
    ),
    "schemas.record.RecordHeader._deleted_xor_body": Rule(
        on_model=_iff(
            {"required": ["deleted"], "properties": {"deleted": {"const": True}}},
            _is("body_hash", "null"),
        )
    ),
    "schemas.record.Envelope._no_body_on_tombstone": Rule(
        on_model={
            "if": {
                "required": ["record"],
                "properties": {
                    "record": {"required": ["deleted"], "properties": {"deleted": {"const": True}}}
                },
            },
            "then": {"properties": {"body": {"type": "null"}}},
        }
    ),
    "schemas.roster.RosterKey._window": Rule(
        note="`until_seq`, when not null, is at least `from_seq` - 1"
    ),
    "schemas.roster.RosterNode._unique_keys": Rule(note="key ids are unique within a node"),
    "schemas.roster.RosterBody._consistent": Rule(
        note="node ids are unique, and `hub` is one of them"
    ),
}

_MODEL_LEVEL = ("model", "model-fields")


class Generator(GenerateJsonSchema):
    """pydantic's generator, plus ``RULES`` for the validators it would drop.

    Field rules are applied in place. Model rules are collected in ``model_rules`` as
    (model name, validator, rule), because a model validator wraps the model and only sees
    a ``$ref`` to it; the caller applies them to ``$defs``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models: list[type[BaseModel]] = []
        self.model_rules: list[tuple[str, str, Rule]] = []

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        # The model whose fields are being generated: a field validator belongs to it (and
        # to a subclass, such as MemberPublic, that inherits the validator).
        self.models.append(schema["cls"])
        try:
            return super().model_schema(schema)
        finally:
            self.models.pop()

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        js = super().str_schema(schema)
        for flag in _STRING_FLAGS:
            if not schema.get(flag):
                continue
            rule = NORMALISERS.get(flag)
            if rule is None:
                raise LookupError(
                    f"string flag {flag} has no entry in schemas.published_rules.NORMALISERS: "
                    "say how JSON Schema expresses the normal form it produces"
                )
            if set(rule.keywords) & set(js):
                raise LookupError(f"{flag}: its keywords would replace the type's own")
            js.update(copy.deepcopy(rule.keywords))
        return js

    def function_after_schema(
        self, schema: core_schema.AfterValidatorFunctionSchema
    ) -> JsonSchemaValue:
        return self._apply(schema, super().function_after_schema(schema))

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        return self._apply(schema, super().function_before_schema(schema))

    def function_wrap_schema(
        self, schema: core_schema.WrapValidatorFunctionSchema
    ) -> JsonSchemaValue:
        return self._apply(schema, super().function_wrap_schema(schema))

    def function_plain_schema(
        self, schema: core_schema.PlainValidatorFunctionSchema
    ) -> JsonSchemaValue:
        return self._apply(schema, super().function_plain_schema(schema))

    def _apply(self, schema: Any, js: JsonSchemaValue) -> JsonSchemaValue:
        function = schema["function"]["function"]
        name = f"{function.__module__}.{function.__qualname__}"
        rule = RULES.get(name)
        if rule is None:
            raise LookupError(
                f"validator {name} has no entry in schemas.published_rules.RULES: say how "
                "JSON Schema expresses it, or what the description should say it cannot check"
            )
        inner = schema.get("schema", {})
        if name.endswith("<lambda>") and inner.get("type") != "float":
            raise LookupError(f"{name}: only the coordinate rounding is known as a lambda")
        while inner.get("type", "").startswith("function-"):  # model validators nest
            inner = inner.get("schema", {})
        owner = inner["cls"].__name__ if inner.get("type") == "model" else None
        owner = owner or (self.models[-1].__name__ if self.models else "")
        if inner.get("type") in _MODEL_LEVEL:
            self.model_rules.append((owner, name, rule))
            return js
        if rule.on_model:
            self.model_rules.append((owner, name, Rule(on_model=rule.on_model)))
        if "$ref" in js and (rule.keywords or rule.note):
            raise LookupError(f"{name}: a field rule cannot be added beside a $ref")
        if rule.trimmed and all(js.get(k) == v for k, v in TRIMMED.items()):
            for key in TRIMMED:
                del js[key]
        if set(rule.keywords) & set(js) - {"description"}:
            raise LookupError(f"{name}: its keywords would replace the type's own")
        js.update(rule.keywords)
        if rule.note:
            js["description"] = add_note(js.get("description"), rule.note)
        return js
