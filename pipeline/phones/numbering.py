"""phonenumbers' parse, validity, type and region, decided for a whole column at once, exactly.

This module parses (`parse`); `plan_checks.classify` finds each parsed number's region, type and
validity. Both read phonenumbers' metadata as translated by `plans`.

phonenumbers answers one number at a time in Python, about 55 µs each, and a large export has
hundreds of thousands of distinct numbers. Its verdicts are regular-expression tests against its
metadata, so the same tests can run as polars expressions (Rust's regex engine) over all the
numbers one piece of metadata applies to: a pass per region instead of a call per number.

Exactness is the point, so `parse` and `classify` decide only what they can decide exactly and
leave the rest undecided (null) for the caller to give to phonenumbers:

- Values: `+` and ASCII digits (read without a region, or with one if the country code exists),
  or ASCII digits read in a region; that is, values already cleaned of separators, letters and
  extensions. Anything else is undecided.
- Metadata: a pattern is used only if it is written in the small regex subset both engines read
  the same way (digits, `\\d`, digit classes, groups, alternation, `?*+{m,n}`, `$`) and compiles in
  polars. A region with one pattern outside it is undecided, and so is every region sharing its
  country code (finding the region means trying each of them). Today every pattern qualifies.
- Steps that rewrite the number rather than test it: a national prefix phonenumbers transforms
  (Argentina's `0 ... 15`, NANPA's seven-digit local numbers, the Crown Dependencies' six-digit
  ones), and an international dialling prefix written without `+` in a national reading (`011 44`
  read in the US). Those values are undecided.

Each step names the phonenumbers function it mirrors; the tests hold every region to phonenumbers'
answers. Patterns are used as whole-string tests (`^(?:...)$`, phonenumbers' `fullmatch`) or
prefix tests (`^(?:...)`, its `match`): as booleans these mean the same in both engines whatever
their matching strategy. The steps that need the matched text (how long a national prefix or a
country code is, whether a group took part) rely on both engines' leftmost-first semantics, under
which Python's `re` and Rust's `regex` pick the same match.

Speed: most numbers take the short way through each step, so the busiest steps run twice. A fast
build answers the common case with fewer tests (digits that do not start with the country code;
a number the national prefix does not match, or whose first digit no number of the general
pattern starts with, as after a trunk `0`; a number no specific type's pattern can match, tested
all at once) and leaves the rest unsettled; an exact build, phonenumbers' every test, runs on
those rows only (`grouped_apply.settle`). Each build runs per region or country code on that
group's rows, and writes its columns back by position, never by a join. Before any of that, the
`+` numbers that no national prefix can start, most of an export, are parsed in one pass over
every row (`_plain`): for them, grouping and merging would cost more than the reading.
"""

from __future__ import annotations

from functools import cache

import polars as pl
from phonenumbers import NumberParseException, ValidationResult

from pipeline.phones.country_codes import MAIN_REGION_OF_PREFIX, after_plus, first_three
from pipeline.phones.decisive import first_digits
from pipeline.phones.grouped_apply import SETTLED, settle
from pipeline.phones.phonenumbers_private import (
    MAX_INPUT_STRING_LENGTH,
    MAX_LENGTH_FOR_NSN,
    MIN_LENGTH_FOR_NSN,
)
from pipeline.phones.plans import MAIN_REGIONS, Desc, Plan, plan_for, region_plan

__all__ = [
    "COUNTRY_CODE",
    "ERROR",
    "NATIONAL_NUMBER",
    "NUMBER_TYPE",
    "POSSIBLE",
    "REGION",
    "parse",
]

# The columns `parse` returns, then those `plan_checks.classify` returns.
COUNTRY_CODE = "country_code"
NATIONAL_NUMBER = "national_number"
ERROR = "error"
REGION = "region"
NUMBER_TYPE = "number_type"
POSSIBLE = "possible"

_PARSE_OUTPUT = {COUNTRY_CODE: pl.Int32, NATIONAL_NUMBER: pl.String, ERROR: pl.Int8}

# Working columns.
_VALUE = "__value"
_INTERNATIONAL = "__international"
_REGION = "__region"
_DIGITS = "__digits"
_NUMBER = "__number"
_META_REGION = "__meta_region"
_DECIDED = "__decided"
_PLAIN = "__plain"
_PREFIX = "__prefix"

# `parse` keeps a national prefix unstripped if what is left has one of these lengths.
_NOT_A_FULL_LENGTH = frozenset(
    {
        ValidationResult.TOO_SHORT,
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        ValidationResult.INVALID_LENGTH,
    }
)


def parse(values: pl.Series, regions: pl.Series) -> pl.DataFrame:
    """`phonenumbers.parse(value, region)` for each pair, as far as it can be decided exactly.

    Returns one row per value: `country_code` (Int32) and `national_number` (the national
    significant number as text, Italian leading zeros included, so `"+" + country_code +
    national_number` is the E.164 form) where it parses; `error` (a `NumberParseException` error
    type) where phonenumbers would raise; all three null where undecided.

    Most values need none of the steps: they are parsed in one pass over all rows (`_plain`),
    and only the others take the steps.
    """
    if values.is_empty():
        return pl.DataFrame(schema=_PARSE_OUTPUT)
    value, region = pl.col(_VALUE), pl.col(_REGION)
    international = value.str.starts_with("+")
    frame = (
        pl.DataFrame([values.cast(pl.String).alias(_VALUE), regions.cast(pl.String).alias(_REGION)])
        .lazy()
        .with_columns(
            international.alias(_INTERNATIONAL),
            value.str.strip_prefix("+").alias(_DIGITS),
        )
        .with_columns(
            (
                pl.col(_DIGITS).str.contains("^[0-9]+$")
                & (value.str.len_bytes() <= MAX_INPUT_STRING_LENGTH)
                & (international | region.is_not_null())
            ).alias(_DECIDED)
        )
        .collect()
        .pipe(_plain)
    )
    rest = frame.get_column(_PLAIN).not_().arg_true()
    stepped = _parse_in_steps(frame[rest].drop(*_PARSE_OUTPUT, _PLAIN))
    return pl.DataFrame(
        [frame.get_column(name).scatter(rest, stepped.get_column(name)) for name in _PARSE_OUTPUT]
    )


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """`parse` of the values that need none of its steps, marked by `_PLAIN` (the other rows'
    columns are not used): those it cannot decide, and `+` values read without a region that
    have too few digits, no country code, or a number that the national prefix of its code's
    main region cannot start (so it is kept whole).

    The steps (`_split_international` and `_strip_for_parsing`) give the same answers on these;
    taking them in one pass over every row saves grouping and merging the many values that need
    no more. Digits read in a region are left to the steps: many start with a trunk prefix or
    the region's country code, which only the steps can read, and telling the others apart here
    cost more than it saved.
    """
    digits, code, number = pl.col(_DIGITS), pl.col(COUNTRY_CODE), pl.col(NATIONAL_NUMBER)
    found_code, after_code = after_plus(digits, pl.col(_PREFIX))
    split = (
        frame.lazy()
        .with_columns(first_three(digits).alias(_PREFIX))
        .with_columns(found_code.alias(COUNTRY_CODE), after_code.alias(NATIONAL_NUMBER))
        .collect()
    )
    # Whether the main region's national prefix leaves a number whole, by code * 10 + its
    # first digit, for the codes the values hold.
    kept = [False] * 10_000
    for country_code in split.get_column(COUNTRY_CODE).unique().drop_nulls().to_list():
        plan = plan_for(country_code, MAIN_REGIONS[country_code])
        if plan is not None:
            pattern = plan.national_prefix.pattern if plan.national_prefix else None
            starts = None if pattern is None else first_digits(pattern)
            for digit in range(10):
                kept[country_code * 10 + digit] = pattern is None or (
                    starts is not None and str(digit) not in starts
                )
    first = number.str.slice(0, 1).cast(pl.UInt16, strict=False)
    decided, refused = pl.col(_DECIDED), _plus_error(digits, code)
    error = pl.when(decided).then(pl.coalesce(refused, _length_error(number)))
    plain = ~decided | (
        pl.col(_INTERNATIONAL)
        & pl.col(_REGION).is_null()
        & (refused.is_not_null() | pl.lit(pl.Series(kept)).gather(code * 10 + first))
    )
    parsed = decided & pl.col(ERROR).is_null()
    return (
        split.lazy()
        .with_columns(error.cast(pl.Int8).alias(ERROR), plain.fill_null(False).alias(_PLAIN))
        .with_columns(pl.when(parsed).then(pl.col(COUNTRY_CODE, NATIONAL_NUMBER)))
        .drop(_PREFIX)
        .collect()
    )


def _parse_in_steps(frame: pl.DataFrame) -> pl.DataFrame:
    """`parse` of the values `_plain` leaves, step after step."""
    decided = pl.col(_DECIDED)
    # A value read in a region first looks for its country code the way
    # `_maybe_extract_country_code` does without `+`; both kinds then take the national prefix
    # step with the metadata that `parse` holds by then. Each step settles the common case, and
    # an exact step takes the rest.
    national = ([_REGION], _split_national_exactly)
    split = settle(frame, decided, ([_INTERNATIONAL, _REGION], _split), national, _SPLIT_SCHEMA)
    pending = decided & pl.col(ERROR).is_null()
    by = [COUNTRY_CODE, _META_REGION]
    parsed = settle(
        split, pending, (by, _strip_for_parsing), (by, _strip_for_parsing_exactly), _PARSED_SCHEMA
    )
    return parsed.select(
        pl.when(pending).then(COUNTRY_CODE).alias(COUNTRY_CODE),
        pl.when(pending).then(NATIONAL_NUMBER).alias(NATIONAL_NUMBER),
        pl.when(decided).then(ERROR).alias(ERROR),
    )


# --- the steps ----------------------------------------------------------------------------------

_SPLIT_SCHEMA = {
    COUNTRY_CODE: pl.Int32,
    _NUMBER: pl.String,
    _META_REGION: pl.String,
    ERROR: pl.Int8,
    _DECIDED: pl.Boolean,
}
_PARSED_SCHEMA = {NATIONAL_NUMBER: pl.String, ERROR: pl.Int8, _DECIDED: pl.Boolean}


def _split(international: bool, region: str | None) -> dict[str, pl.Expr]:
    return _split_international() if international else _split_national(region)


@cache
def _split_international() -> dict[str, pl.Expr]:
    """`+` and digits: `_maybe_extract_country_code` after a `+`, with `parse`'s checks on it."""
    digits = pl.col(_DIGITS)
    prefix = first_three(digits)
    code, number = after_plus(digits, prefix)
    return {
        COUNTRY_CODE: code,
        _NUMBER: number,
        _META_REGION: pl.lit(MAIN_REGION_OF_PREFIX).gather(prefix),
        ERROR: _plus_error(digits, code),
        # Without a country code `parse` retries the digits as a national number: that fails for
        # certain only without a region.
        _DECIDED: (digits.str.len_bytes() < 3) | code.is_not_null() | pl.col(_REGION).is_null(),
        SETTLED: pl.lit(True),
    }


@cache
def _split_national(region: str | None) -> dict[str, pl.Expr]:
    """Digits read in a region: its country code, for the digits that do not start with it (the
    others are left unsettled, for `_split_national_exactly`)."""
    plan = region_plan(region)
    if plan is None:
        return {_DECIDED: pl.lit(False), SETTLED: pl.lit(True)}
    digits = pl.col(_DIGITS)
    return {
        COUNTRY_CODE: pl.lit(plan.country_code),
        _NUMBER: digits,
        _META_REGION: pl.col(_REGION),
        # Two digits are viable too, but too rare to need a rule.
        _DECIDED: (digits.str.len_bytes() >= 3) & ~_prefixed(digits, plan.international_prefix),
        SETTLED: ~digits.str.starts_with(str(plan.country_code)),
    }


@cache
def _split_national_exactly(region: str | None) -> dict[str, pl.Expr]:
    """Digits read in a region: `_maybe_extract_country_code` with the region's metadata."""
    plan = region_plan(region)
    if plan is None:
        return {_DECIDED: pl.lit(False)}
    digits = pl.col(_DIGITS)
    code = str(plan.country_code)
    # The digits may start with the region's own country code, its `+` lost: phonenumbers drops
    # the code when the rest reads better as a national number, or the whole is too long.
    has_code = digits.str.starts_with(code)
    rest, rest_decided = _strip_national_prefix(digits.str.slice(len(code)), plan)
    too_long = plan.lengths_where(lambda result: result == ValidationResult.TOO_LONG)
    without_code = has_code & (
        (~_matches(digits, plan.general) & _matches(rest, plan.general))
        | digits.str.len_bytes().is_in(too_long)
    )
    decided = (
        (digits.str.len_bytes() >= 3)  # two digits are viable too, but too rare to need a rule
        & ~_prefixed(digits, plan.international_prefix)
        & (~has_code | rest_decided)
    )
    return {
        COUNTRY_CODE: pl.lit(plan.country_code),
        _NUMBER: pl.when(without_code).then(rest).otherwise(digits),
        # With the code found, `parse` goes on with the code's main region's metadata.
        _META_REGION: pl.when(without_code)
        .then(pl.lit(MAIN_REGIONS[plan.country_code]))
        .otherwise(pl.col(_REGION)),
        _DECIDED: decided,
    }


@cache
def _strip_for_parsing(country_code: int, region: str | None) -> dict[str, pl.Expr]:
    """The rest of `parse` once the country code is known, for the numbers no test of the general
    pattern can change: those the national prefix does not match, and those whose first digit
    cannot start a match (a trunk `0`). The others are left unsettled, for the exact step."""
    plan = plan_for(country_code, region)
    if plan is None:
        return {_DECIDED: pl.lit(False), SETTLED: pl.lit(True)}
    number, prefix = pl.col(_NUMBER), plan.national_prefix
    # The same match the strip takes, so that a lazy query finds it once.
    unmatched = pl.lit(True) if prefix is None else number.str.extract(prefix.pattern, 0).is_null()
    settled = unmatched | _cannot_match(number, plan.general)
    stripped = _strip_for_parsing_exactly(country_code, region, test_general=False)
    return {**stripped, SETTLED: settled}


@cache
def _strip_for_parsing_exactly(
    country_code: int, region: str | None, test_general: bool = True
) -> dict[str, pl.Expr]:
    """The rest of `parse` once the country code is known: the national prefix and the lengths
    (without the general pattern's tests if not `test_general`: see `_strip_national_prefix`)."""
    plan = plan_for(country_code, region)
    if plan is None:
        return {_DECIDED: pl.lit(False)}
    number = pl.col(_NUMBER)
    too_short = number.str.len_bytes() < MIN_LENGTH_FOR_NSN
    stripped, decided = _strip_national_prefix(number, plan, test_general=test_general)
    # The strip stands only if it leaves a number of a full length.
    full = plan.lengths_where(lambda result: result not in _NOT_A_FULL_LENGTH)
    national = pl.when(stripped.str.len_bytes().is_in(full)).then(stripped).otherwise(number)
    return {
        NATIONAL_NUMBER: national,
        ERROR: pl.when(too_short)
        .then(NumberParseException.TOO_SHORT_NSN)
        .when(national.str.len_bytes() > MAX_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_LONG),
        _DECIDED: too_short | decided,
    }


def _plus_error(digits: pl.Expr, code: pl.Expr) -> pl.Expr:
    """`parse`'s error for `+` and digits before the national number is read: too few digits
    (`_is_viable_phone_number` wants three), or no country code; null if neither."""
    return (
        pl.when(digits.str.len_bytes() < 3)
        .then(NumberParseException.NOT_A_NUMBER)
        .when(code.is_null())
        .then(NumberParseException.INVALID_COUNTRY_CODE)
    )


def _length_error(number: pl.Expr) -> pl.Expr:
    """`parse`'s error for a national number too short or too long; null if neither."""
    length = number.str.len_bytes()
    return (
        pl.when(length < MIN_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_SHORT_NSN)
        .when(length > MAX_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_LONG)
    )


def _strip_national_prefix(
    number: pl.Expr, plan: Plan, *, test_general: bool = True
) -> tuple[pl.Expr, pl.Expr]:
    """`_maybe_strip_national_prefix_carrier_code`: (the number after it, whether decided);
    without `test_general`, for numbers the general pattern cannot match only (`_cannot_match`)."""
    prefix = plan.national_prefix
    if prefix is None:
        return number, pl.lit(True)
    matched = number.str.extract(prefix.pattern, 0)
    stripped = number.str.slice(matched.str.len_bytes())
    # No strip that turns a number fitting the general pattern into one that does not.
    kept = matched.is_null()
    if test_general:
        kept = kept | (_matches(number, plan.general) & ~_matches(stripped, plan.general))
    plain = (
        pl.lit(True)
        if prefix.transform_group is None
        else number.str.extract(prefix.pattern, prefix.transform_group).is_null()
    )
    decided = matched.is_null() | (
        pl.when(matched == "").then(prefix.empty_match_strips).otherwise(plain)
    )
    return pl.when(kept).then(number).otherwise(stripped), decided


def _matches(number: pl.Expr, desc: Desc | None) -> pl.Expr:
    """`_match_national_number`: the pattern alone, no length check."""
    return pl.lit(False) if desc is None else number.str.contains(desc.pattern)


def _cannot_match(number: pl.Expr, desc: Desc | None) -> pl.Expr:
    """Whether the first digit rules out a match of the pattern (false where unsure)."""
    if desc is None:
        return pl.lit(True)
    starts = first_digits(desc.pattern)
    return pl.lit(False) if starts is None else ~number.str.slice(0, 1).is_in(sorted(starts))


def _prefixed(number: pl.Expr, pattern: str | None) -> pl.Expr:
    return pl.lit(False) if pattern is None else number.str.contains(pattern)
