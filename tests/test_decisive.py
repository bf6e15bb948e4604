"""`pipeline.phones.decisive`: the leading digits that decide a metadata pattern, held to `re`.

`plan_checks.classify` tests one number per distinct (country code, length, leading digits) and
gives its answer to the others, so a depth too small would give a number another's verdict. Here
every pattern of every plan is tested with `re` on pairs of digit strings that share the length
and the decisive digits and differ after them: the pattern must treat both alike.
"""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType

from pipeline.phones.decisive import first_digits, full_match_depth, prefix_depth
from pipeline.phones.plan_checks import _depth, _plans
from pipeline.phones.plans import plan_for

DIGITS = "0123456789"


@pytest.mark.parametrize(
    ("pattern", "depth"),
    [
        (r"^(?:[0-9]{8})$", 0),
        (r"^(?:7[0-9]{9})$", 1),
        (r"^(?:7(?:[1-57-9][0-9][0-9]|624)[0-9]{6})$", 4),
        (r"^(?:(?:12|345)[0-9]{4})$", 3),
        (r"^(?:[0-9]{2}5[0-9]{3})$", 3),
        (r"^(?:[0-9]{2,3}5[0-9]{3})$", 4),
        (r"^(?:(?:1[0-9])+)$", None),
        (r"^(?:[2-9][0-9]{2})$", 1),
    ],
)
def test_full_match_depth_counts_the_digits_up_to_the_last_test_of_a_digit(
    pattern: str, depth: int | None
) -> None:
    assert full_match_depth(pattern) == depth


def test_prefix_depth_is_the_longest_prefix_the_pattern_can_match() -> None:
    assert prefix_depth(r"^(?:0|180020)") == 6
    assert prefix_depth(r"^(?:1[0-9]*)") is None


@pytest.mark.parametrize(
    ("pattern", "digits"),
    [
        (r"^(?:0|180020)", "01"),
        (r"^(?:(183[12])|0)", "01"),
        (r"^(?:(?:0|90)(?:(1[245]|2[1-35])([0-9]{10,11}))?)", "09"),
        (r"^(?:[2-4]|0?1)", "01234"),
        (r"^(?:(?:0)*5)", "05"),
        (r"^(?:0?)", None),
        (r"^(?:(?:00)?)", None),
    ],
)
def test_first_digits_are_those_a_match_can_start_with(pattern: str, digits: str | None) -> None:
    assert first_digits(pattern) == (None if digits is None else frozenset(digits))


@pytest.mark.parametrize("code", sorted(COUNTRY_CODE_TO_REGION_CODE))
def test_no_prefix_pattern_matches_a_number_starting_with_another_digit(code: int) -> None:
    """`numbering` keeps a number whole, without testing the national prefix, when its first
    digit is not one the prefix can start with: `re` must find no match on such numbers."""
    rng = random.Random(code)
    for region in COUNTRY_CODE_TO_REGION_CODE[code]:
        plan = plan_for(code, region)
        prefixes = [] if plan is None else [plan.international_prefix]
        if plan is not None and plan.national_prefix is not None:
            prefixes.append(plan.national_prefix.pattern)
        for pattern in filter(None, prefixes):
            starts = first_digits(pattern)
            if starts is None:
                continue
            compiled = re.compile(pattern)
            for digit in set(DIGITS) - starts:
                for _ in range(50):
                    tail = "".join(rng.choice(DIGITS) for _ in range(rng.randint(0, 16)))
                    assert compiled.match(digit + tail) is None, (region, pattern, digit + tail)


def _patterns(code: int) -> list[tuple[str, bool]]:
    """(pattern, whole-string test) for every test `classify` makes on the code's numbers."""
    tests: list[tuple[str, bool]] = []
    for _, plan in _plans(code):
        tests += [(pattern, True) for pattern in plan.number_patterns]
        if plan.any_specific is not None:
            tests.append((plan.any_specific, True))
        if plan.leading_digits is not None:
            tests.append((plan.leading_digits, False))
    return tests


def _examples(code: int) -> list[str]:
    """The national numbers of phonenumbers' examples for the code (they match its patterns)."""
    numbers = []
    for region in COUNTRY_CODE_TO_REGION_CODE[code]:
        for kind in PhoneNumberType.values():
            example = (
                phonenumbers.example_number_for_non_geo_entity(code)
                if region == "001"
                else phonenumbers.example_number_for_type(region, kind)
            )
            if example is not None:
                numbers.append(phonenumbers.national_significant_number(example))
    return numbers


@pytest.mark.parametrize("code", sorted(COUNTRY_CODE_TO_REGION_CODE))
def test_numbers_sharing_the_decisive_digits_get_the_same_verdict(code: int) -> None:
    """Each example against variants that keep its decisive digits, and random pairs."""
    rng = random.Random(code)
    depth = _depth(code)
    tests = [(re.compile(pattern), whole) for pattern, whole in _patterns(code)]

    def varied(number: str) -> str:
        tail = len(number) - min(depth, len(number))
        return number[: len(number) - tail] + "".join(rng.choice(DIGITS) for _ in range(tail))

    randoms = ["".join(rng.choice(DIGITS) for _ in range(rng.randint(1, 17))) for _ in range(200)]
    for number in [*_examples(code) * 20, *randoms]:
        other = varied(number)
        for pattern, whole in tests:
            test = pattern.fullmatch if whole else pattern.match
            assert bool(test(number)) == bool(test(other)), (code, pattern.pattern, number, other)
