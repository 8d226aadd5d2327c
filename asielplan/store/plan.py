"""The weekly cycle on the plan store: a period begins (``init_period``), households are
taken in (``import_intake``), a run proposes (``propose``), decisions are recorded
(``decide``), and the state is read back (``household_states``, ``progress``).

A decision's meaning: ``accepted`` locks the household in the municipality for the next
run; ``refused`` (by the municipality, with a reason of :data:`REFUSAL_REASONS`) forbids
that pair from then on; ``housed`` (with its date) counts as progress and takes the
household out of the runs; ``withdrawn`` takes back the acceptance or proposal, the
household returns to the pool. Progress is derived from the housed decisions only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
import tomllib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from asielplan.config import RunConfig, with_overrides
from asielplan.data.instance import read_table_file
from asielplan.data.schemas import HOUSEHOLDS, MEMBERS
from asielplan.errors import ConfigError, InputError, Issue
from asielplan.io import csv_bytes
from asielplan.store.db import session
from asielplan.store.tables import (
    Audit,
    BaseFile,
    Decision,
    Household,
    Intake,
    Member,
    Municipality,
    Period,
    Proposal,
    Run,
    RunFile,
)

DECISIONS = ("accepted", "refused", "housed", "withdrawn")
REFUSAL_REASONS = (
    "no_housing",  # no dwelling of the size needed
    "composition",  # the household's composition does not fit the housing on offer
    "care",  # care or support the household needs is not available
    "other",  # another reason, said in the note
)
DERIVED_TABLES = (
    "households",
    "members",
    "progress",
    "locks",
    "forbidden",
    "previous_plan",
    "allowed",
    "scores",
    "predictions",
)
HOUSEHOLD_COLUMNS = (
    "persons",
    "adults",
    "children",
    "site_id",
    "tie_kind",
    "tie_municipality",
    "tie_radius_km",
)
MEMBER_COLUMNS = ("sex", "age_band", "education", "work_experience", "dutch_level")
PROGRESS_COLUMNS = (
    "municipality",
    "name",
    "taakstelling",
    "housed",
    "remaining",
    "accepted",
    "proposed",
)
PROPOSAL_COLUMNS = (
    "household_id",
    "municipality",
    "state",
    "persons",
    "adults",
    "children",
    "hard_criterion",
    "reason",
)


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


def audit(s: Session, user: str, action: str, **detail: Any) -> None:
    s.add(Audit(at=now(), user=user, action=action, detail=json.dumps(detail, sort_keys=True)))


def active_period(s: Session) -> Period:
    found = s.scalars(select(Period).where(Period.active)).first()
    if found is None:
        raise ConfigError("the store has no planning period: begin one with `asielplan plan init`")
    return found


# --------------------------------------------------------------------------- a period


def init_period(
    engine: Engine,
    period: str,
    national: int,
    instance: str | Path | None = None,
    user: str = "cli",
) -> Period:
    """Begin ``period`` on ``instance`` (the embedded default when None) with the
    national number ``national``: its municipalities with their taakstelling by the
    instance's scheme (the law's unless it names another) and achterstand, its base
    files, and its households as the first intake. The earlier period stays as history,
    no longer active."""
    from asielplan import api
    from asielplan.data.instance import write_instance

    inst = api.load_instance(instance)
    meta = inst.meta
    spec = meta.taakstelling
    if spec is None:
        raise ConfigError("the instance has no [taakstelling]: a period needs one")
    meta = meta.model_copy(
        update={"period": period, "taakstelling": spec.model_copy(update={"national": national})}
    )
    inst = dataclasses.replace(inst, meta=meta)
    result = api.taakstelling(inst, national)
    base = dataclasses.replace(inst, households=inst.households.iloc[0:0])
    for name in DERIVED_TABLES:
        if name != "households":
            setattr(base, name, None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_instance(base, Path(tmp) / "base")
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    with session(engine) as s:
        if s.scalars(select(Period).where(Period.name == period)).first() is not None:
            raise ConfigError(f"the store already holds period {period}")
        s.execute(update(Period).values(active=False))
        row = Period(
            name=period, national=national, scheme=result.name, active=True, created_at=now()
        )
        s.add(row)
        s.flush()
        s.add_all(BaseFile(period_id=row.id, name=n, content=c) for n, c in files.items())
        table = result.table
        s.add_all(
            Municipality(
                period_id=row.id,
                code=str(code),
                name=str(name),
                taakstelling=int(target),
                achterstand=int(behind),
            )
            for code, name, target, behind in zip(
                table["municipality"],
                table["name"],
                table["taakstelling"].to_numpy(),
                table["achterstand"].to_numpy(),
                strict=True,
            )
        )
        audit(s, user, "init", period=period, national=national, instance=meta.name)
    if inst.households is not None and len(inst.households):
        _store_households(engine, inst.households, inst.members, "instance", b"", user)
    return row


def base_files(s: Session, period: Period) -> dict[str, bytes]:
    rows = s.scalars(select(BaseFile).where(BaseFile.period_id == period.id))
    return {r.name: r.content for r in rows}


# --------------------------------------------------------------------------- intake


def _frame_from_xlsx(path: Path, sheet: str) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=sheet, dtype=str, engine="openpyxl")


def read_intake(
    households: Path, members: Path | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list[Issue]]:
    """An intake: a households table (CSV in either dialect, or a workbook with sheets
    ``households`` and ``members``) and its members table, checked like an instance's
    tables: the tables as read and every problem (none raised here)."""
    issues: list[Issue] = []
    frames: dict[str, pd.DataFrame | None] = {"households": None, "members": None}
    sources: dict[str, Path | None] = {"households": households, "members": members}
    with tempfile.TemporaryDirectory() as tmp:
        if households.suffix.lower() == ".xlsx":
            if members is not None:
                raise ConfigError("a workbook holds both sheets: give no members file")
            try:
                book = pd.ExcelFile(households, engine="openpyxl")
            except (OSError, ValueError) as exc:
                issue = Issue(households.name, None, None, "a workbook", str(exc))
                raise InputError([issue], str(households)) from None
            for sheet in ("households", "members"):
                if sheet not in book.sheet_names:
                    sources[sheet] = None
                    continue
                frame = pd.read_excel(book, sheet_name=sheet, dtype=str).fillna("")
                path = Path(tmp) / f"{households.stem}[{sheet}].csv"
                path.write_bytes(csv_bytes(frame))
                sources[sheet] = path
        for name, schema in (("households", HOUSEHOLDS), ("members", MEMBERS)):
            source = sources[name]
            if source is not None:
                frames[name], found = read_table_file(source, schema)
                issues += found
    if sources["households"] is None:
        issues.append(Issue(households.name, None, None, "households", "no households sheet"))
    return frames["households"], frames["members"], issues


def import_intake(
    engine: Engine, households: str | Path, members: str | Path | None = None, user: str = "cli"
) -> int:
    """Take in the households of a file (and their members): checked alone, against the
    households the store holds (no id twice) and with the period's base (sites, tie
    municipalities, members against persons), every problem at once; nothing is stored
    on any problem. Returns the number of households taken in."""
    path = Path(households)
    frame, member_frame, issues = read_intake(path, Path(members) if members else None)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if path.suffix.lower() == ".xlsx":
        names = {f"{t}.csv": f"{path.stem}[{t}].csv" for t in ("households", "members")}
    else:
        names = {"households.csv": path.name, "members.csv": Path(members or path).name}
    return _store_households(
        engine, frame, member_frame, path.name, digest.encode(), user, issues, names
    )


def _check_with_base(
    s: Session,
    period: Period,
    households: pd.DataFrame,
    members: pd.DataFrame | None,
    names: dict[str, str],
) -> list[Issue]:
    """The new households with the period's base instance, through the instance
    reader's checks (sites, ties, members); rows are the file's, as written first."""
    from asielplan.data.instance import read_instance

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        extra = {"households": households}
        if members is not None:
            extra["members"] = members
        write_instance_folder(folder, base_files(s, period), extra)
        try:
            read_instance(folder)
        except InputError as exc:
            # the new tables are written in the file's order: the rows are the file's
            return [
                dataclasses.replace(i, file=names[i.file]) if i.file in names else i
                for i in exc.issues
            ]
    return []


def _store_households(
    engine: Engine,
    households: pd.DataFrame | None,
    members: pd.DataFrame | None,
    file: str,
    digest: bytes,
    user: str,
    issues: list[Issue] | None = None,
    names: dict[str, str] | None = None,
) -> int:
    """Store new households after every check (see :func:`import_intake`); ``names``:
    the files the households and members came from, by their name in an instance."""
    issues = list(issues or [])
    names = names or {"households.csv": file, "members.csv": file}
    with session(engine) as s:
        period = active_period(s)
        known = set(
            s.scalars(select(Household.household_id).where(Household.period_id == period.id))
        )
        if households is not None:
            issues += [
                Issue(file, row + 1, "household_id", "new household", f"{hid!r} is in the store")
                for row, hid in enumerate(households["household_id"].astype(str))
                if hid in known
            ]
            told = {(i.file, i.row, i.column) for i in issues if not i.is_warning}
            issues += [
                i
                for i in _check_with_base(s, period, households, members, names)
                if (i.file, i.row, i.column) not in told
            ]
        if households is None or any(not i.is_warning for i in issues):
            raise InputError(issues, file)
        intake = Intake(
            period_id=period.id,
            file_name=file,
            sha256=digest.decode() or "-",
            households=len(households),
            user=user,
            at=now(),
        )
        s.add(intake)
        s.flush()
        for r in households.to_dict("records"):
            s.add(
                Household(
                    period_id=period.id,
                    household_id=str(r["household_id"]),
                    intake_id=intake.id,
                    **{c: _plain(r.get(c)) for c in HOUSEHOLD_COLUMNS},
                )
            )
        s.flush()
        if members is not None:
            for r in members.to_dict("records"):
                s.add(
                    Member(
                        period_id=period.id,
                        household_id=str(r["household_id"]),
                        member=int(r["member"]),
                        **{c: str(r[c]) for c in MEMBER_COLUMNS},
                    )
                )
        audit(s, user, "import", file=file, households=len(households))
    return len(households)


def _plain(value: Any) -> Any:
    """A cell as a Python value for the database (NA -> None, numpy -> Python)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------- state


def _frame(s: Session, statement: Any, columns: list[str]) -> pd.DataFrame:
    """The rows of a query as a frame (one round trip on the session's connection, plain
    tuples: no ORM objects)."""
    rows = s.connection().execute(statement).fetchall()
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


STATES_KEPT = 4  # household states kept per process, by store version


def store_version(s: Session, period: Period) -> tuple[Any, ...]:
    """What the households' states are a function of: the store's rows only grow
    (households, decisions; proposals with a finished run), so their counts and largest
    ids name a version of the states."""
    return (
        str(s.get_bind().engine.url),
        period.id,
        *s.execute(
            select(func.count(), func.max(Intake.id)).where(Intake.period_id == period.id)
        ).one(),
        *s.execute(
            select(func.count(), func.max(Decision.id)).where(Decision.period_id == period.id)
        ).one(),
        *s.execute(
            select(func.count(), func.max(Run.id)).where(
                Run.period_id == period.id, Run.state == "done"
            )
        ).one(),
        s.scalar(
            select(func.count()).select_from(Household).where(Household.period_id == period.id)
        ),
    )


_states: dict[tuple[Any, ...], pd.DataFrame] = {}


def household_states(s: Session, period: Period) -> pd.DataFrame:
    """One row per household (ordered by id): its attributes, ``state`` (open, proposed,
    accepted, housed), the municipality of that state, the date housed, the
    municipalities that refused it (; between), and its newest proposal's reason, next
    best and top-scoring municipalities.

    A household's last decision sets its state (accepted or housed: there; refused or
    withdrawn: open again); an open household's newest proposal stands when it is newer
    than every proposal refused or withdrawn before. Computed once per version of the
    store (:func:`store_version`) in a process; a copy is returned."""
    version = store_version(s, period)
    if version not in _states:
        while len(_states) >= STATES_KEPT:
            _states.pop(next(iter(_states)))
        _states[version] = _household_states(s, period)
    return _states[version].copy()


def _household_states(s: Session, period: Period) -> pd.DataFrame:
    households = _frame(
        s,
        select(Household.household_id, *(getattr(Household, c) for c in HOUSEHOLD_COLUMNS))
        .where(Household.period_id == period.id)
        .order_by(Household.household_id),
        ["household_id", *HOUSEHOLD_COLUMNS],
    )
    decisions = _frame(
        s,
        select(
            Decision.household_id,
            Decision.kind,
            Decision.municipality,
            Decision.housed_on,
            Decision.proposal_id,
        )
        .where(Decision.period_id == period.id)
        .order_by(Decision.id),
        ["household_id", "kind", "municipality", "housed_on", "proposal_id"],
    )
    proposals = latest_proposals(s, period)
    last = decisions.drop_duplicates("household_id", keep="last").set_index("household_id")
    undone = decisions[decisions["kind"].isin(("refused", "withdrawn"))]
    cut = undone.groupby("household_id")["proposal_id"].max()
    refused = decisions[decisions["kind"] == "refused"].drop_duplicates(
        ["household_id", "municipality"]
    )
    refused_by = refused.groupby("household_id", sort=False)["municipality"].agg(";".join)
    ids = households["household_id"]
    kind = ids.map(last["kind"])
    settled = kind.isin(("accepted", "housed"))
    state = kind.where(settled, "open")
    municipality = ids.map(last["municipality"]).where(settled, None)
    housed_on = ids.map(last["housed_on"]).where(kind == "housed", None)
    proposal_id = ids.map(proposals["id"])
    standing = (
        ~settled
        & proposal_id.notna()
        & (proposal_id > ids.map(cut).fillna(0))
        & ids.map(proposals["municipality"]).notna()
    )
    state = state.where(~standing, "proposed")
    municipality = municipality.where(~standing, ids.map(proposals["municipality"]))
    out = households.assign(
        state=state.to_numpy(),
        municipality=municipality.astype(object).where(municipality.notna(), None).to_numpy(),
        housed_on=housed_on.astype(object).where(housed_on.notna(), None).to_numpy(),
        refused_by=ids.map(refused_by).astype(object).fillna("").to_numpy(),
        reason=ids.map(proposals["reason"]).astype(object).fillna("").to_numpy(),
        next_best=ids.map(proposals["next_best"]).to_numpy(),
        top_scoring=ids.map(proposals["top_scoring"]).to_numpy(),
    )
    return out


def latest_proposals(s: Session, period: Period) -> pd.DataFrame:
    """Each household's proposal of the newest finished run that proposed it, indexed by
    household (id, run, municipality, next_best, top_scoring, reason)."""
    columns = ["household_id", "id", "run_pk", "municipality", "next_best", "top_scoring", "reason"]
    frame = _frame(
        s,
        select(*(getattr(Proposal, c) for c in columns))
        .join(Run, Run.id == Proposal.run_pk)
        .where(Proposal.period_id == period.id, Run.state == "done")
        .order_by(Proposal.run_pk, Proposal.id),
        columns,
    )
    return frame.drop_duplicates("household_id", keep="last").set_index("household_id")


def progress(s: Session, period: Period, states: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per municipality: taakstelling, persons housed (from the housed decisions),
    remaining, persons accepted and proposed but not housed (``states``: the
    :func:`household_states`, when at hand)."""
    munis = s.scalars(
        select(Municipality).where(Municipality.period_id == period.id).order_by(Municipality.code)
    ).all()
    if states is None:
        states = household_states(s, period)
    table = pd.DataFrame(
        {
            "municipality": [m.code for m in munis],
            "name": [m.name for m in munis],
            "taakstelling": [m.taakstelling for m in munis],
        }
    )
    for state in ("housed", "accepted", "proposed"):
        rows = states[states["state"] == state]
        persons = rows.groupby("municipality")["persons"].sum()
        table[state] = table["municipality"].map(persons).fillna(0).astype(int)
    table["remaining"] = (table["taakstelling"] - table["housed"]).clip(lower=0)
    table = table[
        ["municipality", "name", "taakstelling", "housed", "remaining", "accepted", "proposed"]
    ]
    return table


def half_year(name: str) -> tuple[date, date] | None:
    """The first day of half-year ``YYYY-I`` / ``YYYY-II`` and the first day after it."""
    from asielplan.model.taakstelling import PERIOD

    match = PERIOD.fullmatch(name)
    if match is None:
        return None
    year = int(match["year"])
    if match["half"] == "I":
        return date(year, 1, 1), date(year, 7, 1)
    return date(year, 7, 1), date(year + 1, 1, 1)


def behind_path(table: pd.DataFrame, period: str, on: date) -> tuple[pd.DataFrame, float]:
    """:func:`progress` with the pro-rata path on ``on`` (the taakstelling times the share
    of the half-year's days passed) and ``behind`` (path - housed, persons), most behind
    first; and that share (NaN for a period that is not a half-year)."""
    bounds = half_year(period)
    if bounds is None:
        return table.assign(path=np.nan, behind=np.nan), float("nan")
    start, end = bounds
    share = min(1.0, max(0.0, (on - start).days / (end - start).days))
    out = table.assign(path=table["taakstelling"] * share)
    out["behind"] = out["path"] - out["housed"]
    return out.sort_values(["behind", "municipality"], ascending=[False, True]), share


# --------------------------------------------------------------------------- a run


def write_instance_folder(
    folder: Path, base: dict[str, bytes], extra: dict[str, pd.DataFrame]
) -> None:
    """The period's base files plus ``extra`` tables (registered in instance.toml)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = tomllib.loads(base["instance.toml"].decode("utf-8"))
    for name, content in base.items():
        if name not in ("instance.toml", "manifest.json"):
            (folder / name).write_bytes(content)
    tables = dict(meta.get("tables", {}))
    for name, frame in extra.items():
        (folder / f"{name}.csv").write_bytes(csv_bytes(frame))
        tables[name] = {"path": f"{name}.csv", "source": "the plan store"}
    meta["tables"] = tables
    (folder / "instance.toml").write_bytes(tomli_w.dumps(meta).encode("utf-8"))


def run_instance(s: Session, period: Period, folder: Path) -> None:
    """Write the instance of the next run: the households not housed (with their
    members), the progress, the accepted households as locks, the refused pairs as
    forbidden, and the standing proposals as the previous plan."""
    states = household_states(s, period)
    pool = states[states["state"] != "housed"]
    if pool.empty:
        raise ConfigError("no household is waiting: take in households first (plan import)")
    households = pool[["household_id", *HOUSEHOLD_COLUMNS]].reset_index(drop=True)
    wanted = set(households["household_id"])
    members = pd.DataFrame(
        [
            {
                "household_id": m.household_id,
                "member": m.member,
                **{c: getattr(m, c) for c in MEMBER_COLUMNS},
            }
            for m in s.scalars(select(Member).where(Member.period_id == period.id))
            if m.household_id in wanted
        ]
    )
    table = progress(s, period)
    extra: dict[str, pd.DataFrame] = {
        "households": households,
        "progress": table[["municipality"]].assign(placed=table["housed"]),
    }
    if len(members):
        extra["members"] = members
    locks = pool[pool["state"] == "accepted"]
    if len(locks):
        extra["locks"] = locks[["household_id", "municipality"]]
    refused = [
        (hid, code)
        for hid, codes in zip(pool["household_id"], pool["refused_by"], strict=True)
        if codes
        for code in dict.fromkeys(codes.split(";"))
    ]
    if refused:
        extra["forbidden"] = pd.DataFrame(refused, columns=["household_id", "municipality"])
    standing = pool[pool["state"] == "proposed"]
    if len(standing):
        extra["previous_plan"] = standing[["household_id", "municipality"]]
    write_instance_folder(folder, base_files(s, period), extra)


Progress = Callable[[str], None]


def start_run(engine: Engine, policy: str, time_limit: float, user: str) -> int:
    """A queued run of the active period (its row; :func:`execute_run` does the work)."""
    if policy not in ("prices", "greedy"):
        raise ConfigError(f"--policy {policy}: prices or greedy")
    with session(engine) as s:
        period = active_period(s)
        if s.scalars(
            select(Run).where(Run.period_id == period.id, Run.state.in_(("queued", "running")))
        ).first():
            raise ConfigError("a run is already under way: wait for it, or cancel it")
        run = Run(
            period_id=period.id,
            policy=policy,
            time_limit=time_limit,
            state="queued",
            progress="",
            message="",
            user=user,
            started_at=now(),
        )
        s.add(run)
        s.flush()
        audit(s, user, "propose", run=run.id, policy=policy, time_limit=time_limit)
        return run.id


def execute_run(engine: Engine, run_pk: int, config: RunConfig | None = None) -> Run:
    """Do run ``run_pk``: a weekly batch of the waiting households against the remaining
    taakstelling (``weekly --previous`` logic: the standing proposals are the previous
    plan), its files and proposals stored. A run that fails keeps its message."""
    from asielplan import api

    with session(engine) as s:
        run = s.get(Run, run_pk)
        assert run is not None
        run.state = "running"
        period = s.get(Period, run.period_id)
        assert period is not None
        policy, limit = run.policy, run.time_limit

    def said(message: str) -> None:
        with session(engine) as s:
            s.execute(update(Run).where(Run.id == run_pk).values(progress=message[:500]))

    cfg = with_overrides(
        config or RunConfig(),
        {"weekly.policy": policy, "solver.time_limit": limit},
        "plan propose",
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "instance"
            with session(engine) as s:
                run_instance(s, period, folder)
            said("solving")
            done = api.weekly(folder, cfg, progress=said)
            api.write_run(done, Path(tmp) / "run")
            files = {
                p.relative_to(Path(tmp) / "run").as_posix(): p.read_bytes()
                for p in sorted((Path(tmp) / "run").rglob("*"))
                if p.is_file()
            }
    except (InputError, ConfigError) as exc:
        with session(engine) as s:
            s.execute(
                update(Run)
                .where(Run.id == run_pk)
                .values(state="failed", message=str(exc)[:4000], finished_at=now())
            )
            found = s.get(Run, run_pk)
            assert found is not None
            return found
    solution = done.solution
    households = done.tables["households"]
    explanations = done.tables.get("explanations")
    reasons = (
        explanations.set_index("household_id")
        if explanations is not None
        else pd.DataFrame(columns=["text", "next_best", "top_scoring"])
    )
    with session(engine) as s:
        run = s.get(Run, run_pk)
        assert run is not None
        if run.state == "cancelled":
            return run
        s.add_all(RunFile(run_pk=run_pk, path=p, content=c) for p, c in files.items())
        for r in households.to_dict("records"):
            hid = str(r["household_id"])
            why = reasons.loc[hid] if hid in reasons.index else None
            s.add(
                Proposal(
                    run_pk=run_pk,
                    period_id=run.period_id,
                    household_id=hid,
                    municipality=str(r["municipality"]) if r["placed"] else None,
                    score=float(r["score"]) if r["placed"] else None,
                    next_best=_text(why, "next_best"),
                    top_scoring=_text(why, "top_scoring"),
                    reason=_text(why, "text") or "",
                )
            )
        run.state = "done"
        run.run_id = done.spec.id
        run.status = solution.status.value
        run.gap = None if solution.gap is None else float(solution.gap)
        run.finished_at = now()
        run.progress = "done"
        return run


def _text(row: Any, column: str) -> str | None:
    if row is None or column not in row or pd.isna(row[column]):
        return None
    return str(row[column])


def cancel_run(engine: Engine, run_pk: int, user: str) -> bool:
    """Mark a queued or running run cancelled (its work, if it ends anyway, is not
    stored); whether there was one to cancel."""
    with session(engine) as s:
        run = s.get(Run, run_pk)
        if run is None or run.state not in ("queued", "running"):
            return False
        run.state, run.finished_at, run.message = "cancelled", now(), "cancelled by " + user
        audit(s, user, "cancel", run=run_pk)
        return True


def propose(
    engine: Engine,
    policy: str = "prices",
    time_limit: float = 60.0,
    user: str = "cli",
    config: RunConfig | None = None,
) -> Run:
    """Start and do a proposal run in this process."""
    return execute_run(engine, start_run(engine, policy, time_limit, user), config)


# --------------------------------------------------------------------------- decisions


def read_decisions(path: Path) -> pd.DataFrame:
    """A decisions file (CSV): household_id, decision, and as needed municipality,
    reason, note, date."""
    from asielplan.data.instance import _read_table_file

    issues: list[Issue] = []
    frame = _read_table_file(path.parent, path.name, issues)
    if frame is None or any(not i.is_warning for i in issues):
        raise InputError(issues, str(path))
    return frame.fillna("")


@dataclasses.dataclass(frozen=True)
class _Decided:
    household_id: str
    kind: str
    municipality: str
    reason: str | None
    note: str
    housed_on: date | None


def _decided(
    r: dict[str, Any], states: pd.DataFrame, codes: set[str]
) -> _Decided | tuple[str, str, str]:
    """One row of decisions, checked: the decision, or (column, rule, message)."""
    hid = str(r.get("household_id", "")).strip()
    kind = str(r.get("decision", "")).strip()
    if hid not in states.index:
        return "household_id", "known household", f"{hid!r} is not in the store"
    if kind not in DECISIONS:
        return "decision", "a decision", f"{kind!r}: one of {', '.join(DECISIONS)}"
    state = states.loc[hid, "state"]
    standing = states.loc[hid, "municipality"]
    code = str(r.get("municipality", "") or "").strip()
    code = code or (standing if isinstance(standing, str) else "")
    if state == "housed" and kind != "withdrawn":
        return "decision", "not housed", f"{hid} is housed already"
    if kind == "withdrawn" and state == "open":
        return "decision", "something to withdraw", f"{hid} has no proposal or acceptance"
    if not code:
        return "municipality", "a municipality", f"{hid} has no proposal: name the municipality"
    if code not in codes:
        return "municipality", "known municipality", f"{code!r} is not one of the period's"
    reason = str(r.get("reason", "") or "").strip() or None
    if kind == "refused" and reason not in REFUSAL_REASONS:
        return "reason", "a refusal reason", f"{reason!r}: one of {', '.join(REFUSAL_REASONS)}"
    housed_on = None
    if kind == "housed":
        try:
            housed_on = date.fromisoformat(str(r.get("date", "")).strip())
        except ValueError:
            return "date", "a date", "housed needs the date, YYYY-MM-DD"
    note = str(r.get("note", "") or "")
    return _Decided(hid, kind, code, reason if kind == "refused" else None, note, housed_on)


def decide(engine: Engine, decisions: pd.DataFrame, user: str, file: str = "decisions") -> int:
    """Record decisions (one per row: household_id, decision, and as the decision needs
    municipality, reason, note, date), every row checked first; nothing is stored on any
    problem. ``accepted`` and ``refused`` default to the household's standing proposal's
    municipality; ``housed`` to its accepted or proposed one and needs a date."""
    with session(engine) as s:
        period = active_period(s)
        states = household_states(s, period).set_index("household_id")
        codes = set(s.scalars(select(Municipality.code).where(Municipality.period_id == period.id)))
        latest = latest_proposals(s, period)["id"]
        issues: list[Issue] = []
        found: list[_Decided] = []
        for row, r in enumerate(decisions.to_dict("records"), start=1):
            checked = _decided({str(k): v for k, v in r.items()}, states, codes)
            if isinstance(checked, tuple):
                issues.append(Issue(file, row, *checked))
            else:
                found.append(checked)
        if issues:
            raise InputError(issues, file)
        for d in found:
            proposal = latest.get(d.household_id)
            s.add(
                Decision(
                    period_id=period.id,
                    household_id=d.household_id,
                    proposal_id=None if proposal is None else int(proposal),
                    kind=d.kind,
                    municipality=d.municipality,
                    reason=d.reason,
                    note=d.note,
                    housed_on=d.housed_on,
                    user=user,
                    at=now(),
                )
            )
            audit(s, user, d.kind, household=d.household_id, municipality=d.municipality)
        return len(found)


# --------------------------------------------------------------------------- reading


def proposals_of(s: Session, period: Period, municipality: str | None = None) -> pd.DataFrame:
    """The standing proposals and acceptances (one row per household), with what a
    municipality needs to house it: persons, adults, children, whether a hard criterion
    applies (never which), the reason in words; optionally of one municipality."""
    states = household_states(s, period)
    live = states[states["state"].isin(("proposed", "accepted"))]
    if municipality is not None:
        live = live[live["municipality"] == municipality]
    out = live.assign(hard_criterion=live["tie_kind"].notna())
    return out[list(PROPOSAL_COLUMNS)].reset_index(drop=True)


def run_files(s: Session, run_pk: int) -> dict[str, bytes]:
    return {f.path: f.content for f in s.scalars(select(RunFile).where(RunFile.run_pk == run_pk))}
