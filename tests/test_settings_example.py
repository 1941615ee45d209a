"""deploy/healthnet.toml.example documents every setting, and only real ones: an operator
copies it, so a missing setting is one nobody finds and a stale one fails at start-up."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from node.settings import FIXED, NodeSettings

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "healthnet.toml.example"
# ``home`` is where the file is, not a setting in it.
NOT_IN_THE_FILE = {"home"}


def _named() -> set[str]:
    """Every key the example sets or shows commented out (``# key = value``)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^#?\s?([a-z_]+) = ", text, re.MULTILINE)}


def test_the_example_names_every_setting_and_no_other() -> None:
    fields = set(NodeSettings.model_fields) - NOT_IN_THE_FILE
    assert sorted(fields - _named()) == []
    assert sorted(_named() - fields) == []
    assert set(FIXED) - NOT_IN_THE_FILE <= _named()  # node_id is written by init


def test_the_example_is_valid_toml_of_known_settings() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert data and set(data) <= set(NodeSettings.model_fields)
