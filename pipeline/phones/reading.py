"""Reading the distinct cleaned values against the numbering plan: all at once, then one by one.

phonenumbers costs about 50 µs a number, and a large export has hundreds of thousands of distinct
numbers. So the values are first read all at once by `numbering` and `plan_checks`, which run
phonenumbers' own metadata patterns as polars expressions and give exactly phonenumbers' answers
where they answer at all; only the values they leave undecided (rare spellings, a few regions'
rewriting rules) go to phonenumbers one by one (`reader`, over every core when there are many).

Reading a value without `+`: as a national number of the row's region first; if that is not a
valid number, as an international number that lost its `+` (Excel's `447911123456.0`, or `00`
from a country whose exit code is not 00). Without any region, the international reading is the
only one.
"""

from __future__ import annotations

import polars as pl
from phonenumbers import PhoneNumberType

from pipeline.phones import numbering, reader
from pipeline.phones.clean import CLEAN, KEY_REGION, VERDICT
from pipeline.phones.plan_checks import classify

__all__ = ["interpret"]

# Working columns.
_FOUND = "__found"
_DECIDED = "__decided"
_IN_REGION = "__in_region"
_RETRY = "__retry"  # column prefix: the international reading of a value read in a region first


def interpret(
    keys: pl.DataFrame, mobile_only: bool, *, vectorized: bool
) -> tuple[pl.DataFrame, int]:
    """`phone_e164` and `VERDICT` per key, in order, and how many keys phonenumbers read.

    `numbering` reads them all at once, and phonenumbers what it leaves undecided (everything,
    with `vectorized` off).
    """
    if vectorized:
        read = _interpret_vectorized(keys, mobile_only)
    else:
        read = pl.DataFrame(
            {
                "phone_e164": pl.repeat(None, keys.height, dtype=pl.String, eager=True),
                VERDICT: pl.repeat(None, keys.height, dtype=pl.Int32, eager=True),
                _DECIDED: pl.repeat(False, keys.height, eager=True),
            }
        )
    undecided = read.get_column(_DECIDED).not_().arg_true()
    pairs = keys.select(pl.col(CLEAN, KEY_REGION).gather(undecided)).rows()
    outcomes = reader.read_all(pairs, mobile_only)
    e164 = read.get_column("phone_e164").scatter(undecided, [e164 for e164, _ in outcomes])
    verdict = read.get_column(VERDICT).scatter(undecided, [verdict for _, verdict in outcomes])
    return pl.DataFrame([e164, verdict]), len(pairs)


def _interpret_vectorized(keys: pl.DataFrame, mobile_only: bool) -> pl.DataFrame:
    """What `reader.Reader.interpret` gives, per key: `phone_e164`, `VERDICT`, and `_DECIDED`
    (false where `numbering` cannot decide a reading the key needs).

    The readings and their order are `reader.readings`'; the international reading of a value
    without `+` is only made where the national one leaves it needed (no region, or a national
    reading that found nothing).
    """
    values, regions = keys.get_column(CLEAN), keys.get_column(KEY_REGION)
    first = _read_vectorized(values, regions, mobile_only)
    international = values.str.starts_with("+")
    again = (
        ~international & (regions.is_null() | (first.get_column(_DECIDED) & ~first[_FOUND]))
    ).arg_true()
    outputs = ["phone_e164", VERDICT, _DECIDED]
    if again.is_empty():
        return first.select(outputs)
    second = _read_vectorized(
        "+" + values.gather(again).str.replace("^00", ""),
        pl.repeat(None, again.len(), dtype=pl.String, eager=True),
        mobile_only,
    )
    # Every other key keeps its first reading: a `+` value has no other, and a national one
    # that found a number, or could not be decided, needs none.
    in_region = pl.col(_IN_REGION)

    def chosen(column: str, no_region: object) -> pl.Expr:
        """The international reading if it finds a number, else the national reading's
        failure, else (no region to read a national number in) `no_region`."""
        return (
            pl.when(_RETRY + _FOUND)
            .then(pl.col(_RETRY + column))
            .when(in_region)
            .then(pl.col(column))
            .otherwise(pl.lit(no_region, dtype=first.schema[column]))
            .alias(column)
        )

    redone = (
        pl.concat(
            [
                first[again].select(outputs[:2]),
                second.select(pl.all().name.prefix(_RETRY)),
                regions.gather(again).is_not_null().alias(_IN_REGION).to_frame(),
            ],
            how="horizontal",
        )
        .lazy()
        .select(
            chosen("phone_e164", None),
            chosen(VERDICT, reader.NO_REGION),
            pl.col(_RETRY + _DECIDED).alias(_DECIDED),
        )
        .collect()
    )
    return pl.DataFrame(
        [first.get_column(name).scatter(again, redone.get_column(name)) for name in outputs]
    )


def _read_vectorized(values: pl.Series, regions: pl.Series, mobile_only: bool) -> pl.DataFrame:
    """`reader.Reader._read` on every (value, region) at once: `phone_e164`, `VERDICT`,
    `_FOUND` (see `reader.found`) and `_DECIDED` (false where `numbering` cannot decide)."""
    parsed = numbering.parse(values, regions)
    kinds = classify(
        parsed.get_column(numbering.COUNTRY_CODE), parsed.get_column(numbering.NATIONAL_NUMBER)
    )
    error = pl.col(numbering.ERROR).cast(pl.Int32)
    code = pl.col(numbering.COUNTRY_CODE).cast(pl.Int32)
    kind = pl.col(numbering.NUMBER_TYPE).cast(pl.Int32)
    valid = kind != PhoneNumberType.UNKNOWN
    refused = valid & ~kind.is_in(list(reader.MOBILE_TYPES)) if mobile_only else pl.lit(False)
    accepted = valid & ~refused
    # Lazy, so that the tests the columns share run once.
    return (
        pl.concat([parsed, kinds], how="horizontal")
        .lazy()
        .select(
            pl.when(accepted)
            .then(pl.format("+{}{}", code, numbering.NATIONAL_NUMBER))
            .alias("phone_e164"),
            pl.when(error.is_not_null())
            .then(reader.PARSE_FAILED + error)
            .when(refused)
            .then(reader.not_mobile(code, kind))
            .when(~valid)
            .then(reader.invalid(code, pl.col(numbering.POSSIBLE).cast(pl.Int32)))
            .cast(pl.Int32)
            .alias(VERDICT),
            (accepted | refused).fill_null(False).alias(_FOUND),
            (error.is_not_null() | kind.is_not_null()).alias(_DECIDED),
        )
        .collect()
    )
