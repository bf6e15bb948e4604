"""Country cells as people write them, to the region phonenumbers reads national numbers in.

CRM exports rarely hold ISO codes: HubSpot writes `United Kingdom`, a German sales team types
`Deutschland`, a telephony export has `+44`. A country a person can read must not reject every
national number of the file, so a cell is matched, ignoring case, accents, spaces and punctuation
(`country_key`), against one table (`country_table`) of:

- the ISO 3166 alpha-2 codes phonenumbers supports and their alpha-3 codes (`GB`, `GBR`);
- a small table of common and local names (`UK`, `England`, `Deutschland`, `Schweiz`, `USA`);
- pycountry's English names: the short name, the common and the official one, and the
  `Korea, Republic of` kind turned round (`Republic of Korea`);
- dialling codes (`44`, `+44`, `0044`), each to the main region of its code.

The table is built once per process; a column is resolved by joining its values' keys to it in
polars (`region_of`), so a file with a million rows costs one expression, never a Python loop.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from functools import cache

import phonenumbers
import polars as pl
import pycountry

from pipeline.errors import InvalidRegionError

__all__ = ["check_region", "country_key", "country_table", "region_of", "resolve_region"]

_SUPPORTED = frozenset(phonenumbers.SUPPORTED_REGIONS)

_ALIASES: dict[str, tuple[str, ...]] = {
    "GB": (
        "UK",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "Großbritannien",
        "Vereinigtes Königreich",
        "Royaume-Uni",
        "Reino Unido",
        "Regno Unito",
        "Verenigd Koninkrijk",
        "Storbritannien",
        "Wielka Brytania",
    ),
    "US": (
        "USA",
        "America",
        "United States of America",
        "Vereinigte Staaten",
        "États-Unis",
        "Estados Unidos",
        "Stati Uniti",
    ),
    "DE": ("Deutschland", "Allemagne", "Alemania", "Germania", "Duitsland", "Tyskland", "Niemcy"),
    "NL": ("Holland", "Nederland", "Niederlande", "Pays-Bas", "Países Bajos", "Paesi Bassi"),
    "ES": ("España", "Espagne", "Spanien", "Spagna"),
    "FR": ("Frankreich", "Francia", "Frankrijk", "Frankrike"),
    "AT": ("Österreich", "Autriche"),
    "CH": ("Schweiz", "Suisse", "Svizzera", "Svizra", "Helvetia"),
    "BE": ("Belgique", "België", "Belgien"),
    "LU": ("Luxemburg",),
    "IT": ("Italia", "Italien", "Italie"),
    "SE": ("Sverige", "Schweden", "Suède"),
    "NO": ("Norge", "Noreg", "Norwegen"),
    "DK": ("Danmark", "Dänemark"),
    "FI": ("Suomi",),
    "IS": ("Ísland",),
    "IE": ("Éire", "Republic of Ireland", "Irland", "Irlande"),
    "PL": ("Polska", "Polen", "Pologne"),
    "CZ": ("Czech Republic", "Česko", "Česká republika", "Tschechien"),
    "SK": ("Slovensko",),
    "HU": ("Magyarország",),
    "GR": ("Hellas", "Ellada", "Ελλάδα"),
    "HR": ("Hrvatska",),
    "SI": ("Slovenija",),
    "RO": ("România",),
    "BG": ("България",),
    "RU": ("Russia", "Russland", "Rossiya", "Россия"),
    "UA": ("Україна",),
    "TR": ("Turkey", "Türkei", "Turquie"),
    "BR": ("Brasil",),
    "MX": ("México",),
    "KR": ("Korea", "South Korea", "Korea South"),
    "KP": ("Korea North",),
    "AE": ("UAE", "Emirates"),
    "SA": ("KSA", "Saudi"),
    "CN": ("PRC",),
    "JP": ("Nippon", "Nihon"),
    "IN": ("Bharat",),
    "ZA": ("RSA",),
    "NZ": ("Aotearoa",),
    "CI": ("Ivory Coast",),
    "CV": ("Cape Verde",),
    "MK": ("Macedonia",),
    "SZ": ("Swaziland",),
    "MM": ("Burma",),
    "CD": ("DR Congo", "DRC", "Congo-Kinshasa"),
    "CG": ("Congo-Brazzaville",),
    "VA": ("Vatican", "Vatican City"),
    "PS": ("Palestine",),
    "MO": ("Macau",),
    "BN": ("Brunei",),
    "XK": ("Kosovo",),
}
"""Names pycountry does not give (local, colloquial, older): the rest of what exports hold.
`England`, `Scotland`, `Wales` and `Northern Ireland` are GB for phone numbers; `Korea` alone
is South Korea, as it is in practice."""

_DROPPED = "[\\s.,'\u2019\u2018`\u00b4()\\[\\]\\-_+\"=]"
"""What a country cell may carry without changing its meaning: spaces, dots (`U.K.`), commas,
apostrophes, brackets, dashes, `+` (`+44`), quotes and `=` (Excel's `="GB"`). `/` is kept, so that
`N/A` does not become Namibia's `NA`."""


def country_key(text: pl.Expr) -> pl.Expr:
    """The spelling-free form of a country cell: accents folded, lower case, `&` as `and`, a
    leading `the` and `St.` spelled out, and the `_DROPPED` characters removed.

    The table is keyed by this same expression, so a cell and a name meet exactly when they
    differ only in what the key ignores.
    """
    return (
        text.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace(r"^\s*the\s+", "")
        .str.replace(r"^\s*st\.?\s+", "saint ")
        .str.replace_all(_DROPPED, "")
    )


@cache
def country_table() -> dict[str, str]:
    """Key (`country_key`) to region, for every spelling above; built once per process.

    Earlier sources win where a key is claimed twice: codes, then the alias table, then
    pycountry's names, then the short forms of names. A key that one source gives two regions
    is left out rather than guessed, unless an earlier source settles it.
    """
    table: dict[str, str] = {}
    for spellings in _sources():
        claims: dict[str, set[str]] = {}
        for key, region in zip(*_keyed(spellings), strict=True):
            if key and key not in table:
                claims.setdefault(key, set()).add(region)
        table |= {key: regions.pop() for key, regions in claims.items() if len(regions) == 1}
    return table


@cache
def _table_columns() -> tuple[pl.Series, pl.Series]:
    table = country_table()
    return pl.Series(list(table), dtype=pl.String), pl.Series(list(table.values()), dtype=pl.String)


def region_of(text: pl.Expr) -> pl.Expr:
    """The region a country cell names, or null (empty cells included: the caller decides what
    they mean). Meant for the distinct cells of a column, joined back to its rows."""
    keys, regions = _table_columns()
    return country_key(text).replace_strict(keys, regions, default=None, return_dtype=pl.String)


def resolve_region(value: str) -> str | None:
    """The region one spelling names, or None: `region_of` on a single value."""
    frame = pl.DataFrame({"value": [value]}, schema={"value": pl.String})
    return frame.select(region_of(pl.col("value"))).item()


def check_region(region: str | None) -> str | None:
    """The default region in phonenumbers' spelling (`UK` and `United Kingdom` are `GB`).

    One it does not know is refused up front, with the nearest spelling it does know: it would
    otherwise reject every national number of the file, one row at a time.
    """
    if region is None:
        return None
    found = resolve_region(region)
    if found is not None:
        return found
    suggestion = _nearest(region)
    if suggestion is not None:
        raise InvalidRegionError(f"unknown region {region!r}; did you mean {suggestion}?")
    raise InvalidRegionError(
        f"unknown region {region!r}: give an ISO 3166 code (GB, GBR), a country name "
        "(United Kingdom) or a dialling code (+44)"
    )


def _nearest(region: str) -> str | None:
    """The region of the table's closest spelling to `region`, if one is close enough."""
    key = pl.Series([region], dtype=pl.String).to_frame("value").select(country_key(pl.first()))
    table = country_table()
    matches = difflib.get_close_matches(key.item() or "", table.keys(), n=1, cutoff=0.6)
    return table[matches[0]] if matches else None


def _keyed(spellings: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(keys, regions) of (spelling, region) pairs, keyed by `country_key` in one expression."""
    frame = pl.DataFrame(spellings, schema={"text": pl.String, "region": pl.String}, orient="row")
    keyed = frame.select(country_key(pl.col("text")).alias("key"), "region")
    return keyed.get_column("key").to_list(), keyed.get_column("region").to_list()


def _sources() -> Iterator[list[tuple[str, str]]]:
    """The spellings of each source, most trusted first (see `country_table`)."""
    countries = [c for c in pycountry.countries if c.alpha_2 in _SUPPORTED]
    yield [(code, code) for code in sorted(_SUPPORTED)] + [
        (c.alpha_3, c.alpha_2) for c in countries
    ]
    yield [(name, code) for code, names in _ALIASES.items() if code in _SUPPORTED for name in names]
    yield [(name, c.alpha_2) for c in countries for name in _names(c)]
    yield [(name, c.alpha_2) for c in countries for name in _short_names(_names(c))]
    yield list(_dialling_codes())


def _names(country: object) -> list[str]:
    names = [getattr(country, field, None) for field in ("name", "common_name", "official_name")]
    found = [name for name in names if name]
    # "Korea, Republic of" is written "Republic of Korea"; "Congo, The Democratic Republic of
    # the" as "The Democratic Republic of the Congo".
    return found + [f"{tail.strip()} {head.strip()}" for head, _, tail in _commas(found)]


def _commas(names: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    return (name.partition(",") for name in names if "," in name)


def _short_names(names: Iterable[str]) -> Iterator[str]:
    """`Holy See (Vatican City State)` as `Holy See`, `Micronesia, Federated States of` as
    `Micronesia`: what a person writes, kept only where no other country claims it."""
    for name in names:
        yield name.partition("(")[0].strip()
        yield name.partition(",")[0].strip()


def _dialling_codes() -> Iterator[tuple[str, str]]:
    """`44`, `0044` (and `+44`, whose `+` the key drops) for each country calling code.

    A code shared by several regions goes to its main one, phonenumbers' first: +1 is US (not
    CA or the Caribbean), +7 is RU (not KZ), +44 is GB (not JE, GG or IM). National numbers of
    a shared code read alike in all its regions, so the choice does not change which are valid.
    """
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        main = regions[0]
        if main in _SUPPORTED:
            yield str(code), main
            yield f"00{code}", main
