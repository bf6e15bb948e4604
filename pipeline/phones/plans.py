"""phonenumbers' metadata, per region, as anchored polars patterns: a plan of the numbers there.

The vectorized reading (`numbering`, `plan_checks`) runs phonenumbers' own tests as polars
expressions, so it can only use a pattern that Python's `re` and Rust's `regex` read alike; a
region with a pattern outside that subset gets no plan, and its numbers go to phonenumbers one by
one. Translating a region's metadata takes milliseconds, so each plan is made once per process.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache

import polars as pl
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberType,
)

from pipeline.phones.phonenumbers_private import MAX_INPUT_STRING_LENGTH, number_length_result

__all__ = ["MAIN_REGIONS", "Desc", "NationalPrefix", "Plan", "plan_for", "region_plan"]

MAIN_REGIONS = {code: regions[0] for code, regions in COUNTRY_CODE_TO_REGION_CODE.items()}
"""Each country calling code's main region, whose metadata `parse` reads a number with."""

# The types `_number_type_helper` tries after the general pattern, in its order; fixed line and
# mobile come last and are handled apart (see `plan_checks`).
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
# The regex subset read identically by Python's `re` and Rust's `regex` on ASCII digit strings.
_TOKEN = re.compile(r"\\d|\[(?:\\d|\d(?:-\d)?)+\]|\d|\(\?:|[()|?*+$]|\{\d+(?:,\d*)?\}")


@dataclass(frozen=True)
class Desc:
    """A `PhoneNumberDesc`: the whole-number pattern, and the lengths checked before it."""

    pattern: str
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class NationalPrefix:
    """`national_prefix_for_parsing`, and what tells a plain strip from a transform."""

    pattern: str
    transform_group: int | None
    """With a transform rule, the group whose taking part means a transform; else None."""
    empty_match_strips: bool
    """Whether a zero-length match takes the plain strip (which then changes nothing)."""


@dataclass(frozen=True)
class Plan:
    """One region's metadata (or a non-geographic code's) as anchored polars patterns."""

    country_code: int
    general: Desc | None
    specific: tuple[tuple[int, Desc | None], ...]
    fixed_line: Desc | None
    mobile: Desc | None
    same_mobile_and_fixed_line: bool
    leading_digits: str | None
    national_prefix: NationalPrefix | None
    international_prefix: str | None
    length_results: Mapping[int, int]
    """`_test_number_length` against the general lengths, for every length a value can have."""
    any_specific: str | None
    """Matches whatever any specific type's pattern matches, lengths aside (None: no such
    pattern, or too large a regex): one test that rules all of them out for most numbers."""

    def lengths_where(self, accept: Callable[[int], bool]) -> list[int]:
        return [length for length, result in self.length_results.items() if accept(result)]

    @property
    def number_patterns(self) -> list[str]:
        """The whole-number patterns `_number_type_helper` may test: the general one and every
        type's."""
        descs = [self.general, self.fixed_line, self.mobile, *(desc for _, desc in self.specific)]
        return [desc.pattern for desc in descs if desc is not None]


class _UntranslatableError(Exception):
    """A metadata pattern outside the subset both regex engines read alike."""


def region_plan(region: str | None) -> Plan | None:
    """The plan a national number of `region` is read with; None without a region or a plan."""
    metadata = None if region is None else PhoneMetadata.metadata_for_region(region, None)
    return None if metadata is None else plan_for(metadata.country_code, region)


@cache
def plan_for(country_code: int, region: str | None) -> Plan | None:
    """The translated metadata, or None if any pattern phonenumbers would use cannot be."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    try:
        plan = Plan(
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
                length: number_length_result("0" * length, metadata)
                for length in range(MAX_INPUT_STRING_LENGTH + 1)
            },
            any_specific=None,
        )
    except _UntranslatableError:
        return None
    specific = [desc.pattern for _, desc in plan.specific if desc is not None]
    # The anchors inside the alternatives keep each one a whole-string test.
    any_specific = "^(?:{})$".format("|".join(specific)) if specific else None
    patterns = _patterns(plan)
    # One compile check in the common case: polars starts up a query per check.
    if any_specific is not None and _compiles([*patterns, any_specific]):
        return replace(plan, any_specific=any_specific)
    return plan if _compiles(patterns) else None


def _desc(desc: PhoneNumberDesc | None) -> Desc | None:
    """None where `_is_number_matching_desc` is always False (no desc, or no pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return Desc(_translate(desc.national_number_pattern, "^(?:{})$"), tuple(desc.possible_length))


def _prefix_pattern(pattern: str | None) -> str | None:
    return _translate(pattern, "^(?:{})") if pattern else None


def _national_prefix(metadata: PhoneMetadata) -> NationalPrefix | None:
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
    return NationalPrefix(_translate(source, "^(?:{})"), transform_group, empty_match_strips)


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


def _patterns(plan: Plan) -> list[str]:
    prefixes = [plan.leading_digits, plan.international_prefix]
    if plan.national_prefix is not None:
        prefixes.append(plan.national_prefix.pattern)
    return plan.number_patterns + [p for p in prefixes if p]


def _compiles(patterns: list[str]) -> bool:
    """Whether polars accepts every pattern (its engine also bounds a compiled regex's size)."""
    try:
        pl.select(pl.lit("0").str.contains(p).alias(str(i)) for i, p in enumerate(patterns))
    except pl.exceptions.PolarsError:
        return False
    return True
