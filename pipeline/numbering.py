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
_MAIN_REGIONS = {code: regions[0] for code, regions in COUNTRY_CODE_TO_REGION_CODE.items()}


def parse(values: pl.Series, regions: pl.Series) -> pl.DataFrame:
    """`phonenumbers.parse(value, region)` for each pair, as far as it can be decided exactly.

    Returns one row per value: `country_code` (Int32) and `national_number` (the national
    significant number as text, Italian leading zeros included, so `"+" + country_code +
    national_number` is the E.164 form) where it parses; `error` (a `NumberParseException` error
    type) where phonenumbers would raise; all three null where undecided.
    """
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
                lambda key: _split_national(_region_plan(key[0])),
            ),
        ],
        how="diagonal",
    )
    pending = decided & pl.col(ERROR).is_null()
    parsed = pl.concat(
        [
            split.filter(~pending),
            _apply(
                split.filter(pending),
                [COUNTRY_CODE, _META_REGION],
                _PARSED_SCHEMA,
                lambda key: _strip_for_parsing(_plan(key[0], key[1])),
            ),
        ],
        how="diagonal",
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
    frame = pl.DataFrame(
        [
            country_codes.cast(pl.Int32).alias(COUNTRY_CODE),
            national_numbers.cast(pl.String).alias(NATIONAL_NUMBER),
        ]
    ).with_row_index(_INDEX)
    located = _apply(frame, [COUNTRY_CODE], _LOCATED_SCHEMA, lambda key: _locate(key[0]))
    # Numbers placed by a region's leading digits still need that region's type.
    pending = pl.col(_DECIDED) & pl.col(NUMBER_TYPE).is_null()
    typed = pl.concat(
        [
            located.filter(~pending),
            _apply(
                located.filter(pending),
                [COUNTRY_CODE, REGION],
                {NUMBER_TYPE: pl.Int8},
                lambda key: _type_in(_plan(key[0], key[1])),
            ),
        ]
    ).sort(_INDEX)
    decided = pl.col(_DECIDED)
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


def _split_national(plan: _Plan | None) -> dict[str, pl.Expr]:
    """Digits read in a region: `_maybe_extract_country_code` with the region's metadata."""
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


def _strip_for_parsing(plan: _Plan | None) -> dict[str, pl.Expr]:
    """The rest of `parse` once the country code is known: the national prefix and the lengths."""
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


def _locate(country_code: int | None) -> dict[str, pl.Expr]:
    """`region_code_for_number` (`_region_code_for_number_from_list` where regions share the
    code: the first whose leading digits or numbers match), the type where that test gave it,
    and `is_possible_number_with_reason`, which reads the lengths of the code's main region."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code or 0, ())
    plans = [_plan(country_code, region) for region in regions] if country_code else []
    if not plans or None in plans:
        return {_DECIDED: pl.lit(False)}
    number = pl.col(NATIONAL_NUMBER)
    possible = number.str.len_bytes().replace_strict(dict(plans[0].length_results), default=None)
    decided = {POSSIBLE: possible, _DECIDED: pl.lit(True)}
    if len(regions) == 1:
        return {REGION: pl.lit(regions[0]), NUMBER_TYPE: _number_type(number, plans[0]), **decided}
    region: pl.Expr = pl.lit(None, dtype=pl.String)
    kind: pl.Expr = pl.lit(PhoneNumberType.UNKNOWN)
    # Built from the last region back, so the first that matches comes out on top.
    for name, plan in reversed(list(zip(regions, plans, strict=True))):
        assert plan is not None
        if plan.leading_digits is not None:
            here = number.str.contains(plan.leading_digits)
            region = pl.when(here).then(pl.lit(name)).otherwise(region)
            kind = pl.when(here).then(None).otherwise(kind)
        else:
            found = _number_type(number, plan)
            here = found != PhoneNumberType.UNKNOWN
            region = pl.when(here).then(pl.lit(name)).otherwise(region)
            kind = pl.when(here).then(found).otherwise(kind)
    return {REGION: region, NUMBER_TYPE: kind, **decided}


def _type_in(plan: _Plan | None) -> dict[str, pl.Expr]:
    """`number_type` of a number placed in a region by its leading digits."""
    return {} if plan is None else {NUMBER_TYPE: _number_type(pl.col(NATIONAL_NUMBER), plan)}


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


def _apply(
    frame: pl.DataFrame,
    by: list[str],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    build: Callable[[tuple[object, ...]], Mapping[str, pl.Expr]],
) -> pl.DataFrame:
    """Set `schema`'s columns, built per group of `by` from that group's own metadata.

    Running each group's expressions on that group alone keeps the work per number to the
    patterns of its own region, where a `when(code == ...)` chain would run every region's
    patterns on every number. The groups run as one lazy query: in parallel, and with the
    subexpressions the steps share (a stripped number, a pattern test) computed once. Columns a
    build leaves out are null.
    """
    parts = []
    for key, part in frame.partition_by(by, as_dict=True).items():
        built = build(key)
        parts.append(
            part.lazy().with_columns(
                built.get(name, pl.lit(None)).cast(dtype).alias(name)
                for name, dtype in schema.items()
            )
        )
    if not parts:
        return frame.with_columns(
            pl.lit(None, dtype=dtype).alias(name) for name, dtype in schema.items()
        )
    return pl.concat(parts).collect()
