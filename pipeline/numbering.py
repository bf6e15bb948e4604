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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
_INDEX = "__index"
_VALUE = "__value"
_REGION = "__region"
_DIGITS = "__digits"
_NUMBER = "__number"
_META_REGION = "__meta_region"
_DECIDED = "__decided"

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
# `_extract_country_code` takes the shortest known code: alternatives are tried in this order.
_COUNTRY_CODE_PREFIX = "^(?:{})".format(
    "|".join(sorted(map(str, COUNTRY_CODE_TO_REGION_CODE), key=len))
)
# Groups from this many rows up run as a lazy query (see `_apply`).
_LAZY_FROM_ROWS = 10_000
_MAIN_REGIONS = {code: regions[0] for code, regions in COUNTRY_CODE_TO_REGION_CODE.items()}


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
        .with_row_index(_INDEX)
        .with_columns(
            pl.when(international).then(value.str.slice(1)).otherwise(value).alias(_DIGITS)
        )
        .with_columns(
            (
                pl.col(_DIGITS).str.contains("^[0-9]+$")
                & (value.str.len_bytes() <= _MAX_INPUT_STRING_LENGTH)
                & (international | region.is_not_null())
            ).alias(_DECIDED)
        )
    )
    decided = pl.col(_DECIDED)
    # A value read in a region first looks for its country code the way
    # `_maybe_extract_country_code` does without `+`; both kinds then take the national prefix
    # step with the metadata that `parse` holds by then.
    split = pl.concat(
        [
            frame.filter(~decided),
            _split_international(frame.filter(decided & international)),
            _apply(
                frame.filter(decided & ~international),
                [_REGION],
                _SPLIT_SCHEMA,
                _split_national,
            ),
        ],
        how="diagonal",
    )
    pending = decided & pl.col(ERROR).is_null()
    parsed = _apply_where(
        split, pending, [COUNTRY_CODE, _META_REGION], _PARSED_SCHEMA, _strip_for_parsing
    ).sort(_INDEX)
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
    ).with_row_index(_INDEX)
    decided = pl.col(_DECIDED)
    # Most numbers are in their code's main region, so the other regions that share the code are
    # only tried on the numbers that are not; and a region found by its leading digits (no type
    # test) types its numbers last.
    located = _apply(frame, [COUNTRY_CODE], _LOCATED_SCHEMA, _locate)
    elsewhere = decided & pl.col(REGION).is_null() & pl.col(NUMBER_TYPE).is_null()
    located = _apply_where(
        located,
        elsewhere,
        [COUNTRY_CODE],
        {REGION: pl.String, NUMBER_TYPE: pl.Int8},
        _locate_elsewhere,
    )
    untyped = decided & pl.col(NUMBER_TYPE).is_null()
    typed = _apply_where(
        located, untyped, [COUNTRY_CODE, REGION], {NUMBER_TYPE: pl.Int8}, _type_in
    ).sort(_INDEX)
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
        )
    except _UntranslatableError:
        return None
    return plan if _compiles(_patterns(plan)) else None


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


def _split_international(frame: pl.DataFrame) -> pl.DataFrame:
    """`+` and digits: `_maybe_extract_country_code` after a `+`, with `parse`'s checks on it."""
    digits = pl.col(_DIGITS)
    code = digits.str.extract(_COUNTRY_CODE_PREFIX, 0)
    # `_is_viable_phone_number`: after a `+`, three digits at least.
    too_few = digits.str.len_bytes() < 3
    return frame.with_columns(
        code.cast(pl.Int32).alias(COUNTRY_CODE),
        digits.str.slice(code.str.len_bytes()).alias(_NUMBER),
        code.cast(pl.Int32)
        .replace_strict(_MAIN_REGIONS, default=None, return_dtype=pl.String)
        .alias(_META_REGION),
        pl.when(too_few)
        .then(NumberParseException.NOT_A_NUMBER)
        .when(code.is_null())
        .then(NumberParseException.INVALID_COUNTRY_CODE)
        .cast(pl.Int8)
        .alias(ERROR),
        # Without a country code `parse` retries the digits as a national number: that fails for
        # certain only without a region.
        (too_few | code.is_not_null() | pl.col(_REGION).is_null()).alias(_DECIDED),
    )


@cache
def _split_national(region: str | None) -> dict[str, pl.Expr]:
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
    possible = number.str.len_bytes().replace_strict(dict(plan.length_results), default=None)
    if not others:
        region, kind = pl.lit(main), _number_type(number, plan)
    else:
        region, kind = _first_region([(main, plan)], pl.lit(None))
    return {REGION: region, NUMBER_TYPE: kind, POSSIBLE: possible, _DECIDED: pl.lit(True)}


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


def _number_type(number: pl.Expr, plan: _Plan) -> pl.Expr:
    """`_number_type_helper`: the general pattern, then each type in phonenumbers' order."""
    length = number.str.len_bytes()

    def matching(desc: _Desc | None) -> pl.Expr:
        """`_is_number_matching_desc`: a listed length first, then the pattern."""
        if desc is None:
            return pl.lit(False)
        fits = number.str.contains(desc.pattern)
        return length.is_in(list(desc.lengths)) & fits if desc.lengths else fits

    kind = pl.when(~matching(plan.general)).then(PhoneNumberType.UNKNOWN)
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


def _matches(number: pl.Expr, desc: _Desc | None) -> pl.Expr:
    """`_match_national_number`: the pattern alone, no length check."""
    return pl.lit(False) if desc is None else number.str.contains(desc.pattern)


def _prefixed(number: pl.Expr, pattern: str | None) -> pl.Expr:
    return pl.lit(False) if pattern is None else number.str.contains(pattern)


def _apply_where(
    frame: pl.DataFrame,
    needed: pl.Expr,
    by: list[str],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    build: Callable[..., Mapping[str, pl.Expr]],
) -> pl.DataFrame:
    """`_apply` on the rows where `needed` holds; the other rows pass through unchanged.

    Each refinement step only touches the numbers an earlier step left open (row order is not
    kept: callers sort by the row index once they are done).
    """
    return pl.concat(
        [frame.filter(~needed), _apply(frame.filter(needed), by, schema, build)], how="diagonal"
    )


def _apply(
    frame: pl.DataFrame,
    by: list[str],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    build: Callable[..., Mapping[str, pl.Expr]],
) -> pl.DataFrame:
    """Set `schema`'s columns, built by `build(*key)` per group of `by` from its own metadata.

    Running each group's expressions on that group alone keeps the work per number to the
    patterns of its own region, where a `when(code == ...)` chain would run every region's
    patterns on every number. Large groups run as one lazy query, in parallel and with the
    subexpressions a step shares (a stripped number, a pattern test) computed once; small ones
    run eagerly, since that optimisation costs milliseconds per group, more than computing the
    shared tests twice on a few rows. Columns a build leaves out are null.
    """
    done, large = [], []
    for key, part in frame.partition_by(by, as_dict=True).items():
        built = build(*key)
        columns = [
            built.get(name, pl.lit(None)).cast(dtype).alias(name) for name, dtype in schema.items()
        ]
        if part.height < _LAZY_FROM_ROWS:
            done.append(part.with_columns(columns))
        else:
            large.append(part.lazy().with_columns(columns))
    if large:
        done.append(pl.concat(large).collect())
    if not done:
        return frame.with_columns(
            pl.lit(None, dtype=dtype).alias(name) for name, dtype in schema.items()
        )
    return pl.concat(done)
