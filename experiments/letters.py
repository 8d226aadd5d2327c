"""Taakstelling letters: one PDF per municipality in Dutch, an overview per province,
and one table of every number printed, from the legal computation.

Every number comes from :mod:`asielplan.model.schemes` (the law by default: Huisvestingswet
2014 art. 28-30); :func:`letter_rows` gathers them per municipality, and the letters
print exactly those rows. Templates are Jinja2 files that produce Typst markup
(``templates/letters``: ``letter.typ.j2``, ``letter_spreidingswet.typ.j2``,
``province.typ.j2``, the shared ``_style.typ.j2`` and the sender's ``letterhead.toml``);
a folder given with ``--template`` overrides any of them. Typst (the ``typst`` Python
package: one wheel with its compiler and fonts, nothing downloaded at run time, a letter
in about 20 ms, byte-identical output for the same input) sets them as PDF. Every value
a template prints is escaped for Typst, so a name can never become markup. Letters hold
municipal aggregates only: no household, no person.
"""

from __future__ import annotations

import re
import tempfile
import tomllib
import traceback
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from pydantic import BaseModel, ConfigDict, ValidationError

from asielplan.data.instance import Instance, is_synthetic
from asielplan.errors import Issue
from asielplan.io import safe_names
from asielplan.model.schemes import SchemeResult
from asielplan.model.taakstelling import PERIOD, YEARS, peildatum

TEMPLATES = Path(__file__).parent / "templates" / "letters"
TYPST_SPECIAL = set("\\#$*_`<>@[]~\"'=-+/{}")
HALF = {"I": "eerste helft", "II": "tweede helft"}
SES_PROXY_NL = (
    "een benadering uit de CBS-kerncijfers 2022: arbeidsdeelname, WOZ-waarde, inkomen en "
    "opleiding; niet de SES-WOA-score van het CBS"
)


class LetterError(Exception):
    """The letters cannot be made; ``issues`` says why (file and line of a template)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


PLACEHOLDERS = ("provincie",)  # what a letterhead value may name: {provincie}
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


PLACEHOLDER_TEXT = re.compile(r"\[[^\]]*\]")  # "[naam]": a default still to be filled in
LOGO_TYPES = (".png", ".jpg", ".jpeg", ".svg")
LOGO_BYTES = 2_000_000


class Signatory(BaseModel):
    """Who signs: a name and a function."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    naam: str
    functie: str


class Letterhead(BaseModel):
    """``letterhead.toml``: the sender and the formal parts of the letter (its address
    and logo, whom to ask, the references, the annexes, who signs, the bezwaar clause
    and a deadline). ``{provincie}`` in a value becomes the province's name; it is the
    only placeholder (``{{`` and ``}}`` are literal braces). A value in square brackets
    (``[naam]``) is a default still to be filled in: ``letters`` warns about each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    afzender: str
    adres: list[str]
    logo: str = ""  # an image file of the template folder (png, jpg, svg)
    contact: str
    contactpersoon: str = "[naam contactpersoon]"
    telefoon: str = "[telefoonnummer]"
    email: str = "[e-mailadres]"
    uw_kenmerk: str = "[uw kenmerk]"
    bijlagen: list[str] = ["Berekening stap voor stap"]
    ondertekening: list[str]
    ondertekenaar: Signatory = Signatory(naam="[naam]", functie="[functie]")
    # the bezwaar clause of a decision (Awb art. 6:7: six weeks): to whom; empty: none
    bezwaar_bij: str = "[bestuursorgaan en adres voor bezwaar]"
    # the Spreidingswet letter's deadline for a reaction; empty: none
    reactie_voor: str = "[datum]"

    def lines(self) -> list[tuple[str, str]]:
        """Every text value with its key (``ondertekenaar.naam``, ``adres``)."""
        out: list[tuple[str, str]] = []
        for key, value in self.model_dump().items():
            if isinstance(value, dict):
                out += [(f"{key}.{k}", str(v)) for k, v in value.items()]
            else:
                out += [(key, line) for line in (value if isinstance(value, list) else [value])]
        return out

    def problems(self, file: str) -> list[Issue]:
        """Every value with a placeholder other than the documented ones, or a stray
        brace: one issue per key."""
        found: list[Issue] = []
        for key, line in self.lines():
            try:
                fill(line, {name: "" for name in PLACEHOLDERS})
            except ValueError as exc:
                found.append(Issue(file, None, key, "letterhead placeholder", str(exc)))
        return found

    def unfilled(self) -> list[str]:
        """The keys whose value is still a default in square brackets."""
        return list(
            dict.fromkeys(key for key, line in self.lines() if PLACEHOLDER_TEXT.search(line))
        )


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]``: plain substitution of
    the documented placeholders only, no attribute, index or format specification
    (``str.format`` would evaluate ``{provincie.__class__}``). ValueError names an unknown
    placeholder and the allowed ones."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None:
            raise ValueError(f"a single {token!r}; write {token * 2} for a brace")
        if name not in values:
            allowed = ", ".join("{" + n + "}" for n in values)
            raise ValueError(f"{{{name}}} is not a placeholder; the allowed ones: {allowed}")
        return values[name]

    return _PLACEHOLDER.sub(one, text)


@dataclass(frozen=True)
class Period:
    """A half-year ``YYYY-I`` or ``YYYY-II``: its label in a letter, its peildatum, the
    date on which the previous half-year's progress was measured, and the default date
    of the letters (13 weeks before the half-year starts, when the national number must
    be published at the latest)."""

    code: str
    year: int
    half: str
    label: str
    peildatum: date
    check_date: date
    start: date

    @property
    def letter_date(self) -> date:
        return self.start - timedelta(weeks=13)


def parse_period(code: str) -> Period:
    """A period from ``YYYY-I`` / ``YYYY-II`` (ASCII digits, a year of :data:`YEARS`);
    :class:`LetterError` otherwise."""
    day = peildatum(code)
    match = PERIOD.fullmatch(code)
    if day is None or match is None:
        raise LetterError(
            [
                Issue(
                    "--period",
                    None,
                    None,
                    "period",
                    f"{code!r} is not YYYY-I or YYYY-II with a year from {YEARS.start} "
                    f"to {YEARS.stop - 1}",
                )
            ]
        )
    year, half = int(match["year"]), match["half"]
    start = date(year, 1, 1) if half == "I" else date(year, 7, 1)
    return Period(code, year, half, f"{HALF[half]} {year}", day, start, start)


# --------------------------------------------------------------------------- numbers


def letter_rows(
    inst: Instance,
    result: SchemeResult,
    period: Period,
    *,
    letter_date: date,
    publication: str,
) -> pd.DataFrame:
    """Every number a letter prints, one row per municipality (also the national CSV):
    the population and national population on the peildatum, the national number, the
    product and the exact quotient, the rounded number, swap, achterstand (+) or
    voorsprong (-) with its check date, the taakstelling, the voorsprong carried, the
    province's total, the date and reference of the letter."""
    table = result.table
    muni = inst.municipalities.reset_index(drop=True)
    province = muni["province"].astype(str) if "province" in muni else pd.Series("", muni.index)
    names = muni.get("province_name", province)
    vg, i_n = result.basis.national, result.basis.national_population
    prefix = "SPW" if result.spec.rule == "spreidingswet" else "TVH"
    quotients = [Fraction(vg * int(p), i_n) for p in table["population"]]
    rows = pd.DataFrame(
        {
            "municipality": table["municipality"],
            "name": table["name"],
            "province": province,
            "province_name": names.astype(str),
            "scheme": result.name,
            "period": period.code,
            "peildatum": period.peildatum.isoformat(),
            # the date of the population the data holds (empty when it does not say)
            "population_date": _population_date(inst),
            "letter_date": letter_date.isoformat(),
            "reference": [f"{prefix}-{period.code}-{code}" for code in table["municipality"]],
            "national": vg,
            "publication": publication,
            "population": table["population"],
            "national_population": i_n,
            "product": [vg * int(p) for p in table["population"]],
            "quotient": [round(float(q), 4) for q in quotients],
            "share": table["share"],
            "swap": table["swap"],
            # an achterstand is printed only when it was given (a table or --progress):
            # empty, never a zero nobody measured
            "achterstand": table["achterstand"].astype("Int64")
            if inst.achterstand is not None
            else pd.Series(pd.NA, index=table.index, dtype="Int64"),
            "check_date": period.check_date.isoformat(),
            "taakstelling": table["taakstelling"],
            "carried_voorsprong": table["carried_voorsprong"],
        }
    )
    rows["province_total"] = rows.groupby("province")["taakstelling"].transform("sum")
    # what the province's overview prints beside the taakstelling: each population's part
    # of the national one, and the province's inhabitants, part and achterstand
    rows["population_share"] = (rows["population"] / i_n).round(6)
    rows["province_population"] = rows.groupby("province")["population"].transform("sum")
    rows["province_population_share"] = (rows["province_population"] / i_n).round(6)
    achterstand = rows.groupby("province")["achterstand"]
    rows["province_achterstand"] = (
        achterstand.transform("sum")
        .astype("Int64")
        .where(achterstand.transform(lambda a: a.notna().all()).astype(bool))
    )
    rows["key"] = table["key"].round(6)
    # the municipality's part of its province's total (the Spreidingswet's letter prints
    # this share; the key is the national one), from the key as letters.csv holds it
    rows["province_share"] = (rows["key"] / rows.groupby("province")["key"].transform("sum")).round(
        6
    )
    if "amv" in table:
        rows["amv"] = table["amv"]
    ses = _ses_column(inst, result)
    if ses:  # the Spreidingswet letter prints each municipality's score
        rows["ses_score"] = rows["municipality"].map(ses).round(4)
    rows["file"] = pdf_names(rows["municipality"].astype(str), rows["name"].astype(str))
    return rows


def _population_date(inst: Instance) -> str:
    spec = inst.meta.taakstelling
    return spec.population_date if spec is not None and spec.population_date else ""


def population_phrase(population_date: str) -> str:
    """How a letter dates the populations it uses: ``op 1 januari 2025`` when that is
    the data's date, ``volgens de gegevens (datum niet opgegeven)`` when the data does
    not say (never the legal peildatum claimed for numbers of another date)."""
    if not population_date:
        return "volgens de gegevens (datum niet opgegeven)"
    return f"op {_datum(population_date)}"


def pdf_names(codes: pd.Series, names: pd.Series) -> list[str]:
    """``GM0363-Amsterdam.pdf`` per code and name: a safe file name
    (:func:`asielplan.io.safe_names`: accents dropped, other characters as hyphens, cut
    to length, unique), whatever the data holds."""
    stems = [f"{code}-{name}" for code, name in zip(codes, names, strict=True)]
    safe = safe_names(stems)
    return [f"{safe[stem]}.pdf" for stem in stems]


# --------------------------------------------------------------------------- rendering


def typst_escape(value: Any) -> Any:
    """Escape every character Typst markup gives a meaning to."""
    if not isinstance(value, str):
        return value
    return "".join("\\" + c if c in TYPST_SPECIAL else c for c in value)


def _getal(value: Any) -> str:
    from babel.numbers import format_decimal

    return format_decimal(int(value), locale="nl_NL")


def _decimaal(value: Any) -> str:
    from babel.numbers import format_decimal

    # as a decimal of its shortest text, so the printed digits are those of letters.csv
    return format_decimal(Decimal(str(value)), format="#,##0.0000", locale="nl_NL")


def _teken(value: Any) -> str:
    number = int(value)
    if number > 0:
        return f"+{_getal(number)}"
    if number < 0:
        return f"\u2212{_getal(-number)}"
    return "0"


def _procent(value: Any) -> str:
    from babel.numbers import format_decimal

    share = Decimal(str(value)) * 100  # not a float product: 3.7715 stays 3.7715, not 3.77149...
    return format_decimal(share, format="#,##0.000", locale="nl_NL") + " %"


def _datum(value: Any) -> str:
    from babel.dates import format_date

    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, "d MMMM y", locale="nl")


TEMPLATE_FILES = (
    "_style.typ.j2",
    "letter.typ.j2",
    "letter_spreidingswet.typ.j2",
    "province.typ.j2",
    "letterhead.toml",
)


def _template_folder(folder: Path) -> Path:
    """A user's ``--template`` folder, refused unless it is a real folder (not a link)
    holding at least one of the files it may override."""
    issue = None
    if folder.is_symlink() or not folder.is_dir():
        what = "a link" if folder.is_symlink() else "not a folder" if folder.exists() else "absent"
        issue = f"{folder} is {what}; give a folder of templates"
    elif not any((folder / name).exists() for name in TEMPLATE_FILES):
        issue = f"{folder} holds none of {', '.join(TEMPLATE_FILES)}: not a template folder"
    if issue is not None:
        raise LetterError([Issue("--template", None, None, "template folder", issue)])
    return folder


def _template_file(folder: Path, name: str) -> Path | None:
    """``folder / name`` when it is a regular file inside ``folder``; a link, a ``..`` or
    a path that leaves the folder is a :class:`LetterError`; None when absent."""
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts or "\\" in name:
        raise LetterError(
            [Issue(name, None, None, "template file", "a path outside the template folder")]
        )
    path = folder / name
    if path.is_symlink() or (path.exists() and not path.resolve().is_relative_to(folder.resolve())):
        raise LetterError(
            [Issue(str(path), None, None, "template file", "a link; templates must be files")]
        )
    return path if path.is_file() else None


class Renderer:
    """Jinja2 templates (a user's folder first, then the shipped ones) to Typst to PDF.

    A template folder is a document someone may send, so it never runs code or reads a
    file it does not hold: templates render in Jinja2's immutable sandbox (no attribute
    starting with ``_``, no method that changes data), only regular files of the folder
    are loaded (no link, no ``..``), and Typst sets the letter in a fresh folder that
    holds only the rendered source (``#read`` and ``#image`` see nothing else)."""

    def __init__(self, folder: Path | None = None) -> None:
        user = None if folder is None else _template_folder(Path(folder))
        self.folders = [p for p in (user, TEMPLATES) if p is not None]
        self.env = ImmutableSandboxedEnvironment(
            loader=_FolderLoader(self.folders),
            undefined=StrictUndefined,
            finalize=typst_escape,
            autoescape=False,
            keep_trailing_newline=True,
        )
        self.env.filters.update(
            getal=_getal, decimaal=_decimaal, teken=_teken, procent=_procent, datum=_datum
        )
        self.letterhead = self._letterhead()
        self._compiler: Any = None  # made at the first letter: reading the fonts is its cost
        self._packages: tempfile.TemporaryDirectory[str] | None = None

    def _typst(self) -> Any:
        """One Typst compiler for every letter of this renderer: the fonts are read once
        (a fresh compiler per letter spent most of a letter's time reading them). Its
        package folders are an empty folder of its own, so a template cannot import a
        package from the machine; each letter is set with its own folder as the root."""
        import typst

        if self._compiler is None:
            self._packages = tempfile.TemporaryDirectory(prefix="asielplan-typst-")
            empty = Path(self._packages.name)
            self._compiler = typst.Compiler(
                package_path=str(empty / "packages"), package_cache_path=str(empty / "cache")
            )
        return self._compiler

    def _letterhead(self) -> Letterhead:
        path = next(p for p in (_template_file(f, "letterhead.toml") for f in self.folders) if p)
        try:
            head = Letterhead.model_validate(tomllib.loads(path.read_text(encoding="utf-8-sig")))
        except (tomllib.TOMLDecodeError, ValidationError, UnicodeDecodeError) as exc:
            raise LetterError(
                [Issue(str(path), None, None, "letterhead", str(exc).splitlines()[0])]
            ) from None
        problems = head.problems(str(path))
        self.logo: bytes | None = None
        if head.logo:
            logo = self._logo(head.logo, path)
            if isinstance(logo, Issue):
                problems.append(logo)
            else:
                self.logo = logo
        if problems:
            raise LetterError(problems)
        return head

    def _logo(self, name: str, letterhead: Path) -> bytes | Issue:
        """The logo's bytes: an image file beside the letterhead, at most 2 MB."""
        where = str(letterhead)
        if Path(name).suffix.lower() not in LOGO_TYPES:
            return Issue(where, None, "logo", "logo", f"{name!r}: use {', '.join(LOGO_TYPES)}")
        try:
            path = _template_file(letterhead.parent, name)
        except LetterError as exc:
            return exc.issues[0]
        if path is None:
            return Issue(where, None, "logo", "logo", f"{name!r} is not in {letterhead.parent}")
        data = path.read_bytes()
        if len(data) > LOGO_BYTES:
            return Issue(where, None, "logo", "logo", f"{name!r} is larger than 2 MB")
        return data

    def sender(self, province: str) -> dict[str, Any]:
        """The letterhead with ``{provincie}`` filled in, as the templates see it
        (``logo`` is the image's name in the letter's folder, or empty)."""
        head = self.letterhead
        values = {"provincie": province}

        def filled(value: Any) -> Any:
            if isinstance(value, dict):
                return {key: filled(item) for key, item in value.items()}
            if isinstance(value, list):
                return [filled(item) for item in value]
            return fill(value, values) if isinstance(value, str) else value

        out = filled(head.model_dump())
        out["naam"] = out.pop("afzender")
        out["logo"] = f"logo{Path(head.logo).suffix.lower()}" if head.logo else ""
        return out

    def pdf(self, template: str, context: dict[str, Any], what: str) -> bytes:
        """Render ``template`` with ``context`` and set it; every template and typesetting
        error becomes a :class:`LetterError` naming the template file and line."""
        import typst

        try:
            source = self.env.get_template(template).render(**context)
        except jinja2.TemplateSyntaxError as exc:
            raise LetterError(
                [
                    Issue(
                        exc.filename or exc.name or template,
                        exc.lineno,
                        None,
                        "template",
                        exc.message or "syntax error",
                    )
                ]
            ) from None
        except Exception as exc:  # a template's own error: unsafe access, undefined, type
            file, line = self._where(exc, template)
            rule = "template sandbox" if isinstance(exc, SecurityError) else "template"
            raise LetterError([Issue(file, line, None, rule, _message(exc))]) from None
        with tempfile.TemporaryDirectory(prefix="asielplan-letter-") as folder:
            root = Path(folder)
            main = root / "letter.typ"
            main.write_text(source, encoding="utf-8")
            if self.logo is not None:  # the one file besides the source a letter may show
                (root / f"logo{Path(self.letterhead.logo).suffix.lower()}").write_bytes(self.logo)
            try:
                return bytes(self._typst().compile(input=str(main), root=str(root)))
            except typst.TypstError as exc:
                message = str(exc).strip().splitlines()[0]
                raise LetterError(
                    [Issue(template, None, None, "typesetting", f"{what}: {message}")]
                ) from None

    def _where(self, exc: BaseException, template: str) -> tuple[str, int | None]:
        """The template file and line a rendering error happened in."""
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.endswith(".j2"):
                return frame.filename, frame.lineno
        return template, None


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class _FolderLoader(jinja2.BaseLoader):
    """A Jinja2 loader over template folders (the first that has a name wins) that reads
    only regular files inside its folder: no link, no ``..``, no absolute path."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        for folder in self.folders:
            try:
                path = _template_file(folder, template)
            except LetterError as exc:
                issue = exc.issues[0]
                raise jinja2.TemplateNotFound(f"{issue.file}: {issue.message}") from None
            if path is not None:
                mtime = path.stat().st_mtime
                return (
                    path.read_text(encoding="utf-8"),
                    str(path),
                    lambda p=path, t=mtime: p.stat().st_mtime == t,
                )
        raise jinja2.TemplateNotFound(template)


@dataclass
class LetterSet:
    """The letters (file name -> PDF bytes) per municipality and per province, and the
    national table of every number printed."""

    municipalities: dict[str, bytes]
    provinces: dict[str, bytes]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def make_letters(
    inst: Instance,
    result: SchemeResult,
    rows: pd.DataFrame,
    period: Period,
    renderer: Renderer,
) -> LetterSet:
    """One letter per municipality and one overview per province."""
    spreiding = result.spec.rule == "spreidingswet"
    template = "letter_spreidingswet.typ.j2" if spreiding else "letter.typ.j2"
    # every number of a letter comes from the municipalities (and the national number):
    # the stamp says when those are made up, not when only the households are
    synthetic = is_synthetic(inst.meta, "municipalities")
    letters: dict[str, bytes] = {}
    for row in rows.to_dict("records"):
        code = str(row["municipality"])
        context = {
            "synthetisch": synthetic,
            "kenmerk": row["reference"],
            "datum": row["letter_date"],
            "peildatum": row["peildatum"],
            "inwoners_op": population_phrase(row["population_date"]),
            "inwoners_datum": row["population_date"],
            "periode": {"code": period.code, "label": period.label},
            "gemeente": {"code": code, "naam": row["name"], "inwoners": row["population"]},
            "landelijk": {
                "aantal": row["national"],
                "inwoners": row["national_population"],
                "publicatie": row["publication"],
            },
            "berekening": {
                "product": row["product"],
                "quotient": row["quotient"],
                "aandeel": row["share"],
                "aandeel_provincie": row["province_share"],
                "uitwisseling": row["swap"],
                "sleutel": row["key"],
                "score": row.get("ses_score", 0.0),
                "score_bron": SES_PROXY_NL if result.labels else "CBS SES-WOA",
            },
            "achterstand": {
                "bekend": not pd.isna(row["achterstand"]),
                "aantal": None if pd.isna(row["achterstand"]) else int(row["achterstand"]),
                "controle": row["check_date"],
            },
            "taakstelling": row["taakstelling"],
            "doorgeschoven": row["carried_voorsprong"],
            "amv": row.get("amv", 0),
            "provincie": {"naam": row["province_name"], "totaal": row["province_total"]},
            "afzender": renderer.sender(str(row["province_name"])),
        }
        letters[str(row["file"])] = renderer.pdf(template, context, code)
    subject = "taakstelling huisvesting vergunninghouders"
    if spreiding:
        subject = "opvangplaatsen (Spreidingswet)"
    overviews: dict[str, bytes] = {}
    provinces = sorted(rows["province"].unique())
    first = rows.drop_duplicates("province").set_index("province")["province_name"]
    names = pdf_names(pd.Series(provinces), first.loc[provinces].astype(str))
    files = dict(zip(provinces, names, strict=True))
    for province in provinces:
        members = rows[rows["province"] == province]
        name = str(members["province_name"].iloc[0])
        context = {
            "synthetisch": synthetic,
            "onderwerp": subject,
            "peildatum": members["peildatum"].iloc[0],
            "inwoners_op": population_phrase(members["population_date"].iloc[0]),
            "periode": {"code": period.code, "label": period.label},
            "landelijk": {
                "aantal": int(members["national"].iloc[0]),
                "inwoners": int(members["national_population"].iloc[0]),
            },
            # every number as letters.csv holds it
            "provincie": {
                "naam": name,
                "totaal": int(members["province_total"].iloc[0]),
                "inwoners": int(members["province_population"].iloc[0]),
                "achterstand": None
                if pd.isna(members["province_achterstand"].iloc[0])
                else int(members["province_achterstand"].iloc[0]),
                "aandeel": members["province_population_share"].iloc[0],
            },
            "gemeenten": [
                {
                    "code": g["municipality"],
                    "naam": g["name"],
                    "inwoners": g["population"],
                    "aandeel": g["population_share"],
                    "achterstand": None if pd.isna(g["achterstand"]) else int(g["achterstand"]),
                    "taakstelling": g["taakstelling"],
                }
                for g in members.to_dict("records")
            ],
        }
        pdf = renderer.pdf("province.typ.j2", context, str(province))
        overviews[files[province]] = pdf
    notes = list(result.labels)
    unfilled = renderer.letterhead.unfilled()
    if unfilled:
        notes.append(
            f"the letterhead still has defaults in square brackets ({', '.join(unfilled)}): "
            "fill them in (--template, letterhead.toml) before the letters are sent"
        )
    return LetterSet(letters, overviews, rows, notes)


def _ses_column(inst: Instance, result: SchemeResult) -> dict[str, float]:
    column = result.spec.column
    if result.spec.rule != "spreidingswet" or column is None:
        return {}
    muni = inst.municipalities
    used = column if column in muni.columns else "ses_proxy"
    return dict(zip(muni["code"], muni[used].astype(float), strict=True))
