"""The columns a file's contacts come from, and the raw frame built from them.

CSV and Parquet exports name their columns alike, so both formats find them by these rules and
end in the same frame (`RAW_SCHEMA`, everything as text), which is all the stages after loading
ever see of a file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import MissingColumnError, NoPhoneColumnError

__all__ = ["PHONE_HEADERS", "RAW_SCHEMA", "Columns", "Wanted", "pick_columns", "raw_columns"]

RAW_SCHEMA = pl.Schema(
    {
        "source_file": pl.String,
        "source_line": pl.Int64,
        "phone_raw": pl.String,
        "region_raw": pl.String,
        "group": pl.String,
    }
)

# Compared after dropping case, spaces, `_`, `-` and `.`. Mobile names come first: SMS only reaches
# mobiles, so when an export has both a "Phone" and a "Mobile" column the mobile one is wanted.
PHONE_HEADERS: tuple[str, ...] = (
    "msisdn",
    "mobile",
    "mobilephone",
    "mobilenumber",
    "mobileno",
    "cell",
    "cellphone",
    "cellnumber",
    "phone",
    "phonenumber",
    "phoneno",
    "phonee164",
    "e164",
    "telephone",
    "telephonenumber",
    "tel",
    "number",
    "contactnumber",
)
_HEADER_KEY_NOISE = re.compile(r"[\s_\-.]")


@dataclass(frozen=True)
class Wanted:
    """The column names the caller gave (None: detect the phone column, omit the others)."""

    phone: str | None
    region: str | None
    group: str | None


@dataclass(frozen=True)
class Columns:
    """The file columns feeding the raw frame; None where the source has no such column."""

    phone: str
    region: str | None
    group: str | None


def pick_columns(path: Path, available: Sequence[str], wanted: Wanted) -> Columns:
    return Columns(
        phone=_phone_column(path, available, wanted.phone),
        region=_named_column(path, available, wanted.region, flag="--country-column"),
        group=_named_column(path, available, wanted.group, flag="--group-column"),
    )


def _named_column(
    path: Path, available: Sequence[str], name: str | None, *, flag: str
) -> str | None:
    if name is None:
        return None
    found = _find_column(available, name)
    if found is None:
        raise MissingColumnError(path, name, available, flag=flag)
    return found


def _phone_column(path: Path, available: Sequence[str], wanted: str | None) -> str:
    if wanted is not None:
        found = _find_column(available, wanted)
        if found is None:
            raise NoPhoneColumnError(path, available, wanted)
        return found
    by_key = {_header_key(name): name for name in reversed(available)}
    for header in PHONE_HEADERS:
        if header in by_key:
            return by_key[header]
    raise NoPhoneColumnError(path, available)


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


def _as_text(column: str | None) -> pl.Expr:
    return pl.lit(None, pl.String) if column is None else pl.col(column).cast(pl.String)
