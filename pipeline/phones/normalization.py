"""Normalize raw phone numbers to E.164, or say exactly why a number cannot be used.

The work is split by what it needs. Cleaning (`clean`) is vectorized string work on every row.
Whatever needs the numbering plan (country codes, trunk prefixes, number ranges, number types) is
read once per distinct (cleaned value, region) pair (`reading`), and the answers go back to the
rows by position: exports repeat numbers, in several spellings, and a distinct pair costs far
more to read than a row costs to clean. A rejected row carries one integer, its verdict, until
its reason and detail are written once per distinct verdict (`verdicts`).

A large frame is normalized one slice per core (`threads`), each slice end to end: every row's
answer depends on that row alone, and each step but the reading of the few undecided values is
polars work that releases the GIL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pipeline.phones.clean import CLEAN, KEY_REGION, REGION, VERDICT, check_region, prepare
from pipeline.phones.grouped_apply import distinct
from pipeline.phones.reading import interpret
from pipeline.phones.schemas import Contacts, validate_lazily
from pipeline.phones.threads import map_slices
from pipeline.phones.verdicts import as_rejects

__all__ = ["NormalizeResult", "count_duplicates", "normalize"]


@dataclass(frozen=True)
class NormalizeResult:
    """Every input row lands in exactly one of `valid` and `rejects`."""

    valid: pl.DataFrame
    """The input columns plus `phone_e164` and `region`: the region national numbers were read
    with (the row's country, else the default region; null if the country was not a code)."""
    rejects: pl.DataFrame
    """`source_file, source_line, raw_value, region, reason, detail` (see `rejects`)."""
    distinct_values: int
    """How many distinct (cleaned value, region) pairs the run read: rows that repeat a number,
    even spelled differently, are read once (once per slice, where a large frame is read in
    slices)."""
    distinct_parsed: int
    """How many of those went to phonenumbers one by one (the vectorized reading left them
    undecided): the Python cost of the run."""

    @property
    def rows(self) -> int:
        return self.valid.height + self.rejects.height

    @property
    def valid_count(self) -> int:
        return self.valid.height

    @property
    def rejected_count(self) -> int:
        return self.rejects.height

    @property
    def by_reason(self) -> dict[str, int]:
        counts = self.rejects.group_by("reason").len().sort("reason")
        return dict(counts.iter_rows())


def normalize(
    frame: pl.DataFrame,
    *,
    default_region: str | None = None,
    mobile_only: bool = False,
    _vectorized: bool = True,
) -> NormalizeResult:
    """Turn a raw contacts frame (`schemas.RawContacts`) into E.164 numbers and reasoned rejects.

    `default_region` reads national numbers on rows whose country column is empty; `mobile_only`
    rejects numbers phonenumbers types as anything but a mobile (`reader.MOBILE_TYPES`). The
    valid rows pass the `Contacts` model before they are returned, as a last net under the
    parser. `_vectorized=False` sends every pair to phonenumbers one by one: for the tests and
    the benchmark that hold the vectorized reading (`reading`) to phonenumbers.
    """
    region = check_region(default_region)
    parts = map_slices(frame, lambda rows: _normalize(rows, region, mobile_only, _vectorized))
    return NormalizeResult(
        valid=pl.concat([part.valid for part in parts]),
        rejects=pl.concat([part.rejects for part in parts]),
        distinct_values=sum(part.distinct_values for part in parts),
        distinct_parsed=sum(part.distinct_parsed for part in parts),
    )


def _normalize(
    frame: pl.DataFrame, default_region: str | None, mobile_only: bool, vectorized: bool
) -> NormalizeResult:
    prepared = prepare(frame, default_region)
    # The rows no rule rejected are read, once per distinct key; `slot` is each such row's key.
    candidates = prepared.get_column(VERDICT).is_null().arg_true()
    pairs = prepared.select(pl.col(CLEAN, KEY_REGION).gather(candidates))
    firsts, slots = distinct(pairs)
    keys = pairs[firsts]
    outcomes, parsed = interpret(keys, mobile_only, vectorized=vectorized)
    slot = pl.repeat(None, frame.height, dtype=pl.UInt32, eager=True).scatter(candidates, slots)
    read = prepared.lazy().with_columns(
        outcomes.get_column("phone_e164").gather(slot),
        pl.coalesce(VERDICT, outcomes.get_column(VERDICT).gather(slot)),
    )
    accepted = pl.col("phone_e164").is_not_null()
    valid, rejected = pl.collect_all(
        [
            read.filter(accepted).select(
                *frame.columns, pl.col(REGION).alias("region"), "phone_e164"
            ),
            read.filter(~accepted).select(
                "source_file", "source_line", "phone_raw", "region_raw", REGION, VERDICT
            ),
        ]
    )
    valid, unexpected = validate_lazily(Contacts, valid)
    return NormalizeResult(
        valid=valid,
        rejects=pl.concat([as_rejects(rejected), unexpected]),
        distinct_values=keys.height,
        distinct_parsed=parsed,
    )


def count_duplicates(valid: pl.DataFrame, by: Sequence[str] = ("group", "phone_e164")) -> int:
    """Rows that repeat a number already seen within its group (the report's `duplicates`).

    Run on normalized rows, so `07911 123456` and `+44 7911 123456` are recognised as one person.
    The rows themselves stay: the plan works on distinct numbers, and the rejects output only
    holds rows that were not used.
    """
    return valid.height - valid.select(by).unique().height
