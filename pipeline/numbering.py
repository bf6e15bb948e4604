"""phonenumbers' parse, validity, type and region, decided for a whole column at once, exactly.

phonenumbers answers one number at a time in Python, about 55 µs each, and a large export has
hundreds of thousands of distinct numbers. Its verdicts are regular-expression tests against its
metadata, so the same tests can run as polars expressions (Rust's regex engine) over all the
numbers one piece of metadata applies to: a pass per region instead of a call per number.

Exactness is the point, so this module decides only what it can decide exactly and leaves the rest
undecided (null) for the caller to give to phonenumbers:

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
build answers the common case with fewer tests (digits that do not start with the country code,
a number the national prefix does not match, a number no specific type's pattern can match,
tested all at once) and leaves the rest unsettled; an exact build, phonenumbers' every test, runs
on those rows only (`_settle`). Each build runs per region or country code on that group's rows,
and writes its columns back by position, never by a join.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache

import polars as pl
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberType,
    ValidationResult,
)
from phonenumbers.phonenumberutil import (
    _MAX_INPUT_STRING_LENGTH,
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    _test_number_length,
)

__all__ = [
    "COUNTRY_CODE",
    "ERROR",
    "NATIONAL_NUMBER",
    "NUMBER_TYPE",
    "POSSIBLE",
    "REGION",
    "classify",
    "parse",
]

COUNTRY_CODE = "country_code"
NATIONAL_NUMBER = "national_number"
ERROR = "error"
REGION = "region"
NUMBER_TYPE = "number_type"
POSSIBLE = "possible"

_PARSE_OUTPUT = {COUNTRY_CODE: pl.Int32, NATIONAL_NUMBER: pl.String, ERROR: pl.Int8}
_CLASSIFY_OUTPUT = {REGION: pl.String, NUMBER_TYPE: pl.Int8, POSSIBLE: pl.Int8}

# Working columns.
_VALUE = "__value"
_INTERNATIONAL = "__international"
_REGION = "__region"
_DIGITS = "__digits"
_NUMBER = "__number"
_META_REGION = "__meta_region"
_DECIDED = "__decided"
_SETTLED = "__settled"
_POSITION = "__position"

# The types `_number_type_helper` tries after the general pattern, in its order; fixed line and
# mobile come last and are handled apart (see `_number_type`).
_SPECIFIC_TYPES = (
    (PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    (PhoneNumberType.TOLL_FREE, "toll_free"),
    (PhoneNumberType.SHARED_COST, "shared_cost"),
    (PhoneNumberType.VOIP, "voip"),
    (PhoneNumberType.PERSONAL_NUMBER, "personal_number"),
    (PhoneNumberType.PAGER, "pager"),
    (PhoneNumberType.UAN, "uan"),
    (PhoneNumberType.VOICEMAIL, "voicemail"),
)
# `parse` keeps a national prefix unstripped if what is left has one of these lengths.
_NOT_A_FULL_LENGTH = frozenset(
    {
        ValidationResult.TOO_SHORT,
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        ValidationResult.INVALID_LENGTH,
    }
)
# The regex subset read identically by Python's `re` and Rust's `regex` on ASCII digit strings.
_TOKEN = re.compile(r"\\d|\[(?:\\d|\d(?:-\d)?)+\]|\d|\(\?:|[()|?*+$]|\{\d+(?:,\d*)?\}")
_MAIN_REGIONS = {code: regions[0] for code, regions in COUNTRY_CODE_TO_REGION_CODE.items()}
# `_extract_country_code` takes the first one, two or three digits that are a country code (none
# starts with 0): so the first three digits decide it, and these tables, indexed by them, hold the
# code, how many digits it has, and its main region.
_CODES_OF_PREFIXES = [
    next(
        (
            int(digits[:size])
            for size in (1, 2, 3)
            if digits[0] != "0" and int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE
        ),
        None,
    )
    for digits in (f"{prefix:03d}" for prefix in range(1000))
]
_CODE_OF_PREFIX = pl.Series(_CODES_OF_PREFIXES, dtype=pl.Int32)
_CODE_LENGTH_OF_PREFIX = pl.Series(
    [None if code is None else len(str(code)) for code in _CODES_OF_PREFIXES], dtype=pl.UInt32
)
_MAIN_REGION_OF_PREFIX = pl.Series(
    [None if code is None else _MAIN_REGIONS[code] for code in _CODES_OF_PREFIXES],
    dtype=pl.String,
)
# Groups from this many rows up run as a lazy query (see `_build`).
_LAZY_FROM_ROWS = 10_000


def parse(values: pl.Series, regions: pl.Series) -> pl.DataFrame:
    """`phonenumbers.parse(value, region)` for each pair, as far as it can be decided exactly.

    Returns one row per value: `country_code` (Int32) and `national_number` (the national
    significant number as text, Italian leading zeros included, so `"+" + country_code +
    national_number` is the E.164 form) where it parses; `error` (a `NumberParseException` error
    type) where phonenumbers would raise; all three null where undecided.
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
            pl.when(international).then(value.str.slice(1)).otherwise(value).alias(_DIGITS),
        )
        .with_columns(
            (
                pl.col(_DIGITS).str.contains("^[0-9]+$")
                & (value.str.len_bytes() <= _MAX_INPUT_STRING_LENGTH)
                & (international | region.is_not_null())
            ).alias(_DECIDED)
        )
        .collect()
    )
    decided = pl.col(_DECIDED)
    # A value read in a region first looks for its country code the way
    # `_maybe_extract_country_code` does without `+`; both kinds then take the national prefix
    # step with the metadata that `parse` holds by then. Each step settles the common case, and
    # an exact step takes the rest.
    split = _settle(
        frame,
        decided,
        ([_INTERNATIONAL, _REGION], _split),
        ([_REGION], _split_national_exactly),
        _SPLIT_SCHEMA,
    )
    pending = decided & pl.col(ERROR).is_null()
    by = [COUNTRY_CODE, _META_REGION]
    parsed = _settle(
        split,
        pending,
        (by, _strip_for_parsing),
        (by, _strip_for_parsing_exactly),
        _PARSED_SCHEMA,
    )
    return parsed.select(
        pl.when(pending).then(COUNTRY_CODE).alias(COUNTRY_CODE),
        pl.when(pending).then(NATIONAL_NUMBER).alias(NATIONAL_NUMBER),
        pl.when(decided).then(ERROR).alias(ERROR),
    )


def classify(country_codes: pl.Series, national_numbers: pl.Series) -> pl.DataFrame:
    """`region_code_for_number`, `number_type` and `is_possible_number_with_reason` per number.

    The numbers are what `parse` returns. Returns `region` (null where phonenumbers finds none),
    `number_type` (a `PhoneNumberType`; the number is valid exactly when it is not UNKNOWN, since
    `is_valid_number` is `_number_type_helper(...) != UNKNOWN` in the region found, and
    `number_type` the same helper) and `possible` (a `ValidationResult`); all three null where
    undecided.
    """
    if country_codes.is_empty():
        return pl.DataFrame(schema=_CLASSIFY_OUTPUT)
    frame = pl.DataFrame(
        [
            country_codes.cast(pl.Int32).alias(COUNTRY_CODE),
            national_numbers.cast(pl.String).alias(NATIONAL_NUMBER),
        ]
    )
    decided = pl.col(_DECIDED)
    # Most numbers are in their code's main region, so the other regions that share the code are
    # only tried on the numbers that are not; and a region found by its leading digits (no type
    # test) types its numbers last. The first step settles the numbers no specific type (premium
    # rate, toll free, ...) can match, and an exact step takes the rest.
    by = [COUNTRY_CODE]
    located = _settle(frame, None, (by, _locate), (by, _locate_exactly), _LOCATED_SCHEMA)
    elsewhere = decided & pl.col(REGION).is_null() & pl.col(NUMBER_TYPE).is_null()
    located = _apply_to(
        located,
        elsewhere,
        [COUNTRY_CODE],
        {REGION: pl.String, NUMBER_TYPE: pl.Int8},
        _locate_elsewhere,
    )
    untyped = decided & pl.col(NUMBER_TYPE).is_null()
    typed = _apply_to(located, untyped, [COUNTRY_CODE, REGION], {NUMBER_TYPE: pl.Int8}, _type_in)
    return typed.select(
        pl.when(decided).then(REGION).alias(REGION),
        pl.when(decided).then(NUMBER_TYPE).alias(NUMBER_TYPE),
        pl.when(decided).then(POSSIBLE).alias(POSSIBLE),
    )


# --- the metadata, translated -------------------------------------------------------------------


@dataclass(frozen=True)
class _Desc:
    """A `PhoneNumberDesc`: the whole-number pattern, and the lengths checked before it."""

    pattern: str
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class _NationalPrefix:
    """`national_prefix_for_parsing`, and what tells a plain strip from a transform."""

    pattern: str
    transform_group: int | None
    """With a transform rule, the group whose taking part means a transform; else None."""
    empty_match_strips: bool
    """Whether a zero-length match takes the plain strip (which then changes nothing)."""


@dataclass(frozen=True)
class _Plan:
    """One region's metadata (or a non-geographic code's) as anchored polars patterns."""

    country_code: int
    general: _Desc | None
    specific: tuple[tuple[int, _Desc | None], ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool
    leading_digits: str | None
    national_prefix: _NationalPrefix | None
    international_prefix: str | None
    length_results: Mapping[int, int]
    """`_test_number_length` against the general lengths, for every length a value can have."""
    any_specific: str | None
    """Matches whatever any specific type's pattern matches, lengths aside (None: no such
    pattern, or too large a regex): one test that rules all of them out for most numbers."""

    def lengths_where(self, accept: Callable[[int], bool]) -> list[int]:
        return [length for length, result in self.length_results.items() if accept(result)]


class _UntranslatableError(Exception):
    """A metadata pattern outside the subset both regex engines read alike."""


def _region_plan(region: str | None) -> _Plan | None:
    metadata = None if region is None else PhoneMetadata.metadata_for_region(region, None)
    return None if metadata is None else _plan(metadata.country_code, region)


@cache
def _plan(country_code: int, region: str | None) -> _Plan | None:
    """The translated metadata, or None if any pattern phonenumbers would use cannot be."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    try:
        plan = _Plan(
            country_code=country_code,
            general=_desc(metadata.general_desc),
            specific=tuple(
                (kind, _desc(getattr(metadata, name))) for kind, name in _SPECIFIC_TYPES
            ),
            fixed_line=_desc(metadata.fixed_line),
            mobile=_desc(metadata.mobile),
            same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
            leading_digits=_prefix_pattern(metadata.leading_digits),
            national_prefix=_national_prefix(metadata),
            international_prefix=_prefix_pattern(metadata.international_prefix),
            length_results={
                length: _test_number_length("0" * length, metadata)
                for length in range(_MAX_INPUT_STRING_LENGTH + 1)
            },
            any_specific=None,
        )
    except _UntranslatableError:
        return None
    if not _compiles(_patterns(plan)):
        return None
    specific = [desc.pattern for _, desc in plan.specific if desc is not None]
    # The anchors inside the alternatives keep each one a whole-string test.
    any_specific = "^(?:{})$".format("|".join(specific))
    return (
        replace(plan, any_specific=any_specific) if specific and _compiles([any_specific]) else plan
    )


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    """None where `_is_number_matching_desc` is always False (no desc, or no pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(_translate(desc.national_number_pattern, "^(?:{})$"), tuple(desc.possible_length))


def _prefix_pattern(pattern: str | None) -> str | None:
    return _translate(pattern, "^(?:{})") if pattern else None


def _national_prefix(metadata: PhoneMetadata) -> _NationalPrefix | None:
    """How `_maybe_strip_national_prefix_carrier_code` will treat a match of the prefix."""
    source = metadata.national_prefix_for_parsing
    if not source:
        return None
    compiled = re.compile(source)
    transform_group = None
    if metadata.national_prefix_transform_rule:
        if compiled.groups == 0:
            raise _UntranslatableError(source)  # phonenumbers itself would fail on it
        transform_group = compiled.groups
    # A zero-length match consumes nothing and no pattern here asserts anything but `$`, so the
    # path it takes is the same on every non-empty number: the one it takes on a non-digit.
    empty = compiled.match("a")
    empty_match_strips = (
        empty is None or transform_group is None or empty.group(transform_group) is None
    )
    return _NationalPrefix(_translate(source, "^(?:{})"), transform_group, empty_match_strips)


def _translate(pattern: str, frame: str) -> str:
    r"""`pattern` for polars, anchored by `frame`; `\d` becomes `0-9`, as the values are ASCII."""
    tokens = []
    position = 0
    while position < len(pattern):
        token = _TOKEN.match(pattern, position)
        if token is None:
            raise _UntranslatableError(pattern)
        text = token.group()
        if text.startswith("["):
            text = text.replace(r"\d", "0-9")
        elif text == r"\d":
            text = "[0-9]"
        tokens.append(text)
        position = token.end()
    return frame.format("".join(tokens))


def _patterns(plan: _Plan) -> list[str]:
    descs = [plan.general, plan.fixed_line, plan.mobile, *(desc for _, desc in plan.specific)]
    prefixes = [plan.leading_digits, plan.international_prefix]
    if plan.national_prefix is not None:
        prefixes.append(plan.national_prefix.pattern)
    return [desc.pattern for desc in descs if desc] + [p for p in prefixes if p]


def _compiles(patterns: list[str]) -> bool:
    """Whether polars accepts every pattern (its engine also bounds a compiled regex's size)."""
    try:
        pl.select(pl.lit("0").str.contains(p).alias(str(i)) for i, p in enumerate(patterns))
    except pl.exceptions.PolarsError:
        return False
    return True


# --- parsing ------------------------------------------------------------------------------------

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
    prefix = digits.str.slice(0, 3).cast(pl.UInt16, strict=False)
    code = pl.lit(_CODE_OF_PREFIX).gather(prefix)
    # `_is_viable_phone_number`: after a `+`, three digits at least.
    too_few = digits.str.len_bytes() < 3
    return {
        COUNTRY_CODE: code,
        _NUMBER: digits.str.slice(pl.lit(_CODE_LENGTH_OF_PREFIX).gather(prefix)),
        _META_REGION: pl.lit(_MAIN_REGION_OF_PREFIX).gather(prefix),
        ERROR: pl.when(too_few)
        .then(NumberParseException.NOT_A_NUMBER)
        .when(code.is_null())
        .then(NumberParseException.INVALID_COUNTRY_CODE),
        # Without a country code `parse` retries the digits as a national number: that fails for
        # certain only without a region.
        _DECIDED: too_few | code.is_not_null() | pl.col(_REGION).is_null(),
        _SETTLED: pl.lit(True),
    }


@cache
def _split_national(region: str | None) -> dict[str, pl.Expr]:
    """Digits read in a region: its country code, for the digits that do not start with it (the
    others are left unsettled, for `_split_national_exactly`)."""
    plan = _region_plan(region)
    if plan is None:
        return {_DECIDED: pl.lit(False), _SETTLED: pl.lit(True)}
    digits = pl.col(_DIGITS)
    return {
        COUNTRY_CODE: pl.lit(plan.country_code),
        _NUMBER: digits,
        _META_REGION: pl.col(_REGION),
        # Two digits are viable too, but too rare to need a rule.
        _DECIDED: (digits.str.len_bytes() >= 3) & ~_prefixed(digits, plan.international_prefix),
        _SETTLED: ~digits.str.starts_with(str(plan.country_code)),
    }


@cache
def _split_national_exactly(region: str | None) -> dict[str, pl.Expr]:
    """Digits read in a region: `_maybe_extract_country_code` with the region's metadata."""
    plan = _region_plan(region)
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
        .then(pl.lit(_MAIN_REGIONS[plan.country_code]))
        .otherwise(pl.col(_REGION)),
        _DECIDED: decided,
    }


@cache
def _strip_for_parsing(country_code: int, region: str | None) -> dict[str, pl.Expr]:
    """The rest of `parse` once the country code is known, for the numbers the national prefix
    does not match: they stay as they are. The others are left unsettled, for
    `_strip_for_parsing_exactly`."""
    plan = _plan(country_code, region)
    if plan is None:
        return {_DECIDED: pl.lit(False), _SETTLED: pl.lit(True)}
    number = pl.col(_NUMBER)
    length = number.str.len_bytes()
    prefix = plan.national_prefix
    return {
        NATIONAL_NUMBER: number,
        ERROR: pl.when(length < _MIN_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_SHORT_NSN)
        .when(length > _MAX_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_LONG),
        _DECIDED: pl.lit(True),
        _SETTLED: pl.lit(True) if prefix is None else ~number.str.contains(prefix.pattern),
    }


@cache
def _strip_for_parsing_exactly(country_code: int, region: str | None) -> dict[str, pl.Expr]:
    """The rest of `parse` once the country code is known: the national prefix and the lengths."""
    plan = _plan(country_code, region)
    if plan is None:
        return {_DECIDED: pl.lit(False)}
    number = pl.col(_NUMBER)
    too_short = number.str.len_bytes() < _MIN_LENGTH_FOR_NSN
    stripped, decided = _strip_national_prefix(number, plan)
    # The strip stands only if it leaves a number of a full length.
    full = plan.lengths_where(lambda result: result not in _NOT_A_FULL_LENGTH)
    national = pl.when(stripped.str.len_bytes().is_in(full)).then(stripped).otherwise(number)
    return {
        NATIONAL_NUMBER: national,
        ERROR: pl.when(too_short)
        .then(NumberParseException.TOO_SHORT_NSN)
        .when(national.str.len_bytes() > _MAX_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_LONG),
        _DECIDED: too_short | decided,
    }


def _strip_national_prefix(number: pl.Expr, plan: _Plan) -> tuple[pl.Expr, pl.Expr]:
    """`_maybe_strip_national_prefix_carrier_code`: (the number after it, whether decided)."""
    prefix = plan.national_prefix
    if prefix is None:
        return number, pl.lit(True)
    matched = number.str.extract(prefix.pattern, 0)
    stripped = number.str.slice(matched.str.len_bytes())
    # No strip that turns a number fitting the general pattern into one that does not.
    kept = matched.is_null() | (_matches(number, plan.general) & ~_matches(stripped, plan.general))
    plain = (
        pl.lit(True)
        if prefix.transform_group is None
        else number.str.extract(prefix.pattern, prefix.transform_group).is_null()
    )
    decided = matched.is_null() | (
        pl.when(matched == "").then(prefix.empty_match_strips).otherwise(plain)
    )
    return pl.when(kept).then(number).otherwise(stripped), decided


# --- validity, type and region ------------------------------------------------------------------

_LOCATED_SCHEMA = {
    REGION: pl.String,
    NUMBER_TYPE: pl.Int8,
    POSSIBLE: pl.Int8,
    _DECIDED: pl.Boolean,
}


@cache
def _locate(country_code: int | None) -> dict[str, pl.Expr]:
    """`_locate_exactly` for the numbers no specific type's pattern may match; the others are
    left unsettled.

    Most numbers are mobiles and landlines, and one test of all the specific types' patterns at
    once rules out the eight tests of `_number_type` for them.
    """
    plans = _plans(country_code)
    if not plans:
        return {_DECIDED: pl.lit(False), _SETTLED: pl.lit(True)}
    (main, plan), *others = plans
    if others and plan.leading_digits is not None:
        return {**_locate_exactly(country_code), _SETTLED: pl.lit(True)}
    number = pl.col(NATIONAL_NUMBER)
    kind = _number_type(number, plan, fast=True)
    # A shared code's main region takes the number if it is valid there.
    taken = pl.lit(True) if not others else kind != PhoneNumberType.UNKNOWN
    return {
        REGION: pl.when(taken).then(pl.lit(main)),
        NUMBER_TYPE: pl.when(taken).then(kind),
        POSSIBLE: _possible(number, plan),
        _DECIDED: pl.lit(True),
        _SETTLED: kind.is_not_null(),
    }


@cache
def _locate_exactly(country_code: int | None) -> dict[str, pl.Expr]:
    """`region_code_for_number` as far as the code's main region goes, and
    `is_possible_number_with_reason`, which reads the main region's lengths.

    A code of one region is that region's, valid or not. Where regions share the code
    (`_region_code_for_number_from_list`) the main region takes the number if its leading digits
    or its number types match it; numbers it does not take are left with no region and no type
    for `_locate_elsewhere`.
    """
    plans = _plans(country_code)
    if not plans:
        return {_DECIDED: pl.lit(False)}
    number = pl.col(NATIONAL_NUMBER)
    (main, plan), *others = plans
    if not others:
        region, kind = pl.lit(main), _number_type(number, plan)
    else:
        region, kind = _first_region([(main, plan)], pl.lit(None))
    possible = _possible(number, plan)
    return {REGION: region, NUMBER_TYPE: kind, POSSIBLE: possible, _DECIDED: pl.lit(True)}


def _possible(number: pl.Expr, plan: _Plan) -> pl.Expr:
    """`is_possible_number_with_reason`: the general lengths' verdict on the number's length."""
    return number.str.len_bytes().replace_strict(dict(plan.length_results), default=None)


@cache
def _locate_elsewhere(country_code: int | None) -> dict[str, pl.Expr]:
    """The rest of `_region_code_for_number_from_list`: the other regions, in their order."""
    region, kind = _first_region(_plans(country_code)[1:], pl.lit(PhoneNumberType.UNKNOWN))
    return {REGION: region, NUMBER_TYPE: kind}


def _plans(country_code: int | None) -> list[tuple[str, _Plan]]:
    """The code's regions (main first) with their plans; none if any region's is unusable (or
    the code is none: a number left unparsed)."""
    if country_code is None:
        return []
    plans = []
    for region in COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        plan = _plan(country_code, region)
        if plan is None:
            return []
        plans.append((region, plan))
    return plans


def _first_region(candidates: list[tuple[str, _Plan]], missed: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The first candidate whose leading digits match (its type to come, so null) or that
    types the number (that type); no region and `missed` for the type if none does."""
    number = pl.col(NATIONAL_NUMBER)
    region: pl.Expr = pl.lit(None, dtype=pl.String)
    kind = missed
    # Built from the last candidate back, so that the first that matches is outermost.
    for name, plan in reversed(candidates):
        if plan.leading_digits is not None:
            here = number.str.contains(plan.leading_digits)
            found: pl.Expr = pl.lit(None)
        else:
            found = _number_type(number, plan)
            here = found != PhoneNumberType.UNKNOWN
        region = pl.when(here).then(pl.lit(name)).otherwise(region)
        kind = pl.when(here).then(found).otherwise(kind)
    return region, kind


@cache
def _type_in(country_code: int, region: str | None) -> dict[str, pl.Expr]:
    """`number_type` of the numbers a region took by their leading digits."""
    plan = _plan(country_code, region)
    assert plan is not None, "`_locate` places numbers only where every region's plan exists"
    return {NUMBER_TYPE: _number_type(pl.col(NATIONAL_NUMBER), plan)}


def _number_type(number: pl.Expr, plan: _Plan, *, fast: bool = False) -> pl.Expr:
    """`_number_type_helper`: the general pattern, then each type in phonenumbers' order.

    `fast` tests the specific types all at once (`_Plan.any_specific`), and leaves the numbers
    that test matches untyped (null): they need the tests one by one.
    """
    length = number.str.len_bytes()

    def matching(desc: _Desc | None) -> pl.Expr:
        """`_is_number_matching_desc`: a listed length first, then the pattern."""
        if desc is None:
            return pl.lit(False)
        fits = number.str.contains(desc.pattern)
        return length.is_in(list(desc.lengths)) & fits if desc.lengths else fits

    kind = pl.when(~matching(plan.general)).then(PhoneNumberType.UNKNOWN)
    if fast and plan.any_specific is not None:
        kind = kind.when(number.str.contains(plan.any_specific)).then(pl.lit(None, pl.Int8))
    else:
        for code, desc in plan.specific:
            if desc is not None:
                kind = kind.when(matching(desc)).then(code)
    fixed_line = matching(plan.fixed_line)
    if plan.same_mobile_and_fixed_line:
        kind = kind.when(fixed_line).then(PhoneNumberType.FIXED_LINE_OR_MOBILE)
    else:
        mobile = matching(plan.mobile)
        kind = (
            kind.when(fixed_line & mobile)
            .then(PhoneNumberType.FIXED_LINE_OR_MOBILE)
            .when(fixed_line)
            .then(PhoneNumberType.FIXED_LINE)
            .when(mobile)
            .then(PhoneNumberType.MOBILE)
        )
    return kind.otherwise(PhoneNumberType.UNKNOWN)


# --- helpers ------------------------------------------------------------------------------------


_Schema = Mapping[str, pl.DataType | type[pl.DataType]]
"""Columns a step sets, with their types."""
_Build = Callable[..., Mapping[str, pl.Expr]]
"""A step's expressions for one group, from the group's key (see `_build`)."""


def _matches(number: pl.Expr, desc: _Desc | None) -> pl.Expr:
    """`_match_national_number`: the pattern alone, no length check."""
    return pl.lit(False) if desc is None else number.str.contains(desc.pattern)


def _prefixed(number: pl.Expr, pattern: str | None) -> pl.Expr:
    return pl.lit(False) if pattern is None else number.str.contains(pattern)


def _settle(
    frame: pl.DataFrame,
    rows: pl.Expr | None,
    fast: tuple[list[str], _Build],
    exact: tuple[list[str], _Build],
    schema: _Schema,
) -> pl.DataFrame:
    """`_apply_to` with the `fast` (group-by columns, build), and the `exact` one on the rows the
    fast build leaves `_SETTLED` false.

    The fast build answers the common case with fewer tests; the exact one is phonenumbers' every
    step, and only the rows that need it pay for it. Both read the frame as it was, so their
    answers go into it together.
    """
    (fast_by, fast_build), (exact_by, exact_build) = fast, exact
    built, built_rows = _build(
        frame, _where(frame, rows), fast_by, {**schema, _SETTLED: pl.Boolean}, fast_build
    )
    unsettled = built_rows.filter(built.get_column(_SETTLED).not_().fill_null(False))
    redone = _build(frame, unsettled, exact_by, schema, exact_build)
    return _merge(frame, schema, [(built, built_rows), redone])


def _apply_to(
    frame: pl.DataFrame,
    rows: pl.Expr | None,
    by: list[str],
    schema: _Schema,
    build: _Build,
) -> pl.DataFrame:
    """Set `schema`'s columns on the rows where `rows` holds (on every row if None), built by
    `build(*key)` per group of `by` from that group's own metadata. Other rows keep what they
    had (null in a column new to the frame), and every row keeps its place.

    Running each group's expressions on that group alone keeps the work per number to the
    patterns of its own region, where a `when(code == ...)` chain would run every region's
    patterns on every number; and a step that finishes an earlier step's work runs on the rows
    that need it only. Columns a build leaves out are null.
    """
    return _merge(frame, schema, [_build(frame, _where(frame, rows), by, schema, build)])


def _where(frame: pl.DataFrame, rows: pl.Expr | None) -> pl.Series | None:
    return None if rows is None else frame.select(rows.fill_null(False)).to_series().arg_true()


def _merge(
    frame: pl.DataFrame,
    schema: _Schema,
    updates: list[tuple[pl.DataFrame, pl.Series]],
) -> pl.DataFrame:
    """`schema`'s columns, each row's value taken from the last update that built one for it
    (an update is built rows and the frame rows they belong to), else from the frame (null for
    a column new to it)."""
    height = frame.height
    old = {
        name: frame.get_column(name).cast(dtype)
        if name in frame.columns
        else pl.repeat(None, height, dtype=dtype, eager=True).alias(name)
        for name, dtype in schema.items()
    }
    updates = [(built, rows) for built, rows in updates if not rows.is_empty()]
    if not updates:
        return frame.with_columns(old.values())
    # Each row's value is at `source` in the frame's column followed by the updates' columns.
    source = pl.int_range(height, dtype=pl.UInt32, eager=True)
    offset = height
    for built, rows in updates:
        source.scatter(
            rows, pl.int_range(offset, offset + built.height, eager=True).cast(pl.UInt32)
        )
        offset += built.height
    return frame.with_columns(
        pl.concat([column, *(built.get_column(name) for built, _ in updates)], rechunk=True).gather(
            source
        )
        for name, column in old.items()
    )


def _build(
    frame: pl.DataFrame,
    where: pl.Series | None,
    by: list[str],
    schema: _Schema,
    build: _Build,
) -> tuple[pl.DataFrame, pl.Series]:
    """`schema`'s columns for the frame's rows at `where` (all if None), group after group, and
    the frame row each built row belongs to (see `_apply_to`).

    One hash pass finds the groups and their rows; each group then copies only the columns its
    expressions read, as copying is most of what splitting a frame costs. Large groups run as
    lazy queries, in parallel and with the subexpressions a step shares (a stripped number, a
    pattern test) computed once; small ones run eagerly, since that optimisation costs
    milliseconds per group, more than computing the shared tests twice on a few rows.
    """
    if frame.is_empty() or (where is not None and where.is_empty()):
        return pl.DataFrame(schema=schema), pl.Series(dtype=pl.UInt32)
    if where is None:
        keyed = frame.select(*by, pl.int_range(pl.len(), dtype=pl.UInt32).alias(_POSITION))
    else:
        keyed = frame.select(pl.col(by).gather(where)).with_columns(where.alias(_POSITION))
    groups = keyed.group_by(by).agg(_POSITION)
    columns = [
        [
            expressions.get(name, pl.lit(None)).cast(dtype).alias(name)
            for expressions in [build(*key)]
            for name, dtype in schema.items()
        ]
        for key in groups.select(by).iter_rows()
    ]
    read = sorted({name for group in columns for expr in group for name in expr.meta.root_names()})
    parts = [
        frame.select(pl.col(read).gather(rows), pl.lit(rows).alias(_POSITION))
        for rows in groups.get_column(_POSITION)
    ]
    large = [index for index, part in enumerate(parts) if part.height >= _LAZY_FROM_ROWS]
    lazily = pl.collect_all(
        [parts[index].lazy().select(_POSITION, *columns[index]) for index in large]
    )
    built = dict(zip(large, lazily, strict=True))
    results = [
        built[index] if index in built else part.select(_POSITION, *columns[index])
        for index, part in enumerate(parts)
    ]
    together = pl.concat(results)
    return together.drop(_POSITION), together.get_column(_POSITION)
