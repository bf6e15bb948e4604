"""phonenumbers' region, type and validity of parsed numbers, decided for a whole column at once.

The second half of the vectorized reading (see `numbering` for how and why it mirrors
phonenumbers exactly): `numbering.parse` gives each value's country code and national number,
and `classify` tests those against the numbering plans of the code's regions (`plans`).
"""

from __future__ import annotations

from functools import cache

import polars as pl
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType

from pipeline.phones.decisive import full_match_depth, prefix_depth
from pipeline.phones.grouped_apply import SETTLED, apply_to, distinct, settle
from pipeline.phones.numbering import COUNTRY_CODE, NATIONAL_NUMBER, NUMBER_TYPE, POSSIBLE, REGION
from pipeline.phones.phonenumbers_private import MAX_LENGTH_FOR_NSN
from pipeline.phones.plans import Desc, Plan, plan_for

__all__ = ["classify"]

_CLASSIFY_OUTPUT = {REGION: pl.String, NUMBER_TYPE: pl.Int8, POSSIBLE: pl.Int8}
_DECIDED = "__decided"
"""A working column: false where `classify` leaves the number undecided."""


def classify(country_codes: pl.Series, national_numbers: pl.Series) -> pl.DataFrame:
    """`region_code_for_number`, `number_type` and `is_possible_number_with_reason` per number.

    The numbers are what `numbering.parse` returns. Returns `region` (null where phonenumbers
    finds none), `number_type` (a `PhoneNumberType`; the number is valid exactly when it is not
    UNKNOWN, since `is_valid_number` is `_number_type_helper(...) != UNKNOWN` in the region
    found, and `number_type` the same helper) and `possible` (a `ValidationResult`); all three
    null where undecided.

    All three depend on the number's length and its first few digits only (`decisive`), so
    each distinct (code, length, leading digits) is classified once, by its first number.
    """
    if country_codes.is_empty():
        return pl.DataFrame(schema=_CLASSIFY_OUTPUT)
    frame = pl.DataFrame(
        [
            country_codes.cast(pl.Int32).alias(COUNTRY_CODE),
            national_numbers.cast(pl.String).alias(NATIONAL_NUMBER),
        ]
    )
    number = pl.col(NATIONAL_NUMBER)
    depths = [MAX_LENGTH_FOR_NSN] * 1000  # by country code, which has three digits at most
    for code in frame.get_column(COUNTRY_CODE).unique().drop_nulls().to_list():
        depths[code] = _depth(code)
    depth = pl.lit(pl.Series(depths, dtype=pl.UInt32)).gather(pl.col(COUNTRY_CODE))
    # One integer per (code, length), and one per leading digits: numbers that share the first
    # also share how many leading digits the second reads, so leading zeros need no marking.
    key = frame.select(
        (pl.col(COUNTRY_CODE) * 32 + number.str.len_bytes().cast(pl.Int32)).alias("code"),
        number.str.slice(0, depth).cast(pl.UInt64, strict=False).alias("digits"),
    )
    firsts, slots = distinct(key)
    return _classify_each(frame[firsts]).select(pl.all().gather(slots))


@cache
def _depth(country_code: int) -> int:
    """The leading digits that decide every test `_classify_each` makes on the code's numbers."""
    depths = []
    for _, plan in _plans(country_code):
        # `any_specific` is the alternation of patterns counted here: it reads no deeper.
        depths += [full_match_depth(pattern) for pattern in plan.number_patterns]
        if plan.leading_digits is not None:
            depths.append(prefix_depth(plan.leading_digits))
    known = [depth for depth in depths if depth is not None]
    return MAX_LENGTH_FOR_NSN if len(known) < len(depths) else max(known, default=0)


def _classify_each(frame: pl.DataFrame) -> pl.DataFrame:
    """`classify` of each number of the frame (`COUNTRY_CODE`, `NATIONAL_NUMBER`)."""
    decided = pl.col(_DECIDED)
    # Most numbers are in their code's main region, so the other regions that share the code are
    # only tried on the numbers that are not; and a region found by its leading digits (no type
    # test) types its numbers last. The first step settles the numbers no specific type (premium
    # rate, toll free, ...) can match, and an exact step takes the rest.
    by = [COUNTRY_CODE]
    located = settle(frame, None, (by, _locate), (by, _locate_exactly), _LOCATED_SCHEMA)
    elsewhere = decided & pl.col(REGION).is_null() & pl.col(NUMBER_TYPE).is_null()
    located = apply_to(
        located,
        elsewhere,
        [COUNTRY_CODE],
        {REGION: pl.String, NUMBER_TYPE: pl.Int8},
        _locate_elsewhere,
    )
    untyped = decided & pl.col(NUMBER_TYPE).is_null()
    typed = apply_to(located, untyped, [COUNTRY_CODE, REGION], {NUMBER_TYPE: pl.Int8}, _type_in)
    return typed.select(
        pl.when(decided).then(REGION).alias(REGION),
        pl.when(decided).then(NUMBER_TYPE).alias(NUMBER_TYPE),
        pl.when(decided).then(POSSIBLE).alias(POSSIBLE),
    )


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
        return {_DECIDED: pl.lit(False), SETTLED: pl.lit(True)}
    (main, plan), *others = plans
    if others and plan.leading_digits is not None:
        return {**_locate_exactly(country_code), SETTLED: pl.lit(True)}
    number = pl.col(NATIONAL_NUMBER)
    kind = _number_type(number, plan, fast=True)
    # A shared code's main region takes the number if it is valid there.
    taken = pl.lit(True) if not others else kind != PhoneNumberType.UNKNOWN
    return {
        REGION: pl.when(taken).then(pl.lit(main)),
        NUMBER_TYPE: pl.when(taken).then(kind),
        POSSIBLE: _possible(number, plan),
        _DECIDED: pl.lit(True),
        SETTLED: kind.is_not_null(),
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


def _possible(number: pl.Expr, plan: Plan) -> pl.Expr:
    """`is_possible_number_with_reason`: the general lengths' verdict on the number's length."""
    return number.str.len_bytes().replace_strict(dict(plan.length_results), default=None)


@cache
def _locate_elsewhere(country_code: int | None) -> dict[str, pl.Expr]:
    """The rest of `_region_code_for_number_from_list`: the other regions, in their order."""
    region, kind = _first_region(_plans(country_code)[1:], pl.lit(PhoneNumberType.UNKNOWN))
    return {REGION: region, NUMBER_TYPE: kind}


def _plans(country_code: int | None) -> list[tuple[str, Plan]]:
    """The code's regions (main first) with their plans; none if any region's is unusable (or
    the code is none: a number left unparsed)."""
    if country_code is None:
        return []
    plans = []
    for region in COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        plan = plan_for(country_code, region)
        if plan is None:
            return []
        plans.append((region, plan))
    return plans


def _first_region(candidates: list[tuple[str, Plan]], missed: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
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
    plan = plan_for(country_code, region)
    assert plan is not None, "`_locate` places numbers only where every region's plan exists"
    return {NUMBER_TYPE: _number_type(pl.col(NATIONAL_NUMBER), plan)}


def _number_type(number: pl.Expr, plan: Plan, *, fast: bool = False) -> pl.Expr:
    """`_number_type_helper`: the general pattern, then each type in phonenumbers' order.

    `fast` tests the specific types all at once (`Plan.any_specific`), and leaves the numbers
    that test matches untyped (null): they need the tests one by one.
    """
    length = number.str.len_bytes()

    def matching(desc: Desc | None) -> pl.Expr:
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
