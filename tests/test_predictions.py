"""A researcher's own per-member predictions as the one model of labour outcomes: the
placement's scores, the group outcomes, the fairness study and the scheme comparison
all read them, recomputed here by hand on the tiny instance; and what is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from asielplan.api import compare_schemes, fairness, place
from asielplan.config import RunConfig
from asielplan.data.instance import read_instance
from asielplan.errors import InputError

from .placement_helpers import FIXTURES

CODES = ("GM0001", "GM0002", "GM0003", "GM0004")
# the tiny instance's members aged 18-64 (H3 and H5 also have children): a probability
# per municipality, chosen so that women do best in Deveen (GM0004) and men in Aastad,
# unlike the built-in model, whose regional effect favours Aastad for everyone
PREDICTED = {
    ("H1", 1): (0.60, 0.40, 0.30, 0.20),  # man
    ("H2", 1): (0.50, 0.30, 0.30, 0.10),  # man
    ("H2", 2): (0.10, 0.20, 0.30, 0.90),  # woman
    ("H3", 1): (0.40, 0.30, 0.20, 0.10),  # man
    ("H3", 2): (0.10, 0.10, 0.20, 0.80),  # woman
    ("H4", 1): (0.20, 0.30, 0.20, 0.70),  # woman, tied to Bedorp (GM0002)
    ("H5", 1): (0.70, 0.20, 0.20, 0.10),  # man
    ("H5", 2): (0.10, 0.20, 0.30, 0.60),  # woman
}
WOMEN = [("H2", 2), ("H3", 2), ("H4", 1), ("H5", 2)]
MEN = [("H1", 1), ("H2", 1), ("H3", 1), ("H5", 1)]


def with_predictions(tmp_path: Path, rows: dict | None = None, **extra: Path) -> Path:
    """The tiny instance with a predictions table (``rows``: PREDICTED by default) and
    any further table files given as name=path."""
    root = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "tiny", root)
    table = pd.DataFrame(
        [
            (household, member, code, p)
            for (household, member), ps in (PREDICTED if rows is None else rows).items()
            for code, p in zip(CODES, ps, strict=True)
        ],
        columns=["household_id", "member", "municipality", "probability"],
    )
    table.to_csv(root / "predictions.csv", index=False)
    meta = tomllib_load(root / "instance.toml")
    meta["tables"]["predictions"] = {"path": "predictions.csv", "source": "hand-made"}
    for name, path in extra.items():
        shutil.copy(path, root / f"{name}.csv")
        meta["tables"][name] = {"path": f"{name}.csv", "source": "hand-made"}
    (root / "instance.toml").write_text(tomli_w.dumps(meta))
    return root


def tomllib_load(path: Path) -> dict:
    import tomllib

    return tomllib.loads(path.read_text())


def cfg(**placement: object) -> RunConfig:
    return RunConfig.model_validate(
        {
            "solver": {"time_limit": 20, "mip_gap": 1e-6},
            "output": {"min_cell": 1},
            "placement": {"scheme": "population", **placement},
        }
    )


def by_hand(plan: dict[str, str], who: list[tuple[str, int]]) -> float:
    """The mean predicted probability of ``who`` where ``plan`` places their households."""
    return float(np.mean([PREDICTED[m][CODES.index(plan[m[0]])] for m in who]))


def test_a_placement_scores_and_reports_groups_by_the_given_predictions(tmp_path: Path) -> None:
    """Each household's score is the sum of its members' given probabilities where it
    is placed (children and members without rows count 0); the kpis' expected employed
    persons and the women's and men's means in outcomes_by_gender are the given
    probabilities on the plan, recomputed by hand. The person part of the score (the
    built-in model's split) is empty."""
    run = place(with_predictions(tmp_path), cfg())
    households = run.tables["households"].set_index("household_id")
    plan = households["municipality"].to_dict()
    for household, score in households["score"].items():
        given = [ps for (h, _), ps in PREDICTED.items() if h == household]
        where = CODES.index(plan[household])
        assert score == pytest.approx(sum(ps[where] for ps in given))
    assert households["score_person_part"].isna().all()
    women, men = by_hand(plan, WOMEN), by_hand(plan, MEN)
    kpis = run.tables["kpis"].iloc[0]
    assert kpis["expected_employed"] == pytest.approx(by_hand(plan, WOMEN + MEN) * len(WOMEN + MEN))
    outcomes = run.tables["outcomes_by_gender"]
    weights = outcomes["households"]
    mixed = outcomes.set_index("composition")
    assert not outcomes.empty
    # every woman aged 18-64 is in one composition row; the rows' means weigh back
    women_rows = outcomes.dropna(subset=["mean_p_adult_women"])
    assert (women_rows["mean_p_adult_women"] * women_rows["households"]).sum() / women_rows[
        "households"
    ].sum() == pytest.approx(women)
    assert set(mixed.index) <= {"single man", "single woman", "women and men"}
    assert weights.sum() == 5
    assert 0 < men < 1


def test_fairness_uses_the_given_predictions_for_every_group_mean(tmp_path: Path) -> None:
    """The fairness study on the given predictions (floors at 90% of each group's own
    optimum, reachable together here): every plan's group means for women and men are
    the given probabilities on that plan's placement (recomputed by hand from its run),
    and the two aggregations score the unconstrained plans differently."""
    root = with_predictions(tmp_path)
    study = fairness(root, cfg(), families="gender", rules="proportional", level=0.9)
    assert set(study.summary["status"]) == {"optimal"}
    table = study.table.set_index(["aggregation", "rule", "group"])
    for key, run in study.runs.items():
        aggregation, rule = key.split("/")
        plan = run.tables["households"].set_index("household_id")["municipality"].to_dict()
        assert table.loc[(aggregation, rule, "women"), "mean"] == pytest.approx(
            by_hand(plan, WOMEN)
        )
        assert table.loc[(aggregation, rule, "men"), "mean"] == pytest.approx(by_hand(plan, MEN))
    summary = study.summary.set_index(["aggregation", "rule"])
    assert summary.loc[("sum", "none"), "labour_score"] != pytest.approx(
        summary.loc[("at_least_one", "none"), "labour_score"]
    )


def test_a_scheme_comparison_reports_group_outcomes_by_the_given_predictions(
    tmp_path: Path,
) -> None:
    """Each scheme's p_adult_women and p_adult_men are the given probabilities of the
    women and men aged 18-64 on that scheme's plan."""
    result = compare_schemes(["population", "exact_total"], with_predictions(tmp_path), cfg())
    values = result.comparison.set_index(["scheme", "metric"])["value"]
    for scheme, run in result.runs.items():
        plan = run.tables["households"].set_index("household_id")["municipality"].to_dict()
        assert values[(scheme, "p_adult_women")] == pytest.approx(by_hand(plan, WOMEN))
        assert values[(scheme, "p_adult_men")] == pytest.approx(by_hand(plan, MEN))


def test_predictions_are_refused_when_incomplete_unknown_or_beside_scores(
    tmp_path: Path,
) -> None:
    """A member aged 18-64 without a probability in a municipality is an error (never a
    0), counted with the first missing pair; a row for a member the members table does
    not have names its row; with a scores table as well, two models are refused."""
    rows = dict(PREDICTED)
    rows[("H9", 1)] = (0.1, 0.1, 0.1, 0.1)
    root = with_predictions(tmp_path, rows)
    table = pd.read_csv(root / "predictions.csv")
    table = table[~((table["household_id"] == "H2") & (table["municipality"] == "GM0003"))]
    table.to_csv(root / "predictions.csv", index=False)
    with pytest.raises(InputError) as error:
        read_instance(root)
    issues = error.value.issues
    (missing,) = [i for i in issues if i.rule == "every member aged 18-64 in every municipality"]
    assert missing.message.startswith("2 (member, municipality) pairs have no probability")
    assert "member 1 of 'H2' in 'GM0003'" in missing.message
    unknown = [i for i in issues if i.rule == "known member"]
    assert [i.row for i in unknown] == [len(table) - 3, len(table) - 2, len(table) - 1, len(table)]
    assert unknown[0].message == "no member 1 of 'H9'"

    scores = tmp_path / "scores.csv"
    pd.DataFrame(
        [(h, c, 0.5) for h in ("H1", "H2", "H3", "H4", "H5") for c in CODES],
        columns=["household_id", "municipality", "score"],
    ).to_csv(scores, index=False)
    with pytest.raises(InputError) as error:
        read_instance(with_predictions(tmp_path / "both", scores=scores))
    assert [i.rule for i in error.value.issues] == ["one model"]


def test_a_scores_table_says_why_group_outcomes_are_empty_and_refuses_floors(
    tmp_path: Path,
) -> None:
    """With household scores (no members' predictions) a placement warns that the
    group outcomes stay empty and why, and a floor on a group is refused with the same
    reason instead of being computed from another model."""
    root = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "tiny", root)
    pd.DataFrame(
        [(h, c, 0.5) for h in ("H1", "H2", "H3", "H4", "H5") for c in CODES],
        columns=["household_id", "municipality", "score"],
    ).to_csv(root / "scores.csv", index=False)
    meta = tomllib_load(root / "instance.toml")
    meta["tables"]["scores"] = {"path": "scores.csv", "source": "hand-made"}
    (root / "instance.toml").write_text(tomli_w.dumps(meta))
    from asielplan.errors import AsielplanWarning

    with pytest.warns(AsielplanWarning, match="group outcomes"):
        run = place(root, cfg())
    assert [w.rule for w in run.warnings] == ["group outcomes"]
    assert "give a predictions table" in run.warnings[0].message
    assert run.tables["outcomes_by_gender"].empty
    with pytest.raises(InputError) as error:
        place(root, cfg(group_floors={"women": 0.1}))
    assert "scores households, not members" in str(error.value)


def test_a_pair_missing_from_a_scores_table_is_not_allowed_and_said(tmp_path: Path) -> None:
    """The rule for a scores table: a household goes only where it has a score. H1
    scored everywhere but in Aastad (where it would score best) is placed elsewhere,
    and reading the instance warns that 1 pair has no score."""
    from asielplan.errors import AsielplanWarning

    root = tmp_path / "tiny"
    shutil.copytree(FIXTURES / "tiny", root)
    rows = [(h, c, 0.5) for h in ("H1", "H2", "H3", "H4", "H5") for c in CODES]
    rows = [(h, c, 0.9 if c == "GM0002" else s) for h, c, s in rows if (h, c) != ("H1", "GM0001")]
    pd.DataFrame(rows, columns=["household_id", "municipality", "score"]).to_csv(
        root / "scores.csv", index=False
    )
    meta = tomllib_load(root / "instance.toml")
    meta["tables"]["scores"] = {"path": "scores.csv", "source": "hand-made"}
    (root / "instance.toml").write_text(tomli_w.dumps(meta))
    with pytest.warns(AsielplanWarning) as caught:
        run = place(root, cfg())
    messages = [str(w.message) for w in caught]
    assert any("1 (household, municipality) pairs of the scored households" in m for m in messages)
    households = run.tables["households"].set_index("household_id")
    assert households.loc["H1", "municipality"] != "GM0001"
    assert not run.data.allowed[0, 0] and run.data.allowed[0, 1:].all()


def test_a_fairness_rule_without_a_plan_is_said_and_exits_3(tmp_path: Path) -> None:
    """With these predictions the men's own optimum (0.45) and the women's (0.375) are
    not reachable together at 95% (the men reach at most 0.425 when the women keep
    0.356): the proportional plans are infeasible. The study writes its tables with
    those statuses, draws the rule's place marked 'no plan' and exits 3 naming them,
    instead of exit 0 and a bar silently left out."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    root = with_predictions(tmp_path)
    config = tmp_path / "c.toml"
    config.write_text(
        '[solver]\ntime_limit = 20\nmip_gap = 1e-6\n[placement]\nscheme = "population"\n'
    )
    args = ["fairness", str(root), "--groups", "gender", "--rule", "proportional"]
    result = CliRunner().invoke(app, [*args, "--config", str(config), "--out", str(tmp_path / "f")])
    assert result.exit_code == 3, result.output
    flat = " ".join(result.output.split())
    assert "2 plan(s) of the study have no solution" in flat
    assert "sum/proportional: infeasible" in flat
    summary = pd.read_csv(tmp_path / "f" / "fairness.csv")
    assert summary.loc[summary["rule"] == "proportional", "status"].tolist() == ["infeasible"] * 2
    assert (tmp_path / "f" / "fairness.png").stat().st_size > 10_000
