"""pandera models of the frames that cross a stage boundary of the import pipeline.

Each model is a stage contract written once, checkable at run time: the loader's output is
`RawContacts`, normalize's valid rows are `Contacts`, and every stage's rejects are `Rejects`.
`validate_lazily` is how a stage applies one to data: a bad row becomes a reject whose detail
names the failed checks, instead of one bad row stopping a million-row run.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from pipeline.phones.rejects import REJECTS_SCHEMA, Reason, empty_rejects

__all__ = [
    "E164_PATTERN",
    "REGION_PATTERN",
    "Contacts",
    "RawContacts",
    "Rejects",
    "validate_lazily",
]

# ASCII digits on purpose: polars' `\d` is Unicode-aware and would accept Arabic-Indic digits.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
REGION_PATTERN = r"^[A-Z]{2}$"


class _Located(pa.DataFrameModel):
    """Where a row came from; every row-level frame carries it so that a reject can point back."""

    source_file: str
    source_line: pl.Int64 = pa.Field(ge=1)


class RawContacts(_Located):
    """The loader's output: exactly these columns, everything as text."""

    phone_raw: str = pa.Field(nullable=True)
    region_raw: str = pa.Field(nullable=True)
    group: str = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = True


class Contacts(RawContacts):
    """Normalized rows: the raw columns (and any a caller added) plus the number in E.164."""

    phone_raw: str
    region: str = pa.Field(nullable=True, str_matches=REGION_PATTERN)
    phone_e164: str = pa.Field(str_matches=E164_PATTERN)

    class Config:
        strict = False
        ordered = False


class Rejects(_Located):
    """Rows that cannot be used, from any stage, each with a reason code and a readable detail."""

    raw_value: str = pa.Field(nullable=True)
    region: str = pa.Field(nullable=True)
    reason: str = pa.Field(isin=[reason.value for reason in Reason])
    detail: str

    class Config:
        strict = True
        ordered = True


def validate_lazily(
    model: type[pa.DataFrameModel],
    frame: pl.DataFrame,
    *,
    raw_column: str = "phone_raw",
    reason: Reason = Reason.INVALID_NUMBER,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split `frame` into (rows that pass `model`, rejects for the rows that do not).

    All checks run over all rows (`lazy=True`); each failing row becomes one reject with `reason`,
    its `raw_column` as the raw value and every failed check in the detail. A failure that belongs
    to no row (a missing column, a wrong dtype) is a bug in the caller, not bad data, so the
    `SchemaErrors` is raised as is.
    """
    try:
        return model.validate(frame, lazy=True), empty_rejects()
    except SchemaErrors as errors:
        cases = errors.failure_cases
        if cases.get_column("index").null_count():
            raise
        return _split_failures(frame, cases, raw_column, reason)


def _split_failures(
    frame: pl.DataFrame, cases: pl.DataFrame, raw_column: str, reason: Reason
) -> tuple[pl.DataFrame, pl.DataFrame]:
    row = "__validate_row"
    value = pl.col("failure_case").fill_null("null")
    checks = pl.format("{}={} fails {}", "column", value, "check")
    details = cases.group_by("index").agg(checks.sort().str.join("; ").alias("detail"))
    details = details.select(pl.col("index").cast(pl.UInt32).alias(row), "detail")
    indexed = frame.with_row_index(row)
    good = indexed.join(details, on=row, how="anti", maintain_order="left").drop(row)
    failed = indexed.join(details, on=row, how="inner", maintain_order="left")
    region = pl.col("region") if "region" in frame.columns else pl.lit(None, pl.String)
    rejects = failed.select(
        "source_file",
        "source_line",
        pl.col(raw_column).cast(pl.String).alias("raw_value"),
        region.alias("region"),
        pl.lit(reason.value, pl.String).alias("reason"),
        "detail",
    )
    return good, rejects.cast(REJECTS_SCHEMA)
