"""Taakstelling letters: every number in each letter equals the legal computation, an
achterstand and a voorsprong read as computed by hand, the first page renders (not
blank, with its subject line), the national CSV equals what the letters print, no
household id appears, and bad input (a period, a missing national number, a broken
template) is a clear error that writes nothing."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pypdf
import pytest
from typer.testing import CliRunner

from asielplan.api import letters, write_letters
from asielplan.cli import app
from asielplan.data.instance import Instance, read_instance
from asielplan.errors import InputError
from asielplan.model.schemes import compute_scheme

from .placement_helpers import FIXTURES

TINY = FIXTURES / "tiny"
runner = CliRunner()


def text(pdf: bytes) -> str:
    """All text of a PDF, whitespace collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture(scope="module")
def real_instance(shared_data: Path) -> Instance:
    """10 generated households on the 342 real municipalities of 2024, with the KWB
    indicators (the Spreidingswet's stand-in score)."""
    from asielplan.api import generate

    return generate(
        seed=7,
        households=10,
        cbs_csv=shared_data / "nl_gemeenten_2024.csv",
        cbs_geometry=shared_data / "nl_gemeenten_2024.geojson",
        indicators=shared_data / "nl_gemeenten_2022_kwb_indicators_tmap.csv",
    ).instance


def nl(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def test_every_number_equals_the_legal_computation() -> None:
    """Tiny (60k/20k/15k/5k inhabitants, vg = 11) for 2026-I: each letter prints its
    population, the national population, vg, the exact quotient, the rounded-up number,
    the taakstelling and the province's total; these are the law's 7, 3, 2, 1 (provinces
    P1 = 10, P2 = 3), at most 2 pages and 200 kB each."""
    made = letters("2026-I", TINY, national=11)
    law = compute_scheme(read_instance(TINY), "population", 11).table
    table = made.table.set_index("municipality")
    assert table["taakstelling"].tolist() == law["taakstelling"].tolist() == [7, 3, 2, 1]
    assert table["province_total"].tolist() == [10, 10, 3, 3]
    for code, row in table.iterrows():
        pdf = made.municipalities[row["file"]]
        assert len(pdf) < 200_000 and len(pypdf.PdfReader(io.BytesIO(pdf)).pages) <= 2
        words = text(pdf)
        quotient = f"{row['quotient']:.4f}".replace(".", ",")
        for printed in (
            nl(row["population"]),
            "100.000",
            f"{nl(11)} × {nl(row['population'])} / 100.000 = {quotient}",
            f"naar boven afgerond {row['share']}",
            f"daarmee {row['taakstelling']} vergunninghouders",
            f"samen een taakstelling van {row['province_total']} vergunninghouders",
            "1 januari 2025",
            "Taakstelling huisvesting vergunninghouders eerste helft 2026",
            str(code),
        ):
            assert printed in words, (code, printed)
    assert set(made.provinces) == {"P1-P1.pdf", "P2-P2.pdf"}


def test_achterstand_and_voorsprong_by_hand(tmp_path: Path) -> None:
    """The previous half-year: Aastad had 10 and housed 7 (achterstand 3), Deveen had 5
    and housed 8 (voorsprong 3). Aastad: 7 + 3 = 10. Deveen: 1 - 3 = -2, so 0 and a
    voorsprong of 2 carried to the next period. Both letters say so, with the check date
    1 January 2026. (Beveen and Ceveen housed their numbers exactly.)"""
    previous = tmp_path / "vorige.csv"
    previous.write_text(
        "municipality,taakstelling,placed\nGM0001,10,7\nGM0002,2,2\nGM0003,1,1\nGM0004,5,8\n"
    )
    made = letters("2026-I", TINY, national=11, progress=previous)
    table = made.table.set_index("municipality")
    assert table.loc["GM0001", ["achterstand", "taakstelling"]].tolist() == [3, 10]
    assert table.loc["GM0004", ["achterstand", "taakstelling", "carried_voorsprong"]].tolist() == [
        -3,
        0,
        2,
    ]
    aastad = text(made.municipalities[table.loc["GM0001", "file"]])
    assert "Op 1 januari 2026 had uw gemeente een achterstand van 3 vergunninghouders" in aastad
    assert "daarmee 10 vergunninghouders" in aastad
    deveen = text(made.municipalities[table.loc["GM0004", "file"]])
    assert "een voorsprong van 3 vergunninghouders" in deveen
    assert (
        "schuift door naar de volgende periode" in deveen
        and "daarmee 0 vergunninghouders" in deveen
    )


def test_the_first_page_renders_with_its_subject(tmp_path: Path) -> None:
    """pdftoppm renders page 1 of a letter: an image that is not blank (dark pixels on
    the page), and page 1 carries the subject line."""
    made = letters("2026-II", TINY, national=11)
    pdf = next(iter(made.municipalities.values()))
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
        check=True,
    )
    from matplotlib.image import imread

    image = imread(tmp_path / "page-1.png")
    dark = (image[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5
    first = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Taakstelling huisvesting vergunninghouders tweede helft 2026" in " ".join(first.split())


def test_the_national_csv_is_what_the_letters_print(tmp_path: Path) -> None:
    """letters.csv holds one row per letter, and each row's numbers are printed in its
    letter; no household id of the instance appears in any letter or overview."""
    made = letters("2026-I", TINY, national=11)
    out = write_letters(made, read_instance(TINY), tmp_path / "brieven")
    table = pd.read_csv(out / "letters.csv")
    assert len(table) == 4 == len(list((out / "municipalities").glob("*.pdf")))
    households = read_instance(TINY).households["household_id"]
    for row in table.itertuples(index=False):
        words = text((out / "municipalities" / row.file).read_bytes())
        for number in (
            row.population,
            row.national_population,
            row.product,
            row.share,
            row.taakstelling,
            row.province_total,
            row.national,
        ):
            assert nl(int(number)) in words, (row.file, number)
        assert row.reference in words
    everything = [text(p.read_bytes()) for p in out.rglob("*.pdf")]
    for household in households:
        assert not any(re.search(rf"\b{household}\b", page) for page in everything)


def test_a_broken_template_names_its_file_and_line(tmp_path: Path) -> None:
    """A template with an undefined variable, or with a syntax error: the error names
    the template file and the line; nothing is written."""
    from asielplan.experiments.letters import TEMPLATES

    folder = tmp_path / "mijn-sjablonen"
    shutil.copytree(TEMPLATES, folder)
    letter = folder / "letter.typ.j2"
    lines = letter.read_text().splitlines()
    lines[20] = "Geacht college van {{ gemeente.nam }},"
    letter.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as error:
        letters("2026-I", TINY, national=11, template=folder)
    issue = error.value.issues[0]
    assert issue.file.endswith("letter.typ.j2") and issue.row == 21 and "nam" in issue.message
    lines[20] = "{% if gemeente.naam %} zonder einde"
    letter.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        [
            "letters",
            str(TINY),
            "--period",
            "2026-I",
            "--national",
            "11",
            "--template",
            str(folder),
            "--out",
            str(out),
        ],
    )
    assert (
        result.exit_code == 1 and "letter.typ.j2" in result.output and "template" in result.output
    )
    assert not out.exists()


def test_bad_period_national_and_scheme_are_refused(tmp_path: Path) -> None:
    """A period that is not YYYY-I / YYYY-II, an instance without a national number
    and none given, and a research scheme are each a clear error."""
    from .reception_helpers import write_reception_instance

    with pytest.raises(InputError, match="YYYY-I or YYYY-II"):
        letters("2026-III", TINY, national=11)
    with pytest.raises(InputError, match="national number"):
        letters("2026-I", write_reception_instance(tmp_path / "r"))
    with pytest.raises(InputError, match="research scheme"):
        letters("2026-I", TINY, national=11, scheme="exact_total")


def test_letters_on_the_real_municipalities(real_instance: Instance) -> None:
    """vg = 21,200 for 2026-I over the 342 municipalities of 2024: 342 letters and 12
    province overviews; Amsterdam's letter prints ceil(21,200 x 931,298 / 17,942,942)."""
    made_instance = real_instance
    with pytest.raises(InputError, match="population is of 2024-01-01, but the law takes"):
        letters("2026-I", made_instance, national=21_200)
    made = letters("2026-I", made_instance, national=21_200, population_date_differs=True)
    assert len(made.municipalities) == 342 and len(made.provinces) == 12
    amsterdam = made.table.set_index("municipality").loc["GM0363"]
    expected = -(-21_200 * 931_298 // 17_942_942)
    assert amsterdam["taakstelling"] == expected == 1101
    words = text(made.municipalities[amsterdam["file"]])
    assert (
        "931.298" in words and "17.942.942" in words and "daarmee 1.101 vergunninghouders" in words
    )
    flat = " ".join(words.split())
    assert "SYNTHETISCH" not in flat  # real municipalities; only the households are made up
    assert "inwonertallen op 1 januari 2024; dat is niet de peildatum van de wet" in flat
    assert "Inwoners van de gemeente op 1 januari 2024 (iG)" in flat
    legal = " ".join(
        text(
            letters("2025-I", made_instance, national=21_200).municipalities[amsterdam["file"]]
        ).split()
    )
    assert "beide op 1 januari 2024" in legal and "Uw gemeente had op die datum 931.298" in legal
    assert np.all(made.table["taakstelling"] > 0)


def test_an_achterstand_not_given_is_not_stated_as_zero() -> None:
    """Without a progress or achterstand table nobody measured the achterstand: the
    letter says it was not given (never "geen achterstand en geen voorsprong"), the
    annex says "niet opgegeven" and letters.csv leaves the cell empty."""
    made = letters("2026-I", TINY, national=11)
    assert made.table["achterstand"].isna().all()
    for pdf in made.municipalities.values():
        words = " ".join(text(pdf).split())
        assert "geen achterstand en geen voorsprong" not in words
        assert "geen achterstand of voorsprong op de taakstelling van de vorige periode" in words
        assert "niet opgegeven" in words


def test_the_spreidingswet_letter_prints_the_share_in_the_province(real_instance: Instance) -> None:
    """Amsterdam's Spreidingswet letter prints its share of Noord-Holland (its key over
    the province's keys: 5,405 of 16,290 places, 33.18 %), not its national key share
    (6.34 %, printed under its own label); letters.csv holds both and every letter's
    printed share is recomputed from the keys."""
    inst = real_instance
    made = letters("2026-I", inst, scheme="spreidingswet")  # it names no peildatum
    table = made.table
    recomputed = table["key"] / table.groupby("province")["key"].transform("sum")
    assert np.allclose(table["province_share"], recomputed, atol=5e-7)  # rounded to 6 places
    amsterdam = table.set_index("municipality").loc["GM0363"]
    assert (amsterdam["taakstelling"], amsterdam["province_total"]) == (5405, 16290)
    assert abs(amsterdam["province_share"] - 5405 / 16290) < 0.001
    words = " ".join(text(made.municipalities[amsterdam["file"]]).split())
    assert "in de provincie is 33,182 %" in words
    assert "in de landelijke verdeelsleutel is het 6,336 %" in words
    assert "vóór [datum] te laten weten" in words  # the deadline, a default to fill in


def test_a_population_without_a_date_is_not_dated_by_the_letter() -> None:
    """The tiny instance does not say of which date its populations are: the letter says
    so ("niet opgegeven") and never claims the legal peildatum for them; its fictional
    municipalities carry the stamp that says what is made up."""
    made = letters("2026-I", TINY, national=11)
    assert (made.table["population_date"] == "").all()
    words = " ".join(text(next(iter(made.municipalities.values()))).split())
    assert "De datum van de gebruikte inwonertallen is niet opgegeven" in words
    assert "Inwoners van de gemeente volgens de gegevens (datum niet opgegeven) (iG)" in words
    assert "had op die datum" not in words
    assert "SYNTHETISCH: fictieve gemeenten en inwonertallen, geen besluit" in words


def test_the_formal_parts_of_a_decision_come_from_the_letterhead(tmp_path: Path) -> None:
    """A sender's letterhead with every formal part filled in: its logo (an image of the
    folder, the one file the letter may show), contact person, phone, e-mail, the
    recipient's reference, the annexes, who signs and the bezwaar clause (Awb art. 6:7,
    six weeks) all appear in the letter, and no default is left to warn about; the
    shipped letterhead's defaults are each named in a warning."""
    from PIL import Image

    from asielplan.experiments.letters import TEMPLATES

    warned = letters("2026-I", TINY, national=11).notes
    assert any("contactpersoon, telefoon, email, uw_kenmerk" in note for note in warned)
    folder = tmp_path / "provincie"
    folder.mkdir()
    Image.new("RGB", (40, 20), (0, 80, 160)).save(folder / "logo.png")
    head = (TEMPLATES / "letterhead.toml").read_text()
    for old, new in (
        ('logo = ""', 'logo = "logo.png"'),
        ("[naam contactpersoon]", "J. de Vries"),
        ("[telefoonnummer]", "050 123 45 67"),
        ("[e-mailadres]", "taakstelling@provincie.example"),
        ("[uw kenmerk]", "geen"),
        ('naam = "[naam]"', 'naam = "A. Jansen"'),
        ('functie = "[functie]"', 'functie = "gedeputeerde"'),
        ("[bestuursorgaan en adres voor bezwaar]", "Gedeputeerde Staten, Postbus 1"),
        ("[datum]", "1 maart 2026"),
    ):
        head = head.replace(old, new)
    (folder / "letterhead.toml").write_text(head)
    made = letters("2026-I", TINY, national=11, template=folder)
    assert not any("square brackets" in note for note in made.notes)
    pdf = next(iter(made.municipalities.values()))
    words = " ".join(text(pdf).split())
    for part in (
        "J. de Vries",
        "050 123 45 67",
        "taakstelling@provincie.example",
        "Uw kenmerk geen",
        "Bijlage(n) Berekening stap voor stap",
        "A. Jansen gedeputeerde",
        "binnen zes weken",
        "artikel 6:7 van de Algemene wet bestuursrecht) bij Gedeputeerde Staten, Postbus 1",
    ):
        assert part in words, part
    images = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert len(images) == 1


MONTHS = "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
NOT_DATA = [  # line breaks may fall anywhere in a phrase: \s+ between its words
    rf"\d{{1,2}}\s+({MONTHS})(\s+\d{{4}})?",  # dates: the letter's, the peildatum, check dates
    r"(eerste|tweede)\s+helft\s+\d{4}",  # the period's label
    r"artikel(en)?\s+[\d:]+(\s+tot\s+en\s+met\s+\d+)?",  # article references
    r"Huisvestingswet\s+2014",
    r"pagina\s+\d+\s+van\s+\d+",
    r"(TVH|SPW)-\d{4}-I+-GM\d+",  # the reference
    r"\b\d{4}-I{1,2}\b",  # the period's code (an overview's footer)
    r"GM\d{4}|PV\d{2}",  # codes
    r"CBS-kerncijfers\s+\d{4}",  # the source of the Spreidingswet's stand-in score
    r"\(1\s+\+",  # the Spreidingswet's formula: population x (1 + score)
]
NUMBER = re.compile(r"[−+-]?\d+(?:\.\d{3})*(?:,\d+)?")


def printed_numbers(words: str, row: dict) -> list[str]:
    """The numbers a letter prints about its data: every number of its text but dates,
    article numbers, page numbers, the period, codes, names and the annex's step numbers."""
    for fixed in (str(row["name"]), str(row["province_name"])):
        words = words.replace(fixed, " ")
    for pattern in NOT_DATA:
        words = re.sub(pattern, " ", words)
    steps = r"Landelijk|Inwoners|vg|\(vg|Naar|Uitwisseling|Achterstand|Taakstelling"
    words = re.sub(rf"(?m)^[1-9]\s+(?={steps})", " ", words)  # the annex's step column
    return NUMBER.findall(words)


def as_number(token: str) -> Decimal:
    return Decimal(token.replace("−", "-").replace("+", "").replace(".", "").replace(",", "."))


def allowed_numbers(row: dict) -> set[Decimal]:
    """Every number letters.csv holds for a municipality, as the letters print them
    (whole numbers, the quotient to 4 decimals, shares as percentages to 3)."""
    out = set()
    for column in (
        "national",
        "population",
        "national_population",
        "product",
        "share",
        "swap",
        "achterstand",
        "taakstelling",
        "carried_voorsprong",
        "province_total",
        "amv",
    ):
        value = row.get(column)
        if value is not None and not pd.isna(value):
            out |= {Decimal(int(value)), Decimal(-int(value))}
    out.add(Decimal(str(row["quotient"])).quantize(Decimal("0.0001")))
    for column in ("key", "province_share"):
        out.add((Decimal(str(row[column])) * 100).quantize(Decimal("0.001")))
    if "ses_score" in row and not pd.isna(row["ses_score"]):
        out.add(Decimal(str(row["ses_score"])).quantize(Decimal("0.0001")))
    return out


def pdf_words(pdf: bytes) -> str:
    """A PDF's text as poppler's pdftotext reads it, rows kept as laid out (four times
    faster than pypdf on the 342 letters)."""
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def check_read_back(made, law: bool, vg: int | None = None) -> int:
    """Every number each letter prints is one of its row's in letters.csv; by the law
    each row's share is ceil(vg * iG / iN) recomputed from the populations. Returns the
    letters checked."""
    rows = made.table.to_dict("records")
    with ThreadPoolExecutor(max_workers=2) as pool:  # pdftotext: a process per letter
        texts = list(pool.map(pdf_words, (made.municipalities[row["file"]] for row in rows)))
    for row, words in zip(rows, texts, strict=True):
        if law:
            assert row["share"] == -(
                -row["national"] * row["population"] // row["national_population"]
            )
        allowed = allowed_numbers(row)
        printed = printed_numbers(words, row)
        assert printed, row["municipality"]
        stray = [token for token in printed if as_number(token) not in allowed]
        assert not stray, (row["municipality"], stray)
    return len(rows)


def check_overviews(made) -> int:
    """Every number a province's overview prints is one of its municipalities' or its
    province's numbers in letters.csv (populations, their shares of the national one,
    achterstand, taakstelling, the province's sums). Returns the overviews checked."""
    rows = made.table
    checked = 0
    for pdf in made.provinces.values():
        words = pdf_words(pdf)
        (province,) = [p for p in rows["province_name"].unique() if f"provincie {p}" in words]
        members = rows[rows["province_name"] == province]
        allowed = {Decimal(int(members["national"].iloc[0]))}
        for column in ("national_population", "province_population", "province_total"):
            allowed.add(Decimal(int(members[column].iloc[0])))
        for column in ("population", "taakstelling", "achterstand", "province_achterstand"):
            for value in members[column].dropna():
                allowed |= {Decimal(int(value)), Decimal(-int(value))}
        for column in ("population_share", "province_population_share"):
            for value in members[column]:
                allowed.add((Decimal(str(value)) * 100).quantize(Decimal("0.001")))
        for name in members["name"]:
            words = words.replace(str(name), " ")
        words = words.replace(str(province), " ")
        printed = printed_numbers(words, members.iloc[0].to_dict())
        assert printed, province
        stray = [token for token in printed if as_number(token) not in allowed]
        assert not stray, (province, stray)
        checked += 1
    return checked


def test_every_printed_number_is_in_letters_csv_by_hand(tmp_path: Path) -> None:
    """The tiny letters with an achterstand and a voorsprong: every number printed in
    each PDF is one of that municipality's numbers in letters.csv."""
    previous = tmp_path / "vorige.csv"
    previous.write_text(
        "municipality,taakstelling,placed\nGM0001,10,7\nGM0002,2,2\nGM0003,1,1\nGM0004,5,8\n"
    )
    made = letters("2026-I", TINY, national=11, progress=previous)
    assert check_read_back(made, law=True) == 4
    assert check_overviews(made) == 2
    assert check_read_back(letters("2026-I", TINY, national=11), law=True) == 4


def test_every_printed_number_of_the_342_letters_is_in_letters_csv(
    real_instance: Instance,
) -> None:
    """On the real municipalities, for 2025-I (the data's peildatum) and 2026-I (with the
    data's date said), with and without progress, by the law and by the Spreidingswet:
    every number of every one of the 342 letters is in letters.csv, and by the law each
    share is ceil(vg * iG / iN)."""
    inst = real_instance
    codes = inst.municipalities["code"]
    table = pd.DataFrame({"municipality": codes, "taakstelling": 10, "placed": range(len(codes))})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "voortgang.csv"
        table.assign(placed=table["placed"] % 21).to_csv(path, index=False)
        runs = [
            letters("2025-I", inst, national=15_000),
            letters("2026-I", inst, national=13_000, progress=path, population_date_differs=True),
        ]
    for made in runs:
        assert check_read_back(made, law=True) == 342
        assert check_overviews(made) == 12
    assert check_read_back(letters("2026-I", inst, scheme="spreidingswet"), law=False) == 342
