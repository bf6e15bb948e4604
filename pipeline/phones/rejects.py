"""The reject vocabulary and the rejects file.

Every input row ends up either valid or here, with a reason code a script can count and a detail a
person can act on. Every stage that rejects rows (normalize, plan, apply) emits this one layout, so
the run's rejects concatenate into a single file that points back at the source file and line.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from pipeline.storage import Where, atomic_path, location

__all__ = ["REJECTS_SCHEMA", "Reason", "empty_rejects", "write_rejects"]


class Reason(StrEnum):
    """Why a row was rejected; the values are what the rejects file and the report show."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID_COUNTRY_CODE = "invalid_country_code"
    INVALID_NUMBER = "invalid_number"
    NOT_MOBILE = "not_mobile"
    EXCEL_DAMAGED = "excel_damaged"
    HAS_EXTENSION = "has_extension"
    NO_GROUP = "no_group"
    """The plan stage: the row names no group."""
    API_REJECTED = "api_rejected"
    """The apply stage: Sinch refused a number that passed every local check."""


REJECTS_SCHEMA = pl.Schema(
    {
        "source_file": pl.String,
        "source_line": pl.Int64,
        "raw_value": pl.String,
        "region": pl.String,
        "reason": pl.String,
        "detail": pl.String,
    }
)

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); raw values come from outside, so a CSV for a spreadsheet disarms them.
_FORMULA_START = r"^([=+\-@\t\r])"


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTS_SCHEMA)


def write_rejects(rejects: pl.DataFrame, path: Where) -> Where:
    """Write the rejects as Parquet, or as CSV for a spreadsheet when the name ends in `.csv`.

    The file appears whole or not at all (`atomic_path`), so
    a crash never leaves half a rejects file that looks complete.
    """
    with atomic_path(path) as temp:
        if location(path).suffix.lower() == ".csv":
            # The BOM makes Excel read the file as UTF-8 instead of the locale's code page.
            _neutralize_formulas(rejects).write_csv(temp, include_bom=True)
        else:
            rejects.write_parquet(temp)
    return path


def _neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix `'` to each text cell a spreadsheet would evaluate; the cell still shows it."""
    return frame.with_columns(pl.col(pl.String).str.replace(_FORMULA_START, "'$1"))
