"""Which column holds the phone numbers, and which the country, when the user did not say.

Headers alone mislead: a HubSpot export has `Phone Number` (mostly empty) beside `Mobile Phone
Number`, and its country is in `Country/Region`, written `United Kingdom`. So the header picks the
candidates and a sample of the values (the first `SAMPLE_ROWS` rows) decides among them:

- phone: mobile columns (SMS reaches mobiles only) before generic phone columns, and among
  columns of one rank the one with the most values that look like numbers (6 digits or more).
  A candidate with no such value in the sample comes after all that have some, so an empty
  `Mobile` column never hides a full `Phone` one.
- country: a column named like a country whose distinct non-empty values are mostly
  (`COUNTRY_SHARE`) countries `pipeline.phones.countries` recognises; else none, as before,
  since a wrong country would misread every national number.

The sample is counted with polars expressions; only the headers are looked at one by one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import polars as pl

from pipeline.phones.countries import region_of

__all__ = [
    "COUNTRY_SHARE",
    "MIN_PHONE_DIGITS",
    "SAMPLE_ROWS",
    "country_candidates",
    "header_words",
    "phone_candidates",
    "pick_country",
    "pick_phone",
]

SAMPLE_ROWS = 1_000
"""Rows read to rank the candidates: enough to see a column's habit, nothing like a whole file."""
MIN_PHONE_DIGITS = 6
"""A value with this many digits looks like a phone number (an id or a date rarely has more than
a column of numbers does, and a name or a flag has none)."""
COUNTRY_SHARE = 0.8
"""The share of a column's distinct non-empty sample values that must be countries."""

MOBILE, PHONE, NUMBER_ONLY = 0, 1, 2
"""Phone candidate ranks, best first."""
COUNTRY, REGION = 0, 1
"""Country candidate ranks: named for a country, or only for a region (checked more strictly)."""

# Header words, compared after folding accents and case. A word matches a prefix entry when it
# starts with it (`mobiltelefon`, `cellphone`, `handynummer`), an exact entry only when equal
# (`tel` must not match `television`).
_MOBILE_PREFIXES = ("mobil", "mobiel", "cell", "handy", "portable", "msisdn", "movil", "celular")
_MOBILE_WORDS = frozenset({"gsm", "sms", "cel"})
_PHONE_PREFIXES = ("phone", "telephon", "telefon", "telefoon")
_PHONE_WORDS = frozenset({"tel", "telno", "e164", "fon"})
_NUMBER_HEADERS = frozenset({("number",), ("contact", "number"), ("nummer",), ("numero",)})
"""Headers that are nothing but "number": a phone column when nothing better is there."""
_NOT_PHONE = ("fax", "ext", "type", "country", "code", "optout", "opt", "verified", "status")
"""Words of columns about a phone but not holding it: `Fax Number`, `Phone Type`,
`Phone Country Code`, `Mobile Opt Out`."""
_COUNTRY_PREFIXES = ("countr",)
_COUNTRY_WORDS = frozenset({"land", "landcode", "pays", "pais", "paese", "nation", "iso", "iso2"})
_REGION_WORDS = frozenset({"region"})
_WEAK_COUNTRY = frozenset({"ip"})
"""`IP Country`: where a web visit came from, not where the person lives; after a real one."""

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD_BREAKS = re.compile(r"[^0-9a-z]+")
_DIGIT_ONLY = r"^\s*\+?\d+\s*$"


def header_words(name: str) -> tuple[str, ...]:
    """`Mobile Phone Number`, `mobile_phone_number` and `MobilePhoneNumber` all as
    `("mobile", "phone", "number")`; accents folded (`Téléphone` is `telephone`)."""
    spaced = _CAMEL.sub(" ", name)
    folded = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode().lower()
    return tuple(word for word in _WORD_BREAKS.split(folded) if word)


def _has(words: Sequence[str], prefixes: Sequence[str], exact: frozenset[str]) -> bool:
    return any(word in exact or word.startswith(tuple(prefixes)) for word in words)


def _phone_rank(name: str) -> int | None:
    words = header_words(name)
    if any(word.startswith(_NOT_PHONE) for word in words):
        return None
    if _has(words, _MOBILE_PREFIXES, _MOBILE_WORDS):
        return MOBILE
    if _has(words, _PHONE_PREFIXES, _PHONE_WORDS):
        return PHONE
    return NUMBER_ONLY if words in _NUMBER_HEADERS else None


def phone_candidates(available: Sequence[str]) -> list[tuple[int, str]]:
    """(rank, name) of the columns whose header says phone, in the file's column order."""
    ranked = ((_phone_rank(name), name) for name in available)
    return [(rank, name) for rank, name in ranked if rank is not None]


def pick_phone(candidates: Sequence[tuple[int, str]], sample: pl.DataFrame) -> str:
    """The best of some candidates (see the module): columns with numbers first, then by rank,
    then by how many numbers the sample holds, then by column order."""
    digits = pl.col(pl.String).str.count_matches(r"\d").fill_null(0) >= MIN_PHONE_DIGITS
    names = [name for _, name in candidates]
    counts = _as_text(sample, names).select(digits.sum()).row(0, named=True)
    order = {name: position for position, name in enumerate(names)}
    best = min(
        candidates,
        key=lambda c: (counts[c[1]] == 0, c[0], -counts[c[1]], order[c[1]]),
    )
    return best[1]


def _country_rank(name: str) -> int | None:
    words = header_words(name)
    if _has(words, _COUNTRY_PREFIXES, _COUNTRY_WORDS):
        return REGION if _WEAK_COUNTRY & set(words) else COUNTRY
    return REGION if _REGION_WORDS & set(words) else None


def country_candidates(available: Sequence[str]) -> list[tuple[int, str]]:
    """(rank, name) of the columns whose header says country, in the file's column order."""
    ranked = ((_country_rank(name), name) for name in available)
    return [(rank, name) for rank, name in ranked if rank is not None]


def pick_country(candidates: Sequence[tuple[int, str]], sample: pl.DataFrame) -> str | None:
    """The candidate whose sample values are countries (`COUNTRY_SHARE` of its distinct
    non-empty ones), best rank first, then the most rows recognised, then column order; None
    when no candidate's values are countries.

    For a column named only `Region`, a bare number (`1`, `7`) is not taken as a dialling code:
    a sales region numbered 1 to 9 must not become the United States and Russia.
    """
    scored = []
    for position, (rank, name) in enumerate(candidates):
        recognised, share = _countries_in(sample.get_column(name), digits_count=rank == COUNTRY)
        if recognised and share >= COUNTRY_SHARE:
            scored.append((rank, -recognised, position, name))
    return min(scored)[-1] if scored else None


def _countries_in(column: pl.Series, *, digits_count: bool) -> tuple[int, float]:
    """(rows recognised as a country, share of the distinct non-empty values recognised)."""
    value = pl.col("value").str.strip_chars()
    recognised = region_of(value).is_not_null()
    if not digits_count:
        recognised = recognised & ~value.str.contains(_DIGIT_ONLY)
    counted = (
        column.cast(pl.String)
        .to_frame("value")
        .filter(value.is_not_null() & (value != ""))
        .group_by(value)
        .agg(pl.len().alias("rows"))
        .select(
            pl.col("rows").filter(recognised).sum().alias("recognised"),
            recognised.mean().alias("share"),
        )
    )
    rows, share = counted.row(0)
    return int(rows or 0), float(share or 0.0)


def _as_text(sample: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    return sample.select(pl.col(name).cast(pl.String) for name in names)
