"""Documentation stays true to the code."""

from __future__ import annotations

from pathlib import Path

from asielplan.data.dictionary import render

ROOT = Path(__file__).parents[1]


def test_data_dictionary_is_generated_from_the_schemas() -> None:
    """docs/data-dictionary.md equals what the schemas render (regenerate if this fails)."""
    assert (ROOT / "docs" / "data-dictionary.md").read_text() == render()
