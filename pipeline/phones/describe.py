"""Where valid numbers are and what kind they are: the enrichment a group snapshot carries."""

from __future__ import annotations

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneNumberType

from pipeline.phones import numbering
from pipeline.phones.plan_checks import classify

__all__ = ["describe_numbers"]

_DECIDED = "__decided"
"""A working column: false where the vectorized reading leaves the number to phonenumbers."""


def describe_numbers(e164: pl.Series, *, _vectorized: bool = True) -> pl.DataFrame:
    """One row per distinct number: `phone_e164`, `region` (the number's country), `number_type`.

    For enrichment (the export shows where numbers are and what kind they are), so the cost is
    paid once per distinct number however often each repeats: `numbering` describes them all at
    once, and phonenumbers the few it leaves undecided (all of them with `_vectorized=False`).
    """
    distinct = e164.drop_nulls().unique(maintain_order=True).cast(pl.String).alias("phone_e164")
    described = (
        _describe_vectorized(distinct)
        if _vectorized
        else distinct.to_frame().with_columns(
            pl.lit(None, dtype=pl.String).alias("region"),
            pl.lit(None, dtype=pl.String).alias("number_type"),
            pl.lit(False).alias(_DECIDED),
        )
    )
    undecided = described.filter(~pl.col(_DECIDED)).get_column("phone_e164")
    slow = pl.DataFrame(
        [_describe(value) for value in undecided],
        schema={"region": pl.String, "number_type": pl.String},
        orient="row",
    ).with_columns(undecided)
    return described.update(slow, on="phone_e164", include_nulls=True).select(
        "phone_e164", "region", "number_type"
    )


_TYPE_NAMES = {kind: PhoneNumberType.to_string(kind) for kind in PhoneNumberType.values()}


def _describe_vectorized(e164: pl.Series) -> pl.DataFrame:
    """`_describe` for every number at once, with `_DECIDED` false where `numbering` cannot."""
    parsed = numbering.parse(e164, pl.repeat(None, e164.len(), dtype=pl.String, eager=True))
    kinds = classify(
        parsed.get_column(numbering.COUNTRY_CODE), parsed.get_column(numbering.NATIONAL_NUMBER)
    )
    failed = pl.col(numbering.ERROR).is_not_null()
    return pl.concat([e164.to_frame(), parsed, kinds], how="horizontal").select(
        "phone_e164",
        pl.when(~failed).then(numbering.REGION).alias("region"),
        pl.when(~failed)
        .then(pl.col(numbering.NUMBER_TYPE).replace_strict(_TYPE_NAMES, default=None))
        .alias("number_type"),
        (failed | pl.col(numbering.NUMBER_TYPE).is_not_null()).alias(_DECIDED),
    )


def _describe(e164: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None, None
    kind = PhoneNumberType.to_string(phonenumbers.number_type(number))
    return phonenumbers.region_code_for_number(number), kind
