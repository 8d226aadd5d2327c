"""Build the municipality table from the CBS municipal table and geometry.

Reads files in the form of ``nl_gemeenten_2024.csv`` / ``.geojson`` (CBS Kerncijfers
wijken en buurten with the CBS region classification; see the data dictionary) from a
path the user gives, and optionally the CBS KWB 2022 indicator table for the municipal
employment rate. Nothing from those files is shipped with the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from asielplan.errors import InputError, Issue

# COA couples within five regions made of provinces (COA, koppeling van vergunninghouders aan
# gemeenten, https://www.coa.nl, as of 2024; the grouping is not in a law: unverified, a setting).
COA_REGIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "COA-GFD": ("Groningen-Friesland-Drenthe", ("PV20", "PV21", "PV22")),
    "COA-OG": ("Overijssel-Gelderland", ("PV23", "PV25")),
    "COA-FUN": ("Flevoland-Utrecht-Noord-Holland", ("PV24", "PV26", "PV27")),
    "COA-ZHZ": ("Zuid-Holland-Zeeland", ("PV28", "PV29")),
    "COA-NBL": ("Noord-Brabant-Limburg", ("PV30", "PV31")),
}
PROVINCE_TO_COA = {pv: code for code, (_, pvs) in COA_REGIONS.items() for pv in pvs}

# the population column names its date: population_YYYY_MM_DD (CBS: on 1 January)
POPULATION_COLUMN = re.compile(r"population_(\d{4})_(\d{2})_(\d{2})")
CBS_COLUMNS = {
    "gm_code": "code",
    "gm_name": "name",
    "province_code": "province",
    "province_name": "province_name",
    "corop_code": "corop",
    "amr_code": "amr",
    "amr_name": "amr_name",
    "urbanity_class_1_5": "urbanity",
    "pct_origin_outside_europe": "pct_origin_outside_europe",
}
REGION_LEVELS = ("province", "coa_region", "corop", "amr")


@dataclass
class CbsMunicipalities:
    """The municipality table, the shapes, and notes on what was derived or imputed."""

    table: pd.DataFrame
    shapes: Any  # geopandas.GeoDataFrame with code and geometry (WGS84)
    population_date: str  # the date of the population column, YYYY-MM-DD
    notes: list[str] = field(default_factory=list)


def load_cbs_municipalities(
    csv_path: str | Path,
    geojson_path: str | Path,
    indicators_path: str | Path | None = None,
) -> CbsMunicipalities:
    """Read the CBS municipal table and geometry into the instance's municipality format.

    Region levels: ``province``, ``coa_region`` (derived from the province), ``corop`` and
    ``amr`` (arbeidsmarktregio). Centroids are computed in an equal-area projection.
    When ``indicators_path`` is given, ``employment_rate`` is joined on the code;
    municipalities missing there (mergers after the indicator year) get the
    population-weighted mean of their labour-market region, and a note says so.
    """
    import geopandas as gpd

    csv_path, geojson_path = Path(csv_path), Path(geojson_path)
    issues: list[Issue] = []
    raw = _read_csv(csv_path, issues)
    missing = [c for c in CBS_COLUMNS if raw is not None and c not in raw.columns]
    issues += [
        Issue(csv_path.name, None, c, "required column", "the column is missing") for c in missing
    ]
    dated = [] if raw is None else [c for c in raw.columns if POPULATION_COLUMN.fullmatch(c)]
    if raw is not None and len(dated) != 1:
        issues.append(
            Issue(
                csv_path.name,
                None,
                "population_YYYY_MM_DD",
                "required column",
                f"one population column named by its date is needed, found {len(dated)}"
                + (f" ({', '.join(dated)})" if dated else ""),
            )
        )
    try:
        shapes = gpd.read_file(geojson_path)
    except Exception as exc:
        issues.append(Issue(geojson_path.name, None, None, "readable file", str(exc)))
        shapes = None
    if shapes is not None and "gm_code" not in shapes.columns:
        issues.append(
            Issue(geojson_path.name, None, "gm_code", "required column", "the property is missing")
        )
    if issues:
        raise InputError(issues, str(csv_path))
    assert raw is not None and shapes is not None

    year, month, day = POPULATION_COLUMN.fullmatch(dated[0]).groups()  # type: ignore[union-attr]
    table = raw[[*CBS_COLUMNS, dated[0]]].rename(columns={**CBS_COLUMNS, dated[0]: "population"})
    table["population"] = pd.to_numeric(table["population"]).astype("int64")
    table["urbanity"] = pd.to_numeric(table["urbanity"]).astype("int64")
    table["pct_origin_outside_europe"] = pd.to_numeric(table["pct_origin_outside_europe"])
    table["coa_region"] = table["province"].map(PROVINCE_TO_COA)
    unknown_pv = table["coa_region"].isna()
    if unknown_pv.any():
        raise InputError(
            [
                Issue(
                    csv_path.name,
                    int(i) + 1,
                    "province_code",
                    "COA region",
                    f"province {table['province'].iloc[i]!r} belongs to no COA region",
                )
                for i in unknown_pv[unknown_pv].index
            ],
            str(csv_path),
        )

    shapes = shapes.rename(columns={"gm_code": "code"})[["code", "geometry"]]
    if shapes.crs is None:
        shapes = shapes.set_crs("EPSG:4326")
    centroids = shapes.geometry.to_crs("EPSG:3035").centroid.to_crs("EPSG:4326")
    coords = pd.DataFrame(
        {"code": shapes["code"], "lat": centroids.y.round(5), "lon": centroids.x.round(5)}
    )
    table = table.merge(coords, on="code", how="left", validate="one_to_one")
    no_shape = table["lat"].isna()
    if no_shape.any():
        raise InputError(
            [
                Issue(
                    geojson_path.name,
                    None,
                    "gm_code",
                    "geometry for every municipality",
                    f"no shape for {code}",
                )
                for code in table.loc[no_shape, "code"]
            ],
            str(geojson_path),
        )

    notes = [
        f"{len(table)} municipalities, population {int(table['population'].sum()):,} "
        f"on {year}-{month}-{day}"
    ]
    if indicators_path is not None:
        table, more = _join_employment(table, Path(indicators_path))
        notes += more
    order = ["code", "name", "population", "lat", "lon", *REGION_LEVELS, "urbanity"]
    if "employment_rate" in table.columns:
        order.append("employment_rate")
    rest = [c for c in table.columns if c not in order]
    return CbsMunicipalities(
        table[order + rest].reset_index(drop=True),
        shapes.to_crs("EPSG:4326"),
        f"{year}-{month}-{day}",
        notes,
    )


def _read_csv(path: Path, issues: list[Issue]) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        issues.append(Issue(path.name, None, None, "readable file", str(exc)))
        return None


def _join_employment(table: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
    issues: list[Issue] = []
    indicators = _read_csv(path, issues)
    if indicators is not None:
        issues += [
            Issue(path.name, None, c, "required column", "the column is missing")
            for c in ("code", "employment_rate")
            if c not in indicators.columns
        ]
    if issues:
        raise InputError(issues, str(path))
    assert indicators is not None
    out = table.copy()
    notes = []
    for column, source in INDICATORS.items():
        if source not in indicators.columns:
            continue
        values = indicators.set_index("code")[source].pipe(pd.to_numeric, errors="coerce")
        out[column] = out["code"].map(values).astype(float)
        missing = out[column].isna()
        if missing.any():
            known = out[~missing]
            weighted = (known[column] * known["population"]).groupby(known["amr"]).sum()
            amr_mean = weighted / known.groupby("amr")["population"].sum()
            out.loc[missing, column] = out.loc[missing, "amr"].map(amr_mean).round(1)
            codes = ", ".join(out.loc[missing, "code"])
            notes.append(f"{column} imputed from the labour-market region for: {codes}")
        if column == "employment_rate":
            out["employment_rate_imputed"] = missing
    out["ses_proxy"] = ses_proxy(out)
    notes.append(
        "ses_proxy: a stand-in for the CBS SES-WOA score from the KWB 2022 indicators "
        f"({', '.join(c for c in SES_PROXY_COLUMNS if c in out.columns)}), not the score itself"
    )
    return out, notes


# KWB 2022 columns joined on the code: our name -> the indicator table's name
INDICATORS = {
    "employment_rate": "employment_rate",
    "woz_value": "dwelling_value",
    "income_low": "income_low",
    "income_high": "income_high",
    "edu_appl_sci": "edu_appl_sci",
}
# what the SES proxy is made of (a higher value is a higher socio-economic status; the
# share of low incomes counts negatively)
SES_PROXY_COLUMNS = ("employment_rate", "woz_value", "income_high", "edu_appl_sci", "income_low")
SES_PROXY_SPREAD = 0.2  # standard deviation of the proxy, about that of SES-WOA scores


def ses_proxy(table: pd.DataFrame) -> pd.Series:
    """A stand-in for the CBS SES-WOA score: the mean of the z-scores of the municipal
    indicators present (employment rate, mean WOZ value, share of high incomes, share
    with higher education, minus the share of low incomes), scaled to a standard
    deviation of 0.2 and centred on 0. Labelled as a proxy wherever it is used."""
    parts = []
    for column in SES_PROXY_COLUMNS:
        if column in table.columns:
            values = table[column].astype(float)
            z = (values - values.mean()) / values.std(ddof=0)
            parts.append(-z if column == "income_low" else z)
    if not parts:
        raise ValueError("no indicator column for the SES proxy")
    mean = sum(parts) / len(parts)
    assert isinstance(mean, pd.Series)
    return (SES_PROXY_SPREAD * (mean - mean.mean()) / mean.std(ddof=0)).round(4)
