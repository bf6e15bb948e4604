"""The columns a file's contacts come from, and the raw frame built from them.

CSV, Parquet, workbook and JSON exports name their columns alike, so every format finds them by
these rules and ends in the same frame (`RAW_SCHEMA`, everything as text), which is all the
stages after loading ever see of a file. A column the user named is found by its name; the phone and the country
columns are otherwise detected from the header and a sample of the values (`detect`), and
`Columns` says which were, so that the run can print what it chose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import MissingColumnError, NoPhoneColumnError
from pipeline.load import detect

__all__ = [
    "PHONE_HEADERS",
    "RAW_SCHEMA",
    "Columns",
    "Wanted",
    "columns_line",
    "pick_columns",
    "raw_columns",
    "raw_frame",
]

RAW_SCHEMA = pl.Schema(
    {
        "source_file": pl.String,
        "source_line": pl.Int64,
        "phone_raw": pl.String,
        "region_raw": pl.String,
        "group": pl.String,
    }
)

PHONE_HEADERS: tuple[str, ...] = (
    "msisdn",
    "mobile",
    "mobilephone",
    "mobilenumber",
    "cell",
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "number",
)
"""Examples of the phone headers recognised, mobile ones first; the rules are `detect`'s."""
_HEADER_KEY_NOISE = re.compile(r"[\s_\-.]")
_LINE = "__source_line"


@dataclass(frozen=True)
class Wanted:
    """The column names the caller gave (None: detect the phone and the country column, omit
    the group column)."""

    phone: str | None
    region: str | None
    group: str | None


@dataclass(frozen=True)
class Columns:
    """The file columns feeding the raw frame; None where the source has no such column."""

    phone: str
    region: str | None
    group: str | None
    phone_detected: bool = False
    """Whether the phone column was detected (else the user named it)."""
    region_detected: bool = False
    """Whether the country column was detected (else named, or there is none)."""


def pick_columns(path: Path, lazy: pl.LazyFrame, wanted: Wanted) -> Columns:
    """The named columns, and the detected ones (`detect`); the first rows are read only when
    there is something to detect."""
    available = lazy.collect_schema().names()
    phone = _named_column(path, available, wanted.phone, flag="--phone-column")
    region = _named_column(path, available, wanted.region, flag="--country-column")
    group = _named_column(path, available, wanted.group, flag="--group-column")
    phones = detect.phone_candidates(available) if phone is None else []
    if phone is None and not phones:
        raise NoPhoneColumnError(path, available)
    countries = detect.country_candidates(available) if wanted.region is None else []
    sample = _sample(lazy, [name for _, name in (*phones, *countries)])
    if phone is None:
        phone = detect.pick_phone(phones, sample)
    if wanted.region is None:
        region = detect.pick_country([c for c in countries if c[1] not in (phone, group)], sample)
    return Columns(
        phone,
        region,
        group,
        phone_detected=wanted.phone is None,
        region_detected=wanted.region is None and region is not None,
    )


def _sample(lazy: pl.LazyFrame, names: Sequence[str]) -> pl.DataFrame:
    """The first `detect.SAMPLE_ROWS` rows of these columns (none read when there are none)."""
    if not names:
        return pl.DataFrame()
    return lazy.head(detect.SAMPLE_ROWS).select(list(dict.fromkeys(names))).collect()


def columns_line(picked: Sequence[Columns]) -> str:
    """`phone column: 'Mobile Phone Number' (detected); country column: 'Country/Region'
    (detected)`: what the run reads, for its first lines, so a wrong guess shows before it costs.
    Files of a glob that chose differently are listed each."""
    phones = dict.fromkeys(_chosen(c.phone, c.phone_detected) for c in picked)
    countries = dict.fromkeys(
        _chosen(c.region, c.region_detected) if c.region else "none" for c in picked
    )
    return f"phone column: {', '.join(phones)}; country column: {', '.join(countries) or 'none'}"


def _chosen(name: str, detected: bool) -> str:
    return f"{name!r} ({'detected' if detected else 'given'})"


def _named_column(
    path: Path, available: Sequence[str], name: str | None, *, flag: str
) -> str | None:
    if name is None:
        return None
    found = _find_column(available, name)
    if found is None:
        if flag == "--phone-column":
            raise NoPhoneColumnError(path, available, name)
        raise MissingColumnError(path, name, available, flag=flag)
    return found


def _find_column(available: Sequence[str], wanted: str) -> str | None:
    """An exact match, else the one column equal to it ignoring case, spaces and underscores."""
    if wanted in available:
        return wanted
    loose = [name for name in available if _header_key(name) == _header_key(wanted)]
    return loose[0] if len(loose) == 1 else None


def _header_key(name: str) -> str:
    return _HEADER_KEY_NOISE.sub("", name).casefold()


def raw_columns(path: Path, picked: Columns, line: pl.Expr) -> list[pl.Expr]:
    """The five raw columns; an integer phone column becomes its exact digits as text.

    Group names are trimmed because they are keys: `"VIP "` and `"VIP"` must not become two groups.
    """
    group = _as_text(picked.group).str.strip_chars()
    return [
        pl.lit(str(path), pl.String).alias("source_file"),
        line.cast(pl.Int64).alias("source_line"),
        _as_text(picked.phone).alias("phone_raw"),
        _as_text(picked.region).alias("region_raw"),
        pl.when(group != "").then(group).alias("group"),
    ]


def raw_frame(path: Path, table: pl.DataFrame, picked: Columns, line: pl.Expr) -> pl.DataFrame:
    """The raw frame of a table read whole (a sheet, a JSON file), `line` numbering its rows.

    A row with no value at all is skipped, as a blank CSV line is, but keeps its number: the
    rows after it still point at their place in the file.
    """
    return (
        table.lazy()
        .with_columns(line.alias(_LINE))
        .filter(pl.any_horizontal(pl.col(table.columns).is_not_null()))
        .select(raw_columns(path, picked, pl.col(_LINE)))
        .collect()
    )


def _as_text(column: str | None) -> pl.Expr:
    return pl.lit(None, pl.String) if column is None else pl.col(column).cast(pl.String)
