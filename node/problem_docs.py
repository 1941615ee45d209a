"""The OpenAPI description of error answers: the ``Problem`` schema every route refers
to, and the ``responses`` entries routers declare. Documentation only; node/problems.py
writes the answers themselves."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from node.problems import MEDIA_TYPE, TITLES


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem detail, as every error response of a node carries it."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    current_version: int | None = None


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, documented as ``application/problem+json``."""
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {
        code: {"description": TITLES.get(code, "Error"), "content": {MEDIA_TYPE: ref}}
        for code in codes
    }


def document(app: FastAPI) -> None:
    """Register the Problem schema in the OpenAPI components (the routes refer to it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model in (("Problem", Problem), ("FieldError", FieldError)):
                components[name] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                components[name].pop("$defs", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
