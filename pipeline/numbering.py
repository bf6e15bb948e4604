"""phonenumbers' parse, validity, type and region, decided for a whole column at once, exactly.

phonenumbers answers one number at a time in Python, about 55 µs each; a large export has hundreds
of thousands of distinct numbers. Its verdicts are regular-expression tests against its metadata,
so the same tests can run as polars expressions (Rust's regex engine) over every number that one
piece of metadata applies to: one pass per country calling code instead of one call per number.

Exactness is the point, so this module only decides what it can decide exactly, and leaves the rest
undecided (null) for the caller to give to phonenumbers:

- Values: `+` and ASCII digits (read with or without a region), or ASCII digits with a region; the
  value must already be clean (no spaces, letters, extensions), which is what the caller's cleaning
  produces. Anything else is undecided.
- Metadata: a pattern is used only if it is written in the small regex subset both engines read
  the same way (digits, `\\d`, digit classes, groups, alternation, `?*+{m,n}`, `$`) and compiles in
  polars. A region with one unusable pattern is undecided, and so is every region sharing its
  country code (finding the region means trying each of them).
- Steps whose outcome needs a rewrite rather than a test: a national prefix that phonenumbers
  would transform (Argentina's `15`, NANPA's seven-digit local numbers) and an international
  dialling prefix written without `+` (`011 44...` read in the US). Those values are undecided.

Each step below names the phonenumbers function it mirrors; the tests compare both on every region.
Patterns are whole-string tests (`^(?:...)$`, phonenumbers' `fullmatch`) or prefix tests
(`^(?:...)`, its `match`); as booleans these mean the same in both engines whatever their matching
strategy. The one step that needs the matched text (how long a national prefix is) relies on both
engines' leftmost-first semantics (Python's `re` and Rust's `regex` pick the same match).
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
    PhoneNumberType,
    ValidationResult,
)
from phonenumbers.phonenumberdata import _COUNTRY_CODE_TO_REGION_CODE  # noqa: F401
from phonenumbers.phonenumberutil import (
    _MAX_INPUT_STRING_LENGTH,
    _MAX_LENGTH_COUNTRY_CODE,
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    _test_number_length,
)

__all__ = ["classify", "parse"]

_NON_GEO = "001"

# Working columns.
_INDEX = "__index"
_VALUE = "__value"
_REGION = "__region"
_DIGITS = "__digits"
_NUMBER = "__number"
_META_REGION = "__meta_region"
_DECIDED = "__decided"

# Output columns.
COUNTRY_CODE = "country_code"
NATIONAL_NUMBER = "national_number"
ERROR = "error"
REGION = "region"
NUMBER_TYPE = "number_type"
POSSIBLE = "possible"

# The number types `_number_type_helper` tries after the general pattern, in its order; fixed line
# and mobile come last and are handled apart (see `_number_type`).
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
# What `parse` refuses a national prefix strip for: the number left would be shorter than a number.
_NOT_A_FULL_LENGTH = frozenset(
    {
        ValidationResult.TOO_SHORT,
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        ValidationResult.INVALID_LENGTH,
    }
)

# The regex subset read identically by Python's `re` and Rust's `regex` on ASCII digit strings.
_TOKEN = re.compile(r"\\d|\[(?:\\d|\d(?:-\d)?)+\]|\d|\(\?:|[()|?*+$]|\{\d+(?:,\d*)?\}")


def parse(values: pl.Series, regions: pl.Series) -> pl.DataFrame:
    """`phonenumbers.parse(value, region)` for each pair, as far as it can be decided exactly.

    Returns one row per value: `country_code` (Int32) and `national_number` (the national
    significant number as text, Italian leading zeros included, so `"+" + country_code +
    national_number` is the E.164 form) when it parses; `error` (a `NumberParseException` error
    type) when phonenumbers would raise; all three null when undecided.
    """
    frame = pl.DataFrame(
        [values.cast(pl.String).alias(_VALUE), regions.cast(pl.String).alias(_REGION)]
    ).with_row_index(_INDEX)
    value, region = pl.col(_VALUE), pl.col(_REGION)
    international = value.str.starts_with("+")
    frame = frame.with_columns(
        pl.when(international).then(value.str.slice(1)).otherwise(value).alias(_DIGITS)
    ).with_columns(
        (
            pl.col(_DIGITS).str.contains("^[0-9]+$")
            & (value.str.len_bytes() <= _MAX_INPUT_STRING_LENGTH)
            & (international | region.is_not_null())
        ).alias(_DECIDED)
    )
    # National readings first find the country code the way `_maybe_extract_country_code` does
    # for a number without `+`; both kinds then meet at the national prefix step.
    frame = pl.concat(
        [
            _split_international(frame.filter(pl.col(_DECIDED) & international)),
            _apply(
                frame.filter(pl.col(_DECIDED) & ~international),
                [_REGION],
                _SPLIT_SCHEMA,
                lambda key: _split_national(_region_plan(key[0])),
            ),
        ]
    )
    parsed = _apply(
        frame.filter(pl.col(_DECIDED) & pl.col(ERROR).is_null()),
        [COUNTRY_CODE, _META_REGION],
        _PARSED_SCHEMA,
        lambda key: _strip_for_parsing(_plan(key[0], key[1])),
    )
    decided = pl.concat(
        [
            frame.filter(~pl.col(_DECIDED) | pl.col(ERROR).is_not_null()).select(
                _INDEX, _DECIDED, ERROR
            ),
            parsed.select(_INDEX, _DECIDED, ERROR, COUNTRY_CODE, NATIONAL_NUMBER),
        ],
        how="diagonal_relaxed",
    )
    return (
        pl.DataFrame(pl.Series(_INDEX, range(len(values)), dtype=pl.UInt32))
        .join(decided, on=_INDEX, how="left")
        .select(
            pl.when(pl.col(_DECIDED)).then(COUNTRY_CODE).cast(pl.Int32).alias(COUNTRY_CODE),
            pl.when(pl.col(_DECIDED)).then(NATIONAL_NUMBER).cast(pl.String).alias(NATIONAL_NUMBER),
            pl.when(pl.col(_DECIDED)).then(ERROR).cast(pl.Int8).alias(ERROR),
        )
    )


def classify(country_codes: pl.Series, national_numbers: pl.Series) -> pl.DataFrame:
    """`region_code_for_number`, `number_type` and `is_possible_number_with_reason` per number.

    The numbers are what `parse` returns. Returns `region` (null where phonenumbers finds none),
    `number_type` (a `PhoneNumberType`; the number is valid exactly when it is not UNKNOWN, as
    `is_valid_number` is `number_type(...) != UNKNOWN` for the region found) and `possible` (a
    `ValidationResult`); all null where undecided (a country code whose metadata is not usable).
    """
    frame = pl.DataFrame(
        [
            country_codes.cast(pl.Int32).alias(COUNTRY_CODE),
            national_numbers.cast(pl.String).alias(NATIONAL_NUMBER),
        ]
    ).with_row_index(_INDEX)
    located = _apply(frame, [COUNTRY_CODE], _REGION_SCHEMA, lambda key: _locate(key[0]))
    typed = _apply(
        located, [COUNTRY_CODE, REGION], _TYPE_SCHEMA, lambda key: _judge(key[0], key[1])
    )
    return typed.sort(_INDEX).select(
        pl.when(pl.col(_DECIDED)).then(REGION).alias(REGION),
        pl.when(pl.col(_DECIDED)).then(NUMBER_TYPE).alias(NUMBER_TYPE),
        pl.when(pl.col(_DECIDED)).then(POSSIBLE).alias(POSSIBLE),
    )


# --- the metadata, translated -------------------------------------------------------------------


@dataclass(frozen=True)
class _Desc:
    """A `PhoneNumberDesc`: the whole-number pattern, and the lengths checked before it."""

    pattern: str
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class _NationalPrefix:
    """`national_prefix_for_parsing`, with what decides whether phonenumbers only strips it."""

    pattern: str
    transform_group: int | None
    """With a transform rule: the group whose capture means "rewrite", else None."""
    empty_match_strips: bool
    """Whether a zero-length match takes the plain strip branch (so changes nothing)."""


@dataclass(frozen=True)
class _Plan:
    """One region's metadata (or a non-geographic country code's) as polars-ready patterns."""

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
    """`_test_number_length` (general lengths) for every length a value can have."""

    def lengths_where(self, accept: Callable[[int], bool]) -> list[int]:
        return [length for length, result in self.length_results.items() if accept(result)]


class _Untranslatable(Exception):
    """A metadata pattern outside the subset both regex engines read alike."""


def _region_plan(region: str | None) -> _Plan | None:
    if region is None:
        return None
    metadata = PhoneMetadata.metadata_for_region(region, None)
    return None if metadata is None else _plan(metadata.country_code, region)


@cache
def _plan(country_code: int, region: str) -> _Plan | None:
    """The translated metadata, or None if any pattern phonenumbers would use cannot be."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    try:
        return _Plan(
            country_code=country_code,
            general=_desc(metadata.general_desc),
            specific=tuple((kind, _desc(getattr(metadata, name))) for kind, name in _SPECIFIC_TYPES),
            fixed_line=_desc(metadata.fixed_line),
            mobile=_desc(metadata.mobile),
            same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
            leading_digits=_optional(metadata.leading_digits, "^(?:{})"),
            national_prefix=_national_prefix(metadata),
            international_prefix=_optional(metadata.international_prefix, "^(?:{})"),
            length_results={
                length: _test_number_length("0" * length, metadata)
                for length in range(_MAX_INPUT_STRING_LENGTH + 1)
            },
        )
    except _Untranslatable:
        return None


def _desc(desc: object) -> _Desc | None:
    """None where `_match_national_number` is always False (no desc, or an empty pattern)."""
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return _Desc(_translate(pattern, "^(?:{})$"), tuple(desc.possible_length))  # type: ignore[attr-defined]


def _optional(pattern: str | None, frame: str) -> str | None:
    return _translate(pattern, frame) if pattern else None


def _national_prefix(metadata: PhoneMetadata) -> _NationalPrefix | None:
    source = metadata.national_prefix_for_parsing
    if not source:
        return None
    compiled = re.compile(source)
    transform_group = None
    if metadata.national_prefix_transform_rule:
        if compiled.groups == 0:
            raise _Untranslatable(source)  # phonenumbers itself would fail on such metadata
        transform_group = compiled.groups
    # A zero-length match consumes nothing, so (no pattern here having assertions but `$`) the
    # path it takes is the same on every non-empty number: the one it takes on a non-digit.
    empty = compiled.match("a")
    empty_match_strips = empty is None or transform_group is None or empty.group(transform_group) is None
    return _NationalPrefix(_translate(source, "^(?:{})"), transform_group, empty_match_strips)


def _translate(pattern: str, frame: str) -> str:
    r"""`pattern` for polars, anchored by `frame`; `\d` becomes `[0-9]` (the values are ASCII)."""
    tokens = []
    position = 0
    while position < len(pattern):
        token = _TOKEN.match(pattern, position)
        if token is None:
            raise _Untranslatable(pattern)
        text = token.group()
        if text.startswith("["):
            text = text.replace(r"\d", "0-9")
        elif text == r"\d":
            text = "[0-9]"
        tokens.append(text)
        position = token.end()
    translated = frame.format("".join(tokens))
    if not _compiles(translated):
        raise _Untranslatable(pattern)
    return translated


@cache
def _compiles(pattern: str) -> bool:
    try:
        pl.select(pl.lit("0").str.contains(pattern))
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
_COUNTRY_CODES = {str(code): code for code in COUNTRY_CODE_TO_REGION_CODE}


def _split_international(frame: pl.DataFrame) -> pl.DataFrame:
    """`+` and digits: `_maybe_extract_country_code` after `+`, and `parse`'s checks around it."""
    digits = pl.col(_DIGITS)
    candidates = [digits.str.slice(0, size) for size in range(1, _MAX_LENGTH_COUNTRY_CODE + 1)]
    # Country codes are never prefixes of each other, so the shortest match is the only one.
    code = pl.coalesce(
        *(pl.when(c.is_in(list(_COUNTRY_CODES))).then(c) for c in candidates)
    ).replace_strict(_COUNTRY_CODES, return_dtype=pl.Int32)
    regions = {code: regions[0] for code, regions in COUNTRY_CODE_TO_REGION_CODE.items()}
    # `_is_viable_phone_number`: after a `+`, three digits at least.
    too_few = digits.str.len_bytes() < 3
    no_code = code.is_null()
    return frame.with_columns(
        code.alias(COUNTRY_CODE),
        digits.str.slice(code.cast(pl.String).str.len_bytes()).alias(_NUMBER),
        code.replace_strict(regions, default=None, return_dtype=pl.String).alias(_META_REGION),
        pl.when(too_few)
        .then(NumberParseException.NOT_A_NUMBER)
        .when(no_code)
        .then(NumberParseException.INVALID_COUNTRY_CODE)
        .cast(pl.Int8)
        .alias(ERROR),
        # Without a country code, `parse` retries with the region's own rules; only a value read
        # without a region is sure to fail there.
        (too_few | ~no_code | pl.col(_REGION).is_null()).alias(_DECIDED),
    )


def _split_national(plan: _Plan | None) -> dict[str, pl.Expr]:
    """Digits read in a region: `_maybe_extract_country_code` with that region's metadata."""
    if plan is None:
        return {_DECIDED: pl.lit(False)}
    digits = pl.col(_DIGITS)
    code = str(plan.country_code)
    main = COUNTRY_CODE_TO_REGION_CODE[plan.country_code][0]
    # The number may start with the region's own country code, `+` lost: phonenumbers keeps it
    # without the code when that reads better (see `_maybe_extract_country_code`).
    has_code = digits.str.starts_with(code)
    rest, rest_decided = _strip_national_prefix(digits.str.slice(len(code)), plan)
    too_long = plan.lengths_where(lambda result: result == ValidationResult.TOO_LONG)
    without_code = has_code & (
        (~_matches(digits, plan.general) & _matches(rest, plan.general))
        | digits.str.len_bytes().is_in(too_long)
    )
    decided = (
        digits.str.len_bytes() >= 3  # two digits are viable too, but too rare to be worth a rule
    ) & ~_prefixed(digits, plan.international_prefix)
    return {
        COUNTRY_CODE: pl.lit(plan.country_code),
        _NUMBER: pl.when(without_code).then(rest).otherwise(digits),
        _META_REGION: pl.when(without_code).then(pl.lit(main)).otherwise(pl.col(_REGION)),
        ERROR: pl.lit(None),
        _DECIDED: decided & (~has_code | rest_decided),
    }


def _strip_for_parsing(plan: _Plan | None) -> dict[str, pl.Expr]:
    """The rest of `parse` once the country code is known: its national prefix strip and checks."""
    if plan is None:
        return {_DECIDED: pl.lit(False)}
    number = pl.col(_NUMBER)
    stripped, decided = _strip_national_prefix(number, plan)
    # The strip counts only if it leaves a number of a full length.
    full = plan.lengths_where(lambda result: result not in _NOT_A_FULL_LENGTH)
    national = pl.when(stripped.str.len_bytes().is_in(full)).then(stripped).otherwise(number)
    return {
        NATIONAL_NUMBER: national,
        ERROR: pl.when(number.str.len_bytes() < _MIN_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_SHORT_NSN)
        .when(national.str.len_bytes() > _MAX_LENGTH_FOR_NSN)
        .then(NumberParseException.TOO_LONG),
        _DECIDED: pl.col(_DECIDED) & decided,
    }


def _strip_national_prefix(number: pl.Expr, plan: _Plan) -> tuple[pl.Expr, pl.Expr]:
    """`_maybe_strip_national_prefix_carrier_code`: (the number after it, whether decided)."""
    prefix = plan.national_prefix
    if prefix is None:
        return number, pl.lit(True)
    matched = number.str.extract(prefix.pattern, 0)
    stripped = number.str.slice(matched.str.len_bytes())
    # Stripping must not turn a number that fits the general pattern into one that does not.
    kept = matched.is_null() | (
        _matches(number, plan.general) & ~_matches(stripped, plan.general)
    )
    plain = (
        pl.lit(True)
        if prefix.transform_group is None
        else number.str.extract(prefix.pattern, prefix.transform_group).is_null()
    )
    decided = matched.is_null() | pl.when(matched == "").then(prefix.empty_match_strips).otherwise(
        plain
    )
    return pl.when(kept).then(number).otherwise(stripped), decided


# --- validity, type and region ------------------------------------------------------------------

_REGION_SCHEMA = {REGION: pl.String, _DECIDED: pl.Boolean}
_TYPE_SCHEMA = {NUMBER_TYPE: pl.Int8, POSSIBLE: pl.Int8, _DECIDED: pl.Boolean}


def _locate(country_code: int | None) -> dict[str, pl.Expr]:
    """`region_code_for_number`: the only region, else the first whose leading digits or numbers
    match (`_region_code_for_number_from_list`)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code or 0, ())
    plans = [_plan(country_code, region) for region in regions] if country_code else []
    if not plans or None in plans:
        return {REGION: pl.lit(None), _DECIDED: pl.lit(False)}
    if len(regions) == 1:
        return {REGION: pl.lit(regions[0]), _DECIDED: pl.lit(True)}
    number = pl.col(NATIONAL_NUMBER)
    found = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for region, plan in zip(regions, plans, strict=True):
        assert plan is not None
        if plan.leading_digits is not None:
            here = number.str.contains(plan.leading_digits)
        else:
            here = _number_type(number, plan) != PhoneNumberType.UNKNOWN
        found = found.when(here).then(pl.lit(region))
    return {REGION: found.otherwise(None), _DECIDED: pl.lit(True)}


def _judge(country_code: int | None, region: str | None) -> dict[str, pl.Expr]:
    """`number_type` in the region found (UNKNOWN without one), and the possible-length verdict
    of `is_possible_number_with_reason`, which uses the country code's main region."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code or 0, ())
    main = _plan(country_code, regions[0]) if country_code and regions else None
    if main is None:
        return {_DECIDED: pl.lit(False)}
    number = pl.col(NATIONAL_NUMBER)
    plan = _plan(country_code, region) if region is not None else None
    kind = _number_type(number, plan) if plan is not None else pl.lit(PhoneNumberType.UNKNOWN)
    return {
        NUMBER_TYPE: kind,
        POSSIBLE: number.str.len_bytes().replace_strict(dict(main.length_results), default=None),
        _DECIDED: pl.col(_DECIDED) & (region is None or plan is not None),
    }


def _number_type(number: pl.Expr, plan: _Plan) -> pl.Expr:
    """`_number_type_helper`: the general pattern, then each type in phonenumbers' order."""
    length = number.str.len_bytes()

    def matching(desc: _Desc | None) -> pl.Expr:
        """`_is_number_matching_desc`: a possible length (if listed), then the pattern."""
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
    return kind.otherwise(PhoneNumberType.UNKNOWN).cast(pl.Int8)


# --- helpers ------------------------------------------------------------------------------------


def _matches(number: pl.Expr, desc: _Desc | None) -> pl.Expr:
    """`_match_national_number` (the pattern alone, no length check)."""
    return pl.lit(False) if desc is None else number.str.contains(desc.pattern)


def _prefixed(number: pl.Expr, pattern: str | None) -> pl.Expr:
    return pl.lit(False) if pattern is None else number.str.contains(pattern)


def _apply(
    frame: pl.DataFrame,
    by: list[str],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    build: Callable[[tuple[object, ...]], Mapping[str, pl.Expr]],
) -> pl.DataFrame:
    """Add `schema`'s columns, built once per group of `by` from that group's own metadata.

    Evaluating each group's expressions on that group alone keeps the work per number to the
    patterns of its own region; a `when(code == ...)` chain would run every region's patterns
    on every number. Columns a group's build leaves out are null.
    """
    parts = []
    for key, part in frame.partition_by(by, as_dict=True, maintain_order=False).items():
        built = build(key)
        parts.append(
            part.with_columns(
                (built[name] if name in built else pl.lit(None)).cast(dtype).alias(name)
                for name, dtype in schema.items()
            )
        )
    if not parts:
        return frame.with_columns(
            pl.lit(None, dtype=dtype).alias(name) for name, dtype in schema.items()
        )
    return pl.concat(parts)
