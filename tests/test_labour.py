"""Labour potential: the member model, both aggregations, the explanation, overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asielplan.data.instance import read_instance
from asielplan.model.labour import (
    DEFAULT_MODEL,
    explain,
    household_scores,
    member_probabilities,
)

from .placement_helpers import FIXTURES, config, prepared


@pytest.fixture(scope="module")
def tiny():
    return read_instance(FIXTURES / "tiny")


def test_hand_computed_member_probability(tiny) -> None:
    """H1 (man 25-34, tertiary, skilled, A2) in Aastad (employment 70%, urbanity 2):
    logit = -0.95 + .30 + .45 + .40 + .20 + .25 + .022*3 + .03*1 + .12*1 + .02*3."""
    logit = -0.95 + 0.30 + 0.45 + 0.40 + 0.20 + 0.25 + 0.022 * 3 + 0.03 + 0.12 + 0.02 * 3
    p = member_probabilities(tiny.members, tiny.municipalities, DEFAULT_MODEL)
    assert p[0, 0] == pytest.approx(1 / (1 + np.exp(-logit)))


def test_children_do_not_count(tiny) -> None:
    """Members under 18 have probability 0 everywhere."""
    p = member_probabilities(tiny.members, tiny.municipalities, DEFAULT_MODEL)
    children = (tiny.members["age_band"] == "0-17").to_numpy()
    assert children.sum() == 3 and (p[children] == 0).all()


def test_aggregations(tiny) -> None:
    """sum = expected employed members; at_least_one = 1 - prod(1 - p) per household."""
    p = member_probabilities(tiny.members, tiny.municipalities, DEFAULT_MODEL)
    total = household_scores(tiny.households, tiny.members, p, "sum")
    anyone = household_scores(tiny.households, tiny.members, p, "at_least_one")
    h2 = (tiny.members["household_id"] == "H2").to_numpy()
    assert total[1, 2] == pytest.approx(p[h2, 2].sum())
    assert anyone[1, 2] == pytest.approx(1 - np.prod(1 - p[h2, 2]))
    assert (anyone <= total + 1e-12).all()


def test_explanation_adds_up(tiny) -> None:
    """explain() lists every term; the terms add to the logit and p matches the model."""
    table = explain("H3", "GM0004", tiny.members, tiny.municipalities, DEFAULT_MODEL)
    p = member_probabilities(tiny.members, tiny.municipalities, DEFAULT_MODEL)
    rows = (tiny.members["household_id"] == "H3").to_numpy()
    assert table["p"].to_numpy() == pytest.approx(p[rows, 3])
    terms = [
        "intercept",
        "age",
        "education",
        "work_experience",
        "dutch",
        "sex",
        "region_employment",
        "region_urbanity",
        "tertiary_x_urban",
        "skilled_x_employment",
    ]
    assert table[terms].sum(axis=1).to_numpy() == pytest.approx(table["logit"].to_numpy())


def test_score_table_overrides_the_model(tmp_path) -> None:
    """With a score table the scores are the table's, and pairs without one are excluded."""
    from .placement_helpers import variant

    rows = "\n".join(f"H{h},GM000{m},{h / 10 + m / 100}" for h in range(1, 6) for m in (1, 2))
    folder = variant(tmp_path, "tiny", {"scores": "household_id,municipality,score\n" + rows})
    _, d = prepared(folder, config())
    assert d.score[2, 1] == pytest.approx(0.32)
    assert not d.allowed[:, 2:].any()


def test_regional_spread_of_the_chance() -> None:
    """Calibration: for the adults of the embedded population, moving from a municipality
    with 58% employment to one with 76% (same urbanity) raises the mean chance by a
    factor 1.3-1.45, and the mean chance is near 30%."""
    from asielplan.data.instance import load_default_instance

    inst = load_default_instance()
    munis = pd.DataFrame({"code": ["a", "b"], "employment_rate": [58.0, 76.0], "urbanity": [3, 3]})
    p = member_probabilities(inst.members, munis, DEFAULT_MODEL)
    adults = (~inst.members["age_band"].isin(["0-17", "65+"])).to_numpy()
    low, high = p[adults].mean(axis=0)
    assert 1.3 < high / low < 1.45
    assert 0.25 < (low + high) / 2 < 0.35
