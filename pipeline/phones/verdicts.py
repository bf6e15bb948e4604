"""What a verdict means to the person reading the rejects file: a reason and a detail.

Until the rejects are written, a rejected row carries one integer, its verdict (`reader` has the
codes); a million rows then hold an integer column rather than two text columns, and the reason
and the detail are worked out here once per distinct verdict.
"""

from __future__ import annotations

import polars as pl
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from pipeline.phones import reader
from pipeline.phones.clean import (
    REGION,
    RULE_BAD_REGION,
    RULE_EMPTY,
    RULE_EXTENSION,
    RULE_NOT_DIGITS,
    RULE_SCIENTIFIC,
    VERDICT,
)
from pipeline.phones.rejects import REJECTS_SCHEMA, Reason

__all__ = ["as_rejects"]

_RULE_TEXTS: dict[int, tuple[Reason, str]] = {
    RULE_EMPTY: (Reason.EMPTY, "the phone cell is empty"),
    RULE_EXTENSION: (Reason.HAS_EXTENSION, "has an extension, which an SMS cannot reach"),
    RULE_SCIENTIFIC: (
        Reason.EXCEL_DAMAGED,
        "in scientific notation: a spreadsheet rounded it and the lost digits cannot be "
        "recovered; export the column as text",
    ),
    RULE_NOT_DIGITS: (
        Reason.NOT_A_NUMBER,
        "holds characters other than digits, a leading '+' and separators",
    ),
    RULE_BAD_REGION: (
        Reason.INVALID_COUNTRY_CODE,
        "country '{}' is not a country this tool recognises (an ISO code such as GB or GBR, a "
        "name such as United Kingdom, or a dialling code such as +44) and the number has no "
        "country code",
    ),
}
"""The rules decided from the text alone; the bad-region detail names the row's country cell."""
_NO_REGION = (
    Reason.INVALID_COUNTRY_CODE,
    "no country code and no region to read it as a national number; "
    "set a default region or a country column",
)
_PARSE_FAILURES: dict[int, tuple[Reason, str]] = {
    NumberParseException.INVALID_COUNTRY_CODE: (
        Reason.INVALID_COUNTRY_CODE,
        "does not start with a country calling code that exists",
    ),
    NumberParseException.NOT_A_NUMBER: (Reason.NOT_A_NUMBER, "cannot be read as a phone number"),
    NumberParseException.TOO_SHORT_AFTER_IDD: (
        Reason.TOO_SHORT,
        "too few digits after the international prefix",
    ),
    NumberParseException.TOO_SHORT_NSN: (Reason.TOO_SHORT, "too few digits for a phone number"),
    NumberParseException.TOO_LONG: (Reason.TOO_LONG, "too many digits for a phone number"),
}
_INVALID: dict[int, tuple[Reason, str]] = {
    ValidationResult.TOO_SHORT: (Reason.TOO_SHORT, "too few digits for a {where} number"),
    ValidationResult.TOO_LONG: (Reason.TOO_LONG, "too many digits for a {where} number"),
    ValidationResult.INVALID_LENGTH: (
        Reason.INVALID_NUMBER,
        "no {where} number has this many digits",
    ),
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: (
        Reason.TOO_SHORT,
        "too few digits for a {where} number (the area code may be missing)",
    ),
    ValidationResult.IS_POSSIBLE: (
        Reason.INVALID_NUMBER,
        "the right length for {where}, but in no range that is in use",
    ),
    ValidationResult.INVALID_COUNTRY_CODE: (
        Reason.INVALID_COUNTRY_CODE,
        "{where} is not a country calling code in use",
    ),
}


def as_rejects(rows: pl.DataFrame) -> pl.DataFrame:
    """The rejects layout (`REJECTS_SCHEMA`) of rows that carry a verdict."""
    verdicts = rows.get_column(VERDICT).unique()
    texts = [_verdict_text(verdict) for verdict in verdicts]
    table = pl.DataFrame(
        [
            verdicts,
            pl.Series("reason", [reason.value for reason, _ in texts], dtype=pl.String),
            pl.Series("detail", [detail for _, detail in texts], dtype=pl.String),
        ]
    )
    bad_region = pl.format(_RULE_TEXTS[RULE_BAD_REGION][1], pl.col("region_raw"))
    return (
        rows.join(table, on=VERDICT, how="left", maintain_order="left")
        .select(
            "source_file",
            "source_line",
            pl.col("phone_raw").alias("raw_value"),
            pl.col(REGION).alias("region"),
            "reason",
            pl.when(pl.col(VERDICT) == RULE_BAD_REGION)
            .then(bad_region)
            .otherwise(pl.col("detail"))
            .alias("detail"),
        )
        .cast(REJECTS_SCHEMA)
    )


def _verdict_text(verdict: int) -> tuple[Reason, str]:
    """The reason and the detail of a verdict (see `reader`)."""
    kind, first, second = reader.decode(verdict)
    match kind:
        case "rule":
            return _RULE_TEXTS[first]
        case "parse_failed":
            return _PARSE_FAILURES[first]
        case "no_region":
            return _NO_REGION
        case "invalid":
            reason, template = _INVALID[second]
            return reason, template.format(where=f"+{first}")
        case _:
            return (
                Reason.NOT_MOBILE,
                f"a valid +{first} number of type {PhoneNumberType.to_string(second)}, "
                "not a mobile",
            )
