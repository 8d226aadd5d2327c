"""Quota schemes: how a national number is split over municipalities, as data plus a rule.

A scheme (:class:`~asielplan.config.SchemeSpec`) names a rule and its data: key terms
(weighted shares of municipal columns), region totals, floors and caps per 1,000
inhabitants, credit for places already provided, and the rounding. The shipped schemes
are in :data:`BUILT_IN` (each with its source and what is unverified); a run
configuration adds its own as ``[schemes.NAME]`` without code. Rules that need code are
the functions of :data:`KEYS`. ``docs/schemes.md`` states every scheme's formula.

:func:`compute_scheme` gives, per municipality, the key (shares adding up to 1), the
exact quota, the whole number, and the taakstelling after the agreed swaps (art. 29(2),
law only) and the achterstand carried from the previous period, plus the
:class:`~asielplan.model.taakstelling.Basis` a letter cites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from asielplan.config import KeyTerm, SchemeSpec
from asielplan.data.instance import Instance
from asielplan.errors import Issue
from asielplan.model.taakstelling import (
    Basis,
    largest_remainder,
    peildatum,
    round_up_share,
)

LAW_SOURCE = (
    "Huisvestingswet 2014, art. 28-30: vg * iG / iN rounded up (art. 29(1)); swaps between "
    "municipalities with an unchanged sum (art. 29(2)); the province's population for "
    "merged municipalities (art. 30)"
)
# Spreidingswet (Wet gemeentelijke taak mogelijk maken asielopvangvoorzieningen, Stb.
# 2024, 13): the provincial numbers of places to realise by 1 July 2025, as published
# (provinces and press, 2024); they add up to the national 96,000. A test checks them
# against ../shared/data/spreidingswet_2024_opgave_provincies.csv.
SPREIDINGSWET_PROVINCES = {
    "PV20": 2715,
    "PV21": 3391,
    "PV22": 2691,
    "PV23": 6325,
    "PV24": 2441,
    "PV25": 11704,
    "PV26": 8207,
    "PV27": 16290,
    "PV28": 19776,
    "PV29": 2109,
    "PV30": 14689,
    "PV31": 5662,
}
SPREIDINGSWET_NATIONAL = 96_000
SPREIDINGSWET_AMV = 8_140

BUILT_IN: dict[str, SchemeSpec] = {
    "population": SchemeSpec(
        rule="law",
        description="The legal taakstelling: the national number in proportion to the "
        "population on the peildatum, each municipality's number rounded up.",
        source=LAW_SOURCE,
        rounding="up",
    ),
    "exact_total": SchemeSpec(
        rule="exact_total",
        description="Research alternative: in proportion to population, largest "
        "remainder, adding up to exactly the national number.",
        source="Hamilton's method; the rule of asielplan before the law's rounding up",
    ),
    "spreidingswet": SchemeSpec(
        rule="spreidingswet",
        column="ses_score",
        description="Spreidingswet: population x (1 + SES score), normalised; the "
        "provincial totals are binding, the municipal split is indicative.",
        source="Wet gemeentelijke taak mogelijk maken asielopvangvoorzieningen (Stb. "
        "2024, 13): 96,000 places by 1 July 2025 of which 8,140 for unaccompanied minors; "
        "provincial numbers as published in 2024",
        unverified="the exact formula (press figures fit population x (1 + SES-WOA) "
        "normalised); the SES-WOA score itself (CBS 85163NED ff.) is not in the shared "
        "data: give it as municipalities.ses_score, or the KWB 2022 proxy ses_proxy is used "
        "and labelled",
        region_level="province",
        region_totals=SPREIDINGSWET_PROVINCES,
        amv_share=SPREIDINGSWET_AMV / SPREIDINGSWET_NATIONAL,
        national=SPREIDINGSWET_NATIONAL,
    ),
    "labour_market": SchemeSpec(
        rule="key",
        key=(
            KeyTerm(column="employment_rate", weight=0.43, per_capita=True),
            KeyTerm(column="population", weight=0.37),
            KeyTerm(column="reception_places", weight=0.20, inverse=True),
        ),
        description="A Swedish kind of key: the labour market (employed inhabitants), "
        "the population, and earlier reception (fewer for municipalities with more "
        "reception places per inhabitant), weighted 43 / 37 / 20.",
        source="Sweden, bosättningslagen: länstal 2019 weighted labour market, population "
        "and earlier reception 43 / 37 / 20 (Lag (2016:38) om mottagande av vissa nyanlända "
        "invandrare för bosättning; Migrationsverket, länstal 2019)",
        unverified="how earlier reception enters (here: inversely to reception places per "
        "inhabitant, from the sites table when municipalities has no reception_places)",
    ),
    "regional_pool": SchemeSpec(
        rule="regional_pool",
        region_level="coa_region",
        municipal="free",
        description="Regional pooling: each region's total by the population key; the "
        "split over its municipalities is left to the placement (ACVZ advice 4c).",
        source="ACVZ 'Pieken en dalen' (2017) recommendation 4c; Huisvestingswet art. "
        "29(2); Denmark's regional quotas",
        unverified="the region level (COA regions here; set region_level) and the band "
        "on the region totals",
    ),
    "denmark": SchemeSpec(
        rule="denmark",
        column="pct_origin_outside_europe",
        description="Denmark's kommunekvoter: a municipality's share is 2p - m (p its "
        "share of the population, m its share of residents of non-European origin), "
        "negatives set to 0, renormalised.",
        source="Denmark, Integrationsloven § 7 (kommunekvoter; the consolidated act in force)",
        unverified="m is approximated by the residents of non-European origin (CBS), not "
        "Denmark's refugees and immigrants from non-Western countries",
    ),
    "koenigstein": SchemeSpec(
        rule="key",
        key=(
            KeyTerm(column="woz_value", weight=2 / 3, per_capita=True),
            KeyTerm(column="population", weight=1 / 3),
        ),
        description="Germany's Königsteiner Schlüssel: 2/3 share of tax revenue, 1/3 "
        "share of the population.",
        source="Königsteiner Schlüssel (Königsteiner Staatsabkommen 1949; published yearly by "
        "the GWK, https://www.gwk-bonn.de)",
        unverified="tax revenue is approximated by population x the mean WOZ value of "
        "dwellings (municipalities.woz_value, CBS KWB)",
    ),
}


@dataclass
class SchemeResult:
    """A scheme's numbers for one instance: per municipality its key, quota, number and
    taakstelling; the region totals (when the scheme has them); the basis a letter
    cites; and labels for stand-in data (a proxy column) that every output repeats."""

    name: str
    spec: SchemeSpec
    table: pd.DataFrame
    basis: Basis
    region_totals: pd.DataFrame | None = None
    labels: list[str] = field(default_factory=list)


class SchemeError(Exception):
    """A scheme cannot be computed on this instance; ``issues`` says why, all at once."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


Schemes = Mapping[str, SchemeSpec]  # a configuration's own schemes (``RunConfig.schemes``)


def schemes_of(own: Schemes | None = None) -> dict[str, SchemeSpec]:
    """The shipped schemes and a configuration's own (one of the same name replaces the
    shipped one, e.g. with other weights)."""
    return {**BUILT_IN, **(own or {})}


def check_scheme(
    inst: Instance, name: str, own: Schemes | None = None, given_as: str | None = None
) -> list[Issue]:
    """Why ``name`` cannot be computed on ``inst``: unknown name, a column the
    municipality table lacks, a region level it lacks, region totals that name unknown
    regions or miss some. ``given_as``: the option the name came from (``--scheme``), so
    that an unknown name blames it, not the configuration."""
    where = f"schemes.{name}"
    specs = schemes_of(own)
    if name not in specs:
        issue = f"no scheme {name!r}; known: {', '.join(sorted(specs))}"
        if given_as is not None:
            return [Issue(given_as, None, None, "known scheme", issue)]
        return [Issue("configuration", None, "placement.scheme", "known scheme", issue)]
    spec = specs[name]
    columns = municipal_columns(inst)
    file = inst.files.get("municipalities", "municipalities")
    issues = []
    if spec.rule not in KEYS:
        issues.append(
            Issue(
                "configuration",
                None,
                f"{where}.rule",
                "known rule",
                f"no rule {spec.rule!r}; registered: {', '.join(sorted(KEYS))}",
            )
        )
    needed = [t.column for t in spec.key] + [c for c in (spec.column, spec.credit_column) if c]
    for column in needed:
        if column == "ses_score" and "ses_proxy" in columns:
            continue
        if column not in columns:
            issues.append(
                Issue(
                    file,
                    None,
                    column,
                    "scheme column",
                    f"scheme {name!r} uses column {column!r}, which the municipality table "
                    "does not have",
                )
            )
        elif not pd.api.types.is_numeric_dtype(columns[column]):
            issues.append(Issue(file, None, column, "scheme column", "not a number column"))
    level = spec.region_level
    if level is not None:
        if level not in inst.municipalities.columns:
            issues.append(
                Issue(
                    "configuration",
                    None,
                    f"{where}.region_level",
                    "known region level",
                    f"{level!r} is not a column of the municipality table",
                )
            )
        elif spec.region_totals:
            regions = set(inst.municipalities[level].astype(str))
            unknown = sorted(set(spec.region_totals) - regions)
            missing = sorted(regions - set(spec.region_totals))
            if unknown or missing:
                issues.append(
                    Issue(
                        "configuration",
                        None,
                        f"{where}.region_totals",
                        "totals per region",
                        f"unknown regions {unknown}, regions without a total {missing}",
                    )
                )
    return issues


def municipal_columns(inst: Instance) -> pd.DataFrame:
    """The municipality table with the columns a key may derive from other tables:
    ``reception_places`` (the capacity of the instance's reception sites per
    municipality) when the table has no such column."""
    muni = inst.municipalities.reset_index(drop=True)
    if "reception_places" not in muni.columns:
        places = inst.sites.groupby("municipality")["capacity"].sum()
        muni = muni.assign(reception_places=muni["code"].map(places).fillna(0).astype(float))
    return muni


def compute_scheme(
    inst: Instance,
    name: str,
    national: int | None = None,
    own: Schemes | None = None,
    given_as: str | None = None,
) -> SchemeResult:
    """The numbers of scheme ``name`` on ``inst`` for ``national`` (default: the
    scheme's own national number, else the instance's ``[taakstelling].national``);
    ``own``: the configuration's schemes; ``given_as``: the option that named the scheme
    (:func:`check_scheme`)."""
    issues = check_scheme(inst, name, own, given_as)
    spec = schemes_of(own).get(name)
    spec_national = spec.national if spec is not None else None
    taak = inst.meta.taakstelling
    vg = national if national is not None else spec_national or (taak.national if taak else None)
    if vg is None:
        issues.append(
            Issue(
                "instance.toml",
                None,
                "taakstelling.national",
                "national number",
                "no national number: set [taakstelling] national or give one",
            )
        )
    if issues:
        raise SchemeError(issues)
    assert spec is not None and vg is not None
    muni = municipal_columns(inst)
    population = _population(inst, muni)
    labels: list[str] = []
    key, quota, share, totals = KEYS[spec.rule](
        spec, muni.assign(population=population), vg, labels
    )
    is_law = spec.rule == "law"
    swap = _by_code(muni, inst.table("swaps") if is_law else None, "change")
    carried = _by_code(muni, inst.achterstand, "achterstand")
    below = (share + swap) < 0
    if below.any():
        file = inst.files.get("swaps", "swaps")
        raise SchemeError(
            [
                Issue(
                    file,
                    None,
                    "change",
                    "swap within the taakstelling",
                    f"{code} gives away {-int(change)} while its taakstelling by the law is "
                    f"{int(own)}: a swap cannot make a number negative",
                )
                for code, change, own in zip(
                    muni.loc[below, "code"], swap[below], share[below], strict=True
                )
            ]
        )
    raw = share + swap + carried
    table = pd.DataFrame(
        {
            "municipality": muni["code"],
            "name": muni["name"],
            "population": population,
            "population_quota": population * vg / population.sum(),
            "key": key,
            "quota": quota,
            "share": share,
            "swap": swap,
            "achterstand": carried,
            "taakstelling": raw.clip(lower=0),
            "carried_voorsprong": (-raw).clip(lower=0),
        }
    )
    table["per_1000"] = (1000 * table["taakstelling"] / table["population"]).round(6)
    if spec.region_level is not None:
        table.insert(2, "region", muni[spec.region_level].astype(str))
    if spec.amv_share is not None:
        amv_total = round(spec.amv_share * int(share.sum()))
        table["amv"] = largest_remainder(share.astype(float) + 1e-12, amv_total)
    period = inst.meta.period
    rounding = {
        "law": "up to a whole person (Huisvestingswet 2014 art. 29(1))",
        "exact_total": "largest remainder, adding up to exactly the national number",
    }.get(spec.rule, "each rounded up" if spec.rounding == "up" else "largest remainder")
    result_basis = Basis(
        rule=name,
        period=period,
        peildatum=peildatum(period),
        national=vg,
        national_population=int(population.sum()),
        rounding=rounding,
        total=int(table["taakstelling"].sum()),
    )
    return SchemeResult(name, spec, table, result_basis, totals, labels)


# --------------------------------------------------------------------------- keys

Key = Callable[
    [SchemeSpec, pd.DataFrame, int, list[str]],
    tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None],
]


def _law(
    spec: SchemeSpec, muni: pd.DataFrame, vg: int, labels: list[str]
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None]:
    """Art. 29(1): vg x iG / iN, each rounded up."""
    pop = muni["population"]
    return pop / pop.sum(), pop * vg / pop.sum(), round_up_share(pop, vg), None


def _exact_total(
    spec: SchemeSpec, muni: pd.DataFrame, vg: int, labels: list[str]
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None]:
    """Population key, largest remainder (exactly vg)."""
    pop = muni["population"]
    return pop / pop.sum(), pop * vg / pop.sum(), largest_remainder(pop, vg), None


def term_share(term: KeyTerm, muni: pd.DataFrame) -> pd.Series:
    """One key term's shares: of the column (times population when per capita), or with
    ``inverse`` of population x (highest rate - the municipality's rate)."""
    pop = muni["population"].astype(float)
    value = muni[term.column].astype(float).fillna(0.0)
    if term.per_capita:
        value = value * pop
    if term.inverse:
        rate = value / pop
        value = pop * (rate.max() - rate)
    total = value.sum()
    if total <= 0:
        raise SchemeError(
            [
                Issue(
                    "municipalities",
                    None,
                    term.column,
                    "scheme column",
                    "its shares cannot be taken: the column adds up to 0",
                )
            ]
        )
    return value / total


def _key(
    spec: SchemeSpec, muni: pd.DataFrame, vg: int, labels: list[str]
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None]:
    """The weighted sum of the terms' shares, normalised."""
    weight = sum(t.weight for t in spec.key)
    key = sum(t.weight / weight * term_share(t, muni) for t in spec.key)
    assert isinstance(key, pd.Series)
    return _split(spec, muni, key, vg)


def _spreidingswet(
    spec: SchemeSpec, muni: pd.DataFrame, vg: int, labels: list[str]
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None]:
    """population x (1 + SES), normalised; provincial totals hard."""
    assert spec.column is not None
    column = spec.column
    if column not in muni.columns and column == "ses_score":
        column = "ses_proxy"
        labels.append(
            "SES: the proxy ses_proxy from the CBS KWB 2022 indicators (income, education, "
            "employment), not the CBS SES-WOA score"
        )
    weight = muni["population"].astype(float) * (1.0 + muni[column].astype(float))
    return _split(spec, muni, weight.clip(lower=0) / weight.clip(lower=0).sum(), vg)


def _denmark(
    spec: SchemeSpec, muni: pd.DataFrame, vg: int, labels: list[str]
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None]:
    """2p - m, negatives set to 0, renormalised."""
    assert spec.column is not None
    pop = muni["population"].astype(float)
    p = pop / pop.sum()
    origin = pop * muni[spec.column].astype(float) / 100.0
    m = origin / origin.sum()
    raw = (2 * p - m).clip(lower=0)
    return _split(spec, muni, raw / raw.sum(), vg)


def _regional_pool(
    spec: SchemeSpec, muni: pd.DataFrame, vg: int, labels: list[str]
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None]:
    """Region totals by the population key; inside a region, the population key
    (indicative: the placement decides the split)."""
    assert spec.region_level is not None
    pop = muni["population"].astype(float)
    region = muni[spec.region_level].astype(str)
    by_region = pop.groupby(region).sum()
    totals = largest_remainder(by_region, vg)
    pooled = spec.model_copy(update={"region_totals": {str(k): int(v) for k, v in totals.items()}})
    return _split(pooled, muni, pop / pop.sum(), vg)


def register_key(name: str) -> Callable[[Key], Key]:
    """Register a rule that needs code under ``name`` (then usable as a scheme's rule)."""

    def decorator(key: Key) -> Key:
        KEYS[name] = key
        return key

    return decorator


KEYS: dict[str, Key] = {
    "law": _law,
    "exact_total": _exact_total,
    "key": _key,
    "spreidingswet": _spreidingswet,
    "denmark": _denmark,
    "regional_pool": _regional_pool,
}


def _split(
    spec: SchemeSpec, muni: pd.DataFrame, key: pd.Series, vg: int
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame | None]:
    """From a key (shares adding up to 1) to exact quotas and whole numbers: within each
    region's total when the scheme has them (scaled to ``vg``), floors and caps per
    1,000 inhabitants, credit for places provided, then the rounding."""
    pop = muni["population"].astype(float)
    totals = None
    if spec.region_totals:
        assert spec.region_level is not None
        region = muni[spec.region_level].astype(str)
        given = pd.Series(spec.region_totals, dtype=float).sort_index()
        scaled = given if int(given.sum()) == vg else largest_remainder(given, vg).astype(float)
        inside = key.groupby(region).transform("sum")
        quota = scaled.reindex(region).to_numpy() * key / inside
        quota = _floors_and_caps(spec, pop, quota, groups=region)
        share = pd.Series(0, index=muni.index, dtype="int64")
        for code, members in region.groupby(region).groups.items():
            share[members] = largest_remainder(quota[members], int(scaled[str(code)]))
        totals = pd.DataFrame(
            {
                "level": spec.region_level,
                "region": scaled.index,
                "total": scaled.to_numpy().astype("int64"),
                "binding": True,
            }
        )
    else:
        quota = _floors_and_caps(spec, pop, key * vg, groups=None)
        if spec.credit_column:
            quota = (quota - muni[spec.credit_column].astype(float)).clip(lower=0)
        if spec.rounding == "up":
            share = np.ceil(quota - 1e-9).astype("int64")
        else:
            share = largest_remainder(quota + 1e-12, round(float(quota.sum())))
    return key, quota, share.astype("int64"), totals


def _floors_and_caps(
    spec: SchemeSpec, pop: pd.Series, quota: pd.Series, groups: pd.Series | None
) -> pd.Series:
    """Clip quotas to [floor, cap] per 1,000 inhabitants and give what was clipped to
    the others in proportion to their quotas (within each group), until it holds."""
    if spec.floor_per_1000 is None and spec.cap_per_1000 is None:
        return quota
    low = pop * (spec.floor_per_1000 or 0.0) / 1000
    high = pop * spec.cap_per_1000 / 1000 if spec.cap_per_1000 is not None else pop * np.inf
    quota = quota.astype(float).copy()
    keys = groups if groups is not None else pd.Series(0, index=quota.index)
    for _ in range(100):
        clipped = quota.clip(lower=low, upper=high)
        moved = (quota - clipped).groupby(keys).transform("sum")
        free = (clipped > low + 1e-12) & (clipped < high - 1e-12)
        weight = clipped.where(free, 0.0)
        room = weight.groupby(keys).transform("sum")
        quota = clipped + np.where(room > 0, moved * weight / room.where(room > 0, 1.0), 0.0)
        if (moved.abs() < 1e-9).all():
            break
    return quota


def _population(inst: Instance, muni: pd.DataFrame) -> pd.Series:
    """The population used: the municipality table's, or the province's number for a
    merged municipality (art. 30, ``population_override``)."""
    population = muni["population"].astype("int64")
    override = inst.table("population_override")
    if override is not None and len(override):
        lookup = override.set_index("municipality")["population"]
        population = muni["code"].map(lookup).fillna(population).astype("int64")
    return population


def _by_code(muni: pd.DataFrame, table: pd.DataFrame | None, column: str) -> pd.Series:
    """A per-municipality column of ``table`` (summed per code) in table order, 0 where
    absent."""
    if table is None or not len(table):
        return pd.Series(0, index=muni.index, dtype="int64")
    lookup = table.groupby("municipality")[column].sum()
    return muni["code"].map(lookup).fillna(0).astype("int64")
