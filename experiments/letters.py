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
import tomllib
import traceback
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from asielplan.data.instance import Instance
from asielplan.errors import Issue
from asielplan.model.schemes import SchemeResult
from asielplan.model.taakstelling import PERIOD, peildatum

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


class Letterhead(BaseModel):
    """``letterhead.toml``: the sender, its address, where to ask, the signature
    (``{provincie}`` becomes the province's name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    afzender: str
    adres: list[str]
    contact: str
    ondertekening: list[str]


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
    """A period from ``YYYY-I`` / ``YYYY-II``; :class:`LetterError` otherwise."""
    match = PERIOD.match(code)
    if match is None:
        raise LetterError(
            [Issue("--period", None, None, "period", f"{code!r} is not YYYY-I or YYYY-II")]
        )
    year, half = int(match["year"]), match["half"]
    start = date(year, 1, 1) if half == "I" else date(year, 7, 1)
    day = peildatum(code)
    assert day is not None
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
            "achterstand": table["achterstand"],
            "check_date": period.check_date.isoformat(),
            "taakstelling": table["taakstelling"],
            "carried_voorsprong": table["carried_voorsprong"],
        }
    )
    rows["province_total"] = rows.groupby("province")["taakstelling"].transform("sum")
    rows["key"] = table["key"].round(6)
    if "amv" in table:
        rows["amv"] = table["amv"]
    rows["file"] = [pdf_name(c, n) for c, n in zip(rows["municipality"], rows["name"], strict=True)]
    return rows


def pdf_name(code: str, name: str) -> str:
    """``GM0363-Amsterdam.pdf``: the code and the name, other characters as hyphens."""
    safe = re.sub(r"[^\w]+", "-", str(name), flags=re.UNICODE).strip("-")
    return f"{code}-{safe}.pdf"


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

    return format_decimal(float(value), format="#,##0.0000", locale="nl_NL")


def _teken(value: Any) -> str:
    number = int(value)
    if number > 0:
        return f"+{_getal(number)}"
    if number < 0:
        return f"\u2212{_getal(-number)}"
    return "0"


def _procent(value: Any) -> str:
    from babel.numbers import format_decimal

    return format_decimal(100 * float(value), format="#,##0.000", locale="nl_NL") + " %"


def _datum(value: Any) -> str:
    from babel.dates import format_date

    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, "d MMMM y", locale="nl")


class Renderer:
    """Jinja2 templates (a user's folder first, then the shipped ones) to Typst to PDF."""

    def __init__(self, folder: Path | None = None) -> None:
        import jinja2

        self.folders = [p for p in (folder, TEMPLATES) if p is not None]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(p) for p in self.folders]),
            undefined=jinja2.StrictUndefined,
            finalize=typst_escape,
            autoescape=False,
            keep_trailing_newline=True,
        )
        self.env.filters.update(
            getal=_getal, decimaal=_decimaal, teken=_teken, procent=_procent, datum=_datum
        )
        self.letterhead = self._letterhead()

    def _letterhead(self) -> Letterhead:
        path = next(p / "letterhead.toml" for p in self.folders if (p / "letterhead.toml").exists())
        try:
            return Letterhead.model_validate(tomllib.loads(path.read_text(encoding="utf-8-sig")))
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise LetterError(
                [Issue(str(path), None, None, "letterhead", str(exc).splitlines()[0])]
            ) from None

    def sender(self, province: str) -> dict[str, Any]:
        head = self.letterhead
        return {
            "naam": head.afzender.format(provincie=province),
            "adres": [line.format(provincie=province) for line in head.adres],
            "contact": head.contact.format(provincie=province),
            "ondertekening": [line.format(provincie=province) for line in head.ondertekening],
        }

    def pdf(self, template: str, context: dict[str, Any], what: str) -> bytes:
        """Render ``template`` with ``context`` and set it; template and typesetting
        errors become a :class:`LetterError` naming the template file and line."""
        import jinja2
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
        except jinja2.UndefinedError as exc:
            file, line = self._where(exc, template)
            raise LetterError([Issue(file, line, None, "template", str(exc))]) from None
        try:
            return bytes(typst.compile(source.encode("utf-8")))
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
    synthetic = inst.meta.synthetic
    ses = _ses_column(inst, result)
    letters: dict[str, bytes] = {}
    for row in rows.to_dict("records"):
        code = str(row["municipality"])
        context = {
            "synthetisch": synthetic,
            "kenmerk": row["reference"],
            "datum": row["letter_date"],
            "peildatum": row["peildatum"],
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
                "uitwisseling": row["swap"],
                "sleutel": row["key"],
                "score": ses.get(code, 0.0),
                "score_bron": SES_PROXY_NL if result.labels else "CBS SES-WOA",
            },
            "achterstand": {"aantal": row["achterstand"], "controle": row["check_date"]},
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
    for province in sorted(rows["province"].unique()):
        members = rows[rows["province"] == province]
        name = str(members["province_name"].iloc[0])
        national_population = int(members["national_population"].iloc[0])
        inhabitants = int(members["population"].sum())
        context = {
            "synthetisch": synthetic,
            "onderwerp": subject,
            "peildatum": members["peildatum"].iloc[0],
            "periode": {"code": period.code, "label": period.label},
            "landelijk": {
                "aantal": int(members["national"].iloc[0]),
                "inwoners": national_population,
            },
            "provincie": {
                "naam": name,
                "totaal": int(members["taakstelling"].sum()),
                "inwoners": inhabitants,
                "achterstand": int(members["achterstand"].sum()),
                "aandeel": inhabitants / national_population,
            },
            "gemeenten": [
                {
                    "code": g["municipality"],
                    "naam": g["name"],
                    "inwoners": g["population"],
                    "aandeel": int(g["population"]) / national_population,
                    "achterstand": g["achterstand"],
                    "taakstelling": g["taakstelling"],
                }
                for g in members.to_dict("records")
            ],
        }
        pdf = renderer.pdf("province.typ.j2", context, str(province))
        overviews[pdf_name(str(province), name)] = pdf
    return LetterSet(letters, overviews, rows, list(result.labels))


def _ses_column(inst: Instance, result: SchemeResult) -> dict[str, float]:
    column = result.spec.column
    if result.spec.rule != "spreidingswet" or column is None:
        return {}
    muni = inst.municipalities
    used = column if column in muni.columns else "ses_proxy"
    return dict(zip(muni["code"], muni[used].astype(float), strict=True))
