"""deploy/: the config template names every setting, and what it sets is valid."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from node.settings import NodeSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "healthnet.toml.example"


def test_the_template_names_every_setting() -> None:
    text = EXAMPLE.read_text()
    named = set(tomllib.loads(text)) | set(re.findall(r"^# ?([a-z_]+) = ", text, re.M))
    assert set(NodeSettings.model_fields) - {"home"} <= named


def test_the_template_values_are_valid_settings(tmp_path: Path) -> None:
    values = tomllib.loads(EXAMPLE.read_text())
    values["hub_key"] = "A" * 43  # the template's placeholder text stands for a real key
    values["node_id"] = "hn-" + "a" * 24
    settings = NodeSettings(home=tmp_path, **values)
    assert settings.network_view_seconds == 2.0 and settings.region.value == "europe"
    with pytest.raises(ValueError):
        NodeSettings(home=tmp_path, **{**values, "max_page_size": 0})
