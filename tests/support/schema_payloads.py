"""Building and checking payloads for the wire-model validation tests
(tests/test_schemas_*.py): a base payload with overrides, and the errors it raises."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

DELETE = object()  # sentinel: remove the key from the base payload


def _with(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DELETE:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _errors(model: type, data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return info.value.errors()
