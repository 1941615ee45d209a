"""Search folding (node.db.text.fold): the ASCII shortcut gives exactly what the general
path gives, for any text, so the index and the queries agree whichever path folded them."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from node.db.text import fold


def reference(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_ascii_text_folds_as_the_general_path_does(text: str) -> None:
    assert fold(text) == reference(text)


@given(st.text(max_size=40))
def test_any_text_folds_as_the_general_path_does(text: str) -> None:
    assert fold(text) == reference(text)


def test_examples() -> None:
    assert fold("Clínica São Paulo") == "clinica sao paulo"
    assert fold("STRASSE Straße") == "strasse strasse"
    assert fold("Mayo CLINIC 2") == "mayo clinic 2"
